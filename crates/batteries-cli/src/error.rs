//! The crate's error type.

/// Why a command failed; printed as one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// No database URL was given.
    #[error("no database: pass --database-url or set DATABASE_URL")]
    NoDatabase,
    /// Connecting failed (the message never holds the password).
    #[error(transparent)]
    Orm(#[from] batteries_orm::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// An auth operation failed.
    #[error(transparent)]
    Auth(#[from] batteries_auth::Error),
    /// A value given is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// `check` found problems.
    #[error("{0} problem(s) found")]
    Check(usize),
}
