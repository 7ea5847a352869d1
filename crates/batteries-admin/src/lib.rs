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
//! | `actions` | [`ModelAdmin::action`] |
//! | `save_model` / `delete_model` | [`ModelAdmin::on_save`] / [`ModelAdmin::on_delete`] |
//! | `__str__` | [`ModelAdmin::display`] |
//! | `templates/admin/*.html` overrides | [`AdminSite::templates_dir`] |
//! | `LogEntry` | [`log`] |
//!
//! Tables: run [`migrations::migrations()`] after batteries-auth's (the log refers to
//! `auth_user` and `django_content_type`).
#![deny(missing_docs)]

mod api;
mod check;
mod error;
mod field;
pub mod log;
pub mod migrations;
mod model;
mod openapi;
mod site;
mod templates;
mod views;

pub use check::IndexAdvice;
pub use error::{Error, Result};
pub use model::ModelAdmin;
pub use site::{Admin, AdminBody, AdminSite};
