//! The crate's error type.

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `batteries-auth`. Messages never contain a
/// password, a hash or a secret key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Hashing or verifying a password failed.
    #[error(transparent)]
    Hash(crate::hashers::HashError),

    /// Too many passwords are being checked at once (the [`HashPool`]'s queue is
    /// full): nothing was checked. Answer `503 Service Unavailable` with
    /// `Retry-After` ([`Error::retry_after`]); a login throttle does not count it.
    ///
    /// [`HashPool`]: crate::hashers::HashPool
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,

    /// A password was refused by the validators.
    #[error(transparent)]
    Validation(#[from] crate::validators::ValidationErrors),

    /// Login throttling refused an attempt or its store failed.
    #[error(transparent)]
    Throttle(#[from] crate::throttle::ThrottleError),

    /// The value given for a user field is not acceptable (an empty username, say).
    #[error("invalid {field}: {message}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },

    /// An `app_label.codename` permission string is malformed.
    #[error("invalid permission `{0}`: expected `app_label.codename`")]
    InvalidPermission(String),

    /// A JSON Web Token was refused, or its keys or store failed.
    #[cfg(feature = "jwt")]
    #[error(transparent)]
    Jwt(#[from] batteries_jwt::JwtError),

    /// The session store failed.
    #[error(transparent)]
    Session(#[from] crate::sessions::SessionError),

    /// A background task (hashing off the async executor) failed.
    #[error("background task failed: {0}")]
    Task(String),

    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),

    /// An ORM helper failed.
    #[error(transparent)]
    Orm(#[from] batteries_orm::Error),

    /// A loader ([`UserLoader`](crate::UserLoader)) failed, or a value of
    /// `batteries-core` was refused (a [`SessionSecret`](batteries_core::SessionSecret)
    /// too short, say).
    #[error(transparent)]
    Core(#[from] batteries_core::Error),
}

/// So that `?` works in a [`UserLoader`](crate::UserLoader) written with this crate:
/// an error that [`is_unavailable`](Error::is_unavailable) is
/// [`batteries_core::Error::Unavailable`] (answered with `503`), others
/// [`batteries_core::Error::Other`]; a [`Error::Core`] is unwrapped.
impl From<Error> for batteries_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(core) => core,
            e if e.is_unavailable() => batteries_core::Error::unavailable(e),
            e => batteries_core::Error::other(e),
        }
    }
}

impl From<crate::hashers::HashError> for Error {
    fn from(e: crate::hashers::HashError) -> Self {
        match e {
            crate::hashers::HashError::Busy => Error::Busy,
            other => Error::Hash(other),
        }
    }
}

impl Error {
    /// Whether this is [`Error::Busy`]: answer `503` with `Retry-After`.
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Busy)
    }

    /// Whether a store the request needs failed (the database, the session store, the
    /// throttle or refresh store, a background task), rather than the request being
    /// wrong: answer `503 Service Unavailable` with `Retry-After`, log the cause, and
    /// never treat it as "not logged in" or "wrong password".
    ///
    /// ```
    /// use batteries_auth::Error;
    ///
    /// assert!(Error::Db(sea_orm::DbErr::Custom("connection refused".into())).is_unavailable());
    /// assert!(!Error::InvalidPermission("x".into()).is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Busy | Error::Task(_) | Error::Db(_) => true,
            Error::Session(e) => e.is_unavailable(),
            Error::Core(e) => e.is_unavailable(),
            Error::Throttle(e) => matches!(e, crate::throttle::ThrottleError::Store(_)),
            #[cfg(feature = "jwt")]
            Error::Jwt(e) => !e.is_token_error(),
            Error::Orm(e) => matches!(
                e,
                batteries_orm::Error::Db(_) | batteries_orm::Error::Connect { .. }
            ),
            _ => false,
        }
    }

    /// How long the client should wait before trying again, for a `Retry-After`
    /// header: [`BUSY_RETRY_AFTER`](crate::hashers::BUSY_RETRY_AFTER) when the server
    /// is busy hashing, the lockout's rest for a throttled login, else `None`.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Busy => Some(crate::hashers::BUSY_RETRY_AFTER),
            Error::Throttle(e) => e.retry_after(),
            _ => None,
        }
    }
}
