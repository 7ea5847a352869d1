//! [`RedisRefreshStore`]: refresh tokens in Redis (feature `redis`).

use async_trait::async_trait;
use batteries_core::redis_conn::{self, RedisConn, RedisOptions};
use chrono::{DateTime, Utc};
use redis::aio::ConnectionLike;
use sha2::{Digest, Sha256};

use super::{Consumed, JwtError, RefreshRecord, RefreshStore};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Records a token: `KEYS` token, family, subject hashes/sets; `ARGV` family, subject,
/// time to live in milliseconds. The family's revocation flag is left as it is, so a
/// token inserted into a revoked family is born revoked.
const INSERT: &str = r"
local ttl = tonumber(ARGV[3])
local function extend(key)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
redis.call('HSET', KEYS[1], 'f', ARGV[1], 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HSETNX', KEYS[2], 'r', '0')
extend(KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
extend(KEYS[3])
return 1
";

/// Consumes a token atomically: `KEYS[1]` the token's hash; `ARGV` now (ms), the
/// prefix of family keys. Returns `{outcome, family, subject}`, or `{'used', family,
/// used_at}`.
const CONSUME: &str = r"
local t = redis.call('HMGET', KEYS[1], 'f', 's', 'u')
if not t[1] then return {'unknown'} end
if redis.call('HGET', ARGV[2] .. t[1], 'r') == '1' then return {'revoked'} end
if t[3] then return {'used', t[1], t[3]} end
redis.call('HSET', KEYS[1], 'u', ARGV[1])
return {'fresh', t[1], t[2]}
";

/// Consumes a token and records its successor, atomically: `KEYS[1]` the token's hash,
/// `KEYS[2..4]` the successor's token, family and subject keys; `ARGV` now (ms), the
/// prefix of family keys, then the successor's family, subject and time to live (ms).
/// The successor is recorded only when the token was fresh, of that family and subject.
const ROTATE: &str = r"
local t = redis.call('HMGET', KEYS[1], 'f', 's', 'u')
if not t[1] then return {'unknown'} end
if redis.call('HGET', ARGV[2] .. t[1], 'r') == '1' then return {'revoked'} end
if t[3] then return {'used', t[1], t[3]} end
redis.call('HSET', KEYS[1], 'u', ARGV[1])
if t[1] == ARGV[3] and t[2] == ARGV[4] then
  local ttl = tonumber(ARGV[5])
  local function extend(key)
    if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  end
  redis.call('HSET', KEYS[2], 'f', ARGV[3], 's', ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('HSETNX', KEYS[3], 'r', '0')
  extend(KEYS[3])
  redis.call('SADD', KEYS[4], ARGV[3])
  extend(KEYS[4])
end
return {'fresh', t[1], t[2]}
";

/// Revokes a family if it still exists: `KEYS[1]` its hash.
const REVOKE_FAMILY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'r', '1') end
return 1
";

/// Revokes every family of a subject: `KEYS[1]` the subject's set; `ARGV[1]` the prefix
/// of family keys. Forgets the families that expired.
const REVOKE_SUBJECT: &str = r"
for _, family in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. family
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'r', '1')
  else
    redis.call('SREM', KEYS[1], family)
  end
end
return 1
";

/// A [`RefreshStore`] in Redis: app instances sharing Redis share the refresh tokens.
///
/// Under the prefix (default `batteries:jwt:`): `token:<jti>`, a hash of the token's
/// family, subject and use; `family:<family>`, its revocation flag; `subject:<sha-256
/// of the subject>`, the set of the subject's families. Every key expires with the last
/// token it concerns, so [`clear_expired`](RefreshStore::clear_expired) has nothing to
/// do. Each operation is one Lua script, atomic across instances. The scripts derive
/// family keys from token hashes, so keep the store on one Redis node (not a cluster).
///
/// Works on any async connection: [`open`](Self::open) makes a [`RedisConn`], which
/// reconnects by itself after Redis restarts and bounds what an outage costs (a
/// 500 ms timeout per command, and a circuit breaker that then fails commands at
/// once: see [`redis_conn`](batteries_core::redis_conn));
/// [`open_with`](Self::open_with) takes other [`RedisOptions`], and [`new`](Self::new)
/// takes your connection (a clone of one `RedisConn` shared by all stores, say).
#[derive(Clone)]
pub struct RedisRefreshStore<C = RedisConn> {
    conn: C,
    prefix: String,
    scripts: Scripts,
}

#[derive(Clone)]
struct Scripts {
    insert: redis::Script,
    consume: redis::Script,
    rotate: redis::Script,
    revoke_family: redis::Script,
    revoke_subject: redis::Script,
}

impl<C> std::fmt::Debug for RedisRefreshStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRefreshStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRefreshStore<RedisConn> {
    /// Connects to Redis at `url` (`redis://127.0.0.1:6379/`) with the default
    /// [`RedisOptions`].
    ///
    /// # Errors
    /// [`JwtError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open(url: &str) -> Result<Self, JwtError> {
        Self::open_with(url, RedisOptions::new()).await
    }

    /// Connects to Redis at `url` with `options`: the timeout per command and the
    /// circuit breaker.
    ///
    /// # Errors
    /// [`JwtError::Store`] when the URL is invalid or Redis cannot be reached.
    pub async fn open_with(url: &str, options: RedisOptions) -> Result<Self, JwtError> {
        let conn = RedisConn::open_with(url, options).await.or_store()?;
        Ok(Self::new(conn))
    }
}

impl<C> RedisRefreshStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store on `conn`, with keys under `batteries:jwt:`.
    pub fn new(conn: C) -> Self {
        Self {
            conn,
            prefix: "batteries:jwt:".to_owned(),
            scripts: Scripts {
                insert: redis::Script::new(INSERT),
                consume: redis::Script::new(CONSUME),
                rotate: redis::Script::new(ROTATE),
                revoke_family: redis::Script::new(REVOKE_FAMILY),
                revoke_subject: redis::Script::new(REVOKE_SUBJECT),
            },
        }
    }

    /// Puts the keys under `prefix` instead (to share one Redis between apps or tests).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn token_key(&self, jti: &str) -> String {
        format!("{}token:{jti}", self.prefix)
    }

    fn family_prefix(&self) -> String {
        format!("{}family:", self.prefix)
    }

    fn subject_key(&self, subject: &str) -> String {
        let digest = Sha256::digest(subject.as_bytes());
        let mut key = format!("{}subject:", self.prefix);
        for b in digest {
            key.push(char::from(HEX[usize::from(b >> 4)]));
            key.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        key
    }
}

/// Redis errors as [`JwtError::Store`].
trait OrStore<T> {
    fn or_store(self) -> Result<T, JwtError>;
}

impl<T> OrStore<T> for redis::RedisResult<T> {
    fn or_store(self) -> Result<T, JwtError> {
        self.map_err(|e| JwtError::Store(redis_conn::error_message(&e)))
    }
}

/// The outcome of the consume or rotate script.
fn consumed(reply: Vec<String>) -> Result<Consumed, JwtError> {
    let mut reply = reply.into_iter();
    match (reply.next().as_deref(), reply.next(), reply.next()) {
        (Some("unknown"), ..) => Ok(Consumed::Unknown),
        (Some("revoked"), ..) => Ok(Consumed::FamilyRevoked),
        (Some("used"), Some(family), used_at) => Ok(Consumed::AlreadyUsed {
            family,
            used_at: used_at
                .and_then(|ms| ms.parse().ok())
                .and_then(DateTime::from_timestamp_millis),
        }),
        (Some("fresh"), Some(family), Some(subject)) => Ok(Consumed::Fresh { family, subject }),
        _ => Err(JwtError::Store(
            "unexpected reply of the consume script".to_owned(),
        )),
    }
}

#[async_trait]
impl<C> RefreshStore for RedisRefreshStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn insert(&self, record: &RefreshRecord, now: DateTime<Utc>) -> Result<(), JwtError> {
        // The time to live counts from the caller's clock, not Redis': the two may
        // disagree (tests run on a manual clock).
        let ttl = (record.expires_at - now).num_milliseconds().max(1);
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .insert
            .key(self.token_key(&record.jti))
            .key(format!("{}{}", self.family_prefix(), record.family))
            .key(self.subject_key(&record.subject))
            .arg(&record.family)
            .arg(&record.subject)
            .arg(ttl)
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        Ok(())
    }

    async fn consume(&self, jti: &str, now: DateTime<Utc>) -> Result<Consumed, JwtError> {
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self
            .scripts
            .consume
            .key(self.token_key(jti))
            .arg(now.timestamp_millis())
            .arg(self.family_prefix())
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        consumed(reply)
    }

    async fn rotate(
        &self,
        jti: &str,
        successor: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<Consumed, JwtError> {
        let ttl = (successor.expires_at - now).num_milliseconds().max(1);
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self
            .scripts
            .rotate
            .key(self.token_key(jti))
            .key(self.token_key(&successor.jti))
            .key(format!("{}{}", self.family_prefix(), successor.family))
            .key(self.subject_key(&successor.subject))
            .arg(now.timestamp_millis())
            .arg(self.family_prefix())
            .arg(&successor.family)
            .arg(&successor.subject)
            .arg(ttl)
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        consumed(reply)
    }

    async fn revoke_family(&self, family: &str) -> Result<(), JwtError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .revoke_family
            .key(format!("{}{family}", self.family_prefix()))
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        Ok(())
    }

    async fn revoke_subject(&self, subject: &str) -> Result<(), JwtError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .revoke_subject
            .key(self.subject_key(subject))
            .arg(self.family_prefix())
            .invoke_async(&mut conn)
            .await
            .or_store()?;
        Ok(())
    }

    async fn clear_expired(&self, _now: DateTime<Utc>) -> Result<u64, JwtError> {
        Ok(0)
    }
}
