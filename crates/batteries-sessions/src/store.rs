//! The [`SessionStore`] seam and what every store shares.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value};

/// A session's data and expiry, as a store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The session's values, by key (Django's `request.session` dictionary).
    pub data: Map<String, Value>,
    /// When the session stops being valid. A store never returns an expired record.
    pub expires_at: DateTime<Utc>,
}

/// Why a session store failed. A store that cannot be read is never taken for an
/// anonymous session: the middleware answers `503` with `Retry-After` (see
/// [`SessionError::is_unavailable`]), so an outage does not log anybody out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The database failed (feature `database`).
    #[cfg(feature = "database")]
    #[error("session database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Redis failed.
    #[error("session store error: {0}")]
    Store(String),
    /// Session data could not be encoded or decoded.
    #[error("session data is not valid JSON: {0}")]
    Encoding(#[from] serde_json::Error),
    /// A value asked for under a key has another shape than the type requested.
    #[error("session value `{key}` has an unexpected shape: {message}")]
    Value {
        /// The session key.
        key: String,
        /// What serde said.
        message: String,
    },
    /// The store is misconfigured (a signing key too short, say).
    #[error("session store misconfigured: {0}")]
    Config(String),
}

impl SessionError {
    /// Whether the store itself failed (its database or Redis), rather than the data:
    /// answer `503` with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        #[cfg(feature = "database")]
        if matches!(self, SessionError::Db(_)) {
            return true;
        }
        matches!(self, SessionError::Store(_))
    }
}

/// A failing store is [`batteries_core::Error::Unavailable`] (answered with `503`),
/// anything else [`batteries_core::Error::Other`].
impl From<SessionError> for batteries_core::Error {
    fn from(e: SessionError) -> Self {
        if e.is_unavailable() {
            batteries_core::Error::unavailable(e)
        } else {
            batteries_core::Error::other(e)
        }
    }
}

/// Where sessions live: memory, a database table, Redis, or the cookie itself.
///
/// A *key* is whatever the session cookie carries: a random identifier for server-side
/// stores, the signed data itself for [`super::CookieSessionStore`]. Stores must treat keys as
/// untrusted input (any string can arrive in a cookie) and answer `Ok(None)` for a key
/// that is unknown, malformed, tampered with or expired.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// The record under `key`, or `None` if there is none or it has expired.
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError>;

    /// Stores `record` under a new key that no other session has, and returns the key.
    async fn create(&self, record: &SessionRecord) -> Result<String, SessionError>;

    /// Replaces the record under `key` (creating it if it vanished meanwhile), and
    /// returns the key to send in the cookie (the same key for server-side stores).
    async fn save(&self, key: &str, record: &SessionRecord) -> Result<String, SessionError>;

    /// Deletes the session under `key`; deleting an unknown key is not an error.
    async fn delete(&self, key: &str) -> Result<(), SessionError>;

    /// Deletes expired sessions (Django's `clearsessions`) and says how many went.
    async fn clear_expired(&self) -> Result<u64, SessionError>;
}

/// The characters of a session key: Django's `VALID_KEY_CHARS`.
const KEY_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a new session key, as Django's (32 characters, about 165 bits).
pub const SESSION_KEY_LEN: usize = 32;

/// A new random session key: 32 characters of `[a-z0-9]` from the OS-seeded CSPRNG.
pub fn new_session_key() -> String {
    let mut rng = rand::rng();
    (0..SESSION_KEY_LEN)
        .map(|_| char::from(KEY_CHARS[rng.random_range(0..KEY_CHARS.len())]))
        .collect()
}

/// Whether `key` has the shape of a key from [`new_session_key`]; server-side stores
/// refuse anything else before asking their backend.
pub fn is_valid_session_key(key: &str) -> bool {
    key.len() == SESSION_KEY_LEN && key.bytes().all(|b| KEY_CHARS.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_are_valid_and_distinct() {
        let a = new_session_key();
        let b = new_session_key();
        assert!(is_valid_session_key(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn odd_keys_are_refused() {
        assert!(!is_valid_session_key(""));
        assert!(!is_valid_session_key(&"A".repeat(32)));
        assert!(!is_valid_session_key(&"a".repeat(31)));
        assert!(!is_valid_session_key("' OR 1=1 --aaaaaaaaaaaaaaaaaaaaa"));
    }
}
