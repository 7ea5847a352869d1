//! The admin's error type.

/// What can go wrong when building the admin site.
///
/// Request-time problems never surface as this type: they become 4xx pages (or JSON
/// bodies) with a readable message, and database failures a 503 page without internals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// batteries-auth failed (creating content types and permissions).
    #[error(transparent)]
    Auth(#[from] batteries_auth::Error),
    /// A registration cannot work (a composite primary key, a column named twice, ...).
    #[error("admin configuration: {0}")]
    Config(String),
}

/// `Result` with the admin's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
