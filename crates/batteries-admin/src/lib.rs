//! # batteries-admin
//!
//! Django's admin for [SeaORM](https://www.sea-ql.org/SeaORM/) entities: register an
//! entity, get a changelist with search, filters, multi-column sorting and pagination,
//! add/change forms with server-side validation, deletion with a confirmation that lists
//! what cascades, bulk actions, a history of every change in Django's own
//! `django_admin_log` table, and per-model view/add/change/delete permissions from
//! batteries-auth. The same registrations are served as a JSON API with an OpenAPI 3.1
//! document.
//!
//! No derive is needed on the entity: columns, types, nullability and foreign keys come
//! from SeaORM's own metadata.
//!
//! The site is a tower `Service` ([`Admin`]): nest it in axum, call it from hyper, or
//! mount it on actix-web with `batteries-actix`. It expects batteries-middleware's
//! session and authentication layers in front of it (see [`AdminSite`]).
//!
//! | Django | batteries-admin |
//! | --- | --- |
//! | `admin.site.register(Post, PostAdmin)` | `AdminSite::new().register(ModelAdmin::<post::Entity>::new())` |
//! | `list_display`, `list_filter`, `search_fields`, `ordering`, `list_per_page` | methods of [`ModelAdmin`] of the same names |
//! | `readonly_fields`, `fields`, `fieldsets`, `autocomplete_fields` | the same |
//! | `ManyToManyField`, `filter_horizontal` | [`ModelAdmin::many_to_many`] with [`ManyToMany`] |
//! | `actions` | [`ModelAdmin::action`] |
//! | `save_model` / `delete_model` | [`ModelAdmin::on_save`] / [`ModelAdmin::on_delete`] |
//! | `__str__` | [`ModelAdmin::display`] |
//! | `templates/admin/*.html` overrides | [`AdminSite::templates_dir`] |
//! | `LogEntry` | [`log`] |
//! | `django.contrib.auth.admin.UserAdmin` | [`user_admin()`] |
//!
//! Tables: run [`migrations::migrations()`] after batteries-auth's (the log refers to
//! `auth_user` and `django_content_type`).
//!
//! ## Example
//!
//! An admin for one entity on in-memory SQLite, behind the session and authentication
//! layers, asked for its index by an anonymous visitor:
//!
//! ```
//! # mod post {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//! #     #[sea_orm(table_name = "blog_post")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         pub title: String,
//! #         pub published: bool,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use batteries_admin::{AdminSite, ModelAdmin};
//! use batteries_auth::ModelBackend;
//! use batteries_auth::sessions::{MemorySessionStore, SessionSecret};
//! use batteries_middleware::auth::AuthLayer;
//! use batteries_middleware::session::{SessionConfig, SessionLayer};
//! use sea_orm_migration::{MigrationTrait, MigratorTrait};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! struct Migrator;
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         batteries_orm::migration::compose([
//!             batteries_auth::migrations::migrations(),
//!             batteries_admin::migrations::migrations(),
//!         ])
//!         .expect("unique migration names")
//!     }
//! }
//!
//! let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! Migrator::up(&db, None).await?;
//! let secret = SessionSecret::new("a development secret of at least 32 bytes")?;
//! let admin = AdminSite::new()
//!     .register(
//!         ModelAdmin::<post::Entity>::new()
//!             .list_display([post::Column::Title, post::Column::Published])
//!             .search_fields([post::Column::Title])
//!             .list_filter([post::Column::Published]),
//!     )
//!     .build(db.clone(), secret.clone())
//!     .await?;
//! let service = ServiceBuilder::new()
//!     .layer(SessionLayer::new(MemorySessionStore::new(), SessionConfig::new()))
//!     .layer(AuthLayer::new(ModelBackend::new(db.clone()), secret))
//!     .service(admin);
//!
//! let request = http::Request::get("/admin/").body(http_body_util::Empty::<bytes::Bytes>::new())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), 302);
//! assert_eq!(response.headers()["location"], "/admin/login/?next=%2Fadmin%2F");
//! assert_eq!(response.headers()["x-frame-options"], "DENY");
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod api;
mod check;
mod error;
mod field;
#[doc(hidden)]
pub mod fuzzing;
mod inline;
pub mod log;
mod m2m;
pub mod migrations;
mod model;
mod openapi;
mod registry;
mod site;
mod templates;
mod user_admin;
mod views;

pub use check::IndexAdvice;
pub use error::{Error, Result};
pub use inline::Inline;
pub use m2m::{MAX_M2M_IDS, ManyToMany};
pub use model::ModelAdmin;
pub use registry::{ActionSummary, ModelSummary, RelatedField, RouteSummary};
pub use site::{Admin, AdminBody, AdminSite};
pub use user_admin::user_admin;
