//! [`RedisRateLimitStore`]: buckets in Redis (feature `redis`).

use std::time::Duration;

use async_trait::async_trait;
use batteries_core::redis_conn::{self, RedisConn, RedisOptions};
use chrono::{DateTime, Utc};
use redis::aio::ConnectionLike;

use super::{Bucket, Decision, RateLimitError, RateLimitStore};

/// [`Bucket::take`] in Lua, run atomically by Redis on one string key holding when the
/// bucket is full again (milliseconds since the Unix epoch). Returns `{1, remaining}`
/// when a token was taken, `{0, milliseconds to wait}` when not. The key expires when
/// the bucket is full again: a missing key is a full bucket.
const TAKE: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])

local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - capacity * interval
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', new_tat - now))
return {1, math.floor((now - allow_at) / interval)}
";

/// A [`RateLimitStore`] in Redis: app instances sharing Redis share the buckets.
///
/// Each key is one string, `<prefix><scope>:<key>`, updated by a Lua script, so
/// concurrent requests from any number of instances never take more tokens than the
/// bucket holds. Redis expires a key when its bucket is full again, so Redis holds only
/// the buckets in use.
///
/// The time is the limiter's [`Clock`](super::Clock), not Redis': keep the instances'
/// clocks in sync (NTP). A bucket's state never moves back in time, so an instance whose
/// clock lags sees the bucket emptier than it is, never fuller.
///
/// Works on any async connection: [`open`](Self::open) makes a [`RedisConn`], which
/// reconnects by itself after Redis restarts and bounds what an outage costs (a
/// 500 ms timeout per command, and a circuit breaker that then fails commands at
/// once: see [`redis_conn`](batteries_core::redis_conn));
/// [`open_with`](Self::open_with) takes other [`RedisOptions`], and [`new`](Self::new)
/// takes your connection (a clone of one `RedisConn` shared by all stores, say).
#[derive(Clone)]
pub struct RedisRateLimitStore<C = RedisConn> {
    conn: C,
    prefix: String,
    script: redis::Script,
}

impl<C> std::fmt::Debug for RedisRateLimitStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimitStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimitStore<RedisConn> {
    /// Connects to Redis at `url` (`redis://127.0.0.1:6379/`) with the default
    /// [`RedisOptions`].
    ///
    /// # Errors
    /// [`RateLimitError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open(url: &str) -> Result<Self, RateLimitError> {
        Self::open_with(url, RedisOptions::new()).await
    }

    /// Connects to Redis at `url` with `options`: the timeout per command and the
    /// circuit breaker.
    ///
    /// # Errors
    /// [`RateLimitError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open_with(url: &str, options: RedisOptions) -> Result<Self, RateLimitError> {
        let conn = RedisConn::open_with(url, options).await.or_store()?;
        Ok(Self::new(conn))
    }
}

impl<C> RedisRateLimitStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store on `conn`, with keys under `batteries:ratelimit:`.
    pub fn new(conn: C) -> Self {
        Self {
            conn,
            prefix: "batteries:ratelimit:".to_owned(),
            script: redis::Script::new(TAKE),
        }
    }

    /// Puts the keys under `prefix` instead (to share one Redis between apps or tests).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The prefix of every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Redis errors as [`RateLimitError::Store`].
trait OrStore<T> {
    fn or_store(self) -> Result<T, RateLimitError>;
}

impl<T> OrStore<T> for redis::RedisResult<T> {
    fn or_store(self) -> Result<T, RateLimitError> {
        self.map_err(|e| RateLimitError::Store(redis_conn::error_message(&e)))
    }
}

#[async_trait]
impl<C> RateLimitStore for RedisRateLimitStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn take(
        &self,
        key: &str,
        bucket: Bucket,
        now: DateTime<Utc>,
    ) -> Result<Decision, RateLimitError> {
        let mut conn = self.conn.clone();
        let (allowed, value): (i64, i64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(now.timestamp_millis())
            .arg(bucket.refill_interval_ms())
            .arg(bucket.capacity())
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        let value = u64::try_from(value).map_err(|_| {
            RateLimitError::Store(format!(
                "unexpected answer of the rate limit script: {value}"
            ))
        })?;
        Ok(if allowed == 1 {
            Decision::Allowed {
                limit: bucket.capacity(),
                remaining: u32::try_from(value).unwrap_or(0),
            }
        } else {
            Decision::Denied {
                limit: bucket.capacity(),
                retry_after: Duration::from_millis(value),
            }
        })
    }
}
