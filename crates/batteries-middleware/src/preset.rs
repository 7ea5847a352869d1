//! [`BatteriesLayer`]: security headers, sessions, the current user and CSRF as one
//! tower layer, in the order they must run.
//!
//! The same pipeline as batteries-actix's `Batteries` middleware, configured with the
//! same types, so an axum or hyper app and an actix-web app built from the same pieces
//! behave the same. Each part is optional; [`BatteriesLayer::recommended`] turns on all
//! four with Django's defaults.
//!
//! | order (outside-in) | part | as |
//! | --- | --- | --- |
//! | 1 | security headers, on every answer (refusals included) | [`SecurityHeadersLayer`] |
//! | 2 | the session: cookie in, `Set-Cookie` out | [`SessionLayer`] |
//! | 3 | the current user, by session or bearer token | [`AuthLayer`] |
//! | 4 | the CSRF check of unsafe methods | [`CsrfLayer`] |
//!
//! Guards (login or a permission required) and per-user rate limits go on the routes
//! that need them, inside this layer; a rate limit by client IP goes outside it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use batteries_auth::Auth;
//! use batteries_auth::sessions::{MemorySessionStore, SessionSecret};
//! use batteries_middleware::BatteriesLayer;
//! use batteries_middleware::auth::CurrentUser;
//! use batteries_middleware::session::{SessionConfig, SessionManager};
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! // The one owner of the secret key, also given to the admin and to login views.
//! let auth = Auth::new(db, SessionSecret::new("a secret key of at least 32 bytes!!")?);
//! let batteries = BatteriesLayer::recommended(
//!     SessionManager::new(MemorySessionStore::new(), SessionConfig::new()),
//!     &auth,
//! );
//! let app = ServiceBuilder::new().layer(batteries).service(service_fn(
//!     |request: Request<Full<Bytes>>| async move {
//!         let user = request.extensions().get::<CurrentUser>().cloned();
//!         let who = if user.is_some_and(|u| u.is_authenticated()) { "someone" } else { "anonymous" };
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(who))))
//!     },
//! ));
//!
//! let page = app.clone().oneshot(Request::get("/").body(Full::default())?).await?;
//! assert_eq!(page.status(), StatusCode::OK);
//! assert_eq!(page.headers()["x-frame-options"], "DENY");
//!
//! // A form posted from elsewhere, without the CSRF token: refused, with the headers.
//! let forged = Request::post("/comments")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(Full::new(Bytes::from("body=spam")))?;
//! let refused = app.oneshot(forged).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
//! # Ok(()) }
//! ```

use std::fmt;
use std::task::{Context, Poll};

use http::Request;
use tower::util::Either;
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::{AuthLayer, Authentication};
use crate::csrf::CsrfLayer;
use crate::headers::{SecurityHeaders, SecurityHeadersLayer};
use crate::session::{SessionLayer, SessionManager};

/// Security headers, sessions, authentication and CSRF in the right order, as one
/// layer: see the [module docs](self).
///
/// Cheap to clone. Parts left out are skipped, not replaced by defaults: start from
/// [`recommended`](Self::recommended) unless you know which part you do not want.
#[derive(Clone, Default)]
#[must_use]
pub struct BatteriesLayer {
    headers: Option<SecurityHeadersLayer>,
    sessions: Option<SessionLayer>,
    auth: Option<AuthLayer>,
    csrf: Option<CsrfLayer>,
}

impl fmt::Debug for BatteriesLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatteriesLayer")
            .field("headers", &self.headers.is_some())
            .field("sessions", &self.sessions.is_some())
            .field("auth", &self.auth.is_some())
            .field("csrf", &self.csrf.is_some())
            .finish()
    }
}

impl BatteriesLayer {
    /// Nothing enabled yet: add the parts with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// All four parts: Django's security headers ([`SecurityHeaders::new`], with HSTS:
    /// call [`security_headers`](Self::security_headers) with
    /// `SecurityHeaders::new().without_hsts()` for plain-HTTP development), `sessions`,
    /// `auth` (an [`Authentication`], or `&Auth` of batteries-auth) and the CSRF check
    /// ([`CsrfLayer::new`]).
    pub fn recommended(sessions: SessionManager, auth: impl Into<Authentication>) -> Self {
        Self::new()
            .security_headers(SecurityHeaders::new())
            .sessions(sessions)
            .auth(auth.into())
            .csrf(CsrfLayer::new())
    }

    /// Security headers on every response, as [`SecurityHeadersLayer`].
    pub fn security_headers(mut self, headers: SecurityHeaders) -> Self {
        self.headers = Some(SecurityHeadersLayer::new(headers));
        self
    }

    /// Sessions, as [`SessionLayer`].
    pub fn sessions(mut self, manager: SessionManager) -> Self {
        self.sessions = Some(SessionLayer::from_manager(manager));
        self
    }

    /// The current user, as [`AuthLayer`].
    pub fn auth(mut self, auth: Authentication) -> Self {
        self.auth = Some(AuthLayer::from_authentication(auth));
        self
    }

    /// CSRF protection, as [`CsrfLayer`].
    pub fn csrf(mut self, csrf: CsrfLayer) -> Self {
        self.csrf = Some(csrf);
        self
    }

    /// Leaves the CSRF check out (for an API that only takes bearer tokens, which a
    /// browser never sends by itself).
    pub fn without_csrf(mut self) -> Self {
        self.csrf = None;
        self
    }
}

/// A part that may be left out.
type Opt<L, S> = Either<<L as Layer<S>>::Service, S>;

/// The parts, outside-in.
type Stack<S> = Opt<SecurityHeadersLayer, Opt<SessionLayer, Opt<AuthLayer, Opt<CsrfLayer, S>>>>;

fn optional<L: Layer<S>, S>(layer: Option<&L>, inner: S) -> Opt<L, S> {
    match layer {
        Some(layer) => Either::Left(layer.layer(inner)),
        None => Either::Right(inner),
    }
}

impl<S> Layer<S> for BatteriesLayer {
    type Service = BatteriesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let csrf = optional(self.csrf.as_ref(), inner);
        let auth = optional(self.auth.as_ref(), csrf);
        let sessions = optional(self.sessions.as_ref(), auth);
        BatteriesService {
            inner: optional(self.headers.as_ref(), sessions),
        }
    }
}

/// The service made by [`BatteriesLayer`].
pub struct BatteriesService<S> {
    inner: Stack<S>,
}

impl<S: Clone> Clone for BatteriesService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S> fmt::Debug for BatteriesService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatteriesService").finish_non_exhaustive()
    }
}

impl<S, ReqBody> Service<Request<ReqBody>> for BatteriesService<S>
where
    Stack<S>: Service<Request<ReqBody>>,
{
    type Response = <Stack<S> as Service<Request<ReqBody>>>::Response;
    type Error = <Stack<S> as Service<Request<ReqBody>>>::Error;
    type Future = <Stack<S> as Service<Request<ReqBody>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        self.inner.call(request)
    }
}
