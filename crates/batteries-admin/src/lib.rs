//! # batteries-admin
//!
//! Django's admin for SeaORM entities.
#![deny(missing_docs)]

mod templates;
