//! # batteries-admin
//!
//! Django's admin for SeaORM entities.
#![deny(missing_docs)]

pub mod log;
pub mod migrations;
mod templates;
