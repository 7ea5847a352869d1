//! # batteries-admin
//!
//! Django's admin for SeaORM entities.
#![deny(missing_docs)]

pub mod migrations;
mod templates;
