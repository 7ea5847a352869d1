//! The configuration layer: the builders a user writes ([`ModelAdmin`], [`Inline`],
//! [`ManyToMany`], [`AdminSite`], the [`user_admin`](user_admin::user_admin) preset) and
//! their checking into the model layer's [`EntityAdmin`](crate::model::EntityAdmin).
//! It reads the model layer only.

pub(crate) mod auth;
mod build;
pub(crate) mod inline;
pub(crate) mod m2m;
pub(crate) mod model_admin;
pub(crate) mod site;
pub(crate) mod user_admin;

pub use auth::{AdminAuth, IntoAdminAuth};
pub use inline::Inline;
pub use m2m::ManyToMany;
pub use model_admin::ModelAdmin;
pub use site::AdminSite;
