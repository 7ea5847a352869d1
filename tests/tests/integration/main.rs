//! Integration tests of batteries, each run on SQLite, PostgreSQL and MariaDB.
//!
//! One test binary (one link, one build) holds every module, one folder per battery:
//! `orm`, `auth`, `sessions`, `jwt`, `middleware`, `admin`, `frameworks` (one site on
//! axum, actix-web and hyper) and `examples`. Filter by battery or file:
//! `cargo test -p batteries-tests --test integration sessions::`.

// Test bodies are async helpers run by `backend_tests!`, out of the reach of clippy's
// `allow-unwrap-in-tests`; a failed unwrap is a failed test here.
#![allow(clippy::unwrap_used)]

mod admin;
mod auth;
mod examples;
mod frameworks;
mod jwt;
mod middleware;
mod orm;
mod sessions;
