//! Django's `login`, `logout`, `get_user` and `update_session_auth_hash` on a [`Session`].

use std::fmt;

use subtle::ConstantTimeEq;

use super::session::Session;
use super::store::SessionError;
use crate::backends::UserLoader;
use crate::error::{Error, Result};
use crate::user::AuthUser;

/// Session key holding the user's primary key (Django's `SESSION_KEY`).
pub const USER_ID_KEY: &str = "_auth_user_id";
/// Session key holding the session auth hash (Django's `HASH_SESSION_KEY`).
pub const HASH_KEY: &str = "_auth_user_hash";
/// Session key holding the CSRF secret (Django's `CSRF_SESSION_KEY`). Login replaces it
/// so that a token seen before login is useless after it (Django's `rotate_token`).
pub const CSRF_KEY: &str = "_csrftoken";

/// Django's salt for `get_session_auth_hash`, so the hashes match Django's.
const SESSION_HASH_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// The secret that derives session auth hashes (Django's `SECRET_KEY`), with older
/// secrets that still verify (Django's `SECRET_KEY_FALLBACKS`).
#[derive(Clone)]
pub struct SessionSecret {
    current: Vec<u8>,
    fallbacks: Vec<Vec<u8>>,
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

impl SessionSecret {
    /// Minimum secret length in bytes.
    pub const MIN_LEN: usize = 32;

    /// A secret of at least 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when it is shorter.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self> {
        let current = secret.into();
        check_len(&current)?;
        Ok(Self {
            current,
            fallbacks: Vec::new(),
        })
    }

    /// Adds older secrets that still verify the hashes made with them.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when one is shorter than 32 bytes.
    pub fn with_fallbacks<I, S>(mut self, fallbacks: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        for secret in fallbacks {
            let secret = secret.into();
            check_len(&secret)?;
            self.fallbacks.push(secret);
        }
        Ok(self)
    }

    /// The bytes of the current secret (to derive other keys, such as a signing key).
    pub fn current(&self) -> &[u8] {
        &self.current
    }

    /// Django's `user.get_session_auth_hash()`: HMAC-SHA256 of the password hash, in
    /// hex. Changing the password changes it, which ends every session holding the
    /// old one.
    pub fn session_auth_hash(&self, user: &(impl AuthUser + ?Sized)) -> String {
        hash_with(&self.current, user)
    }

    /// Whether `presented` is the user's session auth hash under the current secret
    /// or a fallback, compared in constant time.
    pub fn verify(&self, user: &(impl AuthUser + ?Sized), presented: &str) -> bool {
        std::iter::once(&self.current)
            .chain(&self.fallbacks)
            .any(|secret| {
                bool::from(
                    hash_with(secret, user)
                        .as_bytes()
                        .ct_eq(presented.as_bytes()),
                )
            })
    }
}

/// A new CSRF secret: 32 characters of `[a-zA-Z0-9]`, Django's format, which the CSRF
/// middleware masks into form tokens.
pub fn new_csrf_secret() -> String {
    use rand::Rng as _;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

fn check_len(secret: &[u8]) -> Result<()> {
    if secret.len() < SessionSecret::MIN_LEN {
        return Err(Error::InvalidField {
            field: "secret key",
            message: format!("must be at least {} bytes", SessionSecret::MIN_LEN),
        });
    }
    Ok(())
}

fn hash_with(secret: &[u8], user: &(impl AuthUser + ?Sized)) -> String {
    let mac = crate::tokens::salted_hmac_sha256(
        SESSION_HASH_SALT,
        user.password_hash().as_bytes(),
        secret,
    );
    mac.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Logs `user` into `session` (Django's `login()`).
///
/// Against session fixation the session never keeps its key: if it belonged to another
/// user (or to this user with an old password) it is flushed, otherwise its data moves
/// to a new key. The CSRF secret is replaced, so a token from before login is useless.
/// The caller has authenticated the user (see [`crate::authenticate`]).
///
/// # Errors
/// The session store failed.
pub async fn login(
    session: &Session,
    user: &(impl AuthUser + ?Sized),
    secret: &SessionSecret,
) -> Result<(), SessionError> {
    let pk = user.pk_string();
    // A store failure stops the login: guessing "nobody was logged in" could carry
    // another user's session data over to this one.
    let current = session.get_value(USER_ID_KEY).await?;
    let stale = match &current {
        None => false,
        Some(id) if id.as_str() != Some(pk.as_str()) => true,
        Some(_) => {
            let hash: Option<String> = session.get_if_valid(HASH_KEY).await?;
            !hash.is_some_and(|h| secret.verify(user, &h))
        }
    };
    if stale {
        session.flush().await?;
    }
    session.cycle_key().await?;
    session.insert(CSRF_KEY, new_csrf_secret()).await?;
    session.insert(USER_ID_KEY, pk).await?;
    session
        .insert(HASH_KEY, secret.session_auth_hash(user))
        .await?;
    Ok(())
}

/// Logs the session's user out (Django's `logout()`): the session is deleted from the
/// store and the response deletes the cookie.
///
/// # Errors
/// The session store failed.
pub async fn logout(session: &Session) -> Result<(), SessionError> {
    session.flush().await
}

/// The primary key of the session's user, if one is logged in. It is not verified: use
/// [`get_user`] to trust it. A key of another shape than a string counts as nobody.
///
/// # Errors
/// The session store failed. That is never "nobody is logged in": the caller answers
/// 503, as the middleware does, so that a store outage does not log users out.
pub async fn session_user_id(session: &Session) -> Result<Option<String>, SessionError> {
    session.get_if_valid::<String>(USER_ID_KEY).await
}

/// The session's user (Django's `get_user()`): loaded by `loader`, still active (the
/// loader decides), and with a session auth hash that matches the current password.
/// A mismatch (the password changed since login) flushes the session: that is how a
/// password change ends the other sessions.
///
/// # Errors
/// The session store or the loader failed.
pub async fn get_user<L>(
    session: &Session,
    loader: &L,
    secret: &SessionSecret,
) -> Result<Option<L::User>>
where
    L: UserLoader + ?Sized,
{
    let Some(pk) = session_user_id(session).await.map_err(session_error)? else {
        return Ok(None);
    };
    let Some(user) = loader.load_user(&pk).await? else {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    };
    let hash: Option<String> = session
        .get_if_valid(HASH_KEY)
        .await
        .map_err(session_error)?;
    if hash.is_some_and(|h| secret.verify(&user, &h)) {
        Ok(Some(user))
    } else {
        session.flush().await.map_err(session_error)?;
        Ok(None)
    }
}

/// Keeps the current session logged in after `user` changed their password (Django's
/// `update_session_auth_hash()`): stores the new hash and rotates the key. Every other
/// session of the user still holds the old hash and ends at its next request.
///
/// # Errors
/// The session store failed.
pub async fn update_session_auth_hash(
    session: &Session,
    user: &(impl AuthUser + ?Sized),
    secret: &SessionSecret,
) -> Result<(), SessionError> {
    session.cycle_key().await?;
    if session_user_id(session).await?.as_deref() == Some(user.pk_string().as_str()) {
        session
            .insert(HASH_KEY, secret.session_auth_hash(user))
            .await?;
    }
    Ok(())
}

fn session_error(e: SessionError) -> Error {
    Error::from(e)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::sessions::{MemoryStore, SessionRecord, SessionStore};

    /// A store whose every call fails, as a database or Redis does during an outage.
    #[derive(Debug)]
    struct DownStore;

    #[async_trait]
    impl SessionStore for DownStore {
        async fn load(&self, _: &str) -> Result<Option<SessionRecord>, SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn create(&self, _: &SessionRecord) -> Result<String, SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn save(&self, _: &str, _: &SessionRecord) -> Result<String, SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn delete(&self, _: &str) -> Result<(), SessionError> {
            Err(SessionError::Store("connection refused".into()))
        }
        async fn clear_expired(&self) -> Result<u64, SessionError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_is_an_error_not_nobody() {
        let session = Session::new(Arc::new(DownStore), Some("a".repeat(32)));
        let error = session_user_id(&session).await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
    }

    #[tokio::test]
    async fn a_user_id_of_another_shape_is_nobody() {
        let session = Session::new(Arc::new(MemoryStore::new()), None);
        session.insert(USER_ID_KEY, [1, 2]).await.unwrap();
        assert_eq!(session_user_id(&session).await.unwrap(), None);
    }
}
