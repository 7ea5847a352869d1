//! [`MemoryThrottleStore`]: counters in this process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::record::Record;
use super::{Attempts, Limit, ThrottleError, ThrottleStore};

/// Below this many keys the store does not sweep expired ones.
const MIN_SWEEP: usize = 1024;

/// A [`ThrottleStore`] in this process's memory: for tests and single-process apps.
/// Several app instances each have their own counters; share a [`DatabaseThrottleStore`] or
/// `RedisThrottleStore` between them instead.
///
/// Keys expire a window after their last failure and lockout. Expired keys are swept
/// whenever the map has doubled since the last sweep, so it holds at most about twice
/// the keys that are live (and at least 1024 before the first sweep).
///
/// [`DatabaseThrottleStore`]: super::DatabaseThrottleStore
#[derive(Debug)]
pub struct MemoryThrottleStore {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: HashMap<String, Entry>,
    /// Sweep when the map reaches this many keys.
    sweep_at: usize,
}

#[derive(Debug)]
struct Entry {
    record: Record,
    /// When the record may be dropped (milliseconds since the Unix epoch).
    expires_at: i64,
}

impl Default for MemoryThrottleStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryThrottleStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                keys: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }

    /// How many keys the store holds, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the keys that expired by `now`; returns how many.
    pub fn purge_expired(&self, now: DateTime<Utc>) -> usize {
        let mut inner = self.lock();
        let removed = sweep(&mut inner.keys, now.timestamp_millis());
        inner.sweep_at = MIN_SWEEP.max(inner.keys.len() * 2);
        removed
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map is consistent after every statement: a panic elsewhere cannot leave it
        // half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn sweep(keys: &mut HashMap<String, Entry>, now: i64) -> usize {
    let before = keys.len();
    keys.retain(|_, entry| entry.expires_at > now);
    before - keys.len()
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        let now = now.timestamp_millis();
        let mut inner = self.lock();
        if inner.keys.len() >= inner.sweep_at {
            sweep(&mut inner.keys, now);
            inner.sweep_at = MIN_SWEEP.max(inner.keys.len() * 2);
        }
        let mut record = inner
            .keys
            .remove(key)
            .map(|entry| entry.record)
            .unwrap_or_default()
            .live(now, limit);
        record.fail(now, limit);
        let attempts = record.attempts();
        let expires_at = record.expires_at(limit).unwrap_or(now);
        inner
            .keys
            .insert(key.to_owned(), Entry { record, expires_at });
        Ok(attempts)
    }

    async fn attempts(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        let now = now.timestamp_millis();
        let mut inner = self.lock();
        let Some(entry) = inner.keys.get(key) else {
            return Ok(Attempts::default());
        };
        if entry.expires_at <= now {
            inner.keys.remove(key);
            return Ok(Attempts::default());
        }
        Ok(entry.record.clone().live(now, limit).attempts())
    }

    async fn clear(&self, key: &str) -> Result<(), ThrottleError> {
        self.lock().keys.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn limit() -> Limit {
        Limit::new(3, Duration::from_secs(100))
            .with_lockout(Duration::from_secs(10), Duration::from_secs(1000))
    }

    #[tokio::test]
    async fn counts_failures_and_locks_at_the_limit() {
        let store = MemoryThrottleStore::new();
        let limit = limit();
        for i in 1..=2 {
            let a = store.record_failure("k", at(i), &limit).await.unwrap();
            assert_eq!(
                (a.failures, a.lockouts, a.locked_until),
                (i as u32, 0, None)
            );
        }
        let a = store.record_failure("k", at(3), &limit).await.unwrap();
        assert_eq!(a.lockouts, 1);
        assert_eq!(a.locked_until, Some(at(13)));
        assert_eq!(a.retry_after(at(3)), Some(Duration::from_secs(10)));
        assert_eq!(store.attempts("k", at(5), &limit).await.unwrap(), a);
        assert_eq!(
            store.attempts("other", at(5), &limit).await.unwrap(),
            Attempts::default()
        );
    }

    #[tokio::test]
    async fn each_failure_at_the_limit_doubles_the_lockout() {
        let store = MemoryThrottleStore::new();
        let limit = limit();
        for i in 0..3 {
            store.record_failure("k", at(i), &limit).await.unwrap();
        }
        let a = store.record_failure("k", at(20), &limit).await.unwrap();
        assert_eq!((a.lockouts, a.locked_until), (2, Some(at(40))));
        let a = store.record_failure("k", at(40), &limit).await.unwrap();
        assert_eq!((a.lockouts, a.locked_until), (3, Some(at(80))));
        assert_eq!(a.failures, 3, "the store keeps no more than max_failures");
    }

    #[tokio::test]
    async fn failures_slide_out_of_the_window() {
        let store = MemoryThrottleStore::new();
        let limit = limit();
        store.record_failure("k", at(0), &limit).await.unwrap();
        store.record_failure("k", at(60), &limit).await.unwrap();
        let a = store.attempts("k", at(100), &limit).await.unwrap();
        assert_eq!(
            a.failures, 1,
            "the failure at 0 is out of the window at 100"
        );
        let a = store.record_failure("k", at(101), &limit).await.unwrap();
        assert_eq!((a.failures, a.locked_until), (2, None));
    }

    #[tokio::test]
    async fn backoff_is_forgotten_after_a_quiet_window() {
        let store = MemoryThrottleStore::new();
        let limit = limit();
        for i in 0..4 {
            store.record_failure("k", at(i), &limit).await.unwrap();
        }
        assert_eq!(
            store.attempts("k", at(4), &limit).await.unwrap().lockouts,
            2
        );
        // Lockout ends at 3 + 20 = 23; quiet until 23 + 100.
        assert_eq!(
            store.attempts("k", at(122), &limit).await.unwrap().lockouts,
            2
        );
        assert_eq!(
            store.attempts("k", at(123), &limit).await.unwrap(),
            Attempts::default()
        );
        assert!(store.is_empty(), "reading an expired key drops it");
    }

    #[tokio::test]
    async fn clear_forgets_the_key() {
        let store = MemoryThrottleStore::new();
        let limit = limit();
        for i in 0..3 {
            store.record_failure("k", at(i), &limit).await.unwrap();
        }
        store.clear("k").await.unwrap();
        assert_eq!(
            store.attempts("k", at(3), &limit).await.unwrap(),
            Attempts::default()
        );
        let a = store.record_failure("k", at(4), &limit).await.unwrap();
        assert_eq!((a.failures, a.lockouts), (1, 0));
    }

    #[tokio::test]
    async fn expired_keys_are_swept_so_the_map_stays_bounded() {
        let store = MemoryThrottleStore::new();
        let limit = limit();
        // One failure per key, a new key every second, for far longer than the window:
        // only the keys of the last window are live.
        for i in 0..20_000_i64 {
            store
                .record_failure(&format!("k{i}"), at(i), &limit)
                .await
                .unwrap();
            assert!(store.len() <= MIN_SWEEP, "{} keys", store.len());
        }
        let left = store.len();
        assert_eq!(store.purge_expired(at(20_098)), left - 1);
        assert_eq!(store.len(), 1, "the key of the last second is still live");
        assert_eq!(store.purge_expired(at(20_099)), 1);
        assert!(store.is_empty());
    }
}
