//! Login throttling: failures counted per username and per client IP in a sliding
//! window, and a lockout that doubles with each further failure (what django-axes does
//! for Django).
//!
//! [`LoginThrottle`] keeps its counters in a [`ThrottleStore`]:
//!
//! | store | for |
//! | --- | --- |
//! | [`MemoryThrottleStore`] | tests and a single process |
//! | [`DatabaseThrottleStore`] | many app instances sharing a database (table `batteries_login_throttle`, created by [`migration()`]) |
//! | `RedisThrottleStore` (feature `redis`) | many app instances sharing Redis |
//!
//! Every store updates a key atomically, so app instances sharing a database or Redis
//! count every failure exactly once.
//!
//! A login view asks [`LoginThrottle::check`] before verifying the password, then reports
//! the outcome:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), batteries_auth::throttle::ThrottleError> {
//! use std::net::IpAddr;
//! use std::time::Duration;
//!
//! use batteries_auth::throttle::{LoginThrottle, MemoryThrottleStore, ThrottleError};
//!
//! let throttle = LoginThrottle::new(MemoryThrottleStore::new())
//!     .with_username_limit(3, Duration::from_mins(15))
//!     .with_ip_limit(20, Duration::from_mins(15))
//!     .with_lockout(Duration::from_mins(1), Duration::from_hours(1));
//! let ip: IpAddr = "203.0.113.7".parse().unwrap();
//!
//! for _ in 0..3 {
//!     throttle.check("alice", Some(ip)).await?;
//!     // ... the password was wrong:
//!     throttle.record_failure("alice", Some(ip)).await?;
//! }
//! // The username is locked, whatever its case and whichever address asks.
//! let err = throttle.check("Alice", None).await.unwrap_err();
//! assert!(matches!(err, ThrottleError::Locked { .. }));
//! let wait = err.retry_after().expect("a lockout says how long it lasts");
//! assert!(wait <= Duration::from_mins(1), "the first lockout lasts a minute");
//! # Ok(()) }
//! ```
//!
//! ## Policy
//!
//! - A username is locked when it reaches `max_failures` failures within the window
//!   (default 5 in 15 minutes); a client IP likewise (default 20 in 15 minutes), whatever
//!   usernames it tried. IPv6 addresses count per /64 network by default
//!   ([`LoginThrottle::with_ipv6_prefix`]), since a client usually holds a whole /64.
//! - The first lockout lasts [`with_lockout`](LoginThrottle::with_lockout)'s `first`
//!   (default 1 minute); each failure while the count is still at the limit doubles it, up
//!   to `max` (default 1 hour). A key that stays quiet for a whole window after its last
//!   failure and its last lockout is forgotten, and its backoff starts over.
//! - [`record_success`](LoginThrottle::record_success) clears the username's counter
//!   and lockout, but not the IP's: one valid account must not reset an attacker's
//!   address.
//! - The lock does not depend on whether the username exists, and [`ThrottleError::Locked`]
//!   says nothing about it. Usernames are normalised (NFKC, case-folded, trailing spaces
//!   dropped) and hashed (SHA-256) into the key, so no username reaches the store's key
//!   space.
//! - A name is not a user: a database may take many spellings for one user (MariaDB's
//!   default collations match `RÉADÉR`, `reáder` and `reader  ` to `reader`). The
//!   [`Authenticator`](crate::Authenticator) therefore counts against the *user*
//!   ([`Subject::User`], its primary key) whenever a backend finds one for the name
//!   given, and against the normalised name ([`Subject::Name`]) only for unknown
//!   users, so spelling variants share one budget.
//! - Locking a username from any address lets a stranger lock a user out for the lockout's
//!   duration; the backoff cap bounds that. Keep the per-IP limit to slow the stranger.
//!
//! Time comes from a [`Clock`]; tests pass a [`ManualClock`] and advance it instead of
//! sleeping.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

mod database;
pub mod entity;
mod m20261125_000100_auth_create_login_throttle;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;

pub use database::DatabaseThrottleStore;
pub use memory::MemoryThrottleStore;
#[cfg(feature = "redis")]
pub use redis::RedisThrottleStore;

/// The old name of [`MemoryThrottleStore`].
#[deprecated(note = "renamed to `MemoryThrottleStore`")]
pub type MemoryStore = MemoryThrottleStore;
/// The old name of [`DatabaseThrottleStore`].
#[deprecated(note = "renamed to `DatabaseThrottleStore`")]
pub type DatabaseStore = DatabaseThrottleStore;
/// The old name of [`RedisThrottleStore`].
#[cfg(feature = "redis")]
#[deprecated(note = "renamed to `RedisThrottleStore`")]
pub type RedisStore<C = crate::redis_conn::RedisConn> = RedisThrottleStore<C>;

/// The migration creating `batteries_login_throttle`, the table of [`DatabaseThrottleStore`]
/// (named `m20261125_000100_auth_create_login_throttle`).
///
/// ```
/// use batteries_orm::migration::MigrationSet;
///
/// let set = MigrationSet::new("my-app").with(batteries_auth::throttle::migration());
/// assert_eq!(set.names(), ["m20261125_000100_auth_create_login_throttle"]);
/// ```
pub fn migration() -> impl sea_orm_migration::MigrationTrait {
    m20261125_000100_auth_create_login_throttle::Migration
}

/// Why an attempt was refused, or the throttle's store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// Too many failed attempts: refuse this one without checking the password. The
    /// message says nothing about whether the username exists.
    #[error("too many failed login attempts; try again in {} seconds", ceil_secs(.retry_after))]
    Locked {
        /// How long until an attempt may be made again.
        retry_after: Duration,
    },

    /// The store could not be reached or refused the update.
    #[error("throttle store error: {0}")]
    Store(String),
}

impl ThrottleError {
    /// How long to wait, when this is [`ThrottleError::Locked`] (for a `Retry-After`
    /// header, rounded up to whole seconds).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ThrottleError::Locked { retry_after } => Some(*retry_after),
            ThrottleError::Store(_) => None,
        }
    }
}

fn ceil_secs(d: &Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// How many failures a kind of key (usernames, or client IPs) may have, and how long it
/// is locked once it reaches them. Passed to the store with each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limit {
    /// Failures within [`window`](Self::window) that lock the key (at least 1).
    pub max_failures: u32,
    /// The sliding window over which failures are counted.
    pub window: Duration,
    /// The first lockout; each further one doubles it.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
}

impl Limit {
    /// `max_failures` (at least 1) within `window`, with the default lockout of one
    /// minute doubling up to one hour.
    #[must_use]
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            lockout: Duration::from_mins(1),
            max_lockout: Duration::from_hours(1),
        }
    }

    /// Sets the first lockout and the longest one.
    #[must_use]
    pub fn with_lockout(mut self, first: Duration, max: Duration) -> Self {
        self.lockout = first;
        self.max_lockout = max.max(first);
        self
    }

    /// How long the `n`th lockout (from 1) lasts: `lockout * 2^(n-1)`, at most
    /// `max_lockout`.
    pub fn lockout_for(&self, n: u32) -> Duration {
        Duration::from_millis(u64::try_from(self.lockout_ms(n)).unwrap_or(0))
    }

    pub(crate) fn window_ms(&self) -> i64 {
        millis(self.window)
    }

    pub(crate) fn lockout_ms(&self, n: u32) -> i64 {
        let doubled = millis(self.lockout).saturating_mul(1_i64 << n.saturating_sub(1).min(40));
        doubled.min(millis(self.max_lockout))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One key's state as a store reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Failures within the window, counting at most `max_failures` (the limiter needs
    /// no more, and the store keeps no more).
    pub failures: u32,
    /// Lockouts imposed since the key was last quiet for a whole window.
    pub lockouts: u32,
    /// When the latest lockout ends (possibly in the past).
    pub locked_until: Option<DateTime<Utc>>,
}

impl Attempts {
    /// How long the key stays locked after `now`, if it is locked.
    pub fn retry_after(&self, now: DateTime<Utc>) -> Option<Duration> {
        let until = self.locked_until?;
        (until > now).then(|| (until - now).to_std().unwrap_or_default())
    }
}

/// Where a [`LoginThrottle`] keeps its counters. Each method is atomic for its key,
/// across every process sharing the store.
///
/// `key` is built by [`LoginThrottle`] (`user:<sha-256 hex>` or `ip:<address>`): ASCII,
/// at most 100 bytes. `now` comes from the throttle's [`Clock`], so a store never reads
/// the time itself.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Records a failure of `key` at `now`: forgets the failures older than the window,
    /// adds this one, and locks the key (or extends its lockout) when it is at the limit.
    /// Returns the key's state afterwards.
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError>;

    /// The key's state at `now`, without changing it.
    async fn attempts(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError>;

    /// Forgets the key: its failures, lockout and backoff.
    async fn clear(&self, key: &str) -> Result<(), ThrottleError>;
}

#[async_trait]
impl<T: ThrottleStore + ?Sized> ThrottleStore for Arc<T> {
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        (**self).record_failure(key, now, limit).await
    }

    async fn attempts(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        (**self).attempts(key, now, limit).await
    }

    async fn clear(&self, key: &str) -> Result<(), ThrottleError> {
        (**self).clear(key).await
    }
}

/// The clocks (from `batteries-core`): where the throttle takes the time from.
pub use batteries_core::{Clock, ManualClock, SystemClock};

/// Whose budget a login attempt spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A user a backend found, by primary key (`AuthUser::pk_string`): every spelling
    /// of the name that finds this user shares one budget.
    User(String),
    /// A name no backend knows, normalised ([`normalize_name`]).
    Name(String),
}

impl Subject {
    /// The subject for a login as `username` when no user is known: its normalised name.
    pub fn name(username: &str) -> Self {
        Subject::Name(normalize_name(username))
    }

    /// The store's key: `user:` and a SHA-256 in hex, so neither names nor keys reach
    /// the store's key space.
    fn key(&self) -> String {
        use fmt::Write as _;
        let mut hasher = Sha256::new();
        match self {
            Subject::User(pk) => {
                hasher.update(b"pk\0");
                hasher.update(pk.as_bytes());
            }
            Subject::Name(name) => {
                hasher.update(b"name\0");
                hasher.update(name.as_bytes());
            }
        }
        let mut key = String::with_capacity(5 + 64);
        key.push_str("user:");
        for byte in hasher.finalize() {
            let _ = write!(key, "{byte:02x}");
        }
        key
    }
}

/// How the throttle reads a name no user was found for: NFKC, lower case, trailing
/// spaces dropped, so `ＡＬＩＣＥ`, `Alice` and `alice  ` are one name.
///
/// ```
/// use batteries_auth::throttle::normalize_name;
///
/// assert_eq!(normalize_name("ＡＬＩＣＥ  "), "alice");
/// assert_eq!(normalize_name("\u{2126}mega"), normalize_name("\u{3a9}MEGA"));
/// ```
pub fn normalize_name(username: &str) -> String {
    crate::user::normalize_username(username)
        .trim_end_matches(' ')
        .to_lowercase()
}

/// Login throttling per username and per client IP; see the [module docs](self).
///
/// Cheap to clone; clones share the store and the clock.
#[derive(Clone)]
pub struct LoginThrottle {
    store: Arc<dyn ThrottleStore>,
    clock: Arc<dyn Clock>,
    username_limit: Limit,
    ip_limit: Limit,
    ipv6_prefix: u8,
}

impl fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("username_limit", &self.username_limit)
            .field("ip_limit", &self.ip_limit)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    /// A throttle on `store` with the defaults: 5 failures per username and 20 per IP in
    /// 15 minutes, lockouts from 1 minute doubling up to 1 hour, IPv6 counted per /64,
    /// the system clock.
    #[must_use]
    pub fn new(store: impl ThrottleStore + 'static) -> Self {
        let window = Duration::from_mins(15);
        Self {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            username_limit: Limit::new(5, window),
            ip_limit: Limit::new(20, window),
            ipv6_prefix: 64,
        }
    }

    /// Locks a username after `max_failures` (at least 1) failures within `window`.
    #[must_use]
    pub fn with_username_limit(mut self, max_failures: u32, window: Duration) -> Self {
        self.username_limit.max_failures = max_failures.max(1);
        self.username_limit.window = window;
        self
    }

    /// Locks a client IP after `max_failures` (at least 1) failures within `window`,
    /// across all usernames.
    #[must_use]
    pub fn with_ip_limit(mut self, max_failures: u32, window: Duration) -> Self {
        self.ip_limit.max_failures = max_failures.max(1);
        self.ip_limit.window = window;
        self
    }

    /// The first lockout lasts `first`; each further failure at the limit doubles it, up
    /// to `max`. For usernames and IPs alike.
    #[must_use]
    pub fn with_lockout(mut self, first: Duration, max: Duration) -> Self {
        self.username_limit = self.username_limit.with_lockout(first, max);
        self.ip_limit = self.ip_limit.with_lockout(first, max);
        self
    }

    /// Counts IPv6 clients per network of this prefix length (default 64, at most 128).
    #[must_use]
    pub fn with_ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// Takes the time from `clock` (a [`ManualClock`] in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The limit on usernames.
    pub fn username_limit(&self) -> &Limit {
        &self.username_limit
    }

    /// The limit on client IPs.
    pub fn ip_limit(&self) -> &Limit {
        &self.ip_limit
    }

    /// Whether an attempt to log in as `username` from `ip` may go ahead. Call it before
    /// verifying the password.
    ///
    /// # Errors
    /// [`ThrottleError::Locked`] when the username or the IP is locked, with the longer
    /// of the two waits; [`ThrottleError::Store`] when the store fails.
    pub async fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), ThrottleError> {
        self.check_subject(&Subject::name(username), ip).await
    }

    /// [`check`](Self::check) for `subject` (a known user's primary key, or a name).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub async fn check_subject(
        &self,
        subject: &Subject,
        ip: Option<IpAddr>,
    ) -> Result<(), ThrottleError> {
        let now = self.clock.now();
        let user = self
            .store
            .attempts(&subject.key(), now, &self.username_limit)
            .await?;
        let mut wait = user.retry_after(now);
        if let Some(ip) = ip {
            let by_ip = self
                .store
                .attempts(&self.ip_key(ip), now, &self.ip_limit)
                .await?;
            wait = wait.max(by_ip.retry_after(now));
        }
        match wait {
            Some(retry_after) => Err(ThrottleError::Locked { retry_after }),
            None => Ok(()),
        }
    }

    /// Counts a failed login as `username` from `ip`, against both. Call it for unknown
    /// usernames too, so that the throttle reveals nothing about which exist.
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn record_failure(
        &self,
        username: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), ThrottleError> {
        self.record_subject_failure(&Subject::name(username), ip)
            .await
    }

    /// [`record_failure`](Self::record_failure) for `subject`.
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn record_subject_failure(
        &self,
        subject: &Subject,
        ip: Option<IpAddr>,
    ) -> Result<(), ThrottleError> {
        let now = self.clock.now();
        self.store
            .record_failure(&subject.key(), now, &self.username_limit)
            .await?;
        if let Some(ip) = ip {
            self.store
                .record_failure(&self.ip_key(ip), now, &self.ip_limit)
                .await?;
        }
        Ok(())
    }

    /// Clears the username's failures, lockout and backoff after a successful login. The
    /// client IP's counter stays: one valid account must not reset an address that is
    /// guessing other users' passwords.
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn record_success(&self, username: &str) -> Result<(), ThrottleError> {
        self.reset_subject(&Subject::name(username)).await
    }

    /// The username's state (for an admin page, or tests).
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn username_attempts(&self, username: &str) -> Result<Attempts, ThrottleError> {
        self.subject_attempts(&Subject::name(username)).await
    }

    /// The state of `subject` (a user's primary key, or a name).
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn subject_attempts(&self, subject: &Subject) -> Result<Attempts, ThrottleError> {
        self.store
            .attempts(&subject.key(), self.clock.now(), &self.username_limit)
            .await
    }

    /// The client IP's state (for an admin page, or tests).
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn ip_attempts(&self, ip: IpAddr) -> Result<Attempts, ThrottleError> {
        self.store
            .attempts(&self.ip_key(ip), self.clock.now(), &self.ip_limit)
            .await
    }

    /// Unlocks a username no user was found for (django-axes' `axes_reset
    /// username=...`); a known user is unlocked with [`reset_subject`](Self::reset_subject)
    /// and [`Subject::User`].
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn reset_username(&self, username: &str) -> Result<(), ThrottleError> {
        self.reset_subject(&Subject::name(username)).await
    }

    /// Unlocks `subject`: forgets its failures, lockout and backoff.
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn reset_subject(&self, subject: &Subject) -> Result<(), ThrottleError> {
        self.store.clear(&subject.key()).await
    }

    /// Unlocks a client IP (or its IPv6 network).
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the store fails.
    pub async fn reset_ip(&self, ip: IpAddr) -> Result<(), ThrottleError> {
        self.store.clear(&self.ip_key(ip)).await
    }

    fn ip_key(&self, ip: IpAddr) -> String {
        match ip.to_canonical() {
            IpAddr::V4(v4) => format!("ip:{v4}"),
            IpAddr::V6(v6) if self.ipv6_prefix >= 128 => format!("ip:{v6}"),
            IpAddr::V6(v6) => {
                let bits = u32::from(self.ipv6_prefix);
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("ip:{network}/{bits}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_keys_are_normalised_hashes() {
        let username_key = |name: &str| Subject::name(name).key();
        let key = username_key("Alice");
        assert_eq!(key, username_key("alice"));
        assert_eq!(key, username_key("ALICE"));
        assert_eq!(key, username_key("ＡＬＩＣＥ"));
        assert_eq!(key, username_key("alice  "));
        assert_ne!(key, username_key("alice2"));
        assert_ne!(key, username_key(" alice"));
        assert_eq!(key.len(), 69);
        assert!(key.starts_with("user:"));
        // A user's key is never a name's.
        assert_ne!(Subject::User("42".into()).key(), username_key("42"));
        assert_ne!(Subject::User("42".into()).key(), username_key("pk\u{0}42"));
        let injection = username_key("x\r\nDEL *\r\n{tag}:*");
        assert!(
            injection[5..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{injection}"
        );
    }

    #[test]
    fn ip_keys_group_ipv6_by_network() {
        let throttle = LoginThrottle::new(MemoryThrottleStore::new());
        let key = |s: &str| throttle.ip_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        let exact = throttle.clone().with_ipv6_prefix(128);
        assert_eq!(
            exact.ip_key("2001:db8::1".parse().unwrap()),
            "ip:2001:db8::1"
        );
        let all = throttle.with_ipv6_prefix(0);
        assert_eq!(all.ip_key("2001:db8::1".parse().unwrap()), "ip:::/0");
    }

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let limit = Limit::new(5, Duration::from_mins(15))
            .with_lockout(Duration::from_mins(1), Duration::from_mins(5));
        let secs: Vec<u64> = (1..=5).map(|n| limit.lockout_for(n).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 300, 300]);
        assert_eq!(limit.lockout_for(u32::MAX).as_secs(), 300);
    }

    #[test]
    fn locked_message_rounds_up_and_names_no_user() {
        let err = ThrottleError::Locked {
            retry_after: Duration::from_millis(59_001),
        };
        assert_eq!(
            err.to_string(),
            "too many failed login attempts; try again in 60 seconds"
        );
    }
}
