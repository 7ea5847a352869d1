//! The threads that run the async API's password hashes: a few dedicated threads fed by a
//! short queue, so that a flood of logins costs a bounded amount of memory and CPU.
//!
//! One argon2id hash (the default, m=19456 KiB) takes 19 MiB while it runs, and glibc's
//! allocator keeps what each thread touched (per-thread arenas, a dynamic mmap
//! threshold). On Tokio's blocking pool (up to 512 threads) 300 concurrent failed
//! logins took a process from 13 MB to 16 GB. On a [`HashPool`] at most
//! [`threads`](HashPool::threads) threads ever hash, so memory stays near
//! `threads × 19 MiB`; at most [`queue`](HashPool::queue) more hashes wait, and the
//! rest are refused at once with [`HashError::Busy`] (answer `503` with `Retry-After`,
//! [`BUSY_RETRY_AFTER`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use std::{fmt, thread};

use super::HashError;

/// How long a client refused with [`HashError::Busy`] is asked to wait
/// (`Retry-After: 1`).
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The most threads the global pool starts by default, whatever the number of cores
/// (8 × 19 MiB for argon2id).
const DEFAULT_MAX_THREADS: usize = 8;

/// Hashes that may wait per thread in the global pool by default.
const DEFAULT_QUEUE_PER_THREAD: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

static GLOBAL: OnceLock<HashPool> = OnceLock::new();

/// A fixed set of threads running password hashes for the async API
/// ([`Hashers::make_async`](super::Hashers::make_async),
/// [`verify_async`](super::Hashers::verify_async), …), with a bounded queue in front.
///
/// Every [`Hashers`](super::Hashers) uses the [global](Self::global) pool unless given
/// another with [`Hashers::with_pool`](super::Hashers::with_pool). Cheap to clone; the
/// threads stop when the last clone is dropped (the global pool's never do).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), batteries_auth::hashers::HashError> {
/// use batteries_auth::hashers::{HashPool, Hashers};
///
/// // Two hashing threads, and at most 16 hashes waiting for them.
/// let pool = HashPool::new(2, 16);
/// let hashers = Hashers::default().with_pool(pool.clone());
/// let encoded = hashers.make_async("s3cret".into()).await?;
/// assert!(hashers.verify_async("s3cret".into(), encoded).await?.is_valid());
/// assert_eq!((pool.threads(), pool.queue()), (2, 16));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    sender: SyncSender<Job>,
    threads: usize,
    queue: usize,
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.inner.threads)
            .field("queue", &self.inner.queue)
            .finish()
    }
}

impl HashPool {
    /// Starts `threads` hashing threads (at least 1) behind a queue of `queue` waiting
    /// hashes (0: none wait; a hash is refused unless a thread is free).
    ///
    /// Memory for argon2id at the default parameters is about `threads × 19 MiB`.
    ///
    /// # Panics
    /// When the operating system cannot start a thread.
    #[must_use]
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = threads.max(1);
        // A rendezvous channel (capacity 0) would refuse a job whenever no thread is
        // blocked in `recv` at that instant; the workers take jobs from the channel, so
        // its capacity is the queue, and a free thread is counted by `Idle` below.
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = Arc::clone(&receiver);
            #[allow(clippy::expect_used)]
            thread::Builder::new()
                .name(format!("batteries-hash-{n}"))
                .spawn(move || work(&receiver))
                .expect("start a password hashing thread");
        }
        Self {
            inner: Arc::new(PoolInner {
                sender,
                threads,
                queue,
            }),
        }
    }

    /// The pool every [`Hashers`](super::Hashers) uses by default, started on first
    /// use: as many threads as cores, at most 8, and 8 waiting hashes per thread.
    /// The environment variables `BATTERIES_HASH_THREADS` and `BATTERIES_HASH_QUEUE`
    /// override both, or call [`set_global`](Self::set_global) first.
    pub fn global() -> &'static HashPool {
        GLOBAL.get_or_init(|| {
            let cores = thread::available_parallelism().map_or(1, usize::from);
            let threads = env_number("BATTERIES_HASH_THREADS")
                .unwrap_or_else(|| cores.min(DEFAULT_MAX_THREADS))
                .max(1);
            let queue = env_number("BATTERIES_HASH_QUEUE")
                .unwrap_or(threads.saturating_mul(DEFAULT_QUEUE_PER_THREAD));
            HashPool::new(threads, queue)
        })
    }

    /// Makes `pool` the [global](Self::global) one. Call it at start-up, before any
    /// hashing.
    ///
    /// # Errors
    /// Gives `pool` back when the global pool was already set or started.
    pub fn set_global(pool: HashPool) -> Result<(), HashPool> {
        GLOBAL.set(pool)
    }

    /// The number of hashing threads.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// How many hashes may wait for a thread.
    pub fn queue(&self) -> usize {
        self.inner.queue
    }

    /// Runs `work` on one of the pool's threads.
    ///
    /// # Errors
    /// [`HashError::Busy`] at once when every thread is busy and the queue is full;
    /// [`HashError::Task`] when `work` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.submit(work)?
            .await
            .unwrap_or(Err(HashError::Task("was cancelled")))
    }

    /// Queues `work`, or refuses it when the queue is full.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, HashError>>, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller gave up (its request was dropped): do not hash for nobody.
            if done.is_closed() {
                return;
            }
            let outcome = catch_unwind(AssertUnwindSafe(work));
            let _ = done.send(outcome.map_err(|_| HashError::Task("panicked")));
        });
        match self.inner.sender.try_send(job) {
            Ok(()) => Ok(result),
            Err(TrySendError::Full(_)) => Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(HashError::Task("was cancelled")),
        }
    }
}

/// A worker: takes jobs until every sender is gone.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            // Prefer a job already waiting; else block (holding the lock is fine: the
            // other idle workers have nothing to take either).
            match receiver.try_recv() {
                Ok(job) => job,
                Err(TryRecvError::Empty) => match receiver.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
                Err(TryRecvError::Disconnected) => return,
            }
        };
        job();
    }
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::mpsc;

    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_the_rest_still_run() {
        let pool = HashPool::new(1, 1);
        let (release, wait) = mpsc::channel::<()>();
        let (started, is_started) = mpsc::channel::<()>();
        let first = pool
            .submit(move || {
                let _ = started.send(());
                let _ = wait.recv();
                1
            })
            .expect("a free thread");
        is_started.recv().expect("the first job runs");
        // The thread is busy: one job may wait, the next is refused.
        let second = pool.submit(|| 2).expect("a place in the queue");
        assert_eq!(pool.submit(|| 3).err(), Some(HashError::Busy));
        assert_eq!(pool.run(|| 3).await, Err(HashError::Busy));
        release.send(()).expect("release");
        assert_eq!(first.await.expect("sent"), Ok(1));
        assert_eq!(second.await.expect("sent"), Ok(2));
        assert_eq!(pool.run(|| 4).await, Ok(4));
    }

    #[tokio::test]
    async fn only_the_pools_threads_ever_hash() {
        let pool = HashPool::new(2, 64);
        let jobs = (0..64).map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| thread::current().id()).await })
        });
        let mut ids = HashSet::new();
        for job in jobs {
            ids.insert(job.await.expect("join").expect("run"));
        }
        assert!(ids.len() <= 2, "{} threads hashed", ids.len());
    }

    #[tokio::test]
    async fn a_panic_is_a_task_error_and_the_thread_survives() {
        let pool = HashPool::new(1, 1);
        let panicked: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert_eq!(panicked, Err(HashError::Task("panicked")));
        assert_eq!(pool.run(|| 5).await, Ok(5));
    }
}
