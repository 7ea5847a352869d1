//! Integration tests of batteries, each run on SQLite, PostgreSQL and MariaDB.
//!
//! One test binary (one link, one build) holds every module.

mod common;
mod create;
mod db;
mod example;
mod filters;
mod fixtures;
mod keyset;
mod migration;
mod paginate;
