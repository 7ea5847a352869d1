//! [`Session`]: one request's handle on its session, loaded lazily, saved only when modified.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::store::{SessionError, SessionRecord, SessionStore};

/// Where Django keeps a per-session expiry chosen with `set_expiry` (seconds, or a
/// timestamp); the same key here, holding an [`Expiry`] in JSON.
const EXPIRY_KEY: &str = "_session_expiry";

/// Django's `SESSION_COOKIE_AGE`: two weeks.
pub const DEFAULT_SESSION_AGE: Duration = Duration::from_hours(14 * 24);

/// How long a session lasts, as [`Session::set_expiry`] chooses (Django's `set_expiry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// The configured age from the last save (Django's `set_expiry(None)`).
    Default,
    /// This long after the last save (Django's `set_expiry(seconds)`).
    #[serde(with = "secs")]
    After(Duration),
    /// At this instant (Django's `set_expiry(datetime)`).
    At(DateTime<Utc>),
    /// When the browser closes: the cookie carries no `Max-Age`; the server keeps the
    /// session for the configured age (Django's `set_expiry(0)`).
    BrowserSession,
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// What the response must do with the session cookie once the handler is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieAction {
    /// Nothing changed: send no `Set-Cookie`.
    Keep,
    /// Send the cookie with this value; `max_age` is `None` for a browser-session cookie.
    Set {
        /// The cookie's value (the store's key).
        value: String,
        /// How long the browser keeps it.
        max_age: Option<Duration>,
    },
    /// Delete the cookie (the session was flushed or emptied).
    Remove,
}

#[derive(Debug)]
struct State {
    /// The key the session is stored under (from the cookie, or made by a save).
    key: Option<String>,
    /// Whether the request carried a session cookie at all.
    had_cookie: bool,
    loaded: bool,
    data: Map<String, Value>,
    modified: bool,
}

struct Inner {
    store: Arc<dyn SessionStore>,
    age: Duration,
    state: Mutex<State>,
}

/// One request's session: Django's `request.session`.
///
/// Cheap to clone (all clones share the state). Nothing is read from the store until a
/// method needs the data, and nothing is written unless the data changed: the session
/// middleware calls [`Session::save`] after the handler and sets or deletes the cookie
/// as the returned [`CookieAction`] says.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), batteries_sessions::SessionError> {
/// use std::sync::Arc;
/// use batteries_sessions::{CookieAction, MemorySessionStore, Session, SessionStore};
///
/// let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
///
/// // A first request, without a cookie: nothing is loaded, then a value is stored.
/// let session = Session::new(store.clone(), None);
/// session.insert("cart", vec![3, 5]).await?;
/// let CookieAction::Set { value: key, .. } = session.save().await? else { panic!() };
///
/// // The next request brings the key back in its cookie.
/// let session = Session::new(store, Some(key));
/// assert_eq!(session.get::<Vec<u32>>("cart").await?, Some(vec![3, 5]));
/// assert_eq!(session.save().await?, CookieAction::Keep, "unchanged: not written again");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key: it is a bearer credential.
        f.debug_struct("Session")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session a request's cookie names (`None` without a cookie), with Django's
    /// default age of two weeks.
    pub fn new(store: Arc<dyn SessionStore>, key: Option<String>) -> Self {
        Self::with_age(store, key, DEFAULT_SESSION_AGE)
    }

    /// Like [`Session::new`], with sessions lasting `age` after their last save.
    pub fn with_age(store: Arc<dyn SessionStore>, key: Option<String>, age: Duration) -> Self {
        let had_cookie = key.is_some();
        Self {
            inner: Arc::new(Inner {
                store,
                age,
                state: Mutex::new(State {
                    key,
                    had_cookie,
                    loaded: false,
                    data: Map::new(),
                    modified: false,
                }),
            }),
        }
    }

    /// The store this session lives in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    async fn loaded(&self) -> Result<tokio::sync::MutexGuard<'_, State>, SessionError> {
        let mut state = self.inner.state.lock().await;
        if !state.loaded {
            if let Some(key) = state.key.clone() {
                match self.inner.store.load(&key).await? {
                    Some(record) => state.data = record.data,
                    // Unknown, expired or tampered: an empty, anonymous session that
                    // will get a fresh key if anything is stored in it.
                    None => state.key = None,
                }
            }
            state.loaded = true;
        }
        Ok(state)
    }

    /// The value under `key`, deserialized as `T`.
    ///
    /// # Errors
    /// The store failed, or the value has another shape than `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let state = self.loaded().await?;
        state
            .data
            .get(key)
            .map(|v| {
                T::deserialize(v).map_err(|e| SessionError::Value {
                    key: key.to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()
    }

    /// The value under `key` if it deserializes as `T`; a value of another shape is
    /// treated as absent (and logged at debug level), as Django treats a session it
    /// cannot decode. Store failures are still errors: a session that cannot be read is
    /// never taken for an empty one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), batteries_sessions::SessionError> {
    /// use std::sync::Arc;
    /// use batteries_sessions::{MemorySessionStore, Session};
    ///
    /// let session = Session::new(Arc::new(MemorySessionStore::new()), None);
    /// session.insert("n", "not a number").await?;
    /// assert_eq!(session.get_if_valid::<u32>("n").await?, None);
    /// assert!(session.get::<u32>("n").await.is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The store failed.
    pub async fn get_if_valid<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, SessionError> {
        match self.get(key).await {
            Err(SessionError::Value { key, message }) => {
                tracing::debug!(%key, %message, "session value of an unexpected shape ignored");
                Ok(None)
            }
            other => other,
        }
    }

    /// The raw JSON value under `key`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn get_value(&self, key: &str) -> Result<Option<Value>, SessionError> {
        Ok(self.loaded().await?.data.get(key).cloned())
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// The store failed, or `value` does not serialize to JSON.
    pub async fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        let mut state = self.loaded().await?;
        if state.data.get(key) != Some(&value) {
            state.data.insert(key.to_owned(), value);
            state.modified = true;
        }
        Ok(())
    }

    /// Removes and returns the value under `key`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn remove(&self, key: &str) -> Result<Option<Value>, SessionError> {
        let mut state = self.loaded().await?;
        let old = state.data.remove(key);
        if old.is_some() {
            state.modified = true;
        }
        Ok(old)
    }

    /// Whether `key` holds a value.
    ///
    /// # Errors
    /// The store failed.
    pub async fn contains_key(&self, key: &str) -> Result<bool, SessionError> {
        Ok(self.loaded().await?.data.contains_key(key))
    }

    /// Whether the session holds no values.
    ///
    /// # Errors
    /// The store failed.
    pub async fn is_empty(&self) -> Result<bool, SessionError> {
        Ok(self.loaded().await?.data.is_empty())
    }

    /// Removes every value but keeps the key (Django's `session.clear()`).
    ///
    /// # Errors
    /// The store failed.
    pub async fn clear(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        if !state.data.is_empty() {
            state.data.clear();
            state.modified = true;
        }
        Ok(())
    }

    /// Deletes the session from the store and starts an empty one without a key
    /// (Django's `flush()`, what logout does). The response deletes the cookie.
    ///
    /// # Errors
    /// The store failed.
    pub async fn flush(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        if let Some(key) = state.key.take() {
            self.inner.store.delete(&key).await?;
        }
        state.data.clear();
        state.modified = true;
        Ok(())
    }

    /// Moves the data to a new key and deletes the old one (Django's `cycle_key()`,
    /// what login does against session fixation).
    ///
    /// # Errors
    /// The store failed.
    pub async fn cycle_key(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        let record = self.record(&state.data);
        let new_key = self.inner.store.create(&record).await?;
        if let Some(old) = state.key.replace(new_key) {
            self.inner.store.delete(&old).await?;
        }
        state.modified = true;
        Ok(())
    }

    /// Sets how long this session lasts (Django's `set_expiry`).
    ///
    /// # Errors
    /// The store failed.
    pub async fn set_expiry(&self, expiry: Expiry) -> Result<(), SessionError> {
        if expiry == Expiry::Default {
            self.remove(EXPIRY_KEY).await?;
            Ok(())
        } else {
            self.insert(EXPIRY_KEY, expiry).await
        }
    }

    /// The expiry chosen with [`Session::set_expiry`].
    ///
    /// # Errors
    /// The store failed.
    pub async fn expiry(&self) -> Result<Expiry, SessionError> {
        Ok(self
            .get_if_valid::<Expiry>(EXPIRY_KEY)
            .await?
            .unwrap_or(Expiry::Default))
    }

    /// The key the session is stored under, if it has been stored. It is a bearer
    /// credential: never log it.
    pub async fn key(&self) -> Option<String> {
        self.inner.state.lock().await.key.clone()
    }

    /// Whether this request read or wrote the session (then a response depends on the
    /// cookie: `Vary: Cookie`).
    pub async fn is_accessed(&self) -> bool {
        self.inner.state.lock().await.loaded
    }

    /// Whether the data changed in this request.
    pub async fn is_modified(&self) -> bool {
        self.inner.state.lock().await.modified
    }

    fn expires_at(&self, data: &Map<String, Value>) -> (DateTime<Utc>, Option<Duration>) {
        let now = Utc::now();
        let age = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        let expiry = data
            .get(EXPIRY_KEY)
            .and_then(|v| Expiry::deserialize(v).ok())
            .unwrap_or(Expiry::Default);
        match expiry {
            Expiry::Default => (now + age(self.inner.age), Some(self.inner.age)),
            Expiry::After(d) => (now + age(d), Some(d)),
            Expiry::At(at) => (at, Some((at - now).to_std().unwrap_or(Duration::ZERO))),
            Expiry::BrowserSession => (now + age(self.inner.age), None),
        }
    }

    fn record(&self, data: &Map<String, Value>) -> SessionRecord {
        SessionRecord {
            data: data.clone(),
            expires_at: self.expires_at(data).0,
        }
    }

    /// Writes the session if it changed and says what to do with the cookie: set it
    /// after a change, delete it when the session was flushed or emptied, nothing
    /// otherwise. An empty session is never stored.
    ///
    /// # Errors
    /// The store failed.
    pub async fn save(&self) -> Result<CookieAction, SessionError> {
        let mut state = self.inner.state.lock().await;
        if !state.modified {
            return Ok(CookieAction::Keep);
        }
        if state.data.is_empty() {
            if let Some(key) = state.key.take() {
                self.inner.store.delete(&key).await?;
            }
            state.modified = false;
            return Ok(if state.had_cookie {
                CookieAction::Remove
            } else {
                CookieAction::Keep
            });
        }
        let (expires_at, max_age) = self.expires_at(&state.data);
        let record = SessionRecord {
            data: state.data.clone(),
            expires_at,
        };
        let value = match &state.key {
            Some(key) => self.inner.store.save(key, &record).await?,
            None => self.inner.store.create(&record).await?,
        };
        state.key = Some(value.clone());
        state.modified = false;
        state.had_cookie = true;
        Ok(CookieAction::Set { value, max_age })
    }
}

use serde::Deserialize as _;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySessionStore;

    fn store() -> Arc<dyn SessionStore> {
        Arc::new(MemorySessionStore::new())
    }

    async fn saved_key(session: &Session) -> String {
        match session.save().await.unwrap() {
            CookieAction::Set { value, .. } => value,
            other => panic!("expected a cookie, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_untouched_session_writes_nothing() {
        let store = store();
        let session = Session::new(store.clone(), None);
        assert_eq!(session.save().await.unwrap(), CookieAction::Keep);
        let session = Session::new(store, Some("nonsense".into()));
        assert_eq!(session.get::<String>("x").await.unwrap(), None);
        assert_eq!(session.save().await.unwrap(), CookieAction::Keep);
    }

    #[tokio::test]
    async fn an_unknown_key_gets_a_fresh_one_when_stored_into() {
        let store = store();
        let forged = "a".repeat(32);
        let session = Session::new(store.clone(), Some(forged.clone()));
        session.insert("k", 1).await.unwrap();
        let key = saved_key(&session).await;
        assert_ne!(key, forged, "a key chosen by the client is never adopted");
    }

    #[tokio::test]
    async fn cycle_key_keeps_data_and_kills_the_old_key() {
        let store = store();
        let session = Session::new(store.clone(), None);
        session.insert("k", "v").await.unwrap();
        let old = saved_key(&session).await;

        let session = Session::new(store.clone(), Some(old.clone()));
        session.cycle_key().await.unwrap();
        let new = saved_key(&session).await;
        assert_ne!(old, new);
        assert!(
            store.load(&old).await.unwrap().is_none(),
            "old key must be dead"
        );
        let again = Session::new(store, Some(new));
        assert_eq!(
            again.get::<String>("k").await.unwrap().as_deref(),
            Some("v")
        );
    }

    #[tokio::test]
    async fn flush_deletes_the_session_and_the_cookie() {
        let store = store();
        let session = Session::new(store.clone(), None);
        session.insert("k", "v").await.unwrap();
        let key = saved_key(&session).await;

        let session = Session::new(store.clone(), Some(key.clone()));
        session.flush().await.unwrap();
        assert_eq!(session.save().await.unwrap(), CookieAction::Remove);
        assert!(store.load(&key).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn set_expiry_drives_the_cookie_age() {
        let session = Session::new(store(), None);
        session.insert("k", 1).await.unwrap();
        session.set_expiry(Expiry::BrowserSession).await.unwrap();
        assert!(matches!(
            session.save().await.unwrap(),
            CookieAction::Set { max_age: None, .. }
        ));
        session
            .set_expiry(Expiry::After(Duration::from_mins(1)))
            .await
            .unwrap();
        assert!(matches!(
            session.save().await.unwrap(),
            CookieAction::Set { max_age: Some(d), .. } if d == Duration::from_mins(1)
        ));
        assert_eq!(
            session.expiry().await.unwrap(),
            Expiry::After(Duration::from_mins(1))
        );
    }

    #[tokio::test]
    async fn a_value_of_another_shape_is_an_error() {
        let session = Session::new(store(), None);
        session.insert("n", "text").await.unwrap();
        assert!(matches!(
            session.get::<u32>("n").await,
            Err(SessionError::Value { .. })
        ));
    }
}
