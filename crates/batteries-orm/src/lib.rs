//! # batteries-orm
//!
//! The conveniences Django's ORM gives every project, for [SeaORM](https://www.sea-ql.org/SeaORM/):
//!
//! | module | Django counterpart |
//! | --- | --- |
//! | [`db`] | `DATABASES` / `dj-database-url`: connect from one URL, pool options |
//! | [`filter`] | `django-filter` / DRF filters: `?title__icontains=rust&ordering=-created` |
//! | [`paginate`] | `Paginator`, with counts that stay cheap on huge tables |
//! | [`keyset`] | DRF's `CursorPagination`, with signed cursors |
//! | [`create`] | `get_or_create`, `update_or_create` |
//! | [`fixtures`] | `dumpdata` / `loaddata` in Django's JSON format |
//! | [`migration`] | each app's migrations, run together |
//! | [`value`] | how each column type is spelled as text and JSON (used by filters, fixtures and the admin) |
//! | `testing` (feature `testing`) | a fresh test database per test on each backend |
//!
//! ## Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `sqlite` (default) | SQLite through sqlx |
//! | `postgres` | PostgreSQL through sqlx |
//! | `mysql` | MySQL and MariaDB through sqlx |
//! | `testing` | the `testing` module |
//! | `full` | all of the above |
//!
//! ## Example
//!
//! A JSON list endpoint's whole data path: connect, filter from the query string,
//! paginate.
//!
//! ```
//! # mod post {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
//! #     #[sea_orm(table_name = "post")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         pub title: String,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! use batteries_orm::{db, filter::FilterSet, paginate::Paginator};
//! use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Schema, Set};
//!
//! let db = db::connect("sqlite::memory:").await?;
//! # db.execute(&Schema::new(db.get_database_backend()).create_table_from_entity(post::Entity)).await?;
//! for title in ["Rust", "Django", "Rust and Django"] {
//!     post::ActiveModel { title: Set(title.into()), ..Default::default() }.insert(&db).await?;
//! }
//!
//! let filters = FilterSet::<post::Entity>::new().field(post::Column::Title);
//! let params = filters.parse("title__icontains=rust&ordering=-title")?;
//! let page = Paginator::new().page_for(&db, post::Entity::find(), &params).await?;
//!
//! let titles: Vec<_> = page.items.iter().map(|p| p.title.as_str()).collect();
//! assert_eq!(titles, ["Rust and Django", "Rust"]);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod create;
pub mod db;
pub mod error;
pub mod filter;
pub mod fixtures;
pub mod keyset;
pub mod migration;
pub mod paginate;
#[cfg(feature = "testing")]
pub mod testing;
pub mod value;

pub use error::{CursorError, DbFailure, Error, FilterError, FixtureError, Result};

/// SeaORM, re-exported so applications use the same version as batteries.
pub use sea_orm;
/// sea-orm-migration, re-exported for the same reason.
pub use sea_orm_migration;
