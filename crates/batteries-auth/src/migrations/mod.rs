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
/// throttle's table ([`crate::throttle::DatabaseStore`]), the JWT refresh tokens' table
/// (`jwt::DatabaseRefreshStore`; created whether or not the `jwt` feature is on, so that
/// turning it on later needs no out-of-order migration), the sessions' table
/// ([`crate::sessions::DatabaseStore`]).
pub fn migrations() -> MigrationSet {
    MigrationSet::new("batteries-auth")
        .with(m20261125_000001_auth_create_tables::Migration)
        .with(crate::throttle::migration())
        .with(jwt_refresh())
        .with(crate::sessions::migration())
}

/// The migration creating `batteries_jwt_refresh`.
pub(crate) fn jwt_refresh() -> impl sea_orm_migration::MigrationTrait {
    m20261125_000200_auth_create_jwt_refresh::Migration
}
