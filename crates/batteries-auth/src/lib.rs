//! # batteries-auth
//!
//! Django's `contrib.auth` as a framework-free crate: users, groups and permissions in
//! Django's own tables, Django-compatible password hashing, `authenticate()`, password
//! validators, reset tokens and login throttling.
//!
//! | module | Django counterpart |
//! | --- | --- |
//! | [`entities`], [`migrations`] | `contrib.auth.models`, `contenttypes`, their migrations |
//! | [`user`] | `AbstractBaseUser`, `UserManager` |
//! | [`hashers`] | `contrib.auth.hashers` |
//! | [`backends`] | `authenticate()`, `ModelBackend` |
//! | [`permissions`] | `has_perm`, `has_module_perms`, default permissions |
//! | [`validators`] | `password_validation` |
//! | [`tokens`] | `PasswordResetTokenGenerator` |
//! | [`throttle`] | (django-axes) login throttling |
//! | `jwt` (feature `jwt`) | (djangorestframework-simplejwt) access and refresh tokens, JWKS |
//!
//! ## Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `sqlite` (default), `postgres`, `mysql` | the database backends, through `batteries-orm` |
//! | `jwt` | [`jwt`]: JSON Web Tokens (jsonwebtoken with the aws-lc-rs backend) |
//! | `redis` | Redis stores: login throttling, sessions, JWT refresh tokens |
//! | `full` | all of the above |
#![deny(missing_docs)]

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

pub use backends::{
    AuthBackend, Authenticator, Credentials, ModelBackend, UserLoader, authenticate,
};
pub use error::{Error, Result};
pub use permissions::Permissions;
pub use user::{AuthUser, UserManager};
