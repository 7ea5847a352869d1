//! Rate limiting: a token bucket per client IP or per user, and `429 Too Many
//! Requests` once it is empty.
//!
//! Each key (a client IP, a user) has a bucket of [`Bucket::capacity`] tokens, the
//! burst it may send at once; a request takes a token, and tokens come back at
//! [`Bucket::refill_per_second`] up to the capacity. A request that finds the bucket
//! empty is refused with `429 Too Many Requests`, a `Retry-After` header (whole seconds,
//! rounded up: when the next token is back) and a small JSON body,
//! `{"error":"rate limited","retry_after":N}`. Allowed responses carry
//! `RateLimit-Limit` and `RateLimit-Remaining` unless
//! [`without_rate_limit_headers`](RateLimitLayer::without_rate_limit_headers) says not to.
//!
//! [`RateLimiter`] keeps the buckets in a [`RateLimitStore`]:
//!
//! | store | for |
//! | --- | --- |
//! | [`MemoryRateLimitStore`] | tests and a single process |
//! | `RedisRateLimitStore` (feature `redis`) | many app instances sharing Redis |
//!
//! Every store refills and takes atomically, so app instances sharing Redis never let
//! more requests through than the bucket holds.
//!
//! # Keys
//!
//! [`RateLimitLayer`] asks a key function, `Fn(&http::request::Parts) -> Option<String>`,
//! whose bucket a request takes from; `None` lets the request through unlimited.
//!
//! - [`ClientIp`] (the default) keys by the address of the connection, which hyper and
//!   axum's `serve` put in the request's extensions as a [`std::net::SocketAddr`]
//!   (axum's `ConnectInfo` needs [`ClientIp::with_peer`]). `X-Forwarded-For` is read
//!   only when the connection comes from a proxy you trust
//!   ([`ClientIp::with_trusted_proxy`]): anyone can send the header, and a client that
//!   could name its own address would get a fresh bucket with each request. IPv6
//!   clients are keyed per /64 network by default, since a client usually holds a whole
//!   /64.
//! - [`per_user`] keys by a user from the request's extensions (the authentication
//!   layer's current user), and [`per_user_or_client_ip`] falls back to the client IP for
//!   anonymous requests.
//!
//! # Failures
//!
//! When the store fails (Redis is down), the limiter logs it with `tracing` and, by
//! default, lets the request through ([`FailureMode::Open`]): a rate limiter should not
//! take the site down with it. [`FailureMode::Closed`] refuses the request with
//! `503 Service Unavailable`, `Retry-After` and a plain-text body instead
//! ([`service_unavailable`]): the client did nothing wrong, so it is not a `429`.
//! Neither sends the store's error to the client.
//!
//! Either way the answer is quick: `RedisRateLimitStore` talks through a
//! `batteries_core::redis_conn::RedisConn`, which gives each command 500 ms and then
//! opens a circuit breaker, so that while Redis is down the store fails in microseconds
//! instead of waiting for a connection per request.
//!
//! Open is the default because the limiter guards capacity, not identity: failing
//! closed would turn any Redis outage, or an attacker who can overload Redis, into an
//! outage of every limited route. Password guessing is what must never be let through
//! unchecked, and login throttling (`batteries_auth::throttle`) fails closed by itself.
//! Django's django-ratelimit makes the other choice (`RATELIMIT_FAIL_OPEN` defaults to
//! `False`): choose [`FailureMode::Closed`] for a route whose abuse costs more than its
//! downtime (sending e-mail or SMS, say).
//!
//! # Without tower
//!
//! The decision does not depend on tower: [`RateLimiter::check`] takes a key and returns
//! a [`Decision`]; [`Decision::write_headers`] and [`too_many_requests`] turn it into
//! HTTP, and [`ClientIp::client_ip_from`] finds the client's address from plain values.
//! The actix-web adapter calls those.
//!
//! # Example
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Duration;
//!
//! use http::{Request, Response, StatusCode};
//! use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
//! use batteries_middleware::ratelimit::{
//!     Bucket, ManualClock, MemoryRateLimitStore, RateLimitLayer, RateLimiter,
//! };
//!
//! async fn handle(_: Request<String>) -> Result<Response<String>, BoxError> {
//!     Ok(Response::new("hello".to_owned()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let clock = ManualClock::default();
//! // A burst of 2, then one request every 10 seconds.
//! let limiter = RateLimiter::new(MemoryRateLimitStore::new(), Bucket::new(2, 0.1))
//!     .with_clock(clock.clone());
//! let mut service = ServiceBuilder::new()
//!     .layer(RateLimitLayer::new(limiter))
//!     .service_fn(handle);
//!
//! let request = || {
//!     let mut request = Request::new(String::new());
//!     let peer: SocketAddr = "203.0.113.7:50000".parse().unwrap();
//!     request.extensions_mut().insert(peer);
//!     request
//! };
//! for remaining in ["1", "0"] {
//!     let response = service.ready().await?.call(request()).await?;
//!     assert_eq!(response.status(), StatusCode::OK);
//!     assert_eq!(response.headers()["ratelimit-remaining"], remaining);
//! }
//! let response = service.ready().await?.call(request()).await?;
//! assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(response.headers()["retry-after"], "10");
//! assert_eq!(response.body(), r#"{"error":"rate limited","retry_after":10}"#);
//!
//! clock.advance(Duration::from_secs(10));
//! let response = service.ready().await?.call(request()).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use sha2::{Digest, Sha256};

mod future;
mod key;
mod layer;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod service;

pub use self::future::ResponseFuture;
pub use self::key::{ClientIp, InvalidProxy, per_user, per_user_or_client_ip};
pub use self::layer::RateLimitLayer;
pub use self::memory::MemoryRateLimitStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisRateLimitStore;
pub use self::service::RateLimit;
/// The clocks of login throttling serve here too: [`ManualClock`] in tests.
pub use batteries_core::{Clock, ManualClock, SystemClock};

/// `RateLimit-Limit`: the bucket's capacity.
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: the tokens left after this request.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");

/// The largest capacity a [`Bucket`] takes.
pub const MAX_CAPACITY: u32 = 100_000;
/// The longest a [`Bucket`] takes to refill one token: a year.
pub const MAX_REFILL_INTERVAL: Duration = Duration::from_hours(365 * 24);

/// A key longer than this reaches the store as a hash of itself.
const MAX_KEY_LEN: usize = 128;

/// The rate limiter's store failed: it could not be reached, or it answered something
/// unexpected. The message names no key and no request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The store could not be reached or refused the update.
    #[error("rate limit store error: {0}")]
    Store(String),
}

/// The size and refill rate of every key's token bucket.
///
/// Time is counted in whole milliseconds: a token comes back every
/// [`refill_interval`](Self::refill_interval), at least 1 ms and at most
/// [`MAX_REFILL_INTERVAL`]; the capacity is between 1 and [`MAX_CAPACITY`].
///
/// ```
/// use std::time::Duration;
/// use batteries_middleware::ratelimit::Bucket;
///
/// let bucket = Bucket::new(10, 0.5);
/// assert_eq!(bucket.capacity(), 10);
/// assert_eq!(bucket.refill_interval(), Duration::from_secs(2));
/// assert_eq!(Bucket::per_interval(60, Duration::from_secs(1)), Bucket::new(60, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket {
    capacity: u32,
    interval_ms: u64,
}

impl Bucket {
    /// A bucket holding `capacity` tokens (the burst), refilled with
    /// `refill_per_second` tokens each second (`0.1` is one every 10 seconds). Values out
    /// of range are clamped; a rate that is zero, negative or NaN refills as slowly as a
    /// bucket can.
    #[must_use]
    pub fn new(capacity: u32, refill_per_second: f64) -> Self {
        let max = MAX_REFILL_INTERVAL.as_millis() as f64;
        let interval_ms = if refill_per_second > 0.0 {
            (1000.0 / refill_per_second).round().clamp(1.0, max) as u64
        } else {
            max as u64
        };
        Self {
            capacity: capacity.clamp(1, MAX_CAPACITY),
            interval_ms,
        }
    }

    /// A bucket holding `capacity` tokens, refilled with one token every `every`
    /// (`Bucket::per_interval(5, Duration::from_secs(12))`: a burst of 5, then 5 a
    /// minute).
    #[must_use]
    pub fn per_interval(capacity: u32, every: Duration) -> Self {
        let ms = every.as_millis().clamp(1, MAX_REFILL_INTERVAL.as_millis());
        Self {
            capacity: capacity.clamp(1, MAX_CAPACITY),
            interval_ms: ms as u64,
        }
    }

    /// How many tokens a full bucket holds: the burst a key may send at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// How long one token takes to come back.
    pub fn refill_interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// How many tokens come back each second.
    pub fn refill_per_second(&self) -> f64 {
        1000.0 / self.interval_ms as f64
    }

    /// [`refill_interval`](Self::refill_interval) in milliseconds, as the stores count.
    pub fn refill_interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// Takes a token from the bucket of a key whose state is `tat` (as stores keep it;
    /// `None` for a key never seen or forgotten) at `now` (milliseconds since the Unix
    /// epoch). Returns the decision and, when a token was taken, the key's new state.
    ///
    /// The state is the "theoretical arrival time" of the generic cell rate algorithm:
    /// the instant, in milliseconds, at which the key's bucket is full again. A key
    /// whose state is at or before `now` has a full bucket, so a store may forget it;
    /// every store keeps the new state for `new_state - now` milliseconds at most. The
    /// bucket then holds `(now - (state - capacity * interval)) / interval` tokens.
    /// [`MemoryRateLimitStore`] runs this function; the Redis store runs the same
    /// arithmetic in Lua.
    ///
    /// ```
    /// use std::time::Duration;
    /// use batteries_middleware::ratelimit::{Bucket, Decision};
    ///
    /// let bucket = Bucket::new(2, 1.0);
    /// let (first, state) = bucket.take(None, 0);
    /// assert_eq!(first, Decision::Allowed { limit: 2, remaining: 1 });
    /// let (second, state) = bucket.take(state, 0);
    /// assert_eq!(second, Decision::Allowed { limit: 2, remaining: 0 });
    /// let (third, unchanged) = bucket.take(state, 400);
    /// assert_eq!(third, Decision::Denied { limit: 2, retry_after: Duration::from_millis(600) });
    /// assert_eq!(unchanged, None);
    /// assert_eq!(state, Some(2000), "full again two seconds after the burst");
    /// ```
    pub fn take(&self, tat: Option<i64>, now: i64) -> (Decision, Option<i64>) {
        let interval = self.interval_ms as i64;
        let burst = i64::from(self.capacity).saturating_mul(interval);
        let tat = tat.map_or(now, |tat| tat.max(now));
        let new_tat = tat.saturating_add(interval);
        let allow_at = new_tat.saturating_sub(burst);
        if now < allow_at {
            let wait = u64::try_from(allow_at - now).unwrap_or(u64::MAX);
            return (
                Decision::Denied {
                    limit: self.capacity,
                    retry_after: Duration::from_millis(wait),
                },
                None,
            );
        }
        let remaining = (now - allow_at) / interval;
        (
            Decision::Allowed {
                limit: self.capacity,
                remaining: u32::try_from(remaining).unwrap_or(0),
            },
            Some(new_tat),
        )
    }
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A token was taken.
    Allowed {
        /// The bucket's capacity.
        limit: u32,
        /// Tokens left after this one.
        remaining: u32,
    },
    /// The bucket is empty: refuse the request.
    Denied {
        /// The bucket's capacity.
        limit: u32,
        /// When the next token is back.
        retry_after: Duration,
    },
}

impl Decision {
    /// Whether the request may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// The bucket's capacity.
    pub fn limit(&self) -> u32 {
        match *self {
            Decision::Allowed { limit, .. } | Decision::Denied { limit, .. } => limit,
        }
    }

    /// Tokens left (0 when denied).
    pub fn remaining(&self) -> u32 {
        match *self {
            Decision::Allowed { remaining, .. } => remaining,
            Decision::Denied { .. } => 0,
        }
    }

    /// How long to wait, when denied.
    pub fn retry_after(&self) -> Option<Duration> {
        match *self {
            Decision::Allowed { .. } => None,
            Decision::Denied { retry_after, .. } => Some(retry_after),
        }
    }

    /// The `Retry-After` value, when denied: whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after().map(retry_after_secs)
    }

    /// Adds `RateLimit-Limit` and `RateLimit-Remaining` to `headers`, unless they are
    /// there already (set by the handler or by a more specific limiter inside this one).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            (RATELIMIT_LIMIT, self.limit()),
            (RATELIMIT_REMAINING, self.remaining()),
        ] {
            if let http::header::Entry::Vacant(entry) = headers.entry(name) {
                entry.insert(HeaderValue::from(value));
            }
        }
    }
}

/// Whole seconds, rounded up, at least 1: what `Retry-After` says for a wait.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The response to a refused request: `429 Too Many Requests`, `Retry-After` in whole
/// seconds (rounded up), and the JSON body `{"error":"rate limited","retry_after":N}`.
///
/// Any body type that converts from a `String` does (`String`, `axum::body::Body`,
/// `http_body_util::Full<Bytes>`).
///
/// ```
/// use std::time::Duration;
/// use batteries_middleware::ratelimit::too_many_requests;
///
/// let response = too_many_requests::<String>(Duration::from_millis(1500));
/// assert_eq!(response.status(), 429);
/// assert_eq!(response.headers()["retry-after"], "2");
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.body(), r#"{"error":"rate limited","retry_after":2}"#);
/// ```
pub fn too_many_requests<B: From<String>>(retry_after: Duration) -> Response<B> {
    let secs = retry_after_secs(retry_after);
    let body = serde_json::json!({ "error": "rate limited", "retry_after": secs }).to_string();
    let mut response = Response::new(B::from(body));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Where a [`RateLimiter`] keeps its buckets. [`take`](Self::take) is atomic for its
/// key, across every process sharing the store.
///
/// `now` comes from the limiter's [`Clock`], so a store never reads the time itself.
/// [`Bucket::take`] is the arithmetic; a store keeps its state per key.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Refills `key`'s bucket for the time since its last take, then takes a token if
    /// there is one. A refused request leaves the bucket as it was.
    ///
    /// # Errors
    /// [`RateLimitError::Store`] when the store cannot be reached or answers
    /// something unexpected.
    async fn take(
        &self,
        key: &str,
        bucket: Bucket,
        now: DateTime<Utc>,
    ) -> Result<Decision, RateLimitError>;
}

#[async_trait]
impl<T: RateLimitStore + ?Sized> RateLimitStore for Arc<T> {
    async fn take(
        &self,
        key: &str,
        bucket: Bucket,
        now: DateTime<Utc>,
    ) -> Result<Decision, RateLimitError> {
        (**self).take(key, bucket, now).await
    }
}

/// What a [`RateLimiter`] does when its store fails (see the [module docs](self#failures)
/// for why `Open` is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// Let the request through, without rate-limit headers (the default): an outage of
    /// the store does not become an outage of the site.
    #[default]
    Open,
    /// Refuse the request with [`service_unavailable`]: `503`, `Retry-After`
    /// ([`UNAVAILABLE_RETRY_AFTER`]) and a plain-text body.
    Closed,
}

/// What a [`RateLimiter`] makes of a request: the store's decision, or, when the store
/// failed, what the [`FailureMode`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The store decided: go ahead (with rate-limit headers), or `429`.
    Decided(Decision),
    /// The store failed and the limiter fails open: go ahead, without rate-limit
    /// headers.
    Unchecked,
    /// The store failed and the limiter fails closed: answer [`service_unavailable`].
    Unavailable {
        /// What `Retry-After` says.
        retry_after: Duration,
    },
}

/// The `Retry-After` of a limiter failing closed: the same 5 seconds as every other
/// layer's `503` ([`crate::UNAVAILABLE_RETRY_AFTER_SECS`]), also the longest pause of a
/// `RedisConn`'s circuit breaker by default, so a client retrying then finds Redis
/// probed again.
pub const UNAVAILABLE_RETRY_AFTER: Duration =
    Duration::from_secs(crate::UNAVAILABLE_RETRY_AFTER_SECS);

/// The response of a limiter failing closed while its store is down: `503 Service
/// Unavailable`, `Retry-After` in whole seconds (rounded up, at least 1) and a
/// plain-text body that names nothing internal.
///
/// ```
/// use std::time::Duration;
/// use batteries_middleware::ratelimit::service_unavailable;
///
/// let response = service_unavailable::<String>(Duration::from_secs(5));
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "5");
/// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
/// assert_eq!(response.body(), "Service temporarily unavailable; please try again later.");
/// ```
pub fn service_unavailable<B: From<String>>(retry_after: Duration) -> Response<B> {
    let mut response = Response::new(B::from(
        "Service temporarily unavailable; please try again later.".to_owned(),
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        RETRY_AFTER,
        HeaderValue::from(retry_after_secs(retry_after)),
    );
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Token buckets in a [`RateLimitStore`]; see the [module docs](self).
///
/// Cheap to clone; clones share the store and the clock.
#[derive(Clone)]
pub struct RateLimiter {
    store: Arc<dyn RateLimitStore>,
    clock: Arc<dyn Clock>,
    bucket: Bucket,
    scope: Arc<str>,
    failure_mode: FailureMode,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("bucket", &self.bucket)
            .field("scope", &self.scope)
            .field("failure_mode", &self.failure_mode)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter giving each key a `bucket` in `store`, in the scope `default`, on the
    /// system clock, failing open.
    #[must_use]
    pub fn new(store: impl RateLimitStore + 'static, bucket: Bucket) -> Self {
        Self {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            bucket,
            scope: Arc::from("default"),
            failure_mode: FailureMode::Open,
        }
    }

    /// Takes the time from `clock` (a [`ManualClock`] in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Names the buckets' scope, which prefixes every key in the store. Give each
    /// limiter sharing a store its own scope (`login`, `api`): two limiters with
    /// different buckets in one scope would take from each other's buckets.
    #[must_use]
    pub fn with_scope(mut self, scope: impl AsRef<str>) -> Self {
        self.scope = Arc::from(scope.as_ref());
        self
    }

    /// What to do when the store fails (default [`FailureMode::Open`]).
    #[must_use]
    pub fn with_failure_mode(mut self, mode: FailureMode) -> Self {
        self.failure_mode = mode;
        self
    }

    /// The bucket each key gets.
    pub fn bucket(&self) -> Bucket {
        self.bucket
    }

    /// The scope prefixing every key.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// What the limiter does when its store fails.
    pub fn failure_mode(&self) -> FailureMode {
        self.failure_mode
    }

    /// Takes a token from `key`'s bucket, if it has one.
    ///
    /// # Errors
    /// [`RateLimitError::Store`] when the store fails; [`decide`](Self::decide) applies
    /// the [`FailureMode`] instead.
    pub async fn check(&self, key: &str) -> Result<Decision, RateLimitError> {
        self.store
            .take(&self.store_key(key), self.bucket, self.clock.now())
            .await
    }

    /// [`check`](Self::check), with a store failure logged (`tracing`, level `warn`)
    /// and settled by the [`FailureMode`]: [`Verdict::Unchecked`] when failing open (let
    /// the request through, with no rate-limit headers), [`Verdict::Unavailable`] when
    /// failing closed.
    pub async fn decide(&self, key: &str) -> Verdict {
        match self.check(key).await {
            Ok(decision) => Verdict::Decided(decision),
            Err(error) => match self.failure_mode {
                FailureMode::Open => {
                    tracing::warn!(scope = %self.scope, %error, "rate limit store failed; letting the request through");
                    Verdict::Unchecked
                }
                FailureMode::Closed => {
                    tracing::warn!(scope = %self.scope, %error, "rate limit store failed; refusing the request");
                    Verdict::Unavailable {
                        retry_after: UNAVAILABLE_RETRY_AFTER,
                    }
                }
            },
        }
    }

    /// `<scope>:<key>`, or `<scope>:#<sha-256 hex of key>` for a key longer than 128
    /// bytes, so that no key function can fill the store with long keys.
    fn store_key(&self, key: &str) -> String {
        use fmt::Write as _;
        if key.len() <= MAX_KEY_LEN {
            return format!("{}:{key}", self.scope);
        }
        let mut out = format!("{}:#", self.scope);
        for byte in Sha256::digest(key.as_bytes()) {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_its_burst_then_refills_one_token_per_interval() {
        let bucket = Bucket::new(3, 2.0); // a token every 500 ms
        let mut state = None;
        for remaining in [2, 1, 0] {
            let (decision, next) = bucket.take(state, 1_000);
            assert_eq!(
                decision,
                Decision::Allowed {
                    limit: 3,
                    remaining
                }
            );
            state = next;
        }
        assert_eq!(state, Some(2_500));
        let (denied, next) = bucket.take(state, 1_100);
        assert_eq!(denied.retry_after(), Some(Duration::from_millis(400)));
        assert_eq!(next, None);
        let (allowed, next) = bucket.take(state, 1_500);
        assert_eq!(
            allowed,
            Decision::Allowed {
                limit: 3,
                remaining: 0
            }
        );
        // Long quiet: the bucket is full again, not over full.
        let (allowed, _) = bucket.take(next, 1_000_000);
        assert_eq!(allowed.remaining(), 2);
    }

    #[test]
    fn a_state_from_a_clock_behind_does_not_refill() {
        let bucket = Bucket::new(1, 1.0);
        let (_, state) = bucket.take(None, 10_000);
        // Another instance whose clock is 300 ms behind sees the bucket still empty.
        let (denied, _) = bucket.take(state, 9_700);
        assert_eq!(denied.retry_after(), Some(Duration::from_millis(1_300)));
    }

    #[test]
    fn buckets_are_clamped_to_what_the_stores_can_count() {
        assert_eq!(Bucket::new(0, 1.0).capacity(), 1);
        assert_eq!(Bucket::new(u32::MAX, 1.0).capacity(), MAX_CAPACITY);
        assert_eq!(Bucket::new(1, 1e9).refill_interval_ms(), 1);
        for rate in [0.0, -1.0, f64::NAN, 1e-12] {
            assert_eq!(Bucket::new(1, rate).refill_interval(), MAX_REFILL_INTERVAL);
        }
        assert_eq!(
            Bucket::per_interval(1, Duration::ZERO).refill_interval_ms(),
            1
        );
        // The largest bucket still counts exactly in a double (Redis' Lua numbers).
        let big = Bucket::new(u32::MAX, 0.0);
        let now = 4_102_444_800_000_i64; // 2100-01-01
        let product = i64::from(big.capacity()) * big.refill_interval_ms() as i64;
        assert!(now + 2 * product < 1 << 53);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let denied = |ms| Decision::Denied {
            limit: 1,
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(denied(1).retry_after_secs(), Some(1));
        assert_eq!(denied(1_000).retry_after_secs(), Some(1));
        assert_eq!(denied(1_001).retry_after_secs(), Some(2));
        assert_eq!(denied(59_999).retry_after_secs(), Some(60));
        assert_eq!(
            Decision::Allowed {
                limit: 1,
                remaining: 0
            }
            .retry_after_secs(),
            None
        );
    }

    #[test]
    fn long_keys_reach_the_store_hashed() {
        let limiter =
            RateLimiter::new(MemoryRateLimitStore::new(), Bucket::new(1, 1.0)).with_scope("api");
        assert_eq!(limiter.store_key("ip:203.0.113.7"), "api:ip:203.0.113.7");
        let long = "x".repeat(10_000);
        let key = limiter.store_key(&long);
        assert_eq!(key.len(), "api:#".len() + 64);
        assert_ne!(key, limiter.store_key(&"x".repeat(10_001)));
    }

    struct Broken;

    #[async_trait]
    impl RateLimitStore for Broken {
        async fn take(
            &self,
            _: &str,
            _: Bucket,
            _: DateTime<Utc>,
        ) -> Result<Decision, RateLimitError> {
            Err(RateLimitError::Store(
                "redis: connection refused".to_owned(),
            ))
        }
    }

    #[tokio::test]
    async fn a_store_failure_fails_open_by_default_or_closed_when_asked() {
        let limiter = RateLimiter::new(Broken, Bucket::per_interval(5, Duration::from_secs(3)));
        assert!(limiter.check("k").await.is_err());
        assert_eq!(limiter.decide("k").await, Verdict::Unchecked);
        let closed = limiter.with_failure_mode(FailureMode::Closed);
        assert_eq!(
            closed.decide("k").await,
            Verdict::Unavailable {
                retry_after: UNAVAILABLE_RETRY_AFTER
            }
        );
    }
}
