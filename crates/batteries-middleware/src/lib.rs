//! # batteries-middleware
//!
//! Django's request-side middleware as tower layers, for axum, hyper, tonic or any
//! tower-based server (actix-web through `batteries-actix`):
//!
//! | module | layer | Django counterpart |
//! | --- | --- | --- |
//! | [`session`] | [`SessionLayer`](session::SessionLayer) | `SessionMiddleware` |
//! | [`auth`] | [`AuthLayer`](auth::AuthLayer) | `AuthenticationMiddleware` (+ bearer tokens) |
//! | [`guard`] | [`RequireLoginLayer`](guard::RequireLoginLayer), [`RequirePermLayer`](guard::RequirePermLayer) | `login_required`, `permission_required` |
//! | [`csrf`] | [`CsrfLayer`](csrf::CsrfLayer) | `CsrfViewMiddleware` |
//! | [`headers`] | [`SecurityHeadersLayer`](headers::SecurityHeadersLayer) | `SecurityMiddleware`, `XFrameOptionsMiddleware` |
//! | [`ratelimit`] | [`RateLimitLayer`](ratelimit::RateLimitLayer) | (django-ratelimit) |
//! | [`panic`](mod@panic) | [`CatchPanicLayer`](panic::CatchPanicLayer) | the `500` of Django's `handler500` |
//!
//! Order them outside-in: security headers, catch panic, rate limit by client IP,
//! session, auth, CSRF, then guards (and per-user rate limits) on the routes that need
//! them. Every layer's decision is also a plain function on `http` types, which the
//! actix-web adapter calls.
//!
//! Every layer but the security headers also catches a panic of its own code and of
//! the services inside it and answers a plain `500` (see [`panic`](mod@panic)): no panic behind
//! them resets a client's connection.
//!
//! ## Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `redis` | the Redis store of the rate limiter |
//! | `jwt` | JWT access tokens as bearer tokens in the auth layer |
//! | `full` | all of the above |
//!
//! ## Example
//!
//! Security headers, sessions and CSRF around a plain tower service: a page is served
//! with Django's headers, a form post without the CSRF token is refused.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use batteries_sessions::MemorySessionStore;
//! use batteries_middleware::csrf::CsrfLayer;
//! use batteries_middleware::headers::{SecurityHeaders, SecurityHeadersLayer};
//! use batteries_middleware::session::{SessionConfig, SessionLayer};
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! let app = ServiceBuilder::new()
//!     .layer(SecurityHeadersLayer::new(SecurityHeaders::new()))
//!     .layer(SessionLayer::new(MemorySessionStore::new(), SessionConfig::new()))
//!     .layer(CsrfLayer::new())
//!     .service(service_fn(|_request: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//!     }));
//!
//! let page = app.clone().oneshot(Request::get("/").body(Full::default())?).await?;
//! assert_eq!(page.status(), StatusCode::OK);
//! assert_eq!(page.headers()["x-frame-options"], "DENY");
//! assert_eq!(page.headers()["x-content-type-options"], "nosniff");
//!
//! let forged = Request::post("/comments")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(Full::new(Bytes::from("body=spam")))?;
//! let refused = app.oneshot(forged).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod csrf;
pub mod guard;
pub mod headers;
pub mod panic;
pub mod preset;
pub mod ratelimit;
pub mod session;
mod util;

pub use preset::{BatteriesLayer, BatteriesService};
pub use util::{UNAVAILABLE_RETRY_AFTER_SECS, cookie_value, unavailable, wants_html};

/// The traits and types this crate builds on (`batteries-core`), for the adapters.
pub use batteries_core as core;
/// The sessions the session layer manages (`batteries-sessions`), for the adapters.
pub use batteries_sessions as sessions;
