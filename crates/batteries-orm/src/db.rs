//! Connecting to a database from a URL.
//!
//! One URL picks the backend, as Django's `dj-database-url` does:
//!
//! | URL | backend |
//! | --- | --- |
//! | `sqlite::memory:` | SQLite in memory (one connection, kept open) |
//! | `sqlite://blog.sqlite3?mode=rwc` | SQLite file, created if missing, WAL journal |
//! | `postgres://user:pass@host:5432/db` | PostgreSQL (`postgresql://` works too) |
//! | `mysql://user:pass@host:3306/db` | MySQL or MariaDB (`mariadb://` works too) |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! use batteries_orm::db::DbConfig;
//! use std::time::Duration;
//!
//! let db = DbConfig::new("sqlite::memory:")
//!     .connect_timeout(Duration::from_secs(5))
//!     .connect()
//!     .await?;
//! assert_eq!(db.get_database_backend(), sea_orm::DbBackend::Sqlite);
//! # Ok(()) }
//! ```
//!
//! ## Timeouts
//!
//! An unreachable, restarting or overloaded database must cost a request a few seconds
//! and an error, never a hang. The defaults are chosen for web apps behind a proxy:
//!
//! | knob | default | what it bounds |
//! | --- | --- | --- |
//! | [`acquire_timeout`](DbConfig::acquire_timeout) | 5 s | waiting for a pooled connection, including opening a new one (sqlx retries a refused connection until then) |
//! | [`connect_timeout`](DbConfig::connect_timeout) | 5 s | the first connection made by [`DbConfig::connect`] |
//! | [`statement_timeout`](DbConfig::statement_timeout) | 15 s | one statement on the server, lock waits included |
//! | [`lock_timeout`](DbConfig::lock_timeout) | the statement timeout | waiting for a lock held by another connection |
//!
//! Each backend applies them on every pooled connection as it opens:
//!
//! | backend | statement timeout | lock timeout |
//! | --- | --- | --- |
//! | PostgreSQL | `SET statement_timeout` | `SET lock_timeout` (only when set) |
//! | MariaDB | `SET max_statement_time` (seconds, fractional) | `innodb_lock_wait_timeout`, `lock_wait_timeout` (whole seconds, rounded up) |
//! | MySQL | `SET max_execution_time` (ms; read-only `SELECT`s only) | as MariaDB |
//! | SQLite | (none: SQLite has no statement timeout) | `busy_timeout` |
//!
//! What a timeout or an outage looks like to the caller is told by
//! [`DbFailure::of`](crate::error::DbFailure::of); the HTTP edges answer those with `503`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! use batteries_orm::db::DbConfig;
//! use std::time::Duration;
//!
//! // A reporting job that may run long statements, on a pool that waits longer.
//! let db = DbConfig::new("sqlite::memory:")
//!     .acquire_timeout(Duration::from_secs(30))
//!     .statement_timeout(Some(Duration::from_secs(300)))
//!     .connect()
//!     .await?;
//! # drop(db);
//! # Ok(()) }
//! ```
//!
//! Failures are an [`Error::Connect`] naming the backend, the host and the cause, and
//! never the password:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let err = batteries_orm::db::connect("ftp://admin:hunter2@example.com/db").await.unwrap_err();
//! assert!(err.to_string().contains("unknown scheme `ftp`"));
//! assert!(!err.to_string().contains("hunter2"));
//! # }
//! ```

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};

use crate::error::{Error, Result};

/// The environment variable [`DbConfig::from_env`] reads.
pub const DATABASE_URL: &str = "DATABASE_URL";

/// The default of [`DbConfig::acquire_timeout`]: 5 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The default of [`DbConfig::connect_timeout`]: 5 s, the acquire timeout, so that the
/// first connection and later ones give up alike.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default of [`DbConfig::statement_timeout`]: 15 s.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// Connects to the database at `url` with default pool options.
///
/// # Errors
/// [`Error::InvalidUrl`] for a URL that cannot be used, [`Error::Connect`] when the
/// server cannot be reached or refuses the credentials.
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    DbConfig::new(url).connect().await
}

/// Connects to the database named by the `DATABASE_URL` environment variable.
///
/// # Errors
/// [`Error::MissingEnv`] when the variable is not set, otherwise as [`connect`].
pub async fn connect_from_env() -> Result<DatabaseConnection> {
    DbConfig::from_env()?.connect().await
}

/// A database URL plus pool options; [`connect`](Self::connect) opens the pool.
#[derive(Clone)]
#[must_use]
pub struct DbConfig {
    url: String,
    max_connections: Option<u32>,
    min_connections: Option<u32>,
    connect_timeout: Duration,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
    lock_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    log_statements: bool,
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("log_statements", &self.log_statements)
            .finish()
    }
}

impl DbConfig {
    /// A configuration for `url` with default pool options.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: None,
            min_connections: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
            lock_timeout: None,
            // No reaping by default: sqlx 0.9.0's pool maintenance task (spawned only
            // when a pool reaps) can spin at 100% CPU and block a runtime's shutdown
            // (sqlx issue #3645, fixed upstream after 0.9.0). Idle connections stay
            // open up to `max_connections`.
            idle_timeout: None,
            max_lifetime: None,
            log_statements: false,
        }
    }

    /// A configuration for the URL in `DATABASE_URL`.
    ///
    /// # Errors
    /// [`Error::MissingEnv`] when the variable is unset or empty.
    pub fn from_env() -> Result<Self> {
        match std::env::var(DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => Ok(Self::new(url)),
            _ => Err(Error::MissingEnv(DATABASE_URL)),
        }
    }

    /// The URL with its password replaced by `***`, safe to log.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The largest number of pooled connections (default: the driver's, 1 for in-memory
    /// SQLite, 4 for SQLite files).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// Connections kept open even when idle.
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = Some(n);
        self
    }

    /// How long [`connect`](Self::connect) waits for its first connection to the server
    /// (default [`DEFAULT_CONNECT_TIMEOUT`], 5 s).
    ///
    /// Later connections, opened by the pool when a query needs one, are bounded by the
    /// [`acquire_timeout`](Self::acquire_timeout) instead: sqlx has no separate connect
    /// timeout, and retries a refused connection (a server restarting) until the acquire
    /// deadline.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a query may wait for a pooled connection, including the time to open a
    /// new one (default [`DEFAULT_ACQUIRE_TIMEOUT`], 5 s).
    ///
    /// This is what a request costs while the database is down or every pooled
    /// connection is busy: the query then fails with
    /// [`DbFailure::Unavailable`](crate::error::DbFailure::Unavailable). 5 s rides out a
    /// short blip (a failover, a connection storm) and still answers well before a
    /// reverse proxy gives up (commonly 30 to 60 s), so the client gets a `503` it can
    /// retry instead of a hang.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The longest one statement may run on the server before the server cancels it
    /// (default `Some(`[`DEFAULT_STATEMENT_TIMEOUT`]`)`, 15 s; `None` leaves the server's
    /// setting alone). Lock waits count, so a query stuck behind a locked table ends too,
    /// and with it the hold on its pooled connection.
    ///
    /// | backend | set on every connection as |
    /// | --- | --- |
    /// | PostgreSQL | `statement_timeout` (ms) |
    /// | MariaDB | `max_statement_time` (seconds) |
    /// | MySQL | `max_execution_time` (ms; MySQL applies it to read-only `SELECT`s only, writes are bounded by the lock timeout) |
    /// | SQLite | no statement timeout; the `busy_timeout` (see [`lock_timeout`](Self::lock_timeout)) |
    ///
    /// A statement that runs out fails with
    /// [`DbFailure::Timeout`](crate::error::DbFailure::Timeout). 15 s is longer than
    /// any query a web request should make, and short enough that acquire + statement
    /// stay under a proxy's 30 s. Raise it (or turn it off) for a pool that runs
    /// reports or migrations; the CLI turns it off for its commands.
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// How long a statement may wait for a lock held by another connection (default
    /// `None`: the [`statement_timeout`](Self::statement_timeout), if any).
    ///
    /// PostgreSQL: `lock_timeout`, set only when this is set. MySQL and MariaDB:
    /// `innodb_lock_wait_timeout` (row locks) and `lock_wait_timeout` (table and metadata
    /// locks), in whole seconds rounded up, from this or else the statement timeout
    /// (with both `None`, the server's defaults of 50 s and one year). SQLite: the
    /// `busy_timeout` a writer waits for another writer, from this or else the statement
    /// timeout (with both `None`, sqlx's 5 s).
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Close connections idle for longer than this (`None`, the default: never). See
    /// [`max_lifetime`](Self::max_lifetime) before setting it.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Close connections older than this (`None`, the default: never).
    ///
    /// With both this and [`idle_timeout`](Self::idle_timeout) at `None` (and no
    /// `min_connections`), sqlx runs no pool maintenance task, which is why both default
    /// to `None`: sqlx 0.9.0's maintenance task can spin at 100% CPU and keep a runtime
    /// from shutting down (sqlx issue #3645, fixed upstream after 0.9.0; seen in this
    /// project's MariaDB tests). Set them when a proxy or the server drops idle
    /// connections, and prefer a sqlx release with the fix.
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Log every SQL statement at debug level (off by default: statements may carry
    /// personal data).
    pub fn log_statements(mut self, on: bool) -> Self {
        self.log_statements = on;
        self
    }

    /// Opens the pool and checks that the database answers.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] or [`Error::Connect`], as [`connect`].
    pub async fn connect(&self) -> Result<DatabaseConnection> {
        let target = Target::parse(&self.url)?;
        let mut opts = ConnectOptions::new(target.url.clone());
        opts.connect_timeout(self.connect_timeout)
            .acquire_timeout(self.acquire_timeout)
            .sqlx_logging(self.log_statements)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime);
        if let Some(n) = self.min_connections {
            opts.min_connections(n);
        }
        if let Some(n) = self.max_connections {
            opts.max_connections(n);
        }
        let timeouts = Timeouts {
            statement: self.statement_timeout,
            lock: self.lock_timeout,
        };
        if target.backend == DbBackend::Sqlite {
            configure_sqlite(&mut opts, &target, self.max_connections, timeouts);
        } else {
            configure_server(&mut opts, target.backend, timeouts);
            // A pool retries refused connections until its acquire timeout; one direct
            // connection first fails at once, with the driver's own reason.
            probe(&target, self.connect_timeout).await?;
        }
        let db = Database::connect(opts)
            .await
            .map_err(|e| target.connect_error(&e))?;
        db.ping().await.map_err(|e| target.connect_error(&e))?;
        Ok(db)
    }
}

/// Opens and closes one connection to a server, outside any pool.
async fn probe(target: &Target, timeout: Duration) -> Result<()> {
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    async fn once<O>(url: &str) -> Result<(), sea_orm::sqlx::Error>
    where
        O: sea_orm::sqlx::ConnectOptions,
        O::Connection: Sized,
    {
        use sea_orm::sqlx::Connection as _;
        let options: O = url.parse()?;
        options.connect().await?.close().await
    }
    let attempt = async {
        match target.backend {
            #[cfg(feature = "postgres")]
            DbBackend::Postgres => {
                once::<sea_orm::sqlx::postgres::PgConnectOptions>(&target.url).await
            }
            #[cfg(feature = "mysql")]
            DbBackend::MySql => {
                once::<sea_orm::sqlx::mysql::MySqlConnectOptions>(&target.url).await
            }
            _ => Ok::<(), sea_orm::sqlx::Error>(()),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(target.scrubbed(e.to_string())),
        Err(_) => Err(target.scrubbed(format!("no answer within {} s", timeout.as_secs_f32()))),
    }
}

/// The server-side timeouts of a pool.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    statement: Option<Duration>,
    lock: Option<Duration>,
}

impl Timeouts {
    /// The lock wait: the lock timeout, else the statement timeout.
    #[cfg_attr(not(any(feature = "sqlite", feature = "mysql")), allow(dead_code))]
    fn lock_wait(self) -> Option<Duration> {
        self.lock.or(self.statement)
    }

    /// `SET` statements for PostgreSQL (empty: nothing to set).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    fn postgres_sql(self) -> String {
        let statement = self
            .statement
            .map(|t| format!("SET statement_timeout = {}", millis(t)));
        let lock = self
            .lock
            .map(|t| format!("SET lock_timeout = {}", millis(t)));
        [statement, lock]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// One `SET SESSION` for MariaDB (`mariadb`) or MySQL (`None`: nothing to set).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    fn mysql_sql(self, mariadb: bool) -> Option<String> {
        let mut vars = Vec::new();
        if let Some(t) = self.statement {
            if mariadb {
                vars.push(format!("max_statement_time = {:.3}", t.as_secs_f64()));
            } else {
                vars.push(format!("max_execution_time = {}", millis(t)));
            }
        }
        if let Some(t) = self.lock_wait() {
            // Whole seconds, at least 1 (the servers' minimum), rounded up so that the
            // lock wait never ends before the statement timeout it stands in for.
            let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
            let secs = secs.max(1);
            vars.push(format!("innodb_lock_wait_timeout = {secs}"));
            vars.push(format!("lock_wait_timeout = {secs}"));
        }
        (!vars.is_empty()).then(|| format!("SET SESSION {}", vars.join(", ")))
    }
}

/// Whole milliseconds, at least 1 (0 turns the PostgreSQL and MySQL timeouts off).
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn millis(t: Duration) -> u128 {
    t.as_millis().max(1)
}

/// Sets the server-side timeouts on every connection the pool opens.
///
/// PostgreSQL takes them as `SET` after connecting rather than as the `options` startup
/// parameter, which connection poolers such as `PgBouncer` refuse.
#[cfg_attr(
    not(any(feature = "postgres", feature = "mysql")),
    allow(unused_variables, clippy::needless_pass_by_ref_mut)
)]
fn configure_server(opts: &mut ConnectOptions, backend: DbBackend, timeouts: Timeouts) {
    match backend {
        #[cfg(feature = "postgres")]
        DbBackend::Postgres => {
            let sql = timeouts.postgres_sql();
            if sql.is_empty() {
                return;
            }
            opts.map_sqlx_postgres_pool_opts(move |pool| {
                let sql = sql.clone();
                pool.after_connect(move |conn, _| {
                    let sql = sql.clone();
                    Box::pin(async move {
                        use sea_orm::sqlx::Executor as _;
                        conn.execute(sea_orm::sqlx::raw_sql(sea_orm::sqlx::AssertSqlSafe(sql)))
                            .await
                            .map(|_| ())
                    })
                })
            });
        }
        #[cfg(feature = "mysql")]
        DbBackend::MySql => {
            if timeouts.mysql_sql(false).is_none() {
                return;
            }
            opts.map_sqlx_mysql_pool_opts(move |pool| {
                pool.after_connect(move |conn, _| {
                    Box::pin(async move { set_mysql_timeouts(conn, timeouts).await })
                })
            });
        }
        _ => {}
    }
}

/// Sets the timeouts on one MySQL or MariaDB connection. A server that refuses the
/// variables (a proxy or a MySQL-compatible server without them) keeps its own
/// settings, with a warning: unbounded statements are better than no database at all.
#[cfg(feature = "mysql")]
async fn set_mysql_timeouts(
    conn: &mut sea_orm::sqlx::MySqlConnection,
    timeouts: Timeouts,
) -> Result<(), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::{AssertSqlSafe, Error as SqlxError, Executor as _};
    let version: String = sea_orm::sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let Some(sql) = timeouts.mysql_sql(mariadb) else {
        return Ok(());
    };
    match conn.execute(AssertSqlSafe(sql)).await {
        Ok(_) => Ok(()),
        Err(SqlxError::Database(e)) => {
            tracing::warn!(
                server = %version,
                error = %e,
                "the server refused the statement and lock timeouts; statements on this connection are unbounded"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(feature = "sqlite")]
fn configure_sqlite(
    opts: &mut ConnectOptions,
    target: &Target,
    max: Option<u32>,
    timeouts: Timeouts,
) {
    use sea_orm::sqlx::sqlite::SqliteJournalMode;
    let busy = timeouts.lock_wait();
    if target.in_memory {
        // An in-memory database lives as long as a connection to it: keep exactly one open.
        opts.max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        if max.is_none() {
            opts.max_connections(4);
        }
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = o.journal_mode(SqliteJournalMode::Wal);
            match busy {
                Some(t) => o.busy_timeout(t),
                None => o,
            }
        });
    }
}

#[cfg(not(feature = "sqlite"))]
fn configure_sqlite(_: &mut ConnectOptions, _: &Target, _: Option<u32>, _: Timeouts) {}

/// A parsed database URL.
struct Target {
    backend: DbBackend,
    /// The URL handed to the driver (scheme normalised).
    url: String,
    /// `host:port` or the SQLite path, for messages.
    host: String,
    /// The password, to scrub it from driver messages.
    password: Option<String>,
    /// `sqlite::memory:` (kept on one connection); read only with the `sqlite` feature.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    in_memory: bool,
}

impl Target {
    fn parse(raw: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: redact_url(raw),
            reason,
        };
        let trimmed = raw.trim();
        let Some((scheme, _)) = trimmed.split_once(':') else {
            return Err(invalid(
                "expected `sqlite://`, `postgres://` or `mysql://`".into(),
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        let backend = match scheme.as_str() {
            "sqlite" => DbBackend::Sqlite,
            "postgres" | "postgresql" => DbBackend::Postgres,
            "mysql" | "mariadb" => DbBackend::MySql,
            other => {
                return Err(invalid(format!(
                    "unknown scheme `{other}`; expected sqlite, postgres or mysql"
                )));
            }
        };
        let feature = backend_name(backend);
        if !backend_enabled(backend) {
            return Err(invalid(format!(
                "the `{feature}` backend is not compiled in; enable the `{feature}` feature"
            )));
        }
        if backend == DbBackend::Sqlite {
            let rest = &trimmed["sqlite:".len()..];
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            let in_memory = path.is_empty() || path == ":memory:" || rest.contains("mode=memory");
            return Ok(Self {
                backend,
                url: trimmed.to_owned(),
                host: if in_memory {
                    ":memory:".into()
                } else {
                    path.to_owned()
                },
                password: None,
                in_memory,
            });
        }
        let mut url = url::Url::parse(trimmed).map_err(|e| invalid(e.to_string()))?;
        let Some(host) = url.host_str().map(str::to_owned) else {
            return Err(invalid("the URL names no host".into()));
        };
        let default_port = if backend == DbBackend::Postgres {
            5432
        } else {
            3306
        };
        let host = format!("{host}:{}", url.port().unwrap_or(default_port));
        let password = url.password().map(|p| {
            url::form_urlencoded::parse(format!("p={p}").as_bytes())
                .next()
                .map_or_else(|| p.to_owned(), |(_, v)| v.into_owned())
        });
        if scheme == "mariadb" || scheme == "postgresql" {
            let normalized = if backend == DbBackend::MySql {
                "mysql"
            } else {
                "postgres"
            };
            // Both schemes are "special-less", so set_scheme cannot fail here.
            let _ = url.set_scheme(normalized);
        }
        Ok(Self {
            backend,
            url: url.to_string(),
            host,
            password,
            in_memory: false,
        })
    }

    fn connect_error(&self, err: &DbErr) -> Error {
        let cause = match err {
            DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => e.to_string(),
            other => other.to_string(),
        };
        self.scrubbed(cause)
    }

    /// A [`Error::Connect`] with `cause`, any password in it replaced by `***`.
    fn scrubbed(&self, mut cause: String) -> Error {
        if let Some(password) = self.password.as_deref().filter(|p| !p.is_empty()) {
            cause = cause.replace(password, "***");
        }
        Error::Connect {
            backend: backend_name(self.backend),
            host: self.host.clone(),
            cause,
        }
    }
}

/// The short name of a backend: `sqlite`, `postgres` or `mysql`.
pub fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgres",
        DbBackend::MySql => "mysql",
        _ => "sqlite",
    }
}

// Each arm is a compile-time constant, so with one backend compiled in clippy would
// rather see `matches!`; the table reads better as it is.
#[allow(clippy::match_like_matches_macro)]
fn backend_enabled(backend: DbBackend) -> bool {
    match backend {
        DbBackend::Postgres => cfg!(feature = "postgres"),
        DbBackend::MySql => cfg!(feature = "mysql"),
        _ => cfg!(feature = "sqlite"),
    }
}

/// `url` with any password replaced by `***`, safe to print or log.
///
/// ```
/// use batteries_orm::db::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db:5432/blog"),
///     "postgres://app:***@db:5432/blog"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url) {
        if parsed.password().is_some() && parsed.set_password(Some("***")).is_ok() {
            return parsed.to_string();
        }
        if !url.contains('@') {
            return url.to_owned();
        }
    }
    // Not parsable: blank out anything between `://` and the last `@` that holds a `:`.
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &url[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_every_form() {
        assert_eq!(
            redact_url("mysql://root:pa%40ss@127.0.0.1:3306/test"),
            "mysql://root:***@127.0.0.1:3306/test"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            redact_url("weird://u:pw@@host"),
            "weird://u:***@host",
            "an unparsable URL still loses its password"
        );
        assert!(!redact_url("postgres://u:top secret@h/db").contains("top secret"));
    }

    #[test]
    fn parses_backends_and_hosts() {
        let t = Target::parse("postgresql://u:p@db.example:6543/app").unwrap();
        assert_eq!(t.backend, DbBackend::Postgres);
        assert_eq!(t.host, "db.example:6543");
        assert!(t.url.starts_with("postgres://"));
        let t = Target::parse("mariadb://root@localhost/test").unwrap();
        assert_eq!(t.backend, DbBackend::MySql);
        assert_eq!(t.host, "localhost:3306");
        assert!(t.url.starts_with("mysql://"));
        let t = Target::parse("sqlite://data/blog.sqlite3?mode=rwc").unwrap();
        assert_eq!(t.host, "data/blog.sqlite3");
        assert!(!t.in_memory);
        assert!(Target::parse("sqlite::memory:").unwrap().in_memory);
    }

    #[test]
    fn rejects_unknown_scheme_without_leaking_password() {
        let err = Target::parse("oracle://scott:tiger@db/orcl").err().unwrap();
        let msg = err.to_string();
        assert!(msg.contains("unknown scheme `oracle`"), "{msg}");
        assert!(!msg.contains("tiger"), "{msg}");
        assert!(Target::parse("no scheme here").is_err());
    }

    #[test]
    fn timeouts_become_each_servers_settings() {
        let t = Timeouts {
            statement: Some(Duration::from_millis(2500)),
            lock: None,
        };
        assert_eq!(t.postgres_sql(), "SET statement_timeout = 2500");
        assert_eq!(
            t.mysql_sql(true).as_deref(),
            Some(
                "SET SESSION max_statement_time = 2.500, innodb_lock_wait_timeout = 3, \
                 lock_wait_timeout = 3"
            ),
            "MariaDB: fractional seconds; lock waits rounded up to whole seconds"
        );
        assert_eq!(
            t.mysql_sql(false).as_deref(),
            Some(
                "SET SESSION max_execution_time = 2500, innodb_lock_wait_timeout = 3, \
                 lock_wait_timeout = 3"
            )
        );
        let t = Timeouts {
            statement: None,
            lock: Some(Duration::from_millis(10)),
        };
        assert_eq!(t.postgres_sql(), "SET lock_timeout = 10");
        assert_eq!(
            t.mysql_sql(true).as_deref(),
            Some("SET SESSION innodb_lock_wait_timeout = 1, lock_wait_timeout = 1"),
            "never 0, which would not wait at all"
        );
        let off = Timeouts {
            statement: None,
            lock: None,
        };
        assert_eq!(off.postgres_sql(), "");
        assert_eq!(off.mysql_sql(true), None);
        assert_eq!(
            millis(Duration::from_micros(10)),
            1,
            "0 would turn the timeout off"
        );
    }

    #[test]
    fn defaults_fail_fast() {
        let config = DbConfig::new("sqlite::memory:");
        assert_eq!(config.acquire_timeout, Duration::from_secs(5));
        assert!(config.connect_timeout <= config.acquire_timeout);
        assert_eq!(config.statement_timeout, Some(Duration::from_secs(15)));
        assert_eq!(config.lock_timeout, None);
    }

    #[test]
    fn percent_encoded_password_is_scrubbed_from_causes() {
        let t = Target::parse("mysql://root:p%40ss@127.0.0.1/x").unwrap();
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        let err = t.connect_error(&DbErr::Custom("denied for p@ss".into()));
        assert!(!err.to_string().contains("p@ss"), "{err}");
    }
}
