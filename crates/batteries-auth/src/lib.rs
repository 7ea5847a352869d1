#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod authentication;
pub mod backends;
pub mod entities;
pub mod error;
pub mod hashers;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod migrations;
pub mod permissions;
#[cfg(feature = "redis")]
pub mod redis_conn;
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
pub use permissions::Permissions;
pub use user::{AuthUser, UserManager};
