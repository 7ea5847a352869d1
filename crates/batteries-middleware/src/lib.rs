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
//!
//! Order them outside-in: security headers, rate limit by client IP, session, auth,
//! CSRF, then guards (and per-user rate limits) on the routes that need them. Every layer's decision is also a plain function on `http` types, which the
//! actix-web adapter calls.
//!
//! ## Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `sqlite` (default), `postgres`, `mysql` | database backends of the stores |
//! | `redis` | Redis stores |
//! | `jwt` | JWT access tokens as bearer tokens in the auth layer |
//! | `full` | all of the above |
#![deny(missing_docs)]

pub mod auth;
pub mod csrf;
pub mod guard;
pub mod headers;
pub mod ratelimit;
pub mod session;
mod util;

pub use util::{cookie_value, wants_html};
