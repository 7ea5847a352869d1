//! Django's `login`, `logout`, `get_user` and `update_session_auth_hash` on a [`Session`].
//!
//! They need only the traits of `batteries-core` ([`AuthUser`], [`UserLoader`],
//! [`SessionSecret`]), so the middleware uses them without `batteries-auth`'s database
//! and hashers; `batteries_auth::sessions` re-exports them.

use batteries_core::{AuthUser, SessionSecret, UserLoader};

use crate::session::Session;
use crate::store::SessionError;

/// Session key holding the user's primary key (Django's `SESSION_KEY`).
pub const USER_ID_KEY: &str = "_auth_user_id";
/// Session key holding the session auth hash (Django's `HASH_SESSION_KEY`).
pub const HASH_KEY: &str = "_auth_user_hash";
/// Session key holding the CSRF secret (Django's `CSRF_SESSION_KEY`). Login replaces it
/// so that a token seen before login is useless after it (Django's `rotate_token`).
pub const CSRF_KEY: &str = "_csrftoken";

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

/// Logs `user` into `session` (Django's `login()`).
///
/// Against session fixation the session never keeps its key: if it belonged to another
/// user (or to this user with an old password) it is flushed, otherwise its data moves
/// to a new key. The CSRF secret is replaced, so a token from before login is useless.
/// The caller has authenticated the user (`batteries_auth::authenticate`).
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
/// The session store or the loader failed; a store failure is
/// [`batteries_core::Error::Unavailable`].
pub async fn get_user<L>(
    session: &Session,
    loader: &L,
    secret: &SessionSecret,
) -> batteries_core::Result<Option<L::User>>
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

fn session_error(e: SessionError) -> batteries_core::Error {
    batteries_core::Error::from(e)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::{MemorySessionStore, SessionRecord, SessionStore};

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
        let session = Session::new(Arc::new(MemorySessionStore::new()), None);
        session.insert(USER_ID_KEY, [1, 2]).await.unwrap();
        assert_eq!(session_user_id(&session).await.unwrap(), None);
    }
}
