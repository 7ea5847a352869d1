//! [`Breaker`]: a circuit breaker, so that a dead dependency costs microseconds per call
//! instead of a connection attempt or a timeout per call.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// When a [`Breaker`] opens and how long it stays open.
///
/// - [`failure_threshold`](Self::failure_threshold) consecutive failures open it
///   (default 3: one dropped connection during a Redis restart does not, a Redis that
///   is down does within three calls);
/// - it then refuses every call for the cool-down (default 500 ms), after which one
///   call, the probe, goes through; each failed probe doubles the cool-down, up to
///   [`max_cool_down`](Self::max_cool_down) (default 5 s), so a long outage costs one
///   probe every 5 seconds and a recovered Redis is used again within 5 seconds.
///
/// ```
/// use std::time::Duration;
/// use batteries_core::redis_conn::BreakerConfig;
///
/// let config = BreakerConfig::new()
///     .with_failure_threshold(1)
///     .with_cool_down(Duration::from_millis(200), Duration::from_secs(2));
/// assert_eq!(config.failure_threshold(), 1);
/// assert_eq!(config.cool_down(), Duration::from_millis(200));
/// assert_eq!(config.max_cool_down(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct BreakerConfig {
    failure_threshold: u32,
    cool_down: Duration,
    max_cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: Self::DEFAULT_FAILURE_THRESHOLD,
            cool_down: Self::DEFAULT_COOL_DOWN,
            max_cool_down: Self::DEFAULT_MAX_COOL_DOWN,
        }
    }
}

impl BreakerConfig {
    /// Consecutive failures that open the breaker by default.
    pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
    /// The first cool-down after the breaker opens, by default.
    pub const DEFAULT_COOL_DOWN: Duration = Duration::from_millis(500);
    /// The longest cool-down, by default.
    pub const DEFAULT_MAX_COOL_DOWN: Duration = Duration::from_secs(5);

    /// The defaults: open after 3 consecutive failures, cool down for 500 ms, doubling
    /// up to 5 s while probes fail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the breaker after `failures` consecutive failures (at least 1).
    pub fn with_failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures.max(1);
        self
    }

    /// Cools down for `first` after opening, doubling with each failed probe up to
    /// `max`. `first` is at least 1 ms and `max` at least `first`.
    pub fn with_cool_down(mut self, first: Duration, max: Duration) -> Self {
        self.cool_down = first.max(Duration::from_millis(1));
        self.max_cool_down = max.max(self.cool_down);
        self
    }

    /// Consecutive failures that open the breaker.
    pub fn failure_threshold(&self) -> u32 {
        self.failure_threshold
    }

    /// The first cool-down after the breaker opens.
    pub fn cool_down(&self) -> Duration {
        self.cool_down
    }

    /// The longest cool-down.
    pub fn max_cool_down(&self) -> Duration {
        self.max_cool_down
    }
}

/// Where a [`Breaker`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through; consecutive failures are counted.
    Closed,
    /// Calls are refused at once until the cool-down is over.
    Open,
    /// The cool-down is over and one call, the probe, is under way; the others are
    /// refused until it ends. Its success closes the breaker, its failure opens it
    /// again.
    HalfOpen,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

/// A call refused by an open [`Breaker`]: nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open; next try in {} ms", .retry_in.as_millis())]
pub struct Rejected {
    /// How long until the breaker lets a probe through (zero while a probe is under
    /// way).
    pub retry_in: Duration,
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cool_down: Duration,
        since: Instant,
    },
    HalfOpen {
        cool_down: Duration,
        since: Instant,
    },
}

struct Shared {
    name: String,
    config: BreakerConfig,
    state: Mutex<State>,
    opened: AtomicU64,
    rejected: AtomicU64,
}

/// A circuit breaker: after [`failure_threshold`](BreakerConfig::failure_threshold)
/// consecutive failures it *opens* and refuses every call at once (a [`Rejected`],
/// costing a lock and a clock read) for a cool-down; then it lets one call through, the
/// probe (*half-open*). The probe's success closes it; its failure opens it again for
/// twice the cool-down, up to [`max_cool_down`](BreakerConfig::max_cool_down).
///
/// Each Redis connection of batteries ([`RedisConn`](super::RedisConn)) has one, so a
/// Redis that is down costs one connection attempt per cool-down instead of one per
/// request. It logs `warn` when it opens and `info` when it closes again, never a line
/// per call. Clones share the state.
///
/// It measures time with tokio's clock, so tests can pause and advance it.
///
/// ```
/// use std::time::Duration;
/// use batteries_core::redis_conn::{Breaker, BreakerConfig, BreakerState};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let breaker = Breaker::new("example", BreakerConfig::new().with_failure_threshold(1));
/// let permit = breaker.try_call().expect("closed: calls go through");
/// permit.failure();
/// assert_eq!(breaker.state(), BreakerState::Open);
/// let refused = breaker.try_call().expect_err("open: refused at once");
/// assert!(refused.retry_in <= Duration::from_millis(500));
/// # }
/// ```
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .field("config", &self.shared.config)
            .finish()
    }
}

impl Breaker {
    /// A closed breaker; `name` says what it guards in its log lines (no secrets: a
    /// host and port, not a URL with a password).
    pub fn new(name: impl Into<String>, config: BreakerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                name: name.into(),
                config,
                state: Mutex::new(State::Closed { failures: 0 }),
                opened: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            }),
        }
    }

    /// What it guards, as given to [`new`](Self::new).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Its configuration.
    pub fn config(&self) -> BreakerConfig {
        self.shared.config
    }

    /// Where it is now. An open breaker whose cool-down is over still says
    /// [`Open`](BreakerState::Open) until the next call becomes the probe.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// How many times it has opened after a run of failures (a failed probe that
    /// opens it again does not count).
    pub fn times_opened(&self) -> u64 {
        self.shared.opened.load(Ordering::Relaxed)
    }

    /// How many calls it has refused.
    pub fn rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::Relaxed)
    }

    /// Asks to make a call: a [`Permit`] to report the call's outcome on, or
    /// [`Rejected`] when the breaker is open (or half-open with its probe under way).
    ///
    /// # Errors
    /// [`Rejected`] when the call must not be made.
    pub fn try_call(&self) -> Result<Permit, Rejected> {
        let now = Instant::now();
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(self.permit(false)),
            State::Open {
                until,
                cool_down,
                since,
            } => {
                if now >= until {
                    *state = State::HalfOpen { cool_down, since };
                    Ok(self.permit(true))
                } else {
                    drop(state);
                    self.shared.rejected.fetch_add(1, Ordering::Relaxed);
                    Err(Rejected {
                        retry_in: until - now,
                    })
                }
            }
            State::HalfOpen { .. } => {
                drop(state);
                self.shared.rejected.fetch_add(1, Ordering::Relaxed);
                Err(Rejected {
                    retry_in: Duration::ZERO,
                })
            }
        }
    }

    fn permit(&self, probe: bool) -> Permit {
        Permit {
            breaker: self.clone(),
            probe,
            settled: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a plain value written in one step: a panic elsewhere cannot
        // leave it half-updated.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn succeeded(&self, probe: bool) {
        let mut state = self.lock();
        match *state {
            State::Closed { ref mut failures } => *failures = 0,
            State::HalfOpen { since, .. } if probe => {
                *state = State::Closed { failures: 0 };
                drop(state);
                tracing::info!(
                    breaker = %self.shared.name,
                    outage_ms = since.elapsed().as_millis() as u64,
                    "reachable again; circuit closed"
                );
            }
            // A call that started before the breaker opened: the probe decides.
            State::HalfOpen { .. } | State::Open { .. } => {}
        }
    }

    fn failed(&self, probe: bool) {
        let now = Instant::now();
        let config = self.shared.config;
        let mut state = self.lock();
        match *state {
            State::Closed { ref mut failures } => {
                *failures += 1;
                if *failures >= config.failure_threshold {
                    *state = State::Open {
                        until: now + config.cool_down,
                        cool_down: config.cool_down,
                        since: now,
                    };
                    drop(state);
                    self.shared.opened.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        breaker = %self.shared.name,
                        failures = config.failure_threshold,
                        cool_down_ms = config.cool_down.as_millis() as u64,
                        "unreachable; circuit open: calls fail at once until a probe succeeds"
                    );
                }
            }
            State::HalfOpen { cool_down, since } if probe => {
                let cool_down = (cool_down * 2).min(config.max_cool_down);
                *state = State::Open {
                    until: now + cool_down,
                    cool_down,
                    since,
                };
                drop(state);
                tracing::debug!(
                    breaker = %self.shared.name,
                    cool_down_ms = cool_down.as_millis() as u64,
                    "probe failed; circuit stays open"
                );
            }
            State::HalfOpen { .. } | State::Open { .. } => {}
        }
    }
}

/// Leave to make one call through a [`Breaker`]; say how it went with
/// [`success`](Self::success) or [`failure`](Self::failure). A probe's permit dropped
/// without either (its call was cancelled, by a timeout say) counts as a failure, so a
/// breaker is never stuck half-open.
#[derive(Debug)]
#[must_use = "report the call's outcome with success() or failure()"]
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    settled: bool,
}

impl Permit {
    /// Whether this call is the probe of a half-open breaker.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded (the dependency answered).
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.succeeded(self.probe);
    }

    /// The call failed in a way that says the dependency is unreachable.
    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.failed(self.probe);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.breaker.failed(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32) -> Breaker {
        Breaker::new(
            "test",
            BreakerConfig::new()
                .with_failure_threshold(threshold)
                .with_cool_down(Duration::from_millis(500), Duration::from_secs(2)),
        )
    }

    fn fail(breaker: &Breaker) {
        breaker.try_call().expect("a permit").failure();
    }

    #[tokio::test(start_paused = true)]
    async fn consecutive_failures_open_it_and_a_success_in_between_resets_the_count() {
        let breaker = breaker(3);
        fail(&breaker);
        fail(&breaker);
        breaker.try_call().expect("closed").success();
        fail(&breaker);
        fail(&breaker);
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.times_opened(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_breaker_refuses_until_the_cool_down_then_lets_one_probe_through() {
        let breaker = breaker(1);
        fail(&breaker);
        let refused = breaker.try_call().expect_err("open");
        assert_eq!(refused.retry_in, Duration::from_millis(500));
        tokio::time::advance(Duration::from_millis(499)).await;
        assert_eq!(
            breaker.try_call().expect_err("still open").retry_in,
            Duration::from_millis(1)
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        let probe = breaker.try_call().expect("the probe");
        assert!(probe.is_probe());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        // Only one probe at a time.
        assert_eq!(
            breaker.try_call().expect_err("probe under way").retry_in,
            Duration::ZERO
        );
        probe.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(!breaker.try_call().expect("closed again").is_probe());
        assert_eq!(breaker.rejected(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probes_double_the_cool_down_up_to_the_maximum_and_success_resets_it() {
        let breaker = breaker(1);
        fail(&breaker);
        for cool_down_ms in [500, 1000, 2000, 2000, 2000] {
            tokio::time::advance(Duration::from_millis(cool_down_ms - 1)).await;
            assert!(breaker.try_call().is_err(), "still cooling down");
            tokio::time::advance(Duration::from_millis(1)).await;
            breaker.try_call().expect("probe").failure();
        }
        assert_eq!(
            breaker.times_opened(),
            1,
            "a failed probe is not a new opening"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        breaker.try_call().expect("probe").success();
        // Closed again: the next opening starts from the first cool-down.
        fail(&breaker);
        assert_eq!(
            breaker.try_call().expect_err("open").retry_in,
            Duration::from_millis(500)
        );
        assert_eq!(breaker.times_opened(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_counts_as_failed_so_the_breaker_is_never_stuck_half_open() {
        let breaker = breaker(1);
        fail(&breaker);
        tokio::time::advance(Duration::from_millis(500)).await;
        drop(breaker.try_call().expect("probe"));
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(breaker.try_call().expect("next probe").is_probe());
    }

    #[tokio::test(start_paused = true)]
    async fn late_answers_of_calls_made_before_it_opened_change_nothing() {
        let breaker = breaker(1);
        let slow_success = breaker.try_call().expect("closed");
        let slow_failure = breaker.try_call().expect("closed");
        fail(&breaker);
        slow_success.success();
        slow_failure.failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_millis(500)).await;
        let probe = breaker.try_call().expect("probe");
        let straggler = breaker.try_call();
        assert!(straggler.is_err());
        probe.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn the_config_is_clamped() {
        let config = BreakerConfig::new()
            .with_failure_threshold(0)
            .with_cool_down(Duration::ZERO, Duration::ZERO);
        assert_eq!(config.failure_threshold(), 1);
        assert_eq!(config.cool_down(), Duration::from_millis(1));
        assert_eq!(config.max_cool_down(), Duration::from_millis(1));
    }
}
