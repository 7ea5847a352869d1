//! What the two benchmarks (`bench/admin`, `bench/load`) share, so that neither copies
//! the other or the tests: the admin test site's entities, compiled from the tests' own
//! file, creating the benchmark's database, and reading the environment.

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

/// The admin test site's tables (`tests/src/admin_app/entities.rs`, the very file the
/// tests compile): the benchmark measures the models the tests check.
#[cfg(feature = "entities")]
#[path = "../../../tests/src/admin_app/entities.rs"]
pub mod entities;

/// The benchmarks' error type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment variable `name`, or `default` when it is unset.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `url` with its database replaced by `db`, the query string kept.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, rest) = url.rsplit_once('/').unwrap_or((url, ""));
    match rest.split_once('?') {
        Some((_, query)) => format!("{base}/{db}?{query}"),
        None => format!("{base}/{db}"),
    }
}

/// Whether [`create_database`] keeps a database that exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Keep it, with its data (bench/admin seeds a million rows once).
    Keep,
    /// Drop it first (bench/load starts from nothing each time).
    Drop,
}

/// Creates the PostgreSQL database `name` on the server of `url` (when missing, or
/// again as `existing` says); returns its URL.
pub async fn create_database(
    url: &str,
    name: &str,
    existing: Existing,
) -> Result<String, BoxError> {
    let server = Database::connect(url).await?;
    if existing == Existing::Drop {
        server
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    let exists = server
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await?
        .is_some();
    if !exists {
        server
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
    }
    server.close().await?;
    Ok(with_database(url, name))
}
