//! Redis outages cost little and end by themselves. With the test's own `redis-server`
//! frozen (`SIGSTOP`: connections accepted, nothing answers) or killed (connections
//! refused):
//!
//! - `/api/limited` answers within the per-command timeout, then at once once the
//!   circuit breaker is open: `200` from a limiter failing open, `503` with
//!   `Retry-After` and a plain body from one failing closed, on axum, actix-web and
//!   hyper; the breaker spares Redis a connection attempt per request;
//! - the session, refresh-token and login-throttle stores fail within the timeout, then
//!   at once, saying `redis unavailable`;
//! - once Redis is back, limits and stores work again without restarting the app.
//!
//! Times are asserted loosely (the timeout plus seconds of slack): the machine is shared.

use std::sync::Arc;
use std::time::{Duration, Instant};

use batteries::auth::jwt::{RedisRefreshStore, RefreshStore};
use batteries::auth::redis_conn::{BreakerConfig, BreakerState, RedisConn, RedisOptions};
use batteries::auth::sessions::{
    MemorySessionStore, RedisSessionStore, SessionRecord, SessionStore,
};
use batteries::auth::throttle::{Limit, RedisThrottleStore, ThrottleStore};
use batteries::middleware::ratelimit::{FailureMode, RedisRateLimitStore};
use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::apps::{self, Framework, Pieces, Running};
use batteries_tests::browser::{Browser, Reply};
use http::StatusCode;

use crate::middleware::redis_restart::{Server, free_port};

const SECRET: &[u8] = b"redis-outage-secret-key-that-is-long-enough";

/// What a request may take beyond the Redis timeout on a busy machine.
const SLACK: Duration = Duration::from_secs(2);

/// `GET /api/limited`, and how long the answer took.
async fn limited(client: &mut Browser) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = client.get_api("/api/limited", &[]).await;
    (reply, started.elapsed())
}

/// Sends requests until the limiter has decided one (Redis answers again), then
/// until it refuses one: the limits apply again. Panics after `wait`.
async fn limits_apply_again(client: &mut Browser, wait: Duration) {
    let deadline = Instant::now() + wait;
    loop {
        let (reply, _) = limited(client).await;
        if reply.header("ratelimit-remaining").is_some() || reply.status == 429 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the limiter did not use Redis again within {wait:?}: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..4 {
        if limited(client).await.0.status == StatusCode::TOO_MANY_REQUESTS {
            return;
        }
    }
    panic!("a bucket of 3 let more than 4 requests through after Redis came back");
}

/// While Redis is down: every request to the app failing open passes and every one to
/// the app failing closed gets a plain `503`, each within the timeout (plus slack).
async fn answers_while_down(
    open: &mut Browser,
    closed: &mut Browser,
    redis: &RedisConn,
    requests: usize,
) {
    let bound = redis.timeout() + SLACK;
    for _ in 0..requests {
        let (reply, took) = limited(open).await;
        assert_eq!(reply.status, StatusCode::OK, "fails open: {}", reply.body);
        assert!(reply.header("ratelimit-remaining").is_none());
        assert!(took < bound, "failing open took {took:?}");

        let (reply, took) = limited(closed).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header("retry-after"), Some("5"));
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "{:?}",
            reply.headers
        );
        let body = reply.body.to_ascii_lowercase();
        assert!(
            !body.contains("redis") && !body.contains("127.0.0.1"),
            "{}",
            reply.body
        );
        assert!(took < bound, "failing closed took {took:?}");
    }
}

/// The breaker opened and spared Redis: of `requests` refused or let through since
/// `attempts_before`, at most the threshold's failures and one probe per cool-down
/// made a connection attempt.
fn breaker_spared_connects(
    redis: &RedisConn,
    attempts_before: u64,
    requests: usize,
    since: Instant,
) {
    let config = redis.breaker().config();
    let attempts = redis.connect_attempts() - attempts_before;
    let probes = (since.elapsed().as_millis() / config.cool_down().as_millis()) as u64 + 1;
    assert!(
        redis.breaker().rejected() > 0,
        "the breaker refused nothing"
    );
    assert!(
        attempts <= u64::from(config.failure_threshold()) + probes,
        "{attempts} connection attempts for {requests} requests in {:?}",
        since.elapsed()
    );
    assert!((attempts as usize) < requests, "{attempts} >= {requests}");
}

async fn serve(
    framework: Framework,
    db: &sea_orm::DatabaseConnection,
    redis: &RedisConn,
    mode: FailureMode,
) -> Running {
    let pieces = Pieces::new(db.clone(), Arc::new(MemorySessionStore::new()), SECRET)
        .with_rate_limit_store(
            RedisRateLimitStore::new(redis.clone())
                .with_prefix(batteries_tests::unique_prefix(&format!("outage-{mode:?}"))),
        )
        .with_rate_limit_failure_mode(mode);
    apps::serve(framework, pieces).await
}

async fn rate_limits_ride_out_a_redis_outage(framework: Framework) {
    let port = free_port();
    let Some(server) = Server::start(port) else {
        return;
    };
    server.wait_ready().await;
    let Some(test_db) = TestDb::for_test(Backend::Sqlite).await else {
        return;
    };
    let db = test_db.conn().clone();
    apps::seed(&db).await;
    // The defaults: 500 ms per command, open after 3 failures for 500 ms to 5 s.
    let redis = RedisConn::open(&server.url()).await.expect("redis");
    let open_app = serve(framework, &db, &redis, FailureMode::Open).await;
    let closed_app = serve(framework, &db, &redis, FailureMode::Closed).await;
    let mut open = Browser::new(open_app.addr);
    let mut closed = Browser::new(closed_app.addr);
    limits_apply_again(&mut open, Duration::ZERO).await;
    limits_apply_again(&mut closed, Duration::ZERO).await;

    // Redis hangs: the first requests wait for the timeout, then the breaker answers.
    server.pause();
    let (attempts, since) = (redis.connect_attempts(), Instant::now());
    answers_while_down(&mut open, &mut closed, &redis, 10).await;
    assert_ne!(redis.breaker().state(), BreakerState::Closed);
    breaker_spared_connects(&redis, attempts, 20, since);
    let opened = redis.breaker().times_opened();
    assert!(opened >= 1);

    // Redis answers again: the limits apply again, the app untouched.
    server.resume();
    let recovery = BreakerConfig::DEFAULT_MAX_COOL_DOWN + redis.timeout() + SLACK * 4;
    limits_apply_again(&mut open, recovery).await;
    limits_apply_again(&mut closed, recovery).await;
    assert_eq!(redis.breaker().state(), BreakerState::Closed);

    // Redis is killed: connections are refused, and the same holds.
    server.stop();
    let (attempts, since) = (redis.connect_attempts(), Instant::now());
    answers_while_down(&mut open, &mut closed, &redis, 10).await;
    breaker_spared_connects(&redis, attempts, 20, since);
    assert!(redis.breaker().times_opened() > opened);

    // A new Redis on the same port (empty: it keeps nothing): limits apply again.
    let server = Server::start(port).expect("restart");
    server.wait_ready().await;
    limits_apply_again(&mut open, recovery).await;
    limits_apply_again(&mut closed, recovery).await;

    open_app.stop().await;
    closed_app.stop().await;
    server.stop();
    test_db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_rate_limits_ride_out_a_redis_outage() {
    rate_limits_ride_out_a_redis_outage(Framework::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_rate_limits_ride_out_a_redis_outage() {
    rate_limits_ride_out_a_redis_outage(Framework::Actix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_rate_limits_ride_out_a_redis_outage() {
    rate_limits_ride_out_a_redis_outage(Framework::Hyper).await;
}

fn record() -> SessionRecord {
    SessionRecord {
        data: serde_json::from_str(r#"{"k": 1}"#).expect("json"),
        expires_at: chrono::Utc::now() + chrono::TimeDelta::hours(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stores_fail_within_the_timeout_then_at_once_and_recover() {
    let port = free_port();
    let Some(server) = Server::start(port) else {
        return;
    };
    server.wait_ready().await;
    let timeout = Duration::from_millis(300);
    let redis = RedisConn::open_with(
        &server.url(),
        RedisOptions::new().with_timeout(timeout).with_breaker(
            BreakerConfig::new().with_cool_down(Duration::from_millis(200), Duration::from_secs(1)),
        ),
    )
    .await
    .expect("redis");
    let sessions = RedisSessionStore::new(redis.clone());
    let refresh = RedisRefreshStore::new(redis.clone());
    let throttle = RedisThrottleStore::new(redis.clone());
    let limit = Limit::new(5, Duration::from_mins(5));
    let key = sessions.create(&record()).await.expect("Redis is up");

    server.pause();
    // Until the breaker opens, each command waits for the timeout and no longer.
    for _ in 0..BreakerConfig::DEFAULT_FAILURE_THRESHOLD {
        let started = Instant::now();
        let error = sessions.load(&key).await.expect_err("Redis hangs");
        let took = started.elapsed();
        assert!(took >= timeout / 2, "it did wait: {took:?}");
        assert!(took < timeout + SLACK, "{took:?}");
        assert_eq!(
            error.to_string(),
            "session store error: redis unavailable (no answer within 300 ms)"
        );
    }
    assert_eq!(redis.breaker().state(), BreakerState::Open);
    // Then every store sharing the connection fails at once, saying why.
    let started = Instant::now();
    let session_error = sessions.load(&key).await.expect_err("open");
    let refresh_error = refresh
        .consume("some-jti", chrono::Utc::now())
        .await
        .expect_err("open");
    let throttle_error = throttle
        .attempts("user:x", chrono::Utc::now(), &limit)
        .await
        .expect_err("open");
    let save_error = sessions.save(&key, &record()).await.expect_err("open");
    assert!(
        started.elapsed() < timeout,
        "refused without waiting: {:?}",
        started.elapsed()
    );
    for error in [
        session_error.to_string(),
        refresh_error.to_string(),
        throttle_error.to_string(),
        save_error.to_string(),
    ] {
        assert!(error.contains("redis unavailable (circuit open"), "{error}");
    }

    // Redis answers again: after a cool-down, a probe closes the breaker.
    server.resume();
    let deadline = Instant::now() + Duration::from_secs(1) + timeout + SLACK * 4;
    let loaded = loop {
        match sessions.load(&key).await {
            Ok(loaded) => break loaded,
            Err(error) => assert!(Instant::now() < deadline, "not back: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(loaded.is_some(), "the session outlived the freeze");
    assert_eq!(redis.breaker().state(), BreakerState::Closed);
    refresh
        .revoke_subject("nobody")
        .await
        .expect("refresh store back");
    throttle
        .attempts("user:x", chrono::Utc::now(), &limit)
        .await
        .expect("throttle store back");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_fails_fast_and_names_no_password_when_redis_is_down() {
    let url = format!("redis://:hunter2@127.0.0.1:{}/", free_port());
    let started = Instant::now();
    let error = RedisSessionStore::open(&url)
        .await
        .expect_err("nothing listens");
    assert!(started.elapsed() < RedisOptions::DEFAULT_TIMEOUT + SLACK);
    assert!(!error.to_string().contains("hunter2"), "{error}");
    // A lazy connection lets the app start anyway; the first command fails.
    let lazy = RedisConn::lazy(&url, RedisOptions::new()).expect("a valid url");
    let store = RedisSessionStore::new(lazy);
    assert!(store.load(&"a".repeat(32)).await.is_err());
}
