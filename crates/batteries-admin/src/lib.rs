#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// The layers, each importing only those before it (`tests` below checks it):
// model (SeaORM only) <- config (the builders) <- registry <- service <- html | api
// <- router, html and api never importing each other. `body`, `response`, `templates`,
// `error`, `log` and `migrations` are leaves any layer may use.
mod api;
mod body;
mod config;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod html;
#[cfg(test)]
mod layers;
pub mod log;
pub mod migrations;
mod model;
mod registry;
mod response;
mod router;
mod service;
mod templates;

pub use body::AdminBody;
pub use config::user_admin::user_admin;
pub use config::{AdminAuth, AdminSite, Inline, IntoAdminAuth, ManyToMany, ModelAdmin};
pub use error::{Error, Result};
pub use model::m2m::MAX_M2M_IDS;
pub use registry::check::IndexAdvice;
pub use registry::summary::{ActionSummary, ModelSummary, RelatedField, RouteSummary};
pub use router::Admin;
