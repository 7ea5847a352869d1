//! Migrations creating Django's `contrib.auth` and `contenttypes` tables.
//!
//! Add [`migrations()`] to your `Migrator` with `batteries_orm::migration::compose`.
//! The tables are created with Django's names, columns and constraints, and only if
//! they do not exist: on a database that Django already migrated these migrations
//! change nothing, and batteries and Django share the users.
//!
//! ```
//! use batteries_orm::migration::{MigrationSet, compose};
//! use sea_orm_migration::{MigrationTrait, MigratorTrait};
//!
//! struct Migrator;
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         compose([batteries_auth::migrations::migrations(), MigrationSet::new("my-app")])
//!             .expect("unique migration names")
//!     }
//! }
//! # assert!(!Migrator::migrations().is_empty());
//! ```

use batteries_orm::migration::MigrationSet;

mod m20261125_000001_auth_create_tables;
mod m20261125_000200_auth_create_jwt_refresh;

/// The migrations of `batteries-auth`, in order: Django's auth tables, the login
/// throttle's table ([`crate::throttle::DatabaseThrottleStore`]), the sessions' table
/// ([`crate::sessions::DatabaseSessionStore`], from `batteries-sessions`).
///
/// The JWT refresh tokens' table is no longer created here: it comes from
/// `batteries_jwt::migrations()` (`batteries_auth::jwt::migrations()` with the `jwt`
/// feature), which an application using `DatabaseRefreshStore` composes beside this
/// set. The migration that used to create it here,
/// `m20261125_000200_auth_create_jwt_refresh`, stays in this set and does nothing, so
/// that databases which recorded it migrate as before.
pub fn migrations() -> MigrationSet {
    MigrationSet::new("batteries-auth")
        .with(m20261125_000001_auth_create_tables::Migration)
        .with(crate::throttle::migration())
        .with(m20261125_000200_auth_create_jwt_refresh::Migration)
        .with(crate::sessions::migration())
}
