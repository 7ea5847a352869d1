//! Session stores: the same scenarios on every server-side store: memory, the database
//! (SQLite, PostgreSQL, MariaDB) and Redis.
//!
//! Each scenario gets two handles on one store's state, as two app instances sharing a
//! database or Redis would hold. Expiry is tested with records an hour in the past or
//! the future, or with a [`ManualClock`]: no assertion depends on how fast the test runs.
//!
//! Redis is at `BATTERIES_TEST_REDIS_URL` (default `redis://127.0.0.1:6379/`); under CI an
//! unreachable Redis fails the tests, elsewhere they skip it. Every test writes under a
//! key prefix of its own.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use batteries::auth::migrations::migrations;
use batteries::auth::sessions::{
    DatabaseSessionStore, MemorySessionStore, RedisSessionStore, SessionRecord, SessionStore,
    is_valid_session_key, new_session_key,
};
use batteries::auth::throttle::ManualClock;
use batteries::orm::migration::compose;
use batteries::orm::testing::TestDb;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde_json::{Map, Value, json};

batteries_tests::on_every_store!(
    [
        created_sessions_round_trip_between_instances,
        save_replaces_the_record,
        deleted_sessions_are_gone,
        expired_sessions_are_not_loaded_and_are_cleared,
        unknown_and_malformed_keys_load_nothing,
        keys_are_unique_over_many_creates,
    ];
    memory: new(memory_stores),
    redis: open(redis_stores),
    database: backends(database_stores),
);

batteries_tests::backend_tests!(expiry_is_exact_to_the_millisecond_in_the_database);

/// Two handles on one store's state, as two app instances hold them.
struct Stores {
    one: Arc<dyn SessionStore>,
    two: Arc<dyn SessionStore>,
    /// Whether `clear_expired` deletes anything (Redis expires keys itself).
    sweeps: bool,
}

fn memory_stores() -> Stores {
    let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
    Stores {
        one: store.clone(),
        two: store,
        sweeps: true,
    }
}

/// A record expiring `in_secs` from now (negative: in the past), with a fraction of a
/// second that a store keeping whole seconds would lose (stores keep milliseconds).
fn record(data: Value, in_secs: i64) -> SessionRecord {
    let Value::Object(data) = data else {
        panic!("session data is an object")
    };
    let secs = (Utc::now() + chrono::Duration::seconds(in_secs)).timestamp();
    SessionRecord {
        data,
        expires_at: DateTime::from_timestamp_millis(secs * 1000 + 123).unwrap(),
    }
}

const HOUR: i64 = 3600;
const WEEK: i64 = 7 * 24 * HOUR;

fn rich_data() -> Value {
    json!({
        "_auth_user_id": "42",
        "_auth_user_hash": "b2f1c3",
        "name": "Zoë Ångström 日本語 😀 \"quoted\" \\ back\nslash",
        "cart": {
            "items": [{"sku": "ß-1", "qty": 2}, {"sku": "x", "qty": 1, "tags": []}],
            "total": 12.5,
            "big": 9_007_199_254_740_993_i64,
            "gift": null,
            "flags": [true, false],
        },
        "empty": {},
    })
}

async fn created_sessions_round_trip_between_instances(s: Stores) {
    let original = record(rich_data(), 2 * WEEK);
    let key = s.one.create(&original).await.unwrap();
    assert!(is_valid_session_key(&key), "{key}");
    let loaded = s
        .two
        .load(&key)
        .await
        .unwrap()
        .expect("the other instance sees it");
    assert_eq!(loaded, original);
    assert_eq!(loaded.expires_at.timestamp_subsec_millis(), 123);
    assert_eq!(s.one.load(&key).await.unwrap(), Some(original));

    let empty = record(json!({}), HOUR);
    let key = s.two.create(&empty).await.unwrap();
    assert_eq!(s.one.load(&key).await.unwrap(), Some(empty));
}

async fn save_replaces_the_record(s: Stores) {
    let key = s.one.create(&record(rich_data(), HOUR)).await.unwrap();
    let other = s
        .one
        .create(&record(json!({"other": 1}), HOUR))
        .await
        .unwrap();
    let replacement = record(json!({"_auth_user_id": "7", "n": [1, 2, 3]}), 3 * HOUR);
    assert_eq!(s.two.save(&key, &replacement).await.unwrap(), key);
    assert_eq!(s.one.load(&key).await.unwrap(), Some(replacement.clone()));
    // Saving the same record again changes nothing (MySQL reports no changed rows).
    assert_eq!(s.one.save(&key, &replacement).await.unwrap(), key);
    assert_eq!(s.two.load(&key).await.unwrap(), Some(replacement));
    // Other sessions are untouched.
    assert_eq!(
        s.two.load(&other).await.unwrap().unwrap().data["other"],
        json!(1)
    );

    // A session that vanished meanwhile is written again under its key.
    let vanished = new_session_key();
    let back = record(json!({"back": true}), HOUR);
    assert_eq!(s.two.save(&vanished, &back).await.unwrap(), vanished);
    assert_eq!(s.one.load(&vanished).await.unwrap(), Some(back.clone()));
    // A key of the wrong shape is never written: the session gets a new key.
    let fresh = s.one.save("' OR 1=1 --", &back).await.unwrap();
    assert!(is_valid_session_key(&fresh), "{fresh}");
    assert_eq!(s.two.load(&fresh).await.unwrap(), Some(back));
}

async fn deleted_sessions_are_gone(s: Stores) {
    let key = s.one.create(&record(rich_data(), HOUR)).await.unwrap();
    let kept = s
        .one
        .create(&record(json!({"kept": 1}), HOUR))
        .await
        .unwrap();
    s.two.delete(&key).await.unwrap();
    assert_eq!(s.one.load(&key).await.unwrap(), None);
    assert_eq!(s.two.load(&key).await.unwrap(), None);
    assert!(s.one.load(&kept).await.unwrap().is_some());
    // Deleting again, an unknown key or a malformed one is not an error.
    s.one.delete(&key).await.unwrap();
    s.one.delete(&new_session_key()).await.unwrap();
    s.one.delete("").await.unwrap();
    s.one.delete("%' OR '1'='1").await.unwrap();
    s.one.delete("*").await.unwrap();
    assert!(
        s.two.load(&kept).await.unwrap().is_some(),
        "nothing else went"
    );
}

async fn expired_sessions_are_not_loaded_and_are_cleared(s: Stores) {
    let live = record(json!({"live": true}), HOUR);
    let live_key = s.one.create(&live).await.unwrap();
    let stale_key = s
        .one
        .create(&record(json!({"stale": true}), -HOUR))
        .await
        .unwrap();
    assert_eq!(s.two.load(&stale_key).await.unwrap(), None);
    // A live session saved with an expiry in the past ends at once.
    let ended_key = s
        .one
        .create(&record(json!({"ended": true}), HOUR))
        .await
        .unwrap();
    s.two
        .save(&ended_key, &record(json!({"ended": true}), -1))
        .await
        .unwrap();
    assert_eq!(s.one.load(&ended_key).await.unwrap(), None);

    let cleared = s.two.clear_expired().await.unwrap();
    assert_eq!(cleared, if s.sweeps { 2 } else { 0 });
    assert_eq!(
        s.one.clear_expired().await.unwrap(),
        0,
        "nothing left to clear"
    );
    assert_eq!(s.one.load(&live_key).await.unwrap(), Some(live));
    assert_eq!(s.two.load(&stale_key).await.unwrap(), None);
}

async fn unknown_and_malformed_keys_load_nothing(s: Stores) {
    let key = s.one.create(&record(rich_data(), HOUR)).await.unwrap();
    let keys = [
        new_session_key(),
        String::new(),
        key.to_uppercase(),
        format!("{key}a"),
        key[1..].to_owned(),
        format!(" {}", &key[1..]),
        format!("{}\0", &key[1..]),
        "%".repeat(32),
        "*".repeat(32),
        "' OR '1'='1".to_owned(),
        format!("{}' OR '1'='1", &key[..21]),
        "x'; DROP TABLE batteries_session; --".to_owned(),
        "ключ".repeat(8),
        "a".repeat(10_000),
    ];
    for odd in &keys {
        assert_eq!(s.two.load(odd).await.unwrap(), None, "{odd:.40}");
    }
    assert!(
        s.one.load(&key).await.unwrap().is_some(),
        "the real session is still there"
    );
}

async fn keys_are_unique_over_many_creates(s: Stores) {
    const SESSIONS: usize = 200;
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|i| {
            let store = if i % 2 == 0 {
                s.one.clone()
            } else {
                s.two.clone()
            };
            tokio::spawn(async move {
                let key = store.create(&record(json!({ "i": i }), HOUR)).await;
                (i, key)
            })
        })
        .collect();
    let mut keys = HashSet::new();
    for task in tasks {
        let (i, key) = task.await.unwrap();
        let key = key.expect("create");
        assert!(is_valid_session_key(&key), "{key}");
        let loaded = s.one.load(&key).await.unwrap().expect("created");
        assert_eq!(loaded.data["i"], json!(i), "each key holds its own session");
        assert!(keys.insert(key), "a key was handed out twice");
    }
    assert_eq!(keys.len(), SESSIONS);
}

/// A session expiring at `t` loads until just before `t` and is cleared from `t` on,
/// on every backend (MySQL's `datetime(6)` included).
async fn expiry_is_exact_to_the_millisecond_in_the_database(db: &TestDb) {
    migrate(db.conn()).await;
    let expires_at = DateTime::from_timestamp_millis(1_800_000_000_123).unwrap();
    let clock = ManualClock::new(expires_at - chrono::Duration::milliseconds(1));
    let store = DatabaseSessionStore::new(db.conn().clone()).with_clock(clock.clone());
    let mut data = Map::new();
    data.insert("k".into(), json!("v"));
    let record = SessionRecord { data, expires_at };
    let key = store.create(&record).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), Some(record));
    assert_eq!(store.clear_expired().await.unwrap(), 0);
    clock.advance(Duration::from_millis(1));
    assert_eq!(store.load(&key).await.unwrap(), None);
    assert_eq!(store.clear_expired().await.unwrap(), 1);
    clock.set(expires_at - chrono::Duration::seconds(1));
    assert_eq!(store.load(&key).await.unwrap(), None, "the row is gone");
}

struct AuthMigrator;

impl MigratorTrait for AuthMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        compose([migrations()]).expect("unique names")
    }
}

/// The auth migrations, `batteries_session` among them.
async fn migrate(db: &DatabaseConnection) {
    AuthMigrator::up(db, None).await.expect("auth migrations");
}

async fn database_stores(db: &TestDb) -> Stores {
    migrate(db.conn()).await;
    // A second pool on the same database, as a second app instance would have (SQLite in
    // memory has one connection only, so there the pool is shared).
    let second = match db.url() {
        Some(url) => batteries::orm::db::connect(&url)
            .await
            .expect("second connection"),
        None => db.conn().clone(),
    };
    Stores {
        one: Arc::new(DatabaseSessionStore::new(db.conn().clone())),
        two: Arc::new(DatabaseSessionStore::new(second)),
        sweeps: true,
    }
}

/// Two connections to Redis with a key prefix of this test's own; `None` (after saying
/// why) when Redis is unreachable outside CI.
///
/// # Panics
/// Under CI, when Redis is unreachable.
async fn redis_stores(test: &str) -> Option<Stores> {
    let (a, b, _) = batteries_tests::redis_pair(test, |url, prefix| async move {
        RedisSessionStore::open(&url)
            .await
            .map(|store| store.with_prefix(prefix))
    })
    .await?;
    Some(Stores {
        one: Arc::new(a),
        two: Arc::new(b),
        sweeps: false,
    })
}
