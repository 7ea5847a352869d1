//! # batteries-actix
//!
//! The batteries layers for actix-web, which is not tower-based: one middleware,
//! [`Batteries`], runs the security headers, session, authentication and CSRF steps with the same
//! framework-neutral cores as `batteries-middleware`'s tower layers; [`RequireLogin`]
//! and [`RequirePerm`] guard scopes; extractors give handlers the user, the session and
//! CSRF tokens. An actix-web app and an axum app built from the same pieces answer the
//! same requests the same way (the conformance tests check it).
//!
//! | item | Django counterpart |
//! | --- | --- |
//! | [`Batteries`] | `SessionMiddleware`, `AuthenticationMiddleware`, `CsrfViewMiddleware` |
//! | [`RequireLogin`], [`RequirePerm`] | `login_required`, `permission_required` |
//! | [`RateLimit`] | (django-ratelimit) |
//! | [`CurrentUser`], [`RequireUser`], [`Perm`] | `request.user`, `@login_required`, `@permission_required` |
//! | [`Session`], [`CsrfToken`] | `request.session`, `{% csrf_token %}` |
//! | `admin::scope` (feature `admin`) | `path("admin/", admin.site.urls)` |
#![deny(missing_docs)]

#[cfg(feature = "admin")]
pub mod admin;
mod convert;
mod extract;
mod guard;
mod middleware;
mod ratelimit;

pub use extract::{
    Auth, CsrfToken, CurrentUser, Perm, Permission, Rejection, RequireUser, Session, permission,
};
pub use guard::{GuardMiddleware, RequireLogin, RequirePerm};
pub use middleware::{Batteries, BatteriesMiddleware};
pub use ratelimit::{RateLimit, RateLimitMiddleware};
