#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod authentication;
pub mod backends;
pub mod entities;
pub mod error;
pub mod hashers;
/// JSON Web Tokens: the `batteries-jwt` crate (feature `jwt`).
#[cfg(feature = "jwt")]
pub use batteries_jwt as jwt;
pub mod migrations;
pub mod permissions;
/// The Redis connection every batteries Redis store uses (from `batteries-core`).
#[cfg(feature = "redis")]
pub use batteries_core::redis_conn;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod user;
pub mod validators;

pub use authentication::Auth;
pub use backends::{
    AuthBackend, Authenticator, Credentials, ModelBackend, UserLoader, authenticate,
};
pub use error::{Error, Result};
pub use permissions::{Permissions, PermissionsExt};
pub use user::{AuthUser, UserManager};
