//! Login throttling: the same scenarios on every store: memory, the database (SQLite,
//! PostgreSQL, MariaDB) and Redis.
//!
//! Each scenario gets two handles on one store's state, as two app instances sharing a
//! database or Redis would hold, and a [`ManualClock`]: nothing sleeps, and no assertion
//! depends on the wall clock.
//!
//! Redis is at `BATTERIES_TEST_REDIS_URL` (default `redis://127.0.0.1:6379/`); under CI an
//! unreachable Redis fails the tests, elsewhere they skip it. Every test writes under a
//! key prefix of its own.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use batteries::auth::throttle::{
    self, DatabaseThrottleStore, LoginThrottle, ManualClock, MemoryThrottleStore,
    RedisThrottleStore, ThrottleError, ThrottleStore,
};
use batteries::orm::testing::TestDb;
use chrono::DateTime;
use sea_orm_migration::{MigrationTrait, SchemaManager};

batteries_tests::on_every_store!(
    [
        failures_up_to_the_limit_lock_the_username,
        lockout_doubles_with_each_further_failure_up_to_the_cap,
        success_clears_the_username_counter_but_not_the_ip_counter,
        ip_limit_counts_failures_across_usernames,
        old_failures_slide_out_of_the_window,
        two_throttles_on_one_store_share_state,
        concurrent_failures_are_all_counted,
    ];
    memory: new(memory_stores),
    redis: open(redis_stores),
    database: backends(database_stores),
);

/// Two handles on one store's state, as two app instances hold them.
type Stores = (Arc<dyn ThrottleStore>, Arc<dyn ThrottleStore>);

fn memory_stores() -> Stores {
    let store: Arc<dyn ThrottleStore> = Arc::new(MemoryThrottleStore::new());
    (store.clone(), store)
}

const WINDOW: Duration = Duration::from_mins(15);
const LOCKOUT: Duration = Duration::from_mins(1);
const MAX_LOCKOUT: Duration = Duration::from_mins(4);
const SECOND: Duration = Duration::from_secs(1);

fn clock() -> ManualClock {
    ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap())
}

/// 5 failures per username and 20 per IP in 15 minutes; lockouts of 1, 2, 4, 4... minutes.
fn throttle(store: Arc<dyn ThrottleStore>, clock: &ManualClock) -> LoginThrottle {
    LoginThrottle::new(store)
        .with_username_limit(5, WINDOW)
        .with_ip_limit(20, WINDOW)
        .with_lockout(LOCKOUT, MAX_LOCKOUT)
        .with_clock(clock.clone())
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([203, 0, 113, last])
}

/// How long `check`'s answer says to wait; `None` when the attempt may go ahead.
fn locked_for(checked: Result<(), ThrottleError>) -> Option<Duration> {
    match checked {
        Ok(()) => None,
        Err(ThrottleError::Locked { retry_after }) => Some(retry_after),
        Err(e) => panic!("the store failed: {e}"),
    }
}

async fn fail(throttle: &LoginThrottle, username: &str, ip: Option<IpAddr>, times: usize) {
    for _ in 0..times {
        throttle
            .record_failure(username, ip)
            .await
            .expect("record failure");
    }
}

async fn failures_up_to_the_limit_lock_the_username((store, _): Stores) {
    let clock = clock();
    let t = throttle(store, &clock);
    for _ in 0..4 {
        t.check("alice", Some(ip(1)))
            .await
            .expect("below the limit");
        fail(&t, "alice", Some(ip(1)), 1).await;
    }
    assert_eq!(locked_for(t.check("alice", Some(ip(1))).await), None);
    fail(&t, "alice", Some(ip(1)), 1).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(1))).await),
        Some(LOCKOUT)
    );
    // The lock is on the username, whatever its case and wherever the attempt comes from.
    assert_eq!(
        locked_for(t.check("ALICE", Some(ip(2))).await),
        Some(LOCKOUT)
    );
    assert_eq!(locked_for(t.check("Alice", None).await), Some(LOCKOUT));
    // Nobody else is locked.
    assert_eq!(locked_for(t.check("bob", Some(ip(1))).await), None);

    // A username nobody has is locked the same way, with the same words.
    fail(&t, "no-such-user", Some(ip(3)), 5).await;
    let ghost = t.check("no-such-user", Some(ip(3))).await.unwrap_err();
    let alice = t.check("alice", Some(ip(3))).await.unwrap_err();
    assert_eq!(ghost, alice);
    assert!(!ghost.to_string().contains("user"), "{ghost}");

    // The lock ends on time.
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        locked_for(t.check("alice", Some(ip(1))).await),
        Some(SECOND)
    );
    clock.advance(SECOND);
    assert_eq!(locked_for(t.check("alice", Some(ip(1))).await), None);
}

async fn lockout_doubles_with_each_further_failure_up_to_the_cap((store, _): Stores) {
    let clock = clock();
    let t = throttle(store, &clock);
    fail(&t, "alice", Some(ip(1)), 5).await;
    let mut lockouts = Vec::new();
    for _ in 0..4 {
        let wait = locked_for(t.check("alice", Some(ip(1))).await).expect("locked");
        lockouts.push(wait.as_secs());
        clock.advance(wait);
        assert_eq!(locked_for(t.check("alice", Some(ip(1))).await), None);
        // The count is still at the limit: the next failure locks again, for longer.
        fail(&t, "alice", Some(ip(1)), 1).await;
    }
    lockouts.push(
        locked_for(t.check("alice", Some(ip(1))).await)
            .expect("locked")
            .as_secs(),
    );
    assert_eq!(lockouts, [60, 120, 240, 240, 240]);
    let attempts = t.username_attempts("alice").await.unwrap();
    assert_eq!((attempts.failures, attempts.lockouts), (5, 5));
}

async fn success_clears_the_username_counter_but_not_the_ip_counter((store, _): Stores) {
    let clock = clock();
    let t = throttle(store, &clock);
    fail(&t, "alice", Some(ip(1)), 4).await;
    t.record_success("alice").await.unwrap();
    fail(&t, "alice", Some(ip(1)), 4).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(1))).await),
        None,
        "the failures before the success no longer count"
    );
    assert_eq!(t.username_attempts("alice").await.unwrap().failures, 4);
    assert_eq!(t.ip_attempts(ip(1)).await.unwrap().failures, 8);

    // A success also forgets the backoff: the next lockout is the first again.
    fail(&t, "alice", Some(ip(2)), 1).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(2))).await),
        Some(LOCKOUT)
    );
    clock.advance(LOCKOUT);
    fail(&t, "alice", Some(ip(2)), 1).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(2))).await),
        Some(2 * LOCKOUT)
    );
    clock.advance(2 * LOCKOUT);
    t.record_success("alice").await.unwrap();
    fail(&t, "alice", Some(ip(2)), 5).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(2))).await),
        Some(LOCKOUT)
    );

    // An administrator's reset unlocks at once.
    t.reset_username("alice").await.unwrap();
    assert_eq!(locked_for(t.check("alice", Some(ip(4))).await), None);
}

async fn ip_limit_counts_failures_across_usernames((store, _): Stores) {
    let clock = clock();
    let t = throttle(store, &clock);
    for i in 0..19 {
        fail(&t, &format!("user{i}"), Some(ip(9)), 1).await;
    }
    assert_eq!(locked_for(t.check("newcomer", Some(ip(9))).await), None);
    fail(&t, "user19", Some(ip(9)), 1).await;
    assert_eq!(
        locked_for(t.check("newcomer", Some(ip(9))).await),
        Some(LOCKOUT)
    );
    assert_eq!(
        locked_for(t.check("user0", Some(ip(9))).await),
        Some(LOCKOUT)
    );
    // Other addresses, and the same users from them, are not locked.
    assert_eq!(locked_for(t.check("newcomer", Some(ip(10))).await), None);
    assert_eq!(locked_for(t.check("user0", Some(ip(10))).await), None);
    assert_eq!(locked_for(t.check("newcomer", None).await), None);
    t.reset_ip(ip(9)).await.unwrap();
    assert_eq!(locked_for(t.check("newcomer", Some(ip(9))).await), None);

    // IPv6 clients count per /64 network.
    for i in 0..20_u16 {
        let addr = IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, i + 1]);
        fail(&t, &format!("v6user{i}"), Some(addr), 1).await;
    }
    let same_network = IpAddr::from([0x2001, 0xdb8, 1, 2, 0xffff, 0, 0, 1]);
    let next_network = IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]);
    assert_eq!(
        locked_for(t.check("newcomer", Some(same_network)).await),
        Some(LOCKOUT)
    );
    assert_eq!(
        locked_for(t.check("newcomer", Some(next_network)).await),
        None
    );
}

async fn old_failures_slide_out_of_the_window((store, _): Stores) {
    let clock = clock();
    let t = throttle(store, &clock);
    fail(&t, "alice", Some(ip(1)), 3).await;
    clock.advance(Duration::from_mins(10));
    fail(&t, "alice", Some(ip(1)), 1).await;
    // Fifteen minutes and a second after the first three: they are out of the window.
    clock.advance(Duration::from_mins(5) + SECOND);
    assert_eq!(t.username_attempts("alice").await.unwrap().failures, 1);
    fail(&t, "alice", Some(ip(1)), 3).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(1))).await),
        None,
        "4 failures within the window"
    );
    fail(&t, "alice", Some(ip(1)), 1).await;
    assert_eq!(
        locked_for(t.check("alice", Some(ip(1))).await),
        Some(LOCKOUT)
    );

    // Quiet for a whole window after the lockout: everything is forgotten.
    clock.advance(LOCKOUT + WINDOW);
    let attempts = t.username_attempts("alice").await.unwrap();
    assert_eq!((attempts.failures, attempts.lockouts), (0, 0));
    fail(&t, "alice", Some(ip(1)), 4).await;
    assert_eq!(locked_for(t.check("alice", Some(ip(1))).await), None);
}

async fn two_throttles_on_one_store_share_state((a, b): Stores) {
    let clock = clock();
    let one = throttle(a, &clock);
    let two = throttle(b, &clock);
    fail(&one, "alice", Some(ip(1)), 3).await;
    assert_eq!(locked_for(two.check("alice", Some(ip(1))).await), None);
    fail(&two, "Alice", Some(ip(2)), 2).await;
    assert_eq!(
        locked_for(one.check("alice", Some(ip(3))).await),
        Some(LOCKOUT)
    );
    assert_eq!(
        locked_for(two.check("alice", Some(ip(3))).await),
        Some(LOCKOUT)
    );
    one.record_success("alice").await.unwrap();
    assert_eq!(locked_for(two.check("alice", Some(ip(3))).await), None);
    assert_eq!(two.ip_attempts(ip(1)).await.unwrap().failures, 3);
}

async fn concurrent_failures_are_all_counted((a, b): Stores) {
    const TASKS: u32 = 32;
    let clock = clock();
    let one = throttle(a, &clock).with_ip_limit(1000, WINDOW);
    let two = throttle(b, &clock).with_ip_limit(1000, WINDOW);
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let t = if i % 2 == 0 { one.clone() } else { two.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                t.record_failure("alice", Some(ip(7))).await
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task")
            .expect("a concurrent failure is recorded");
    }
    // Below its limit the IP counts every failure...
    assert_eq!(one.ip_attempts(ip(7)).await.unwrap().failures, TASKS);
    // ...and the username, at its limit of 5, locked once for each failure from the
    // fifth on: none was lost to a race.
    let alice = two.username_attempts("alice").await.unwrap();
    assert_eq!((alice.failures, alice.lockouts), (5, TASKS - 4));
    assert_eq!(
        locked_for(one.check("alice", None).await),
        Some(MAX_LOCKOUT)
    );
}

async fn database_stores(db: &TestDb) -> Stores {
    throttle::migration()
        .up(&SchemaManager::new(db.conn()))
        .await
        .expect("create batteries_login_throttle");
    // A second pool on the same database, as a second app instance would have (SQLite in
    // memory has one connection only, so there the pool is shared).
    let second = match db.url() {
        Some(url) => batteries::orm::db::connect(&url)
            .await
            .expect("second connection"),
        None => db.conn().clone(),
    };
    (
        Arc::new(DatabaseThrottleStore::new(db.conn().clone())),
        Arc::new(DatabaseThrottleStore::new(second)),
    )
}

/// Two connections to Redis with a key prefix of this test's own; `None` (after saying
/// why) when Redis is unreachable outside CI.
///
/// # Panics
/// Under CI, when Redis is unreachable.
async fn redis_stores(test: &str) -> Option<Stores> {
    let (a, b, _) = batteries_tests::redis_pair(test, |url, prefix| async move {
        RedisThrottleStore::open(&url)
            .await
            .map(|store| store.with_prefix(prefix))
    })
    .await?;
    Some((Arc::new(a), Arc::new(b)))
}
