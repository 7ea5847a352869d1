//! [`MemoryRateLimitStore`]: buckets in this process's memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Bucket, Decision, RateLimitError, RateLimitStore};

/// How many shards, each behind its own lock.
const SHARDS: usize = 16;
/// Below this many keys a shard does not sweep full buckets.
const MIN_SWEEP: usize = 256;

/// A [`RateLimitStore`] in this process's memory: for tests and single-process apps.
/// Several app instances each have their own buckets; share a `RedisRateLimitStore`
/// between them instead.
///
/// Keys are spread over 16 shards, each a `Mutex<HashMap>`, so concurrent requests
/// rarely wait for each other. A full bucket is the same as no bucket, so the store
/// forgets full ones: a shard sweeps them out whenever it has doubled since its last
/// sweep. It then holds at most about twice the keys whose buckets are not full, which
/// is bounded by the requests of the last refill period.
#[derive(Debug)]
pub struct MemoryRateLimitStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

#[derive(Debug)]
struct Shard {
    /// Each key's state (see [`Bucket::take`]): when its bucket is full again, in
    /// milliseconds since the Unix epoch.
    full_at: HashMap<String, i64>,
    /// Sweep when the shard reaches this many keys.
    sweep_at: usize,
}

impl Default for MemoryRateLimitStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimitStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        full_at: HashMap::new(),
                        sweep_at: MIN_SWEEP,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
        }
    }

    /// How many keys the store holds, full buckets not yet swept included.
    pub fn len(&self) -> usize {
        (0..self.shards.len())
            .map(|i| self.lock(i).full_at.len())
            .sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the buckets that are full by `now`; returns how many.
    pub fn purge_full(&self, now: DateTime<Utc>) -> usize {
        let now = now.timestamp_millis();
        (0..self.shards.len())
            .map(|i| self.lock(i).sweep(now))
            .sum()
    }

    fn shard_of(&self, key: &str) -> usize {
        // `RandomState` is seeded per store: a client cannot pick keys that all land in
        // one shard.
        (self.hasher.hash_one(key) as usize) % self.shards.len()
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // Each statement leaves the map consistent: a panic elsewhere cannot leave it
        // half-updated.
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shard {
    fn sweep(&mut self, now: i64) -> usize {
        let before = self.full_at.len();
        self.full_at.retain(|_, full_at| *full_at > now);
        self.sweep_at = MIN_SWEEP.max(self.full_at.len() * 2);
        before - self.full_at.len()
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn take(
        &self,
        key: &str,
        bucket: Bucket,
        now: DateTime<Utc>,
    ) -> Result<Decision, RateLimitError> {
        let now = now.timestamp_millis();
        let mut shard = self.lock(self.shard_of(key));
        let (decision, full_at) = bucket.take(shard.full_at.get(key).copied(), now);
        if let Some(full_at) = full_at {
            if let Some(state) = shard.full_at.get_mut(key) {
                *state = full_at;
            } else {
                if shard.full_at.len() >= shard.sweep_at {
                    shard.sweep(now);
                }
                shard.full_at.insert(key.to_owned(), full_at);
            }
        }
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn at_ms(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[tokio::test]
    async fn separate_keys_have_separate_buckets() {
        let store = MemoryRateLimitStore::new();
        let bucket = Bucket::new(1, 1.0);
        assert!(
            store
                .take("a", bucket, at_ms(0))
                .await
                .unwrap()
                .is_allowed()
        );
        assert!(
            !store
                .take("a", bucket, at_ms(0))
                .await
                .unwrap()
                .is_allowed()
        );
        assert!(
            store
                .take("b", bucket, at_ms(0))
                .await
                .unwrap()
                .is_allowed()
        );
        assert_eq!(
            store
                .take("a", bucket, at_ms(250))
                .await
                .unwrap()
                .retry_after(),
            Some(Duration::from_millis(750))
        );
        assert!(
            store
                .take("a", bucket, at_ms(1000))
                .await
                .unwrap()
                .is_allowed()
        );
    }

    #[tokio::test]
    async fn full_buckets_are_swept_so_memory_stays_bounded() {
        let store = MemoryRateLimitStore::new();
        let bucket = Bucket::new(10, 1.0); // full 1 s after a take
        // A new key every millisecond for far longer than a bucket takes to refill:
        // only the keys of the last second are not full.
        for i in 0..40_000_i64 {
            store
                .take(&format!("k{i}"), bucket, at_ms(i))
                .await
                .unwrap();
        }
        let held = store.len();
        assert!(held <= SHARDS * MIN_SWEEP, "{held} keys held");
        let purged = store.purge_full(at_ms(40_000));
        assert_eq!(store.len(), held - purged);
        assert_eq!(
            store.len(),
            999,
            "the takes of the last second are not full yet"
        );
        store.purge_full(at_ms(41_000));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn a_refused_take_changes_nothing() {
        let store = MemoryRateLimitStore::new();
        let bucket = Bucket::new(1, 1.0);
        store.take("k", bucket, at_ms(0)).await.unwrap();
        for ms in [100, 200, 300] {
            assert!(
                !store
                    .take("k", bucket, at_ms(ms))
                    .await
                    .unwrap()
                    .is_allowed()
            );
        }
        assert!(
            store
                .take("k", bucket, at_ms(1000))
                .await
                .unwrap()
                .is_allowed()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_takes_never_exceed_the_capacity() {
        let store = Arc::new(MemoryRateLimitStore::new());
        let bucket = Bucket::new(50, 0.001);
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.take("k", bucket, at_ms(0)).await.unwrap() })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            allowed += usize::from(task.await.unwrap().is_allowed());
        }
        assert_eq!(allowed, 50);
    }
}
