//! A fresh database per test, on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! [`TestDb::create`] gives each test its own database: SQLite in memory, or on a server
//! a uniquely named database (`batteries_test_<random>`) that is dropped again when the
//! `TestDb` is [closed](TestDb::close) or dropped.
//!
//! Which backends run, and where the servers are, comes from the environment:
//!
//! | variable | default |
//! | --- | --- |
//! | `BATTERIES_TEST_BACKENDS` | `sqlite,postgres,mysql` |
//! | `BATTERIES_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/postgres` |
//! | `BATTERIES_TEST_MYSQL_URL` | `mysql://root@127.0.0.1:3306/mysql` |
//!
//! A backend is *required* when `BATTERIES_TEST_BACKENDS` names it or `CI` is set: then
//! a server that cannot be reached fails the test. Otherwise (a laptop without
//! MariaDB, say) [`TestDb::for_test`] prints why and the test skips that backend.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use batteries_orm::testing::{Backend, TestDb};
//!
//! let test_db = TestDb::create(Backend::Sqlite).await.unwrap();
//! assert!(test_db.conn().ping().await.is_ok());
//! test_db.close().await;
//! # }
//! ```

use std::fmt;
use std::str::FromStr;

use rand::Rng as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::db::{DbConfig, redact_url};
use crate::error::{Error, Result};

/// A database backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, in memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// All three backends.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The backend's name as used in `BATTERIES_TEST_BACKENDS`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// The backends selected by `BATTERIES_TEST_BACKENDS` (all when unset).
    ///
    /// # Panics
    /// When the variable names an unknown backend: a typo must not silently test less.
    pub fn selected() -> Vec<Backend> {
        match std::env::var("BATTERIES_TEST_BACKENDS") {
            Ok(list) if !list.trim().is_empty() => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .unwrap_or_else(|e| panic!("BATTERIES_TEST_BACKENDS: {e}"))
                })
                .collect(),
            _ => Backend::ALL.to_vec(),
        }
    }

    /// Whether a test must fail, rather than skip, when this backend is unreachable.
    pub fn required(self) -> bool {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        let named = std::env::var("BATTERIES_TEST_BACKENDS").is_ok_and(|list| {
            list.split(',')
                .any(|s| s.trim().eq_ignore_ascii_case(self.name()))
        });
        ci || named || self == Backend::Sqlite
    }

    /// The server URL the test databases are created from (`None` for SQLite).
    pub fn server_url(self) -> Option<String> {
        let (var, default) = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => (
                "BATTERIES_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            Backend::MySql => (
                "BATTERIES_TEST_MYSQL_URL",
                "mysql://root@127.0.0.1:3306/mysql",
            ),
        };
        Some(std::env::var(var).unwrap_or_else(|_| default.to_owned()))
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" | "pg" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            other => Err(format!(
                "unknown backend `{other}`; expected sqlite, postgres or mysql"
            )),
        }
    }
}

/// A database that exists for one test.
pub struct TestDb {
    conn: DatabaseConnection,
    backend: Backend,
    /// Server URL and database name, to drop it.
    server: Option<(String, String)>,
    closed: bool,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("database", &self.server.as_ref().map(|(_, n)| n))
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// Creates a fresh, empty database on `backend`.
    ///
    /// # Errors
    /// [`Error::Connect`] when the server cannot be reached, [`Error::Db`] when the
    /// database cannot be created.
    pub async fn create(backend: Backend) -> Result<Self> {
        let Some(server_url) = backend.server_url() else {
            let conn = DbConfig::new("sqlite::memory:").connect().await?;
            return Ok(Self {
                conn,
                backend,
                server: None,
                closed: false,
            });
        };
        let name = format!("batteries_test_{:016x}", rand::rng().random::<u64>());
        let admin = short_lived(DbConfig::new(server_url.clone()))
            .max_connections(1)
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await?;
        let create = match backend {
            Backend::MySql => {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            }
            _ => format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"),
        };
        admin.execute_unprepared(&create).await?;
        let _ = admin.close().await;
        let url = with_database(&server_url, &name)?;
        let conn = short_lived(DbConfig::new(url))
            .max_connections(8)
            .connect()
            .await?;
        Ok(Self {
            conn,
            backend,
            server: Some((server_url, name)),
            closed: false,
        })
    }

    /// Creates a fresh database for a test on `backend`, or returns `None` (after
    /// printing why) when the backend is not selected, or is optional and unreachable.
    ///
    /// # Panics
    /// When a required backend cannot be reached: the test fails.
    pub async fn for_test(backend: Backend) -> Option<Self> {
        if !Backend::selected().contains(&backend) {
            eprintln!("skipping {backend}: not in BATTERIES_TEST_BACKENDS");
            return None;
        }
        match Self::create(backend).await {
            Ok(db) => Some(db),
            Err(e) if !backend.required() => {
                eprintln!(
                    "skipping {backend}: {e} (set CI=1 or BATTERIES_TEST_BACKENDS to make this fatal)"
                );
                None
            }
            Err(e) => panic!(
                "{backend} is required for this test run but unavailable: {e} \
                 (server URL {})",
                backend
                    .server_url()
                    .map(|u| redact_url(&u))
                    .unwrap_or_default()
            ),
        }
    }

    /// The connection to the test database.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL of the test database itself (to start a second process on it).
    pub fn url(&self) -> Option<String> {
        self.server
            .as_ref()
            .and_then(|(server, name)| with_database(server, name).ok())
    }

    /// Closes the pool and drops the database.
    pub async fn close(mut self) {
        self.closed = true;
        let _ = self.conn.clone().close().await;
        if let Some((server, name)) = self.server.take() {
            drop_database(self.backend, &server, &name).await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if let Some((server, name)) = self.server.take() {
            let backend = self.backend;
            // Drop runs inside the test's runtime, which cannot be blocked on: drop the
            // database from a thread of its own.
            let handle = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_database(backend, &server, &name));
                }
            });
            let _ = handle.join();
        }
    }
}

async fn drop_database(backend: Backend, server: &str, name: &str) {
    let Ok(admin) = short_lived(DbConfig::new(server))
        .max_connections(1)
        .connect()
        .await
    else {
        return;
    };
    let sql = match backend {
        Backend::MySql => format!("DROP DATABASE IF EXISTS `{name}`"),
        _ => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    };
    let db_backend = admin.get_database_backend();
    let _ = admin
        .execute_raw(Statement::from_string(db_backend, sql))
        .await;
    let _ = admin.close().await;
}

/// A test's pools live for seconds: no idle reaping, no lifetime, hence no sqlx
/// maintenance task (whose 0.9.0 version can spin and hang the test runtime's shutdown,
/// sqlx issue #3645, seen here on MariaDB).
fn short_lived(config: DbConfig) -> DbConfig {
    config.idle_timeout(None).max_lifetime(None)
}

fn with_database(server: &str, name: &str) -> Result<String> {
    let mut url = url::Url::parse(server).map_err(|e| Error::InvalidUrl {
        url: redact_url(server),
        reason: e.to_string(),
    })?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}
