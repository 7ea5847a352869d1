//! The conformance apps: one small site built from the same batteries pieces on axum,
//! actix-web and plain hyper, so that one scenario suite can check that the three
//! behave alike. Routes:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /login`, `POST /login` | a login form (CSRF token, `next=`) and its handler |
//! | `POST /logout` | logout |
//! | `GET /me` | an HTML page for logged-in users (others are redirected to `/login`) |
//! | `GET /api/me` | JSON for logged-in users (others get `401`) |
//! | `GET /api/perm` | JSON for users with `blog.add_post` (`401` / `403`) |
//! | `POST /password` | changes the password, keeping this session logged in |
//! | `GET /csrf` | a CSRF token as JSON, for API clients using the session |
//! | `GET /api/limited` | rate limited per client IP: a burst of 3, then `429` |
//! | `GET /api/limited-user` | rate limited per user (per client IP when anonymous) |
//! | `POST /api/token` | JSON credentials in, a JWT access/refresh pair out |
//! | `POST /api/token/refresh` | a refresh token in, a new pair out (rotation) |
//! | `POST /api/token/revoke` | revokes a refresh token's family (API logout) |
//! | `GET /panic` | panics on purpose, with [`PANIC_MESSAGE`] (behind the layers, no guard) |
//!
//! `/api/*` routes also accept `Authorization: Bearer <access token>`.
//!
//! Every response carries the security headers.

// Test support: a failed expectation is a failed test, and the handlers mirror each
// other across frameworks more than they follow library-API style.
#![allow(
    clippy::missing_panics_doc,
    clippy::needless_pass_by_value,
    clippy::implicit_hasher,
    clippy::similar_names,
    clippy::unused_async
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use batteries::auth::entities::{permission, user, user_permissions};
use batteries::auth::jwt::{Jwt, JwtConfig, JwtKey, KeySet, MemoryRefreshStore, RefreshStore};
use batteries::auth::permissions::ensure_model_permissions;
use batteries::auth::sessions::{self, Session, SessionSecret, SessionStore};
use batteries::auth::{Authenticator, Credentials, ModelBackend, UserManager};
use batteries::middleware::auth::{Authentication, CurrentUser};
use batteries::middleware::csrf::{CsrfLayer, csrf_token};
use batteries::middleware::guard::safe_next;
use batteries::middleware::headers::SecurityHeaders;
use batteries::middleware::ratelimit::{Bucket, MemoryRateLimitStore, RateLimitStore, RateLimiter};
use batteries::middleware::session::{SessionConfig, SessionManager};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub mod actix_app;
pub mod axum_app;
pub mod hyper_app;

/// What `GET /panic` panics with: a stand-in for internals that must never reach a
/// client.
pub const PANIC_MESSAGE: &str = "panicked on purpose: internal detail 7f3a, do not show";

/// `GET /panic`: a handler with a bug.
pub fn panics() -> Reply {
    panic!("{PANIC_MESSAGE}")
}

/// The password of every user the apps are seeded with.
pub const PASSWORD: &str = "correct horse battery staple";

/// The web framework an app is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// axum 0.8.
    Axum,
    /// actix-web 4.
    Actix,
    /// hyper 1 with the tower layers and no framework.
    Hyper,
}

impl std::str::FromStr for Framework {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "axum" => Ok(Self::Axum),
            "actix" => Ok(Self::Actix),
            "hyper" => Ok(Self::Hyper),
            other => Err(format!(
                "unknown framework `{other}`; expected axum, actix or hyper"
            )),
        }
    }
}

/// What every app is built from.
#[derive(Clone)]
pub struct Pieces {
    /// The users' database.
    pub db: DatabaseConnection,
    /// Where sessions live.
    pub sessions: SessionManager,
    /// Resolves the current user.
    pub auth: Authentication,
    /// CSRF protection.
    pub csrf: CsrfLayer,
    /// Checks passwords.
    pub authenticator: Arc<Authenticator<user::Model>>,
    /// Security headers on every response.
    pub headers: SecurityHeaders,
    /// The limit of `/api/limited`: a burst of 3 per client IP, one more per hour.
    pub limiter: RateLimiter,
    /// The limit of `/api/limited-user`: the same, per user.
    pub user_limiter: RateLimiter,
    /// Issues and verifies the API's tokens.
    pub jwt: Jwt,
    keys: KeySet,
    backend: ModelBackend,
}

impl Pieces {
    /// The pieces on `db`, with sessions in `store` (cookies without `Secure`, since the
    /// tests speak plain HTTP).
    /// JWTs are signed with a fresh Ed25519 key (see [`Pieces::with_jwt_key`]) and
    /// their refresh tokens kept in memory (see [`Pieces::with_refresh_store`]).
    pub fn new(db: DatabaseConnection, store: Arc<dyn SessionStore>, secret: &[u8]) -> Self {
        let secret = SessionSecret::new(secret.to_vec()).expect("a long secret");
        let backend = ModelBackend::new(db.clone());
        let keys = KeySet::new()
            .with_key(JwtKey::generate_ed25519("k1").expect("key"))
            .with_signing_key("k1")
            .expect("signing key");
        let jwt = jwt(&keys, MemoryRefreshStore::new(), &backend, &secret);
        Self {
            sessions: SessionManager::from_arc(store, SessionConfig::new().with_secure(false)),
            auth: Authentication::new(backend.clone(), secret).with_bearer(jwt.clone()),
            jwt,
            keys,
            backend: backend.clone(),
            csrf: CsrfLayer::new().exempt("/api/token"),
            authenticator: Arc::new(Authenticator::new().with_backend(backend)),
            headers: SecurityHeaders::new(),
            limiter: RateLimiter::new(MemoryRateLimitStore::new(), limited_bucket())
                .with_scope("limited"),
            user_limiter: RateLimiter::new(MemoryRateLimitStore::new(), limited_bucket())
                .with_scope("limited-user"),
            db,
        }
    }

    /// Signs JWTs with this Ed25519 key (PEM), so that several instances share it.
    #[must_use]
    pub fn with_jwt_key(mut self, pem: &str) -> Self {
        self.keys = KeySet::new()
            .with_key(JwtKey::from_ed25519_pem("k1", pem).expect("key"))
            .with_signing_key("k1")
            .expect("signing key");
        self.with_refresh_store(MemoryRefreshStore::new())
    }

    /// Keeps refresh tokens in `store` (a database or Redis, to share them).
    #[must_use]
    pub fn with_refresh_store(mut self, store: impl RefreshStore + 'static) -> Self {
        self.jwt = jwt(&self.keys, store, &self.backend, self.auth.secret());
        self.auth = Authentication::new(self.backend.clone(), self.auth.secret().clone())
            .with_bearer(self.jwt.clone());
        self
    }

    /// Keeps the rate-limit buckets in `store` (Redis, to share them between instances).
    #[must_use]
    pub fn with_rate_limit_store(mut self, store: impl RateLimitStore + 'static) -> Self {
        let store = Arc::new(store);
        self.limiter = RateLimiter::new(store.clone(), limited_bucket()).with_scope("limited");
        self.user_limiter = RateLimiter::new(store, limited_bucket()).with_scope("limited-user");
        self
    }

    /// What both limiters do when their store fails (default: let requests through).
    #[must_use]
    pub fn with_rate_limit_failure_mode(
        mut self,
        mode: batteries::middleware::ratelimit::FailureMode,
    ) -> Self {
        self.limiter = self.limiter.with_failure_mode(mode);
        self.user_limiter = self.user_limiter.with_failure_mode(mode);
        self
    }
}

fn jwt(
    keys: &KeySet,
    store: impl RefreshStore + 'static,
    backend: &ModelBackend,
    secret: &SessionSecret,
) -> Jwt {
    Jwt::new(
        keys.clone(),
        JwtConfig::new("batteries-tests", "conformance"),
        store,
    )
    .expect("jwt")
    .with_users(backend.clone(), secret.clone())
}

fn limited_bucket() -> Bucket {
    Bucket::per_interval(3, std::time::Duration::from_hours(1))
}

struct AuthMigrator;

impl MigratorTrait for AuthMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // The refresh-token store is the database one: its table comes from batteries-jwt.
        batteries::orm::migration::compose([
            batteries::auth::migrations::migrations(),
            batteries::auth::jwt::migrations(),
        ])
        .expect("unique migration names")
    }
}

/// Creates the auth tables and two users: `alice` (no permissions) and `editor`
/// (`blog.add_post`), both with [`PASSWORD`].
pub async fn seed(db: &DatabaseConnection) {
    AuthMigrator::up(db, None).await.expect("auth migrations");
    let users = UserManager::new();
    users
        .create_user(db, "alice", None, Some(PASSWORD))
        .await
        .expect("alice");
    let editor = users
        .create_user(db, "editor", None, Some(PASSWORD))
        .await
        .expect("editor");
    let ct = ensure_model_permissions(db, "blog", "post", "post")
        .await
        .expect("permissions");
    let add = permission::Entity::find()
        .filter(permission::Column::ContentTypeId.eq(ct.id))
        .filter(permission::Column::Codename.eq("add_post"))
        .one(db)
        .await
        .expect("query")
        .expect("add_post exists");
    user_permissions::ActiveModel {
        user_id: Set(editor.id),
        permission_id: Set(add.id),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("grant");
}

/// A running app. axum and hyper apps run as tasks of the caller's runtime and end
/// with it; an actix-web app runs its own system on threads: [`Running::stop`] ends it.
#[derive(Clone)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    actix: Option<actix_web::dev::ServerHandle>,
}

impl Running {
    /// Stops the app (actix-web); axum and hyper apps stop with the runtime.
    pub async fn stop(self) {
        if let Some(handle) = self.actix {
            handle.stop(false).await;
        }
    }
}

/// Serves the app of `framework` on a free loopback port.
pub async fn serve(framework: Framework, pieces: Pieces) -> Running {
    serve_on(framework, pieces, "127.0.0.1:0".parse().expect("addr")).await
}

/// Serves the app of `framework` on `addr`.
pub async fn serve_on(framework: Framework, pieces: Pieces, addr: SocketAddr) -> Running {
    let listener = std::net::TcpListener::bind(addr).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let actix = match framework {
        Framework::Axum => {
            axum_app::spawn(listener, pieces);
            None
        }
        Framework::Actix => Some(actix_app::spawn(listener, pieces)),
        Framework::Hyper => {
            hyper_app::spawn(listener, pieces);
            None
        }
    };
    Running { addr, actix }
}

// ---------------------------------------------------------------------------------------
// The handlers' logic, shared by the three apps; each app only adapts it to its
// framework's request and response types.

/// What a handler answers, framework-neutral.
#[derive(Debug)]
pub enum Reply {
    /// `200` with an HTML body.
    Html(String),
    /// A status and a JSON body.
    Json(u16, serde_json::Value),
    /// `302 Found` to a location.
    Redirect(String),
    /// `503 Service Unavailable` with `Retry-After` and a plain message: a store or the
    /// database failed (the cause is logged, never shown).
    Unavailable(&'static str),
}

impl Reply {
    /// Logs `error` as the cause and answers 503 with `message`.
    fn unavailable(error: &dyn std::fmt::Display, message: &'static str) -> Self {
        tracing::error!(%error, "{message}");
        Self::Unavailable(message)
    }
}

/// What a handler answers when the session store fails.
const SESSION_DOWN: &str = "The session store is unavailable; please try again.";
/// What a handler answers when the database fails.
const DB_DOWN: &str = "The database is unavailable; please try again.";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /login`.
pub async fn login_page(session: &Session, next: Option<&str>, error: Option<&str>) -> Reply {
    let token = match csrf_token(session).await {
        Ok(token) => token,
        Err(e) => return Reply::unavailable(&e, SESSION_DOWN),
    };
    let error = error
        .map(|e| format!("<p class=error>{}</p>", escape(e)))
        .unwrap_or_default();
    Reply::Html(format!(
        "<!doctype html><title>Log in</title>{error}<form method=post action=/login>\
         <input type=hidden name=csrfmiddlewaretoken value=\"{token}\">\
         <input type=hidden name=next value=\"{}\">\
         <input name=username><input type=password name=password><button>Log in</button></form>",
        escape(next.unwrap_or(""))
    ))
}

/// `POST /login`.
pub async fn login_submit(
    pieces: &Pieces,
    session: &Session,
    form: &HashMap<String, String>,
) -> Reply {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let credentials = Credentials::new(get("username"), get("password"));
    match pieces.authenticator.authenticate(&credentials).await {
        Ok(Some(user)) => match sessions::login(session, &user, pieces.auth.secret()).await {
            Ok(()) => Reply::Redirect(safe_next(get("next")).unwrap_or("/me").to_owned()),
            Err(e) => Reply::unavailable(&e, SESSION_DOWN),
        },
        Ok(None) => login_page(session, None, Some("Invalid username or password.")).await,
        Err(e) => Reply::unavailable(&e, DB_DOWN),
    }
}

/// `POST /logout`.
pub async fn logout(session: &Session) -> Reply {
    match sessions::logout(session).await {
        Ok(()) => Reply::Redirect("/login".to_owned()),
        Err(e) => Reply::unavailable(&e, SESSION_DOWN),
    }
}

/// `GET /me` (HTML) and `GET /api/me` (JSON) once the guard has let the user in.
pub async fn me(user: &CurrentUser, html: bool) -> Reply {
    let username = match user.user().await {
        Ok(Some(u)) => u.username().to_owned(),
        // The guard let only a logged-in user in; the loader has just lost them.
        Ok(None) => {
            return Reply::Json(
                401,
                serde_json::json!({ "error": "authentication required" }),
            );
        }
        Err(e) => return Reply::unavailable(&e, DB_DOWN),
    };
    if html {
        Reply::Html(format!("<p>Hello, {}!</p>", escape(&username)))
    } else {
        Reply::Json(
            200,
            serde_json::json!({ "pk": user.pk(), "username": username, "method": format!("{:?}", user.method()) }),
        )
    }
}

/// `GET /api/perm` once the guard has checked the permission.
pub fn perm_ok() -> Reply {
    Reply::Json(200, serde_json::json!({ "ok": true }))
}

/// `GET /api/limited` once the limiter has let the request through.
pub fn limited_ok() -> Reply {
    Reply::Json(200, serde_json::json!({ "ok": true }))
}

/// `POST /api/token`: `{"username", "password"}` in, a token pair out.
pub async fn token(pieces: &Pieces, body: &serde_json::Value) -> Reply {
    let get = |k: &str| body[k].as_str().unwrap_or_default();
    let credentials = Credentials::new(get("username"), get("password"));
    match pieces.authenticator.authenticate(&credentials).await {
        Ok(Some(user)) => match pieces.jwt.issue_pair(&user.id.to_string()).await {
            Ok(pair) => token_pair(&pair),
            Err(e) => jwt_failure(&e),
        },
        Ok(None) => Reply::Json(401, serde_json::json!({ "error": "invalid credentials" })),
        Err(e) => Reply::unavailable(&e, DB_DOWN),
    }
}

/// `POST /api/token/refresh`: `{"refresh_token"}` in, a new pair out.
pub async fn refresh(pieces: &Pieces, body: &serde_json::Value) -> Reply {
    let token = body["refresh_token"].as_str().unwrap_or_default();
    match pieces.jwt.refresh(token).await {
        Ok(pair) => token_pair(&pair),
        Err(e) => jwt_failure(&e),
    }
}

/// `POST /api/token/revoke`: `{"refresh_token"}`; revokes its family.
pub async fn revoke(pieces: &Pieces, body: &serde_json::Value) -> Reply {
    let token = body["refresh_token"].as_str().unwrap_or_default();
    match pieces.jwt.revoke(token).await {
        Ok(()) => Reply::Json(200, serde_json::json!({ "revoked": true })),
        Err(e) => jwt_failure(&e),
    }
}

/// A token pair as JSON.
fn token_pair(pair: &impl serde::Serialize) -> Reply {
    match serde_json::to_value(pair) {
        Ok(body) => Reply::Json(200, body),
        Err(e) => Reply::unavailable(&e, "The token could not be issued; please try again."),
    }
}

/// A refused token is `401` (the client logs in again); a failing store or key is the
/// server's fault, `503` (the client keeps its token and retries).
fn jwt_failure(e: &batteries::auth::jwt::JwtError) -> Reply {
    if e.is_token_error() {
        tracing::debug!(error = %e, "token refused");
        Reply::Json(401, serde_json::json!({ "error": "invalid token" }))
    } else {
        Reply::unavailable(e, "Tokens are unavailable; please try again.")
    }
}

/// Parses a JSON body (`Null` when it is not JSON).
pub fn parse_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

/// `GET /csrf`.
pub async fn csrf(session: &Session) -> Reply {
    match csrf_token(session).await {
        Ok(token) => Reply::Json(200, serde_json::json!({ "token": token })),
        Err(e) => Reply::unavailable(&e, SESSION_DOWN),
    }
}

/// `POST /password`: sets a new password and keeps this session (only) logged in.
pub async fn change_password(
    pieces: &Pieces,
    session: &Session,
    user: &CurrentUser,
    form: &HashMap<String, String>,
) -> Reply {
    let Some(new) = form.get("new_password").filter(|p| !p.is_empty()) else {
        return Reply::Json(
            400,
            serde_json::json!({ "error": "new_password is required" }),
        );
    };
    let model = match user.user_as::<user::Model>().await {
        Ok(Some(model)) => model,
        Ok(None) => {
            return Reply::Json(
                401,
                serde_json::json!({ "error": "authentication required" }),
            );
        }
        Err(e) => return Reply::unavailable(&e, DB_DOWN),
    };
    let updated = match UserManager::new()
        .set_password(&pieces.db, (*model).clone(), Some(new))
        .await
    {
        Ok(updated) => updated,
        Err(e) => return Reply::unavailable(&e, DB_DOWN),
    };
    match sessions::update_session_auth_hash(session, &updated, pieces.auth.secret()).await {
        Ok(()) => Reply::Json(200, serde_json::json!({ "changed": true })),
        Err(e) => Reply::unavailable(&e, SESSION_DOWN),
    }
}

/// A `user::Model` by username (for tests).
pub async fn user_by_name(db: &DatabaseConnection, username: &str) -> user::Model {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
        .expect("query")
        .expect("user exists")
}

/// Parses an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
