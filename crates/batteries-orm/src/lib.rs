#![doc = include_str!("../README.md")]
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
