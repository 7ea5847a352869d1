//! The session layer: Django's `SessionMiddleware`.
//!
//! [`SessionLayer`] reads the session cookie, puts a lazily loaded
//! [`Session`] in the request's extensions, and after
//! the handler saves the session if it changed and sets or deletes the cookie. Cookies
//! are `HttpOnly`, `Secure` and `SameSite=Lax` unless configured otherwise
//! ([`SessionConfig`]); a request with a tampered, expired or unknown cookie simply gets
//! an empty session.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//! use batteries_sessions::{MemorySessionStore, Session};
//! use batteries_middleware::session::{SessionConfig, SessionLayer};
//! use http::{Request, Response, header};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let layer = SessionLayer::new(MemorySessionStore::new(), SessionConfig::new().with_secure(false));
//! let app = ServiceBuilder::new().layer(layer).service_fn(|req: Request<String>| async move {
//!     let session = req.extensions().get::<Session>().expect("the layer adds it").clone();
//!     let visits: u32 = session.get("visits").await.unwrap().unwrap_or(0);
//!     session.insert("visits", visits + 1).await.unwrap();
//!     Ok::<_, Infallible>(Response::new(format!("visit {}", visits + 1)))
//! });
//!
//! let response = app.oneshot(Request::new(String::new())).await.unwrap();
//! let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
//! assert!(cookie.starts_with("sessionid="));
//! assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
//! # }
//! ```

mod service;

use std::sync::Arc;
use std::time::Duration;

use batteries_sessions::{CookieAction, DEFAULT_SESSION_AGE, Session, SessionError, SessionStore};
use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header};

pub use service::{SessionLayer, SessionService};

use crate::util::{add_vary, cookie_value};

/// How the session cookie is named and flagged (Django's `SESSION_COOKIE_*` settings).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    name: String,
    age: Duration,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    path: String,
    domain: Option<String>,
    expire_at_browser_close: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            name: "sessionid".to_owned(),
            age: DEFAULT_SESSION_AGE,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            path: "/".to_owned(),
            domain: None,
            expire_at_browser_close: false,
        }
    }
}

impl SessionConfig {
    /// Django's defaults, but `Secure`: cookie `sessionid`, two weeks, `HttpOnly`,
    /// `SameSite=Lax`, path `/`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cookie's name.
    #[must_use]
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long a session lasts after its last change.
    #[must_use]
    pub fn with_age(mut self, age: Duration) -> Self {
        self.age = age;
        self
    }

    /// Whether the cookie is only sent over HTTPS (default `true`). Turn it off only for
    /// local development over plain HTTP.
    #[must_use]
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `SameSite` attribute (default `Lax`).
    #[must_use]
    pub fn with_same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The cookie's path (default `/`).
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The cookie's domain (default: none, the host only).
    #[must_use]
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Browser-session cookies (no `Max-Age`) for every session.
    #[must_use]
    pub fn with_expire_at_browser_close(mut self, yes: bool) -> Self {
        self.expire_at_browser_close = yes;
        self
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.name
    }

    fn cookie(&self, value: String, max_age: Option<Duration>) -> Cookie<'static> {
        let mut cookie = Cookie::build((self.name.clone(), value))
            .http_only(self.http_only)
            .secure(self.secure)
            .same_site(self.same_site)
            .path(self.path.clone());
        if let Some(domain) = &self.domain {
            cookie = cookie.domain(domain.clone());
        }
        if let Some(age) = max_age.filter(|_| !self.expire_at_browser_close) {
            let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(secs));
        }
        cookie.build()
    }
}

/// The framework-neutral core of [`SessionLayer`]: opens a request's session from its
/// headers and, after the handler, saves it and writes the cookie into the response
/// headers. The actix-web adapter uses it directly.
#[derive(Debug, Clone)]
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    config: Arc<SessionConfig>,
}

impl SessionManager {
    /// Sessions in `store`, with cookies as `config` says.
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Self {
        Self::from_arc(Arc::new(store), config)
    }

    /// Like [`SessionManager::new`] with a shared store.
    pub fn from_arc(store: Arc<dyn SessionStore>, config: SessionConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
        }
    }

    /// The cookie configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The session named by the request's cookie; nothing is loaded yet.
    pub fn open(&self, request_headers: &HeaderMap) -> Session {
        let key = cookie_value(request_headers, &self.config.name).filter(|k| !k.is_empty());
        Session::with_age(self.store.clone(), key, self.config.age)
    }

    /// Saves `session` if it changed and sets or deletes the cookie in
    /// `response_headers`; adds `Vary: Cookie` when the session was read or written.
    ///
    /// # Errors
    /// The store failed to save.
    pub async fn finish(
        &self,
        session: &Session,
        response_headers: &mut HeaderMap,
    ) -> Result<(), SessionError> {
        if session.is_accessed().await {
            add_vary(response_headers, "cookie");
        }
        let cookie = match session.save().await? {
            CookieAction::Keep => return Ok(()),
            CookieAction::Set { value, max_age } => self.config.cookie(value, max_age),
            CookieAction::Remove => {
                let mut cookie = self.config.cookie(String::new(), None);
                cookie.make_removal();
                cookie
            }
        };
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response_headers.append(header::SET_COOKIE, value);
        }
        // A response that sets a session cookie must never be cached for others.
        response_headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("private"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use async_trait::async_trait;
    use batteries_sessions::{MemorySessionStore, SessionRecord};
    use http::{Request, Response, StatusCode};
    use tower::{ServiceBuilder, ServiceExt};

    use super::*;

    async fn touch(layer: SessionLayer, cookie: Option<&str>) -> Response<String> {
        let app =
            ServiceBuilder::new()
                .layer(layer)
                .service_fn(|req: Request<String>| async move {
                    let session = req.extensions().get::<Session>().cloned().expect("session");
                    session.insert("k", 1).await.expect("store");
                    Ok::<_, Infallible>(Response::new(String::new()))
                });
        let mut request = Request::new(String::new());
        if let Some(cookie) = cookie {
            request.headers_mut().insert(
                header::COOKIE,
                HeaderValue::from_str(cookie).expect("cookie"),
            );
        }
        app.oneshot(request).await.expect("infallible")
    }

    #[tokio::test]
    async fn cookies_are_secure_http_only_and_lax_by_default() {
        let response = touch(
            SessionLayer::new(MemorySessionStore::new(), SessionConfig::new()),
            None,
        )
        .await;
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .expect("ascii");
        for flag in [
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=1209600",
        ] {
            assert!(cookie.contains(flag), "{flag} missing from {cookie}");
        }
        assert_eq!(response.headers()[header::CACHE_CONTROL], "private");
    }

    #[tokio::test]
    async fn cookie_settings_are_honoured() {
        let config = SessionConfig::new()
            .with_cookie_name("sid")
            .with_secure(false)
            .with_same_site(SameSite::Strict)
            .with_domain("example.com")
            .with_expire_at_browser_close(true);
        let response = touch(SessionLayer::new(MemorySessionStore::new(), config), None).await;
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .expect("ascii");
        assert!(cookie.starts_with("sid="), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict") && cookie.contains("Domain=example.com"));
        assert!(
            !cookie.contains("Max-Age"),
            "browser-session cookie: {cookie}"
        );
    }

    #[derive(Debug)]
    struct BrokenStore;

    #[async_trait]
    impl SessionStore for BrokenStore {
        async fn load(&self, _: &str) -> Result<Option<SessionRecord>, SessionError> {
            Ok(None)
        }
        async fn create(&self, _: &SessionRecord) -> Result<String, SessionError> {
            Err(SessionError::Store(
                "secret internals: redis://user:pw@host".into(),
            ))
        }
        async fn save(&self, _: &str, _: &SessionRecord) -> Result<String, SessionError> {
            Err(SessionError::Store("down".into()))
        }
        async fn delete(&self, _: &str) -> Result<(), SessionError> {
            Ok(())
        }
        async fn clear_expired(&self) -> Result<u64, SessionError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn a_failing_store_is_a_503_without_internals() {
        let response = touch(SessionLayer::new(BrokenStore, SessionConfig::new()), None).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        assert!(!response.body().contains("redis://"), "{}", response.body());
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }
}
