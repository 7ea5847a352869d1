//! [`RedisThrottleStore`]: counters in Redis (feature `redis`).

use crate::redis_conn::{self, RedisConn, RedisOptions};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionLike;

use super::record::Record;
use super::{Attempts, Limit, ThrottleError, ThrottleStore, millis};

/// The failure update of `record.rs` in Lua, run atomically by Redis on one hash:
/// `f` the failures (comma-separated milliseconds, oldest first), `n` the lockouts,
/// `l` the end of the lockout (empty for none). Returns the updated fields.
const RECORD_FAILURE: &str = r"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local lockout = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])

local stored = redis.call('HMGET', key, 'f', 'n', 'l')
local failures = {}
local lockouts = 0
local locked = nil
if stored[1] then
  for t in string.gmatch(stored[1], '[^,]+') do
    failures[#failures + 1] = tonumber(t)
  end
end
if stored[2] then lockouts = tonumber(stored[2]) end
if stored[3] and stored[3] ~= '' then locked = tonumber(stored[3]) end

local function horizon()
  local h = failures[#failures]
  if locked and (not h or locked > h) then h = locked end
  return h
end

-- Forget a record quiet for a whole window; else drop failures older than the window.
local h = horizon()
if not h or h + window <= now then
  failures = {}
  lockouts = 0
  locked = nil
else
  local kept = {}
  for _, t in ipairs(failures) do
    if t > now - window then kept[#kept + 1] = t end
  end
  failures = kept
end

-- Add this failure in order, keep the newest `max`.
local i = #failures
while i > 0 and failures[i] > now do i = i - 1 end
table.insert(failures, i + 1, now)
while #failures > max do table.remove(failures, 1) end

-- At the limit: lock, doubling with each lockout, at most `cap`.
if #failures >= max then
  lockouts = lockouts + 1
  local d = math.min(lockout * 2 ^ math.min(lockouts - 1, 40), cap)
  if not locked or now + d > locked then locked = now + d end
end

local parts = {}
for j, t in ipairs(failures) do parts[j] = string.format('%d', t) end
local f = table.concat(parts, ',')
local l = ''
if locked then l = string.format('%d', locked) end
redis.call('HSET', key, 'f', f, 'n', string.format('%d', lockouts), 'l', l)
redis.call('PEXPIRE', key, string.format('%d', math.max(1, horizon() + window - now)))
return {f, lockouts, l}
";

/// A [`ThrottleStore`] in Redis: app instances sharing Redis share the counters.
///
/// Each key is one hash, `<prefix><key>`, updated by a Lua script, so concurrent
/// failures from any number of instances are all counted; Redis expires the hash once
/// it is quiet for a window. Keys carry only `user:<sha-256 hex>` or `ip:<address>`
/// after the prefix: no username reaches Redis' key space.
///
/// Works on any async connection: [`open`](Self::open) makes a [`RedisConn`], which
/// reconnects by itself after Redis restarts and bounds what an outage costs (a
/// 500 ms timeout per command, and a circuit breaker that then fails commands at
/// once: see [`redis_conn`](crate::redis_conn));
/// [`open_with`](Self::open_with) takes other [`RedisOptions`], and [`new`](Self::new)
/// takes your connection (a clone of one `RedisConn` shared by all stores, say).
#[derive(Clone)]
pub struct RedisThrottleStore<C = RedisConn> {
    conn: C,
    prefix: String,
    script: redis::Script,
}

impl<C> std::fmt::Debug for RedisThrottleStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisThrottleStore<RedisConn> {
    /// Connects to Redis at `url` (`redis://127.0.0.1:6379/`) with the default
    /// [`RedisOptions`].
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open(url: &str) -> Result<Self, ThrottleError> {
        Self::open_with(url, RedisOptions::new()).await
    }

    /// Connects to Redis at `url` with `options`: the timeout per command and the
    /// circuit breaker.
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open_with(url: &str, options: RedisOptions) -> Result<Self, ThrottleError> {
        let conn = RedisConn::open_with(url, options).await.or_store()?;
        Ok(Self::new(conn))
    }
}

impl<C> RedisThrottleStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store on `conn`, with keys under `batteries:throttle:`.
    pub fn new(conn: C) -> Self {
        Self {
            conn,
            prefix: "batteries:throttle:".to_owned(),
            script: redis::Script::new(RECORD_FAILURE),
        }
    }

    /// Puts the keys under `prefix` instead (to share one Redis between apps or tests).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// Redis errors as [`ThrottleError::Store`].
trait OrStore<T> {
    fn or_store(self) -> Result<T, ThrottleError>;
}

impl<T> OrStore<T> for redis::RedisResult<T> {
    fn or_store(self) -> Result<T, ThrottleError> {
        self.map_err(|e| ThrottleError::Store(redis_conn::error_message(&e)))
    }
}

fn parse_lock(l: &str) -> Result<Option<i64>, ThrottleError> {
    if l.is_empty() {
        return Ok(None);
    }
    l.parse()
        .map(Some)
        .map_err(|_| ThrottleError::Store(format!("corrupt throttle record: bad lock `{l}`")))
}

#[async_trait]
impl<C> ThrottleStore for RedisThrottleStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        let mut conn = self.conn.clone();
        let (failures, lockouts, locked): (String, i64, String) = self
            .script
            .key(self.key(key))
            .arg(now.timestamp_millis())
            .arg(limit.window_ms())
            .arg(limit.max_failures.max(1))
            .arg(limit.lockout_ms(1))
            .arg(millis(limit.max_lockout))
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        let record = Record::decode(&failures, lockouts, parse_lock(&locked)?)?;
        Ok(record.attempts())
    }

    async fn attempts(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        let mut conn = self.conn.clone();
        let (failures, lockouts, locked): (Option<String>, Option<i64>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.key(key))
                .arg("f")
                .arg("n")
                .arg("l")
                .query_async(&mut conn)
                .await
                .or_store()?;
        let record = Record::decode(
            failures.as_deref().unwrap_or_default(),
            lockouts.unwrap_or_default(),
            parse_lock(locked.as_deref().unwrap_or_default())?,
        )?;
        Ok(record.live(now.timestamp_millis(), limit).attempts())
    }

    async fn clear(&self, key: &str) -> Result<(), ThrottleError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .or_store()?;
        Ok(())
    }
}
