//! Rate limiting: the same scenarios on the memory store and on Redis.
//!
//! Each scenario gets two handles on one store's state, as two app instances sharing
//! Redis would hold, and a [`ManualClock`]: nothing sleeps, and no assertion depends on
//! the wall clock.
//!
//! Redis is at `BATTERIES_TEST_REDIS_URL` (default `redis://127.0.0.1:6379/`); under CI an
//! unreachable Redis fails the tests, elsewhere they skip it. Every test writes under a
//! key prefix of its own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use batteries::middleware::ratelimit::{
    Bucket, ClientIp, Decision, ManualClock, MemoryRateLimitStore, RateLimitLayer, RateLimitStore,
    RateLimiter, RedisRateLimitStore,
};
use chrono::DateTime;
use http::{Request, Response, StatusCode};
use tower::{Layer, ServiceExt, service_fn};

batteries_tests::on_every_store!(
    [
        a_burst_is_allowed_then_refused_until_a_token_is_back,
        separate_keys_have_separate_buckets,
        two_limiters_on_one_store_share_the_bucket,
        concurrent_takes_never_exceed_the_capacity,
        two_instances_behind_a_proxy_share_each_clients_bucket,
    ];
    memory: new(memory_stores),
    redis: open(redis_two),
);

/// Two handles on one store's state, as two app instances hold them.
type Stores = (Arc<dyn RateLimitStore>, Arc<dyn RateLimitStore>);

fn memory_stores() -> Stores {
    let store: Arc<dyn RateLimitStore> = Arc::new(MemoryRateLimitStore::new());
    (store.clone(), store)
}

fn clock() -> ManualClock {
    ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap())
}

/// A burst of `capacity`, then a token every `every`.
fn limiter(
    store: Arc<dyn RateLimitStore>,
    capacity: u32,
    every: Duration,
    clock: &ManualClock,
) -> RateLimiter {
    RateLimiter::new(store, Bucket::per_interval(capacity, every)).with_clock(clock.clone())
}

async fn take(limiter: &RateLimiter, key: &str) -> Decision {
    limiter.check(key).await.expect("the store answers")
}

async fn a_burst_is_allowed_then_refused_until_a_token_is_back((store, _): Stores) {
    let clock = clock();
    let limiter = limiter(store, 3, Duration::from_secs(10), &clock);
    for remaining in [2, 1, 0] {
        assert_eq!(
            take(&limiter, "ip:203.0.113.7").await,
            Decision::Allowed {
                limit: 3,
                remaining
            }
        );
    }
    clock.advance(Duration::from_millis(2_500));
    let denied = take(&limiter, "ip:203.0.113.7").await;
    assert_eq!(denied.retry_after(), Some(Duration::from_millis(7_500)));
    assert_eq!(denied.retry_after_secs(), Some(8));
    clock.advance(Duration::from_millis(7_499));
    assert!(!take(&limiter, "ip:203.0.113.7").await.is_allowed());
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        take(&limiter, "ip:203.0.113.7").await,
        Decision::Allowed {
            limit: 3,
            remaining: 0
        }
    );
    // A long quiet refills the bucket to its capacity, no further.
    clock.advance(Duration::from_hours(2));
    for _ in 0..3 {
        assert!(take(&limiter, "ip:203.0.113.7").await.is_allowed());
    }
    assert!(!take(&limiter, "ip:203.0.113.7").await.is_allowed());
}

async fn separate_keys_have_separate_buckets((store, _): Stores) {
    let clock = clock();
    let login = limiter(store.clone(), 1, Duration::from_mins(1), &clock).with_scope("login");
    let api = limiter(store, 2, Duration::from_mins(1), &clock).with_scope("api");
    assert!(take(&login, "ip:203.0.113.7").await.is_allowed());
    assert!(!take(&login, "ip:203.0.113.7").await.is_allowed());
    assert!(take(&login, "ip:203.0.113.8").await.is_allowed());
    assert!(take(&login, "user:7").await.is_allowed());
    // The same key in another scope is another bucket.
    assert_eq!(take(&api, "ip:203.0.113.7").await.remaining(), 1);
}

async fn two_limiters_on_one_store_share_the_bucket((a, b): Stores) {
    let clock = clock();
    let one = limiter(a, 4, Duration::from_secs(1), &clock);
    let two = limiter(b, 4, Duration::from_secs(1), &clock);
    assert_eq!(take(&one, "user:42").await.remaining(), 3);
    assert_eq!(take(&two, "user:42").await.remaining(), 2);
    assert_eq!(take(&one, "user:42").await.remaining(), 1);
    assert_eq!(take(&two, "user:42").await.remaining(), 0);
    assert!(!take(&one, "user:42").await.is_allowed());
    assert!(!take(&two, "user:42").await.is_allowed());
    clock.advance(Duration::from_secs(1));
    assert!(take(&two, "user:42").await.is_allowed());
    assert!(!take(&one, "user:42").await.is_allowed());
}

async fn concurrent_takes_never_exceed_the_capacity((a, b): Stores) {
    const TASKS: usize = 64;
    const CAPACITY: u32 = 10;
    let clock = clock();
    let one = limiter(a, CAPACITY, Duration::from_hours(1), &clock);
    let two = limiter(b, CAPACITY, Duration::from_hours(1), &clock);
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let limiter = if i % 2 == 0 { one.clone() } else { two.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                limiter.check("ip:203.0.113.7").await
            })
        })
        .collect();
    let mut remaining = Vec::new();
    for task in tasks {
        let decision = task.await.expect("task").expect("the store answers");
        if decision.is_allowed() {
            remaining.push(decision.remaining());
        }
    }
    remaining.sort_unstable();
    // Exactly the capacity went through, each taking a different token.
    assert_eq!(remaining, (0..CAPACITY).collect::<Vec<_>>());
}

/// Two app instances behind a load balancer at 10.0.0.2, sharing the store: a client
/// gets one bucket across both, and naming other addresses in `X-Forwarded-For` does not
/// give it another.
async fn two_instances_behind_a_proxy_share_each_clients_bucket((a, b): Stores) {
    let clock = clock();
    let client_ip = ClientIp::new().with_trusted_proxy("10.0.0.0/8").unwrap();
    let instance = |store| {
        RateLimitLayer::new(limiter(store, 2, Duration::from_mins(1), &clock))
            .with_client_ip(client_ip.clone())
            .layer(service_fn(|_: Request<String>| async {
                Ok::<_, Infallible>(Response::new("ok".to_owned()))
            }))
    };
    let (one, two) = (instance(a), instance(b));
    let request = |peer: &str, forwarded: &str| {
        let mut request = Request::new(String::new());
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().unwrap());
        request
            .headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
        request
    };
    let via_lb = |forwarded| request("10.0.0.2:443", forwarded);
    let status = |response: Response<String>| response.status();

    assert_eq!(
        status(one.clone().oneshot(via_lb("198.51.100.1")).await.unwrap()),
        StatusCode::OK
    );
    assert_eq!(
        status(two.clone().oneshot(via_lb("198.51.100.1")).await.unwrap()),
        StatusCode::OK
    );
    let refused = one
        .clone()
        .oneshot(via_lb("192.0.2.1, 198.51.100.1"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "60");
    assert_eq!(
        refused.body(),
        r#"{"error":"rate limited","retry_after":60}"#
    );
    // Another client behind the same proxy has its own bucket.
    assert_eq!(
        status(two.clone().oneshot(via_lb("198.51.100.2")).await.unwrap()),
        StatusCode::OK
    );
    // A client connecting directly cannot borrow another's address.
    let direct = two
        .clone()
        .oneshot(request("198.51.100.3:5000", "198.51.100.4"))
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    let direct = one
        .clone()
        .oneshot(request("198.51.100.3:5000", "198.51.100.5"))
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    let direct = two
        .oneshot(request("198.51.100.3:5000", "198.51.100.6"))
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn redis_keys_carry_the_prefix_and_expire_when_the_bucket_is_full() {
    let Some((store, _, prefix)) = redis_stores("expiry").await else {
        return;
    };
    let clock = clock();
    // Full again 3 × 20 s after the burst.
    let limiter = limiter(store, 3, Duration::from_secs(20), &clock).with_scope("api");
    for _ in 0..3 {
        take(&limiter, "ip:203.0.113.7").await;
    }
    let mut conn = batteries_tests::redis_connection().await.unwrap();
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, [format!("{prefix}api:ip:203.0.113.7")]);
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 59_000 && ttl <= 60_000, "PTTL {ttl}");
    let _: i64 = ::redis::cmd("DEL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// Two connections to Redis with a key prefix of this test's own, and the prefix;
/// `None` (after saying why) when Redis is unreachable outside CI.
///
/// # Panics
/// Under CI, when Redis is unreachable.
async fn redis_stores(
    test: &str,
) -> Option<(Arc<dyn RateLimitStore>, Arc<dyn RateLimitStore>, String)> {
    let (a, b, prefix) = batteries_tests::redis_pair(test, |url, prefix| async move {
        RedisRateLimitStore::open(&url)
            .await
            .map(|store| store.with_prefix(prefix))
    })
    .await?;
    Some((Arc::new(a), Arc::new(b), prefix))
}

/// [`redis_stores`] without the prefix.
async fn redis_two(test: &str) -> Option<Stores> {
    let (a, b, _) = redis_stores(test).await?;
    Some((a, b))
}
