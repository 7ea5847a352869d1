//! Composing the migrations of several batteries with the application's own.
//!
//! Each battery crate that owns tables exposes its sea-orm-migration migrations as a
//! [`MigrationSet`]; the application lists those sets, then its own, in its
//! `Migrator`. [`compose`] keeps that order (a battery's tables exist before the
//! application's tables refer to them) and refuses two migrations with the same name,
//! which sea-orm-migration would otherwise confuse in its `seaql_migrations` table.
//!
//! Name battery migrations `m<YYYYMMDD>_<NNNNNN>_<battery>_<what>`
//! (`m20261125_000001_auth_create_user`) so they never collide with an application's.
//!
//! ```
//! use batteries_orm::migration::{MigrationSet, compose};
//! use sea_orm_migration::prelude::*;
//!
//! // Usually `#[derive(DeriveMigrationName)] pub struct Migration;` in a file named
//! // after the migration: the derive takes the name from the file.
//! struct CreatePost;
//!
//! impl MigrationName for CreatePost {
//!     fn name(&self) -> &str {
//!         "m20261125_000001_blog_create_post"
//!     }
//! }
//!
//! #[async_trait::async_trait]
//! impl MigrationTrait for CreatePost {
//!     async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
//!         manager
//!             .create_table(
//!                 Table::create()
//!                     .table("blog_post")
//!                     .if_not_exists()
//!                     .col(ColumnDef::new("id").integer().not_null().auto_increment().primary_key())
//!                     .to_owned(),
//!             )
//!             .await
//!     }
//! }
//!
//! pub struct Migrator;
//!
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         compose([
//!             // batteries_auth::migrations(), ... as more batteries arrive
//!             MigrationSet::new("blog").with(CreatePost),
//!         ])
//!         .expect("migration names are unique")
//!     }
//! }
//! # assert_eq!(Migrator::migrations().len(), 1);
//! ```

use sea_orm_migration::MigrationTrait;

use crate::error::{Error, Result};

/// The migrations one battery (or the application) contributes, in order.
#[must_use]
pub struct MigrationSet {
    owner: String,
    migrations: Vec<Box<dyn MigrationTrait>>,
}

impl std::fmt::Debug for MigrationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationSet")
            .field("owner", &self.owner)
            .field("migrations", &self.names())
            .finish()
    }
}

impl MigrationSet {
    /// An empty set owned by `owner` (a crate or app name, used in error messages).
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            migrations: Vec::new(),
        }
    }

    /// Appends a migration.
    pub fn with(mut self, migration: impl MigrationTrait + 'static) -> Self {
        self.migrations.push(Box::new(migration));
        self
    }

    /// Appends boxed migrations, for example an existing `Migrator::migrations()`.
    pub fn with_all(
        mut self,
        migrations: impl IntoIterator<Item = Box<dyn MigrationTrait>>,
    ) -> Self {
        self.migrations.extend(migrations);
        self
    }

    /// Who contributes this set.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The migration names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.migrations.iter().map(|m| m.name()).collect()
    }

    /// The migrations, for a `MigratorTrait::migrations`.
    pub fn into_migrations(self) -> Vec<Box<dyn MigrationTrait>> {
        self.migrations
    }
}

/// Concatenates `sets` in order into the list a `MigratorTrait::migrations` returns.
///
/// # Errors
/// [`Error::DuplicateMigration`] when two migrations share a name.
pub fn compose(
    sets: impl IntoIterator<Item = MigrationSet>,
) -> Result<Vec<Box<dyn MigrationTrait>>> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for set in sets {
        for migration in set.migrations {
            let name = migration.name().to_owned();
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(Error::DuplicateMigration {
                    name,
                    first: first.clone(),
                    second: set.owner.clone(),
                });
            }
            seen.push((name, set.owner.clone()));
            out.push(migration);
        }
    }
    Ok(out)
}
