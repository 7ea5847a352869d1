//! The error of the integrator traits ([`UserLoader`](crate::UserLoader)) and of the
//! small types in this crate.

/// Any error, boxed: what a loader's backend failed with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a loader failed, or a value was refused.
///
/// The middleware answers [`Error::Unavailable`] with `503` and `Retry-After` (a store
/// or database the request needs is down: never "not logged in"), and logs the rest.
/// `batteries-auth`'s and `batteries-sessions`' errors convert into it, so `?` works in
/// a loader written against them; which variant they become follows their own
/// `is_unavailable()`.
///
/// ```
/// use batteries_core::Error;
///
/// let down = Error::unavailable(std::io::Error::other("connection refused"));
/// assert!(down.is_unavailable());
/// assert_eq!(down.to_string(), "connection refused");
/// assert!(!Error::other("a bug").is_unavailable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or database the request needs failed (or is too busy): answer `503`.
    #[error(transparent)]
    Unavailable(BoxError),

    /// Any other failure of a loader.
    #[error(transparent)]
    Other(BoxError),

    /// A value given is not acceptable (a secret key too short, say).
    #[error("invalid {field}: {message}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// [`Error::Unavailable`] caused by `error`.
    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        Self::Unavailable(error.into())
    }

    /// [`Error::Other`] caused by `error`.
    pub fn other(error: impl Into<BoxError>) -> Self {
        Self::Other(error.into())
    }

    /// Whether a store the request needs failed, rather than the request or the code:
    /// answer `503 Service Unavailable` with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The error this one wraps, if it is an `E` (to get back a
    /// `batteries_auth::Error`, say).
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Self::Unavailable(e) | Self::Other(e) => e.downcast_ref::<E>(),
            Self::InvalidField { .. } => None,
        }
    }
}
