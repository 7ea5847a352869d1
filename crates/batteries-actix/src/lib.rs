#![doc = include_str!("../README.md")]
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
