//! The model layer, SeaORM only: fields ([`field`]), what the site knows of a model
//! ([`ModelInfo`]), its rows ([`Row`]) and the type-erased [`AdminModel`] that
//! [`EntityAdmin`] implements for one entity, many-to-many fields ([`m2m`]) and inlines
//! ([`inline`]) with their types erased.

pub(crate) mod action;
mod dates;
mod entity;
pub(crate) mod field;
pub(crate) mod hooks;
mod info;
pub(crate) mod inline;
pub(crate) mod m2m;

pub(crate) use dates::{DatePart, expand_date_params};
pub(crate) use entity::{EntityAdmin, foreign_keys};
pub(crate) use info::{
    AdminModel, Column, ExportFrom, ListError, ListPage, ModelInfo, PasswordInfo, Row, SaveError,
};
