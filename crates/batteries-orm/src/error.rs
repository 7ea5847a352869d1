//! The crate's error type.

use std::fmt;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `batteries-orm`.
///
/// Messages say what was wrong and what is allowed; they never contain a password, a
/// secret key or SQL text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL could not be used (unknown scheme, unparsable URL, backend not
    /// compiled in).
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The server could not be reached or refused us (wrong password, unknown database,
    /// connection refused, timeout).
    #[error("cannot connect to {backend} database at {host}: {cause}")]
    Connect {
        /// `sqlite`, `postgres` or `mysql`.
        backend: &'static str,
        /// `host:port` for servers, the file path for SQLite.
        host: String,
        /// The cause as reported by the driver, with any password removed.
        cause: String,
    },

    /// A query-string filter was not acceptable.
    #[error(transparent)]
    Filter(#[from] FilterError),

    /// A keyset pagination cursor was forged, damaged or belongs to another listing.
    #[error("invalid cursor: {0}")]
    InvalidCursor(CursorError),

    /// Keyset pagination cannot use the requested ordering.
    #[error("keyset pagination: {0}")]
    KeysetOrdering(String),

    /// A fixture could not be loaded or dumped.
    #[error(transparent)]
    Fixture(#[from] FixtureError),

    /// Two migrations share a name, so they could not be composed.
    #[error("duplicate migration name `{name}` (contributed by {first} and {second})")]
    DuplicateMigration {
        /// The migration name.
        name: String,
        /// Who contributed it first.
        first: String,
        /// Who contributed it again.
        second: String,
    },

    /// A required environment variable is missing or not valid UTF-8.
    #[error("environment variable `{0}` is not set")]
    MissingEnv(&'static str),

    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// Why a query-string filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The field is not on the allow-list.
    #[error("unknown filter field `{field}`; allowed: {allowed}")]
    UnknownField {
        /// The field as given.
        field: String,
        /// The allowed fields, comma separated.
        allowed: String,
    },
    /// The lookup (`__gt`, `__icontains`, ...) does not exist or does not apply to the field.
    #[error("unknown lookup `{lookup}` for field `{field}`; allowed: {allowed}")]
    UnknownLookup {
        /// The field.
        field: String,
        /// The lookup as given.
        lookup: String,
        /// The lookups allowed for this field, comma separated.
        allowed: String,
    },
    /// The value could not be parsed as the field's type.
    #[error("invalid value `{value}` for `{field}`: expected {expected}")]
    InvalidValue {
        /// The field and lookup, as given (`created__gte`).
        field: String,
        /// The value as given (truncated when long).
        value: String,
        /// What was expected (`an integer`, `a date YYYY-MM-DD`, ...).
        expected: String,
    },
    /// An ordering names a field that may not be ordered by.
    #[error("unknown ordering field `{field}`; allowed: {allowed}")]
    UnknownOrdering {
        /// The field as given.
        field: String,
        /// The fields that may be ordered by, comma separated.
        allowed: String,
    },
    /// A page number or size is not a positive integer within limits.
    #[error("invalid `{param}` value `{value}`: {expected}")]
    InvalidPage {
        /// `page` or `per_page`.
        param: &'static str,
        /// The value as given (truncated when long).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// The query string is too long or has too many parameters.
    #[error("query string too large: {0}")]
    TooLarge(String),
}

/// Why a keyset cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorError {
    /// Not valid base64 or not the expected structure.
    Malformed,
    /// The signature does not match: the cursor was altered or made with another key.
    BadSignature,
    /// The cursor was made for a different ordering, filter or table.
    WrongListing,
    /// The cursor is older than the paginator's maximum age.
    Expired,
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not a cursor issued by this server",
            Self::BadSignature => "signature mismatch (the cursor was altered)",
            Self::WrongListing => "the cursor belongs to another ordering or filter",
            Self::Expired => "the cursor has expired; start again from the first page",
        })
    }
}

/// Why a fixture could not be loaded or dumped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The document is not valid JSON or not a list of records.
    #[error("fixture is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// One record is wrong. Nothing from the fixture was saved.
    #[error("fixture record #{index} ({model}){}: {message}", field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Record {
        /// 0-based position of the record in the fixture.
        index: usize,
        /// The record's `model` label (`app.model`), or `?` when missing.
        model: String,
        /// The field at fault, if one is.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The database refused a batch of records. Nothing from the fixture was saved.
    #[error("fixture records #{first}..=#{last} ({model}) were refused by the database: {message}")]
    Batch {
        /// Index of the first record of the batch.
        first: usize,
        /// Index of the last record of the batch.
        last: usize,
        /// The model label.
        model: String,
        /// The database's message.
        message: String,
    },
    /// A model label was asked for that is not registered.
    #[error("unknown model `{model}`; registered: {registered}")]
    UnknownModel {
        /// The label as given.
        model: String,
        /// The registered labels, comma separated.
        registered: String,
    },
    /// Reading or writing the fixture failed.
    #[error("fixture I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// What a database error means for the caller: see [`DbFailure`]. Connection
    /// failures ([`Error::Connect`]) are [`DbFailure::Unavailable`]; errors that are not
    /// about the database (a bad filter, a bad cursor) are [`DbFailure::Other`].
    pub fn db_failure(&self) -> DbFailure {
        match self {
            Self::Connect { .. } => DbFailure::Unavailable,
            Self::Db(e) => DbFailure::of(e),
            _ => DbFailure::Other,
        }
    }
}

/// What a [`sea_orm::DbErr`] means for whoever has to answer a request: is the database
/// down or too slow (answer `503` and let the client retry), or is it anything else?
///
/// ```
/// use batteries_orm::error::{DbFailure, is_unavailable};
/// use sea_orm::{ConnAcquireErr, DbErr};
///
/// let timed_out = DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
/// assert_eq!(DbFailure::of(&timed_out), DbFailure::Unavailable);
/// assert!(is_unavailable(&timed_out));
/// assert_eq!(DbFailure::of(&DbErr::RecordNotFound("post 7".into())), DbFailure::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DbFailure {
    /// No connection could be had or the one in use broke: the pool's acquire timeout
    /// ran out (the server is down, restarting, or every connection is busy), the pool
    /// is closed, the network failed, or the server is shutting down, starting up or
    /// out of connections (PostgreSQL SQLSTATE classes `08` and `53`, `57P01`-`57P03`;
    /// MySQL 1040, 1053; MariaDB 1927; SQLite `SQLITE_CANTOPEN`, `SQLITE_IOERR`,
    /// `SQLITE_FULL`).
    Unavailable,
    /// The server cancelled a statement that ran past the statement timeout or waited
    /// too long for a lock: PostgreSQL `57014` (statement timeout) and `55P03` (lock
    /// timeout), MySQL 3024 (`max_execution_time`), MariaDB 1969
    /// (`max_statement_time`), 1205 (lock wait timeout), SQLite `SQLITE_BUSY` and
    /// `SQLITE_LOCKED`. See [`DbConfig::statement_timeout`](crate::db::DbConfig::statement_timeout).
    Timeout,
    /// Anything else: a constraint violation, a syntax error, a missing row, a type
    /// mismatch. Usually a bug or bad input, not something a retry fixes.
    Other,
}

impl DbFailure {
    /// Classifies `err`.
    pub fn of(err: &sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        match err {
            DbErr::Conn(RuntimeErr::SqlxError(e)) => match Self::of_sqlx(e) {
                // A connection-phase error that is no timeout: the server is unusable.
                Self::Other => Self::Unavailable,
                failure => failure,
            },
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                Self::of_sqlx(e)
            }
            _ => Self::Other,
        }
    }

    /// Classifies the first [`sea_orm::DbErr`] in `err`'s chain of
    /// [sources](std::error::Error::source), itself included: for the errors of other
    /// crates that wrap a `DbErr`. [`DbFailure::Other`] when there is none.
    pub fn find(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut next = Some(err);
        while let Some(e) = next {
            if let Some(db) = e.downcast_ref::<sea_orm::DbErr>() {
                return Self::of(db);
            }
            if let Some(ours) = e.downcast_ref::<Error>() {
                return ours.db_failure();
            }
            next = e.source();
        }
        Self::Other
    }

    /// Whether the database is down or too slow: [`Unavailable`](Self::Unavailable) or
    /// [`Timeout`](Self::Timeout). The HTTP answer to both is `503` with `Retry-After`.
    pub fn is_unavailable(self) -> bool {
        matches!(self, Self::Unavailable | Self::Timeout)
    }

    fn of_sqlx(err: &sea_orm::sqlx::Error) -> Self {
        use sea_orm::sqlx::Error as E;
        match err {
            E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed
            | E::Io(_)
            | E::Tls(_)
            | E::Protocol(_) => Self::Unavailable,
            E::Database(db) => Self::of_database(db.as_ref()),
            _ => Self::Other,
        }
    }

    fn of_database(err: &dyn sea_orm::sqlx::error::DatabaseError) -> Self {
        #[cfg(feature = "mysql")]
        if let Some(my) = err.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
            return match my.number() {
                // ER_QUERY_TIMEOUT (MySQL max_execution_time), ER_STATEMENT_TIMEOUT
                // (MariaDB max_statement_time), ER_LOCK_WAIT_TIMEOUT.
                3024 | 1969 | 1205 => Self::Timeout,
                // Too many connections, server shutdown, connection killed (MariaDB).
                1040 | 1053 | 1927 => Self::Unavailable,
                _ => Self::Other,
            };
        }
        #[cfg(feature = "sqlite")]
        if err
            .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
            .is_some()
        {
            // The extended result code; the primary one is its low byte.
            let code = err
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .unwrap_or_default();
            return match code & 0xff {
                // SQLITE_BUSY, SQLITE_LOCKED
                5 | 6 => Self::Timeout,
                // SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL
                14 | 10 | 13 => Self::Unavailable,
                _ => Self::Other,
            };
        }
        #[cfg(feature = "postgres")]
        if let Some(pg) = err.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>() {
            return Self::of_sqlstate(pg.code());
        }
        err.code().map_or(Self::Other, |c| Self::of_sqlstate(&c))
    }

    /// PostgreSQL's SQLSTATEs.
    fn of_sqlstate(code: &str) -> Self {
        match code {
            // query_canceled (statement_timeout), lock_not_available (lock_timeout)
            "57014" | "55P03" => Self::Timeout,
            // admin_shutdown, crash_shutdown, cannot_connect_now
            "57P01" | "57P02" | "57P03" => Self::Unavailable,
            // connection exceptions, insufficient resources (too many connections, disk
            // full, out of memory)
            c if c.starts_with("08") || c.starts_with("53") => Self::Unavailable,
            _ => Self::Other,
        }
    }
}

/// Whether `err` means the database is down or too slow (see [`DbFailure`]): an error
/// to answer with `503` and `Retry-After`, not `500`, and never to treat as "not found"
/// or "not logged in".
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    DbFailure::of(err).is_unavailable()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::sqlx::Error as SqlxError;
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

    use super::*;

    fn exec(e: SqlxError) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
    }

    #[test]
    fn outages_are_unavailable() {
        let refused = || std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            exec(SqlxError::Io(refused())),
            exec(SqlxError::PoolTimedOut),
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(SqlxError::Io(refused())))),
            // A connection-phase error is an outage whatever it is.
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(SqlxError::RowNotFound))),
        ] {
            assert_eq!(DbFailure::of(&err), DbFailure::Unavailable, "{err}");
            assert!(is_unavailable(&err), "{err}");
        }
    }

    #[test]
    fn other_errors_are_other() {
        for err in [
            DbErr::RecordNotFound("x".into()),
            DbErr::Custom("x".into()),
            exec(SqlxError::RowNotFound),
        ] {
            assert_eq!(DbFailure::of(&err), DbFailure::Other, "{err}");
            assert!(!is_unavailable(&err), "{err}");
        }
    }

    #[test]
    fn sqlstates_are_classified() {
        assert_eq!(DbFailure::of_sqlstate("57014"), DbFailure::Timeout);
        assert_eq!(DbFailure::of_sqlstate("55P03"), DbFailure::Timeout);
        assert_eq!(DbFailure::of_sqlstate("57P01"), DbFailure::Unavailable);
        assert_eq!(DbFailure::of_sqlstate("08006"), DbFailure::Unavailable);
        assert_eq!(DbFailure::of_sqlstate("53300"), DbFailure::Unavailable);
        assert_eq!(DbFailure::of_sqlstate("23505"), DbFailure::Other);
    }

    #[test]
    fn wrapped_errors_are_found_in_the_chain() {
        let ours = Error::Db(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert_eq!(DbFailure::find(&ours), DbFailure::Unavailable);
        assert_eq!(ours.db_failure(), DbFailure::Unavailable);
        let io = std::io::Error::other(ours);
        assert_eq!(DbFailure::find(&io), DbFailure::Unavailable);
        assert_eq!(
            DbFailure::find(&std::io::Error::other("no database here")),
            DbFailure::Other
        );
    }
}
