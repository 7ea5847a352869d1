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
//!
//! Order them outside-in: session, auth, CSRF, then guards on the routes that need
//! them. Every layer's decision is also a plain function on `http` types, which the
//! actix-web adapter calls.
//!
//! ## Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `sqlite` (default), `postgres`, `mysql` | database backends of the stores |
//! | `redis` | Redis stores |
//! | `full` | all of the above |
#![deny(missing_docs)]

pub mod auth;
pub mod csrf;
pub mod guard;
pub mod session;
mod util;

pub use util::{cookie_value, wants_html};
