//! [`RedisSessionStore`]: sessions in Redis (feature `redis`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use batteries_core::redis_conn::{self, RedisConn, RedisOptions};
use redis::aio::ConnectionLike;

use crate::cookie::{decode_record, encode_record};
use crate::store::{
    SessionError, SessionRecord, SessionStore, is_valid_session_key, new_session_key,
};
use batteries_core::{Clock, SystemClock};

/// How many fresh keys [`SessionStore::create`] tries before giving up.
const MAX_CREATE_TRIES: usize = 10;

/// Sessions in Redis: app instances sharing Redis share the sessions.
///
/// Each session is one string, `<prefix><key>` (prefix `batteries:session:` by default),
/// holding `{"data": {...}, "exp": <ms>}` and set to expire with the session
/// (`SET ... PX`), so Redis drops expired sessions itself and
/// [`clear_expired`](SessionStore::clear_expired) has nothing to do. New sessions are
/// written with `SET NX`, so two instances never share a key. Only keys of the shape
/// [`new_session_key`] makes reach Redis.
///
/// Works on any async connection: [`open`](Self::open) makes a [`RedisConn`], which
/// reconnects by itself after Redis restarts and bounds what an outage costs (a
/// 500 ms timeout per command, and a circuit breaker that then fails commands at
/// once: see [`redis_conn`](batteries_core::redis_conn));
/// [`open_with`](Self::open_with) takes other [`RedisOptions`], and [`new`](Self::new)
/// takes your connection (a clone of one `RedisConn` shared by all stores, say).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), batteries_sessions::SessionError> {
/// use batteries_sessions::{RedisSessionStore, SessionRecord, SessionStore};
///
/// let store = RedisSessionStore::open("redis://127.0.0.1:6379/").await?;
/// let expires_at = chrono::Utc::now() + chrono::Duration::weeks(2);
/// let key = store.create(&SessionRecord { data: Default::default(), expires_at }).await?;
/// assert!(store.load(&key).await?.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore<C = RedisConn> {
    conn: C,
    prefix: String,
    clock: Arc<dyn Clock>,
}

impl<C> fmt::Debug for RedisSessionStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore<RedisConn> {
    /// Connects to Redis at `url` (`redis://127.0.0.1:6379/`) with the default
    /// [`RedisOptions`].
    ///
    /// # Errors
    /// [`SessionError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open(url: &str) -> Result<Self, SessionError> {
        Self::open_with(url, RedisOptions::new()).await
    }

    /// Connects to Redis at `url` with `options`: the timeout per command and the
    /// circuit breaker.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open_with(url: &str, options: RedisOptions) -> Result<Self, SessionError> {
        let conn = RedisConn::open_with(url, options).await.or_store()?;
        Ok(Self::new(conn))
    }
}

impl<C> RedisSessionStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store on `conn`, with keys under `batteries:session:`.
    pub fn new(conn: C) -> Self {
        Self {
            conn,
            prefix: "batteries:session:".to_owned(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Puts the keys under `prefix` instead (to share one Redis between apps or tests).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Takes the time from `clock` (a [`ManualClock`](batteries_core::ManualClock) in
    /// tests): it decides how long Redis keeps a session, and whether a loaded one has
    /// expired.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Milliseconds until `record` expires; `None` if it already has.
    fn ttl_ms(&self, record: &SessionRecord) -> Option<i64> {
        let ms = (record.expires_at - self.clock.now()).num_milliseconds();
        (ms > 0).then_some(ms)
    }

    /// `SET key value PX ttl [NX]`; whether Redis wrote it.
    async fn set(&self, key: &str, value: &[u8], ttl: i64, nx: bool) -> Result<bool, SessionError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("PX").arg(ttl);
        if nx {
            cmd.arg("NX");
        }
        let reply: Option<String> = cmd.query_async(&mut conn).await.or_store()?;
        Ok(reply.is_some())
    }

    async fn del(&self, key: &str) -> Result<(), SessionError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .or_store()?;
        Ok(())
    }
}

/// Redis errors as [`SessionError::Store`].
trait OrStore<T> {
    fn or_store(self) -> Result<T, SessionError>;
}

impl<T> OrStore<T> for redis::RedisResult<T> {
    fn or_store(self) -> Result<T, SessionError> {
        self.map_err(|e| SessionError::Store(redis_conn::error_message(&e)))
    }
}

#[async_trait]
impl<C> SessionStore for RedisSessionStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        if !is_valid_session_key(key) {
            return Ok(None);
        }
        let mut conn = self.conn.clone();
        let stored: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .or_store()?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let Some(record) = decode_record(&stored) else {
            tracing::warn!("a session in Redis is not a session record");
            return Ok(None);
        };
        // Redis' expiry and our clock may disagree by a little: the record decides.
        Ok((record.expires_at > self.clock.now()).then_some(record))
    }

    /// Writes `record` under a new key with `SET NX`. A record that has already expired
    /// gets a key but is not written: loading it finds nothing, as it should.
    async fn create(&self, record: &SessionRecord) -> Result<String, SessionError> {
        let value = encode_record(record)?;
        let Some(ttl) = self.ttl_ms(record) else {
            return Ok(new_session_key());
        };
        for _ in 0..MAX_CREATE_TRIES {
            let key = new_session_key();
            if self.set(&key, &value, ttl, true).await? {
                return Ok(key);
            }
        }
        Err(SessionError::Store(format!(
            "{MAX_CREATE_TRIES} new session keys in a row were taken"
        )))
    }

    /// Overwrites the session with one `SET` (which creates it if it vanished). A record
    /// that has already expired is deleted instead.
    async fn save(&self, key: &str, record: &SessionRecord) -> Result<String, SessionError> {
        if !is_valid_session_key(key) {
            return self.create(record).await;
        }
        let value = encode_record(record)?;
        match self.ttl_ms(record) {
            Some(ttl) => {
                self.set(key, &value, ttl, false).await?;
            }
            None => self.del(key).await?,
        }
        Ok(key.to_owned())
    }

    async fn delete(&self, key: &str) -> Result<(), SessionError> {
        if is_valid_session_key(key) {
            self.del(key).await?;
        }
        Ok(())
    }

    /// Returns 0: Redis deletes expired sessions itself.
    async fn clear_expired(&self) -> Result<u64, SessionError> {
        Ok(0)
    }
}
