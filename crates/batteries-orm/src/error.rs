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
