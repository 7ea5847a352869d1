//! CSRF protection: Django's `CsrfViewMiddleware`, in two parts.
//!
//! 1. **Origin check**, for every unsafe request (not `GET`/`HEAD`/`OPTIONS`): a
//!    browser's cross-site request is refused by its `Sec-Fetch-Site` or `Origin`
//!    header. This is tower-http's [`tower_http::csrf`] layer, reused as is; trusted
//!    origins are added with [`CsrfLayer::add_trusted_origin`].
//! 2. **Token check**, for unsafe requests that may carry the session cookie: the
//!    request must present the session's CSRF token in the `X-CSRFToken` header or in
//!    an `application/x-www-form-urlencoded` form field `csrfmiddlewaretoken`. Forms
//!    render the token with [`csrf_token`], masked afresh each time as Django does. A
//!    request that the auth layer authenticated by an `Authorization: Bearer` token is
//!    not using a browser's ambient credential and skips this part (a bearer header the
//!    auth layer did not verify skips nothing).
//!
//! Routes can be exempted by path prefix ([`CsrfLayer::exempt`]); every refusal is a
//! `403` with a one-line reason.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//! use batteries_sessions::MemorySessionStore;
//! use batteries_middleware::csrf::CsrfLayer;
//! use batteries_middleware::session::{SessionConfig, SessionLayer};
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! type Body = Full<Bytes>;
//! let app = ServiceBuilder::new()
//!     .layer(SessionLayer::new(MemorySessionStore::new(), SessionConfig::new()))
//!     .layer(CsrfLayer::new())
//!     .service_fn(|_: Request<Body>| async { Ok::<_, Infallible>(Response::new(Body::default())) });
//!
//! // A cross-site form post is refused before the handler runs.
//! let forged = Request::post("/transfer")
//!     .header("host", "bank.example")
//!     .header("sec-fetch-site", "cross-site")
//!     .body(Body::default())
//!     .unwrap();
//! assert_eq!(app.clone().oneshot(forged).await.unwrap().status(), StatusCode::FORBIDDEN);
//!
//! // So is a same-site post without the token.
//! let tokenless = Request::post("/transfer")
//!     .header("sec-fetch-site", "same-origin")
//!     .body(Body::default())
//!     .unwrap();
//! assert_eq!(app.oneshot(tokenless).await.unwrap().status(), StatusCode::FORBIDDEN);
//! # }
//! ```

mod service;
pub mod token;

use batteries_sessions::{CSRF_KEY, Session, SessionError};

pub use service::{CsrfLayer, CsrfService};

/// The form field Django's forms carry the token in.
pub const FORM_FIELD: &str = "csrfmiddlewaretoken";
/// The header JavaScript clients send the token in (Django's `X-CSRFToken`).
pub const HEADER: &str = "x-csrftoken";

/// The token to put in a form (`<input type="hidden" name="csrfmiddlewaretoken" ...>`)
/// or to hand to JavaScript: the session's CSRF secret, masked afresh. Creates the
/// secret (and so the session) on first use; [`batteries_sessions::login`]
/// replaces it.
///
/// # Errors
/// The session store failed.
pub async fn csrf_token(session: &Session) -> Result<String, SessionError> {
    let secret = match session.get_if_valid::<String>(CSRF_KEY).await? {
        Some(secret) if secret.len() == token::SECRET_LEN => secret,
        _ => {
            let secret = token::new_secret();
            session.insert(CSRF_KEY, &secret).await?;
            secret
        }
    };
    Ok(token::mask(&secret))
}

/// Why a request failed the CSRF check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// The browser said the request comes from another site.
    #[error("CSRF check failed: cross-site request refused")]
    CrossSite,
    /// No token was sent.
    #[error("CSRF check failed: token missing")]
    TokenMissing,
    /// The session has no CSRF secret (it expired, or no form was rendered).
    #[error("CSRF check failed: no CSRF session; reload the form and try again")]
    NoSecret,
    /// The token does not match the session's.
    #[error("CSRF check failed: token incorrect")]
    TokenIncorrect,
    /// The form body was too large to look for the token.
    #[error("CSRF check failed: form body too large")]
    BodyTooLarge,
    /// The session store failed, so the token could not be checked (a 503, not a 403:
    /// the request may well be genuine).
    #[error("CSRF check not possible: the session store is unavailable")]
    Unavailable,
}

/// Checks a presented token against the session's secret.
///
/// # Errors
/// [`CsrfError::TokenMissing`], [`CsrfError::NoSecret`] or [`CsrfError::TokenIncorrect`].
pub async fn check_token(session: &Session, presented: Option<&str>) -> Result<(), CsrfError> {
    let secret: Option<String> = match session.get_if_valid(CSRF_KEY).await {
        Ok(secret) => secret,
        Err(error) => {
            tracing::error!(%error, "could not read the CSRF secret from the session");
            return Err(CsrfError::Unavailable);
        }
    };
    let presented = presented.filter(|t| !t.is_empty());
    match (presented, secret) {
        (None, _) => Err(CsrfError::TokenMissing),
        (Some(_), None) => Err(CsrfError::NoSecret),
        (Some(token), Some(secret)) if token::matches(token, &secret) => Ok(()),
        (Some(_), Some(_)) => Err(CsrfError::TokenIncorrect),
    }
}

/// The value of `field` in an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], field: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use batteries_sessions::MemorySessionStore;
    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::Full;
    use tower::{ServiceBuilder, ServiceExt};

    use super::*;
    use crate::session::{SessionConfig, SessionLayer};

    type Body = Full<Bytes>;

    async fn post(
        layer: CsrfLayer,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> StatusCode {
        let app = ServiceBuilder::new()
            .layer(SessionLayer::new(
                MemorySessionStore::new(),
                SessionConfig::new(),
            ))
            .layer(layer)
            .service_fn(|_: Request<Body>| async {
                Ok::<_, Infallible>(Response::new(Body::default()))
            });
        let mut request = Request::post(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body.to_owned())).expect("request");
        app.oneshot(request).await.expect("infallible").status()
    }

    /// A store whose loads fail, as a database or Redis does during an outage.
    #[derive(Debug)]
    struct DownStore;

    #[async_trait::async_trait]
    impl batteries_sessions::SessionStore for DownStore {
        async fn load(
            &self,
            _: &str,
        ) -> Result<Option<batteries_sessions::SessionRecord>, SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn create(
            &self,
            _: &batteries_sessions::SessionRecord,
        ) -> Result<String, SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn save(
            &self,
            _: &str,
            _: &batteries_sessions::SessionRecord,
        ) -> Result<String, SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn delete(&self, _: &str) -> Result<(), SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn clear_expired(&self) -> Result<u64, SessionError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_is_a_503_not_a_403_nor_a_new_secret() {
        let session = Session::new(std::sync::Arc::new(DownStore), Some("a".repeat(32)));
        assert!(
            csrf_token(&session).await.is_err(),
            "no fresh secret over an unreadable one"
        );
        assert_eq!(
            check_token(&session, Some("token")).await,
            Err(CsrfError::Unavailable)
        );
        let response: Response<String> = CsrfError::Unavailable.response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "5");
    }

    #[tokio::test]
    async fn exempt_paths_skip_both_checks() {
        let layer = CsrfLayer::new().exempt("/hooks/");
        let cross = [("sec-fetch-site", "cross-site")];
        assert_eq!(
            post(layer.clone(), "/hooks/stripe", &cross, "").await,
            StatusCode::OK
        );
        assert_eq!(
            post(layer, "/hooksx", &cross, "").await,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn only_verified_bearer_requests_skip_the_token() {
        struct AcceptAbc;
        impl crate::auth::BearerVerifier for AcceptAbc {
            fn verify(
                &self,
                token: &str,
            ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
                if token == "abc" {
                    Ok("1".to_owned())
                } else {
                    Err("unknown token".into())
                }
            }
        }
        let db = batteries_orm::db::connect("sqlite::memory:")
            .await
            .expect("db");
        // The bearer token's user (id 1) must exist and be active.
        for migration in batteries_auth::migrations::migrations().into_migrations() {
            migration
                .up(&sea_orm_migration::SchemaManager::new(&db))
                .await
                .expect("migration");
        }
        batteries_auth::UserManager::new()
            .create_user(&db, "ada", None, Some("ada's long password"))
            .await
            .expect("user");
        let secret = batteries_sessions::SessionSecret::new("a secret of at least 32 bytes!!!")
            .expect("secret");
        let app = ServiceBuilder::new()
            .layer(SessionLayer::new(
                MemorySessionStore::new(),
                SessionConfig::new(),
            ))
            .layer(
                crate::auth::AuthLayer::new(batteries_auth::ModelBackend::new(db), secret)
                    .with_bearer(AcceptAbc),
            )
            .layer(CsrfLayer::new())
            .service_fn(|_: Request<Body>| async {
                Ok::<_, Infallible>(Response::new(Body::default()))
            });
        let send = |headers: &[(&'static str, &'static str)]| {
            let mut request = Request::post("/api");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            app.clone()
                .oneshot(request.body(Body::default()).expect("request"))
        };
        let same = ("sec-fetch-site", "same-origin");
        let cross = ("sec-fetch-site", "cross-site");
        let status = |r: Result<Response<Body>, Infallible>| r.expect("infallible").status();
        assert_eq!(
            status(send(&[("authorization", "Bearer abc"), same]).await),
            StatusCode::OK
        );
        assert_eq!(
            status(send(&[("authorization", "Bearer abc"), cross]).await),
            StatusCode::FORBIDDEN,
            "the origin check still applies"
        );
        assert_eq!(status(send(&[same]).await), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn an_unverified_bearer_header_skips_nothing() {
        let headers = [
            ("authorization", "Bearer anything"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert_eq!(
            post(CsrfLayer::new(), "/api", &headers, "").await,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn trusted_origins_pass_the_origin_check() {
        let layer = CsrfLayer::new()
            .add_trusted_origin("https://app.example")
            .expect("origin");
        let method = http::Method::POST;
        let uri: http::Uri = "/x".parse().expect("uri");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "origin",
            http::HeaderValue::from_static("https://app.example"),
        );
        headers.insert(
            "sec-fetch-site",
            http::HeaderValue::from_static("cross-site"),
        );
        assert_eq!(layer.check_origin(&method, &uri, &headers).await, Ok(()));
        headers.insert(
            "origin",
            http::HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(
            layer.check_origin(&method, &uri, &headers).await,
            Err(CsrfError::CrossSite)
        );
    }

    #[tokio::test]
    async fn a_clone_configured_later_does_not_change_the_original() {
        let original = CsrfLayer::new();
        let exempted = original.clone().exempt("/hooks/");
        let cross = [("sec-fetch-site", "cross-site")];
        assert_eq!(post(exempted, "/hooks/x", &cross, "").await, StatusCode::OK);
        assert_eq!(
            post(original, "/hooks/x", &cross, "").await,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn oversized_forms_are_refused() {
        let layer = CsrfLayer::new().with_form_limit(16);
        let form = [
            ("sec-fetch-site", "same-origin"),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let body = format!("csrfmiddlewaretoken={}", "a".repeat(64));
        assert_eq!(post(layer, "/f", &form, &body).await, StatusCode::FORBIDDEN);
    }
}
