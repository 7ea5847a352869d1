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
//!
//! ## Example
//!
//! Django's tables on in-memory SQLite, a user, a login, a permission:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_auth::Result<()> {
//! use batteries_auth::permissions::{Permissions, PermissionsExt as _, ensure_model_permissions};
//! use batteries_auth::{Authenticator, Credentials, ModelBackend, UserManager};
//! use sea_orm_migration::{MigrationTrait, MigratorTrait};
//!
//! struct Migrator;
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         batteries_auth::migrations::migrations().into_migrations()
//!     }
//! }
//!
//! let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! Migrator::up(&db, None).await?;
//! ensure_model_permissions(&db, "blog", "post", "post").await?;
//!
//! let ada = UserManager::new()
//!     .create_user(&db, "ada", Some("ada@example.com"), Some("correct horse battery staple"))
//!     .await?;
//! let auth = Authenticator::new().with_backend(ModelBackend::new(db.clone()));
//! let wrong = auth.authenticate(&Credentials::new("ada", "guess")).await?;
//! assert!(wrong.is_none());
//! let user = auth
//!     .authenticate(&Credentials::new("ada", "correct horse battery staple"))
//!     .await?
//!     .expect("the right password logs in");
//! assert_eq!(user.id, ada.id);
//! assert!(user.password.starts_with("argon2$argon2id$"), "Django's argon2 format");
//!
//! let perms = Permissions::load(&db, &user).await?;
//! assert!(!perms.has_perm("blog.change_post"), "nothing granted yet");
//! # Ok(()) }
//! ```
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
