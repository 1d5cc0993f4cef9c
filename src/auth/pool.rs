//! The hashing pool: argon2 never runs on the async reactor. Owns the semaphore (one slot per
//! core by default, each with its own thread in `hash_threads.rs`), the queue timeout that turns a long wait into [`Busy`] (never counted as a
//! failure), and counters of the work done (read by tests and metrics).
//!
//! Uses `config` and `instruments` only; must not import `store`, `sip2`, `server` or `accounts`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::hash_threads::HashThreads;
use crate::config::security::HashingConfig;
use crate::instruments;

/// No hashing slot became free within the queue timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all hashing slots are busy")]
pub struct Busy;

/// What a job on the pool does; each kind has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Verification against a stored hash.
    Verify,
    /// Verification against the dummy hash (unknown card, locked account, no PIN on file).
    DummyVerify,
    /// A new hash.
    Hash,
}

/// Work done by a pool since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCounts {
    pub verifications: u64,
    pub dummy_verifications: u64,
    pub hashes: u64,
    pub busy: u64,
}

#[derive(Debug, Default)]
struct Counters {
    verifications: AtomicU64,
    dummy_verifications: AtomicU64,
    hashes: AtomicU64,
    busy: AtomicU64,
}

/// A fixed set of hashing threads for argon2, one per slot. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HashPool {
    slots: Arc<Semaphore>,
    size: usize,
    queue_timeout: Duration,
    counters: Arc<Counters>,
    threads: Arc<HashThreads>,
}

/// A held hashing slot: the right to run one job.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
    threads: Arc<HashThreads>,
}

impl HashPool {
    /// `max_concurrent` slots (0 = one per available core), waiting at most `queue_timeout`.
    pub fn new(config: &HashingConfig) -> Self {
        let size = match config.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Self {
            slots: Arc::new(Semaphore::new(size)),
            size,
            queue_timeout: config.queue_timeout,
            counters: Arc::default(),
            threads: HashThreads::start(size),
        }
    }

    /// Number of jobs that may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Slots held right now.
    pub(crate) fn in_use(&self) -> usize {
        self.size.saturating_sub(self.slots.available_permits())
    }

    /// Waits for a free slot, at most the queue timeout.
    pub(crate) async fn acquire(&self) -> Result<Slot, Busy> {
        let queued = std::time::Instant::now();
        let acquired = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned());
        let acquired = acquired.await;
        instruments::hash_queue_wait(queued.elapsed());
        match acquired {
            Ok(Ok(permit)) => Ok(Slot {
                _permit: permit,
                counters: self.counters.clone(),
                threads: self.threads.clone(),
            }),
            // The semaphore is never closed; a closed one is treated like a full one.
            Ok(Err(_)) | Err(_) => {
                self.counters.busy.fetch_add(1, Ordering::Relaxed);
                instruments::hash_busy();
                Err(Busy)
            }
        }
    }

    /// Acquires a slot and runs `job` on it.
    pub async fn run<T, F>(&self, kind: Job, job: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Ok(self.acquire().await?.run(kind, job).await)
    }

    pub(crate) fn counts(&self) -> PoolCounts {
        let c = &self.counters;
        PoolCounts {
            verifications: c.verifications.load(Ordering::Relaxed),
            dummy_verifications: c.dummy_verifications.load(Ordering::Relaxed),
            hashes: c.hashes.load(Ordering::Relaxed),
            busy: c.busy.load(Ordering::Relaxed),
        }
    }
}

impl Slot {
    /// Runs `job` on a hashing thread, keeping the slot until it ends.
    pub(crate) async fn run<T, F>(self, kind: Job, job: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let counter = match kind {
            Job::Verify => &self.counters.verifications,
            Job::DummyVerify => &self.counters.dummy_verifications,
            Job::Hash => &self.counters.hashes,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // A panic inside argon2 is a bug, not an outcome: `run` carries it to the caller's task.
        self.threads.run(job).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(slots: usize, timeout_ms: u64) -> HashingConfig {
        HashingConfig {
            max_concurrent: slots,
            queue_timeout: Duration::from_millis(timeout_ms),
            ..HashingConfig::default()
        }
    }

    #[tokio::test]
    async fn zero_means_one_slot_per_core() {
        let pool = HashPool::new(&config(0, 10));
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(pool.size(), cores);
    }

    #[tokio::test]
    async fn a_full_pool_answers_busy_after_the_queue_timeout() {
        let pool = HashPool::new(&config(1, 50));
        let held = pool.acquire().await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(pool.run(Job::Verify, || 1).await, Err(Busy));
        assert!(started.elapsed() >= Duration::from_millis(45));
        drop(held);
        assert_eq!(pool.run(Job::Verify, || 2).await, Ok(2));
        let counts = pool.counts();
        assert_eq!((counts.busy, counts.verifications), (1, 1));
    }

    #[tokio::test]
    async fn never_more_jobs_than_slots_at_once() {
        let pool = HashPool::new(&config(2, 5_000));
        let running = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        let jobs = (0..8).map(|_| {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            tokio::spawn(async move {
                pool.run(Job::Hash, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            })
        });
        for job in jobs.collect::<Vec<_>>() {
            job.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(pool.counts().hashes, 8);
    }
}
