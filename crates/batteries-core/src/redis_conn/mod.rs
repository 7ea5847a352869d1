//! The Redis connection every batteries Redis store uses (feature `redis`): a
//! [`RedisConn`], with a short timeout per call and a circuit [`Breaker`], so that a
//! Redis that is down or unreachable costs each request microseconds, not a connection
//! attempt or a timeout.
//!
//! # What a Redis outage costs
//!
//! - Every command gets [`RedisOptions::timeout`] (default
//!   [`DEFAULT_TIMEOUT`](RedisOptions::DEFAULT_TIMEOUT), 500 ms) for everything,
//!   connecting included; then it fails with [`Unavailable::TimedOut`].
//! - After 3 consecutive failures (connection refused or dropped, a timeout, Redis
//!   still loading its data set) the breaker opens: every command fails at once with
//!   [`Unavailable::CircuitOpen`], without touching the network, for 500 ms; then one
//!   command, the probe, may reconnect; while probes fail, the pause doubles up to 5 s
//!   ([`BreakerConfig`]). A probe that succeeds closes the breaker: commands flow again,
//!   without restarting the app.
//! - Errors that Redis itself answers (a script error, a wrong type) are not outages:
//!   they are returned as they are and leave the breaker alone.
//!
//! Each store turns these errors into its own `Store` error: the message says
//! `redis unavailable (circuit open; ...)` or `redis unavailable (no answer within
//! 500 ms)` for the breaker and the timeout, `redis: <error>` otherwise (see
//! [`error_message`]). What the request gets is the store user's choice: the session
//! layer and the JWT refresh endpoint answer `503`, the rate limiter lets the request
//! through or answers `503` (`batteries_middleware::ratelimit::FailureMode`).
//!
//! # Why 500 ms
//!
//! A healthy Redis answers the stores' commands (a `GET`, a `SET`, a short Lua script) in
//! well under a millisecond on a local network, so 500 ms is never reached in normal
//! operation. It is long enough to ride out the pauses a working Redis does make: the
//! `fork` for a background save or an AOF rewrite blocks it for about 10-20 ms per GB of
//! data on physical hosts and more on some virtual machines (Redis' latency guide). And
//! it is short enough that the few requests that meet an outage before the breaker opens,
//! and the probes, come back quickly. Lower it (`with_timeout`) for a Redis on the same
//! host or an app with tight latency budgets; raise it for a large Redis on slow virtual
//! machines.
//!
//! # Sharing one connection
//!
//! Each store's `open(url)` makes its own `RedisConn`. To give all stores one
//! connection, and so one breaker that opens for all of them at once, open one and pass
//! clones to the stores' `new` (`RedisSessionStore::new(redis.clone())`,
//! `RedisThrottleStore::new(redis.clone())`, ...):
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use batteries_core::redis_conn::{RedisConn, RedisOptions};
//!
//! let redis = RedisConn::open_with(
//!     "redis://127.0.0.1:6379/",
//!     RedisOptions::new().with_timeout(Duration::from_millis(250)),
//! )
//! .await?;
//! let for_the_sessions = redis.clone();
//! let for_the_throttle = redis.clone();
//! println!("breaker: {}", redis.breaker().state());
//! # let _ = (for_the_sessions, for_the_throttle); Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, RetryMethod, Value};

mod breaker;

pub use self::breaker::{Breaker, BreakerConfig, BreakerState, Permit, Rejected};

/// A connection to Redis at `url` that reconnects by itself after Redis restarts (the
/// command that hits the broken connection fails; the next ones go through), with
/// 2-second connection and response timeouts and no circuit breaker.
///
/// The stores no longer use it: they use a [`RedisConn`], whose timeout is shorter and
/// whose breaker makes an outage cheap. It stays for code that wants a plain
/// `ConnectionManager`.
///
/// # Errors
/// The URL is invalid or Redis cannot be reached now.
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(2))
        .set_number_of_retries(2)
        .set_max_delay(500);
    ConnectionManager::new_with_config(redis::Client::open(url)?, config).await
}

/// The timeout and breaker of a [`RedisConn`].
///
/// ```
/// use std::time::Duration;
/// use batteries_core::redis_conn::{BreakerConfig, RedisOptions};
///
/// let options = RedisOptions::new()
///     .with_timeout(Duration::from_millis(250))
///     .with_breaker(BreakerConfig::new().with_failure_threshold(5));
/// assert_eq!(options.timeout(), Duration::from_millis(250));
/// assert_eq!(options.breaker().failure_threshold(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct RedisOptions {
    timeout: Option<Duration>,
    breaker: BreakerConfig,
}

impl RedisOptions {
    /// The default time a command may take, connecting included: 500 ms (see the
    /// [module docs](self) for why).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// The defaults: [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT) and
    /// [`BreakerConfig::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives each command `timeout` (at least 1 ms), connecting included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout.max(Duration::from_millis(1)));
        self
    }

    /// Opens and closes the breaker as `config` says.
    pub fn with_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The time a command may take, connecting included.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT)
    }

    /// The breaker's configuration.
    pub fn breaker(&self) -> BreakerConfig {
        self.breaker
    }
}

/// Redis could not be asked: the breaker is open, or no answer came in time. Found in
/// a `RedisError` returned by a [`RedisConn`] with [`Unavailable::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The breaker is open: nothing was sent.
    #[error("redis unavailable (circuit open; next try in {} ms)", .retry_in.as_millis())]
    CircuitOpen {
        /// How long until a probe may go through (zero while one is under way).
        retry_in: Duration,
    },
    /// Connecting and answering took longer than the timeout.
    #[error("redis unavailable (no answer within {} ms)", .timeout.as_millis())]
    TimedOut {
        /// The timeout.
        timeout: Duration,
    },
}

impl Unavailable {
    /// The `Unavailable` inside `error`, if a [`RedisConn`] made it.
    pub fn find(error: &RedisError) -> Option<&Unavailable> {
        let io = std::error::Error::source(error)?.downcast_ref::<io::Error>()?;
        io.get_ref()?.downcast_ref::<Unavailable>()
    }
}

impl From<Unavailable> for RedisError {
    fn from(unavailable: Unavailable) -> Self {
        let kind = match unavailable {
            Unavailable::CircuitOpen { .. } => io::ErrorKind::NotConnected,
            Unavailable::TimedOut { .. } => io::ErrorKind::TimedOut,
        };
        RedisError::from(io::Error::new(kind, unavailable))
    }
}

impl From<Rejected> for Unavailable {
    fn from(rejected: Rejected) -> Self {
        Unavailable::CircuitOpen {
            retry_in: rejected.retry_in,
        }
    }
}

/// What a store says about a Redis error: the [`Unavailable`] message
/// (`redis unavailable (circuit open; next try in 300 ms)`) when there is one, else
/// `redis: <the error>`. Neither carries a URL or a password.
pub fn error_message(error: &RedisError) -> String {
    match Unavailable::find(error) {
        Some(unavailable) => unavailable.to_string(),
        None => format!("redis: {error}"),
    }
}

/// Whether `error` says Redis is unreachable or not serving (as opposed to an answer
/// Redis gave, such as a script error): what the breaker counts.
fn is_outage(error: &RedisError) -> bool {
    error.is_io_error()
        || matches!(
            error.retry_method(),
            RetryMethod::Reconnect
                | RetryMethod::ReconnectFromInitialConnections
                | RetryMethod::WaitAndRetry
        )
}

/// A multiplexed connection to Redis with a timeout per command and a circuit
/// [`Breaker`]; what every batteries Redis store talks through (see the
/// [module docs](self)).
///
/// It connects on first use and again after the connection breaks, one caller at a
/// time, and only while the breaker lets calls through: a Redis that is down costs one
/// connection attempt per cool-down, not one per request. Clones share the connection
/// and the breaker. It implements `redis::aio::ConnectionLike`, so `redis` commands and
/// scripts run on it as on any connection.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> redis::RedisResult<()> {
/// use batteries_core::redis_conn::{BreakerState, RedisConn};
///
/// let mut conn = RedisConn::open("redis://127.0.0.1:6379/").await?;
/// let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
/// assert_eq!(pong, "PONG");
/// assert_eq!(conn.breaker().state(), BreakerState::Closed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisConn {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    timeout: Duration,
    breaker: Breaker,
    /// The live connection and its generation, if any.
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// Held while connecting, so that one caller connects and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
    connects: AtomicU64,
    generation: AtomicU64,
}

impl fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConn")
            .field("addr", &self.inner.breaker.name())
            .field("timeout", &self.inner.timeout)
            .field("breaker", &self.inner.breaker)
            .finish_non_exhaustive()
    }
}

impl RedisConn {
    /// Connects to Redis at `url` (`redis://127.0.0.1:6379/`) with the default
    /// [`RedisOptions`].
    ///
    /// # Errors
    /// The URL is invalid, or Redis cannot be reached within the timeout.
    pub async fn open(url: &str) -> RedisResult<Self> {
        Self::open_with(url, RedisOptions::new()).await
    }

    /// Connects to Redis at `url` with `options`.
    ///
    /// # Errors
    /// The URL is invalid, or Redis cannot be reached within the timeout.
    pub async fn open_with(url: &str, options: RedisOptions) -> RedisResult<Self> {
        let conn = Self::lazy(url, options)?;
        let timeout = conn.inner.timeout;
        match tokio::time::timeout(timeout, conn.connection()).await {
            Ok(Ok(_)) => Ok(conn),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(Unavailable::TimedOut { timeout }.into()),
        }
    }

    /// A connection to Redis at `url` that connects on its first command, so that an
    /// app can start while Redis is down.
    ///
    /// # Errors
    /// The URL is invalid.
    pub fn lazy(url: &str, options: RedisOptions) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        // The address only: the URL may carry a password.
        let name = format!("redis {}", client.get_connection_info().addr);
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                timeout: options.timeout(),
                breaker: Breaker::new(name, options.breaker()),
                current: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                connects: AtomicU64::new(0),
                generation: AtomicU64::new(0),
            }),
        })
    }

    /// The breaker: its [`state`](Breaker::state) and counters, for health checks and
    /// metrics.
    pub fn breaker(&self) -> &Breaker {
        &self.inner.breaker
    }

    /// The time each command may take, connecting included.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// How many times it has tried to connect (successfully or not) since it was made:
    /// with Redis down, this grows by one per cool-down, not per command.
    pub fn connect_attempts(&self) -> u64 {
        self.inner.connects.load(Ordering::Relaxed)
    }

    fn live(&self) -> Option<(u64, MultiplexedConnection)> {
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The live connection, or a new one.
    async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(live) = self.live() {
            return Ok(live);
        }
        let _connecting = self.inner.connecting.lock().await;
        if let Some(live) = self.live() {
            return Ok(live);
        }
        self.inner.connects.fetch_add(1, Ordering::Relaxed);
        // No timeouts of redis' own: the caller's timeout covers connecting and
        // answering, and a connection abandoned by it is simply dropped.
        let config = redis::AsyncConnectionConfig::new();
        let conn = self
            .inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((generation, conn.clone()));
        Ok((generation, conn))
    }

    /// Drops connection `generation` if it is still the live one: the next command
    /// connects again.
    fn forget(&self, generation: u64) {
        let mut current = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(g, _)| *g == generation) {
            *current = None;
        }
    }

    /// Runs `send` on the connection, through the breaker and within the timeout.
    async fn run<T, F, Fut>(&self, send: F) -> RedisResult<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let permit = self
            .inner
            .breaker
            .try_call()
            .map_err(|rejected| RedisError::from(Unavailable::from(rejected)))?;
        let timeout = self.inner.timeout;
        let mut used = None;
        let result = tokio::time::timeout(timeout, async {
            let (generation, conn) = self.connection().await?;
            used = Some(generation);
            send(conn).await
        })
        .await;
        match result {
            Ok(Ok(value)) => {
                permit.success();
                Ok(value)
            }
            Ok(Err(error)) => {
                if is_outage(&error) {
                    if let Some(generation) = used {
                        self.forget(generation);
                    }
                    permit.failure();
                } else {
                    permit.success();
                }
                Err(error)
            }
            Err(_elapsed) => {
                // A connection that does not answer in time is not trusted again.
                if let Some(generation) = used {
                    self.forget(generation);
                }
                permit.failure();
                Err(Unavailable::TimedOut { timeout }.into())
            }
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            self.run(|mut conn| async move { conn.send_packed_command(cmd).await })
                .await
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.run(|mut conn| async move { conn.send_packed_commands(cmd, offset, count).await })
                .await
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.client.get_connection_info().redis.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_errors_survive_the_trip_through_a_redis_error() {
        let error = RedisError::from(Unavailable::CircuitOpen {
            retry_in: Duration::from_millis(300),
        });
        assert_eq!(
            Unavailable::find(&error),
            Some(&Unavailable::CircuitOpen {
                retry_in: Duration::from_millis(300)
            })
        );
        assert_eq!(
            error_message(&error),
            "redis unavailable (circuit open; next try in 300 ms)"
        );
        let timeout = RedisError::from(Unavailable::TimedOut {
            timeout: Duration::from_millis(500),
        });
        assert!(timeout.is_timeout());
        assert_eq!(
            error_message(&timeout),
            "redis unavailable (no answer within 500 ms)"
        );
        let other = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(Unavailable::find(&other), None);
        assert!(error_message(&other).starts_with("redis: "));
    }

    #[test]
    fn outages_are_told_from_answers() {
        assert!(is_outage(&RedisError::from(io::Error::from(
            io::ErrorKind::ConnectionRefused
        ))));
        assert!(is_outage(&RedisError::from((
            redis::ErrorKind::BusyLoadingError,
            "loading"
        ))));
        assert!(!is_outage(&RedisError::from((
            redis::ErrorKind::ResponseError,
            "script error"
        ))));
        assert!(!is_outage(&RedisError::from((
            redis::ErrorKind::NoScriptError,
            "NOSCRIPT"
        ))));
    }

    #[test]
    fn the_breaker_is_named_by_address_without_the_password() {
        let conn = RedisConn::lazy("redis://:hunter2@127.0.0.1:6390/", RedisOptions::new())
            .expect("a valid url");
        assert_eq!(conn.breaker().name(), "redis 127.0.0.1:6390");
        assert!(!format!("{conn:?}").contains("hunter2"));
        assert_eq!(conn.timeout(), RedisOptions::DEFAULT_TIMEOUT);
    }

    /// A loopback port nothing listens on: connecting is refused at once.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    // Real time, not a paused clock: a paused clock would jump over the connect timeout
    // while the refused connect is still in flight.
    #[tokio::test]
    async fn a_dead_redis_costs_one_connect_per_cool_down() {
        let cool_down = Duration::from_secs(1);
        let mut conn = RedisConn::lazy(
            &format!("redis://127.0.0.1:{}/", closed_port()),
            RedisOptions::new().with_breaker(
                BreakerConfig::new()
                    .with_failure_threshold(2)
                    .with_cool_down(cool_down, cool_down * 4),
            ),
        )
        .expect("a valid url");
        let ping = || redis::cmd("PING");
        for _ in 0..2 {
            let error = ping()
                .query_async::<String>(&mut conn)
                .await
                .expect_err("down");
            assert_eq!(Unavailable::find(&error), None, "a real error: {error}");
        }
        assert_eq!(conn.breaker().state(), BreakerState::Open);
        assert_eq!(conn.connect_attempts(), 2);
        for _ in 0..1000 {
            let error = ping()
                .query_async::<String>(&mut conn)
                .await
                .expect_err("open");
            assert!(matches!(
                Unavailable::find(&error),
                Some(Unavailable::CircuitOpen { .. })
            ));
        }
        assert_eq!(conn.connect_attempts(), 2, "no connect while open");
        assert_eq!(conn.breaker().rejected(), 1000);
        tokio::time::sleep(cool_down).await;
        assert!(ping().query_async::<String>(&mut conn).await.is_err());
        assert_eq!(conn.connect_attempts(), 3, "one probe");
        assert_eq!(conn.breaker().state(), BreakerState::Open);
    }
}
