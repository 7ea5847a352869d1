//! Integration tests of batteries, each run on SQLite, PostgreSQL and MariaDB.
//!
//! One test binary (one link, one build) holds every module.

// Test bodies are async helpers run by `backend_tests!`, out of the reach of clippy's
// `allow-unwrap-in-tests`; a failed unwrap is a failed test here.
#![allow(clippy::unwrap_used)]

mod admin;
mod admin_api;
mod admin_browser;
mod admin_browser_inlines;
mod admin_browser_m2m;
mod admin_browser_rawid;
mod admin_changelist;
mod admin_export;
mod admin_inlines;
mod admin_log;
mod admin_m2m;
mod admin_matrix;
mod admin_mount;
mod admin_object_perms;
mod admin_users;
mod auth;
mod auth_hashers;
mod auth_jwt;
mod auth_login;
mod auth_login_flood;
mod auth_throttle;
mod auth_tokens;
mod browser_common;
mod cli;
mod common;
mod conformance;
mod create;
mod db;
mod db_faults;
mod db_faults_apps;
mod example;
mod example_actix;
mod example_hyper;
mod filters;
mod fixtures;
mod keyset;
mod migration;
mod multi_instance;
mod paginate;
mod ratelimit;
mod redis_outage;
mod redis_restart;
mod sessions_store;
