//! The authentication layer: Django's `AuthenticationMiddleware`, plus bearer tokens.
//!
//! [`AuthLayer`] puts a [`CurrentUser`] in every request's extensions:
//!
//! - with an `Authorization: Bearer <token>` header, the token decides: a token that
//!   verifies gives its subject (the user's primary key), whose user is then loaded and
//!   must exist and be active; any other token, or a token whose user is gone or
//!   inactive, is answered with a plain `401` (`WWW-Authenticate: Bearer
//!   error="invalid_token"`), whatever was wrong with it. A failing user store is a
//!   `503`, never an anonymous request;
//! - otherwise the [`Session`] (from the session layer, which must run first) decides,
//!   as Django's `get_user()` does: the user must still exist, be active and have the
//!   password the session was opened with;
//! - otherwise the request is anonymous.
//!
//! The layer also puts its [`Authentication`] in the extensions, for login views that
//! need its [`SessionSecret`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::convert::Infallible;
//! use batteries_auth::ModelBackend;
//! use batteries_sessions::{MemorySessionStore, SessionSecret};
//! use batteries_middleware::auth::{AuthLayer, CurrentUser};
//! use batteries_middleware::session::{SessionConfig, SessionLayer};
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! let secret = SessionSecret::new("a secret key of at least 32 bytes!!")?;
//! let app = ServiceBuilder::new()
//!     .layer(SessionLayer::new(MemorySessionStore::new(), SessionConfig::new()))
//!     .layer(AuthLayer::new(ModelBackend::new(db), secret))
//!     .service_fn(|req: Request<String>| async move {
//!         let user = req.extensions().get::<CurrentUser>().expect("added by AuthLayer");
//!         Ok::<_, Infallible>(Response::new(format!("logged in: {}", user.is_authenticated())))
//!     });
//! let response = app.oneshot(Request::new(String::new())).await?;
//! assert_eq!(response.into_body(), "logged in: false");
//! # Ok(()) }
//! ```

mod current_user;
mod require;
mod service;

use std::fmt;
use std::sync::Arc;

use batteries_core::UserLoader;
use batteries_sessions::{Session, SessionSecret};
use http::{HeaderMap, header};

pub use current_user::{AuthMethod, CurrentUser, UserLoadError};
pub use require::{require_login, require_perm};
pub use service::{AuthLayer, AuthService};

use current_user::{Erased, ErasedLoader, LoadedUser};

/// Verifies bearer tokens for the auth layer: a token in, the user's primary key out.
///
/// With the `jwt` feature, implemented for `batteries_jwt::Jwt` (this app's
/// access tokens) and `batteries_jwt::ExternalIssuer` (another issuer's tokens,
/// checked against its JWKS); implement it to accept tokens of another kind. The error is only logged: the client always gets the same
/// plain `401`.
pub trait BearerVerifier: Send + Sync + 'static {
    /// The primary key of the token's user.
    ///
    /// # Errors
    /// Any reason the token is not acceptable.
    fn verify(&self, token: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>>;
}

#[cfg(feature = "jwt")]
impl BearerVerifier for batteries_jwt::Jwt {
    fn verify(&self, token: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.verify_access_subject(token)?)
    }
}

#[cfg(feature = "jwt")]
impl BearerVerifier for batteries_jwt::ExternalIssuer {
    fn verify(&self, token: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        Ok(batteries_jwt::ExternalIssuer::verify(self, token)?.sub)
    }
}

/// Why the auth layer refused a request outright.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The bearer token did not verify (answered with `401`).
    #[error("invalid bearer token")]
    InvalidToken,
    /// The session store or the user loader failed (answered with `503`).
    #[error("authentication backend unavailable: {0}")]
    Unavailable(String),
}

impl AuthRejection {
    /// The HTTP answer: a plain `401` for a bad token (the same whatever was wrong with
    /// it), `503` when a backend failed.
    pub fn response<B: From<String>>(&self) -> http::Response<B> {
        service::rejection_response(self)
    }
}

/// The framework-neutral core of [`AuthLayer`]: resolves a request's [`CurrentUser`]
/// from its headers and session. The actix-web adapter uses it directly.
///
/// Cheap to clone (one reference count): the layer clones it into every request.
#[derive(Clone)]
pub struct Authentication {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    loader: Arc<dyn ErasedLoader>,
    secret: SessionSecret,
    bearer: Option<Arc<dyn BearerVerifier>>,
}

impl fmt::Debug for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authentication")
            .field("bearer", &self.inner.bearer.is_some())
            .finish_non_exhaustive()
    }
}

/// The users and secret of an [`AuthSource`](batteries_core::AuthSource), such as
/// batteries-auth's `Auth`: the secret is given once, to the source.
impl<A: batteries_core::AuthSource> From<&A> for Authentication {
    fn from(source: &A) -> Self {
        Self::new(source.loader(), source.secret().clone())
    }
}

impl Authentication {
    /// Users from `loader`; session auth hashes checked with `secret`.
    pub fn new<L: UserLoader + 'static>(loader: L, secret: SessionSecret) -> Self {
        Self {
            inner: Arc::new(Inner {
                loader: Arc::new(Erased(Arc::new(loader))),
                secret,
                bearer: None,
            }),
        }
    }

    /// Also accepts `Authorization: Bearer` tokens that `verifier` accepts.
    #[must_use]
    pub fn with_bearer(mut self, verifier: impl BearerVerifier) -> Self {
        Arc::make_mut(&mut self.inner).bearer = Some(Arc::new(verifier));
        self
    }

    /// The secret that checks session auth hashes (login views need it too).
    pub fn secret(&self) -> &SessionSecret {
        &self.inner.secret
    }

    /// The user of an `Authorization: Bearer` request: `None` when the request carries
    /// no bearer token or no verifier is configured (then the session decides, see
    /// [`Authentication::resolve`]). The token's user is loaded: a token is worth only
    /// as much as its user, who must still exist and be active.
    ///
    /// # Errors
    /// [`AuthRejection::InvalidToken`] for a token that does not verify or whose user is
    /// gone or inactive; [`AuthRejection::Unavailable`] when the loader fails.
    pub async fn resolve_bearer(
        &self,
        headers: &HeaderMap,
    ) -> Option<Result<CurrentUser, AuthRejection>> {
        let (Some(token), Some(verifier)) = (bearer_token(headers), &self.inner.bearer) else {
            return None;
        };
        let pk = match verifier.verify(token) {
            Ok(pk) => pk,
            Err(error) => {
                tracing::debug!(%error, "bearer token refused");
                return Some(Err(AuthRejection::InvalidToken));
            }
        };
        Some(match self.inner.loader.load_user(pk.clone()).await {
            Ok(Some(user)) if user.user.is_active() => Ok(CurrentUser::loaded(
                pk,
                AuthMethod::Bearer,
                self.inner.loader.clone(),
                user,
            )),
            Ok(_) => {
                tracing::debug!("bearer token of a missing or inactive user refused");
                Err(AuthRejection::InvalidToken)
            }
            Err(error) => {
                tracing::error!(%error, "could not load the bearer token's user");
                Err(AuthRejection::Unavailable(error.to_string()))
            }
        })
    }

    /// Who made the request.
    ///
    /// # Errors
    /// A bearer token that does not verify, or a failing store or loader.
    pub async fn resolve(
        &self,
        headers: &HeaderMap,
        session: Option<&Session>,
    ) -> Result<CurrentUser, AuthRejection> {
        if let Some(bearer) = self.resolve_bearer(headers).await {
            return bearer;
        }
        let Some(session) = session else {
            return Ok(CurrentUser::anonymous());
        };
        let loader = SessionLoader(&*self.inner.loader);
        match batteries_sessions::get_user(session, &loader, &self.inner.secret).await {
            Ok(Some(user)) => Ok(CurrentUser::loaded(
                user.user.pk_string(),
                AuthMethod::Session,
                self.inner.loader.clone(),
                user,
            )),
            Ok(None) => Ok(CurrentUser::anonymous()),
            Err(error) => {
                tracing::error!(%error, "could not resolve the session's user");
                Err(AuthRejection::Unavailable(error.to_string()))
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Adapts the erased loader back to a [`UserLoader`] for `sessions::get_user`.
struct SessionLoader<'a>(&'a dyn ErasedLoader);

#[async_trait::async_trait]
impl UserLoader for SessionLoader<'_> {
    type User = LoadedUser;

    async fn load_user(&self, pk: &str) -> batteries_core::Result<Option<LoadedUser>> {
        self.0.load_user(pk.to_owned()).await
    }

    async fn load_permissions(
        &self,
        user: &LoadedUser,
    ) -> batteries_core::Result<batteries_core::Permissions> {
        self.0.load_permissions(user.clone()).await
    }
}

impl batteries_core::AuthUser for LoadedUser {
    fn pk_string(&self) -> String {
        self.user.pk_string()
    }
    fn username(&self) -> &str {
        self.user.username()
    }
    fn password_hash(&self) -> &str {
        self.user.password_hash()
    }
    fn email(&self) -> &str {
        self.user.email()
    }
    fn is_active(&self) -> bool {
        self.user.is_active()
    }
    fn is_staff(&self) -> bool {
        self.user.is_staff()
    }
    fn is_superuser(&self) -> bool {
        self.user.is_superuser()
    }
    fn last_login(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.user.last_login()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            "Bearer abc.def".parse().expect("value"),
        );
        assert_eq!(bearer_token(&headers), Some("abc.def"));
        headers.insert(
            header::AUTHORIZATION,
            "bearer   xyz ".parse().expect("value"),
        );
        assert_eq!(bearer_token(&headers), Some("xyz"));
        headers.insert(
            header::AUTHORIZATION,
            "Basic dXNlcjpwdw==".parse().expect("value"),
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().expect("value"));
        assert_eq!(bearer_token(&headers), None);
    }
}

#[cfg(all(test, feature = "jwt"))]
mod jwt_tests {
    use std::convert::Infallible;

    use batteries_auth::ModelBackend;
    use batteries_jwt::{
        Algorithm, ExternalIssuer, Jwt, JwtConfig, JwtKey, KeySet, MemoryRefreshStore,
    };
    use http::{Request, Response, StatusCode};
    use tower::{ServiceBuilder, ServiceExt};

    use super::*;

    fn issuer(kid: &str, iss: &str) -> Jwt {
        let keys = KeySet::new()
            .with_key(JwtKey::generate_ed25519(kid).expect("key"))
            .with_signing_key(kid)
            .expect("signing key");
        Jwt::new(
            keys,
            JwtConfig::new(iss, "our-api"),
            MemoryRefreshStore::new(),
        )
        .expect("jwt")
    }

    /// A database with Django's auth tables and the users `ada` (id 1, active) and
    /// `bob` (id 2, inactive).
    async fn users_db() -> sea_orm::DatabaseConnection {
        use sea_orm_migration::SchemaManager;
        let db = batteries_orm::db::connect("sqlite::memory:")
            .await
            .expect("db");
        for migration in batteries_auth::migrations::migrations().into_migrations() {
            migration
                .up(&SchemaManager::new(&db))
                .await
                .expect("migration");
        }
        let users = batteries_auth::UserManager::new();
        users
            .create_user(&db, "ada", None, Some("ada's long password"))
            .await
            .expect("ada");
        let bob = users
            .create_user(&db, "bob", None, Some("bob's long password"))
            .await
            .expect("bob");
        let mut bob: batteries_auth::entities::user::ActiveModel = bob.into();
        bob.is_active = sea_orm::ActiveValue::Set(false);
        sea_orm::ActiveModelTrait::update(bob, &db)
            .await
            .expect("deactivate bob");
        db
    }

    async fn whoami(
        db: &sea_orm::DatabaseConnection,
        verifier: impl BearerVerifier,
        token: &str,
    ) -> (StatusCode, String) {
        let secret = SessionSecret::new("a secret key of at least 32 bytes!!").expect("secret");
        let app = ServiceBuilder::new()
            .layer(AuthLayer::new(ModelBackend::new(db.clone()), secret).with_bearer(verifier))
            .service_fn(|req: Request<String>| async move {
                let user = req
                    .extensions()
                    .get::<CurrentUser>()
                    .cloned()
                    .expect("user");
                Ok::<_, Infallible>(Response::new(user.pk().unwrap_or("anonymous").to_owned()))
            });
        let request = Request::builder()
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(String::new())
            .expect("request");
        let response = app.oneshot(request).await.expect("infallible");
        (response.status(), response.into_body())
    }

    #[tokio::test]
    async fn an_external_issuers_tokens_are_accepted_by_its_jwks() {
        let db = users_db().await;
        let idp = issuer("idp-1", "https://idp.example");
        let jwks = serde_json::to_string(&idp.jwks()).expect("jwks");
        let external =
            || ExternalIssuer::new(&jwks, "https://idp.example", "our-api", &[Algorithm::EdDSA]);
        let token = idp
            .issue_access("1", serde_json::Map::new())
            .expect("token");
        assert_eq!(
            whoami(&db, external().expect("issuer"), &token).await,
            (StatusCode::OK, "1".to_owned())
        );

        // Same kid, another key (an impostor): refused.
        let impostor = issuer("idp-1", "https://idp.example");
        let forged = impostor
            .issue_access("1", serde_json::Map::new())
            .expect("token");
        assert_eq!(
            whoami(&db, external().expect("issuer"), &forged).await.0,
            StatusCode::UNAUTHORIZED
        );
        // The right key but another issuer name: refused.
        let other = ExternalIssuer::new(
            &jwks,
            "https://other.example",
            "our-api",
            &[Algorithm::EdDSA],
        )
        .expect("issuer");
        assert_eq!(whoami(&db, other, &token).await.0, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_valid_token_is_worth_only_as_much_as_its_user() {
        let db = users_db().await;
        let jwt = issuer("k1", "https://us.example");
        let token = |sub: &str| {
            jwt.issue_access(sub, serde_json::Map::new())
                .expect("token")
        };
        assert_eq!(
            whoami(&db, jwt.clone(), &token("1")).await,
            (StatusCode::OK, "1".to_owned())
        );
        // Inactive, never existed, not even a primary key: 401, never a user.
        for sub in ["2", "999", "ada"] {
            let (status, body) = whoami(&db, jwt.clone(), &token(sub)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{sub}");
            assert!(!body.contains(sub), "{body}");
        }
        // The user store fails: 503, never anonymous, never the token's subject.
        sea_orm::ConnectionTrait::execute_unprepared(&db, "DROP TABLE auth_user")
            .await
            .expect("drop");
        let (status, body) = whoami(&db, jwt.clone(), &token("1")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!body.contains("auth_user"), "{body}");
    }
}
