#![doc = include_str!("../README.md")]
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
