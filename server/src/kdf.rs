//! Password hashing capacity: a few dedicated threads that compute argon2id, and two lanes
//! (login, registration) that share them out.
//!
//! Why dedicated threads: each argon2id computation needs 19 MiB of working memory. Allocated
//! per call on tokio's blocking pool, that memory ends up cached in one glibc arena per thread
//! that ever hashed, and a burst of registrations left a fresh relay at 450–700 MB resident
//! for good. Here every thread allocates its buffer once, on its first job, and reuses it, so
//! the memory spent on passwords is bounded by the thread count times 19 MiB.
//!
//! Why lanes: logins and registrations each have their own permits (see
//! [`crate::config::Limits`]), so a flood of registrations cannot make logins wait. A lane
//! lets a bounded number of requests wait for a permit; beyond that it answers `busy` at once
//! instead of building an unbounded queue. The pool has as many threads as both lanes have
//! permits, so a permitted job never waits for a thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use argon2::Block;
use tern_proto::ErrorCode;
use tokio::sync::{oneshot, Semaphore, SemaphorePermit};

use crate::auth;
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::metrics::Metrics;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Threads that run argon2id jobs, each with its own reused working memory.
pub struct KdfPool {
    /// Dropped first on shutdown, which ends every thread's receive loop.
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl KdfPool {
    /// Start `threads` hashing threads.
    pub fn new(threads: usize) -> Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..threads.max(1))
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("tern-kdf-{i}"))
                    .spawn(move || {
                        let mut memory = Vec::new();
                        loop {
                            // The lock is only held while waiting for the next job.
                            let job = rx.lock().unwrap().recv();
                            match job {
                                Ok(job) => job(&mut memory),
                                Err(_) => break,
                            }
                        }
                    })
                    .map_err(|e| Error::Internal(format!("cannot start a kdf thread: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KdfPool {
            jobs: Some(jobs),
            threads,
        })
    }

    /// Run `f` on a pool thread with that thread's working memory.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = tx.send(f(memory));
        });
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| Error::Internal("kdf pool stopped".into()))?;
        rx.await
            .map_err(|_| Error::Internal("kdf job failed".into()))
    }
}

impl Drop for KdfPool {
    fn drop(&mut self) {
        self.jobs.take();
        for t in self.threads.drain(..) {
            // At most one computation (tens of milliseconds) is left to finish.
            let _ = t.join();
        }
    }
}

/// Permits for one kind of work, with a bounded number of waiters.
pub struct KdfLane {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Decrements the waiter count however the wait ends (including cancellation).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl KdfLane {
    /// `permits` computations at once, at most `max_waiting` requests queued behind them.
    pub fn new(permits: usize, max_waiting: usize) -> Self {
        KdfLane {
            permits: Semaphore::new(permits.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A permit, or `busy` when too many requests already wait for one.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::refused(
                ErrorCode::Busy,
                "the relay is busy checking passwords; try again in a moment",
            ));
        }
        let _waiting = Waiting(&self.waiting);
        self.permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("kdf lane closed".into()))
    }
}

/// The relay's password hashing: the pool and its two lanes.
pub struct Kdf {
    pool: KdfPool,
    cost: auth::Argon2Cost,
    login: KdfLane,
    register: KdfLane,
}

impl Kdf {
    /// Threads and lanes sized by `limits`.
    pub fn new(limits: &Limits) -> Result<Self> {
        let login = limits.login_password_checks.max(1);
        let register = limits.register_password_hashes.max(1);
        Ok(Kdf {
            pool: KdfPool::new(login + register)?,
            cost: limits.argon2,
            login: KdfLane::new(login, limits.password_queue),
            register: KdfLane::new(register, limits.password_queue),
        })
    }

    /// Check `password` against a stored hash on the login lane.
    pub async fn verify(
        &self,
        metrics: &Metrics,
        password: String,
        stored: String,
    ) -> Result<bool> {
        let _permit = self.login.acquire().await?;
        metrics
            .password_verifications
            .fetch_add(1, Ordering::Relaxed);
        self.pool
            .run(move |memory| auth::verify_password_with(&password, &stored, memory))
            .await
    }

    /// Hash a new account's password on the registration lane.
    pub async fn hash(&self, metrics: &Metrics, password: String) -> Result<String> {
        let _permit = self.register.acquire().await?;
        self.hash_now(metrics, password).await
    }

    /// Hash a password for a signed-in user (a password change, or an upgrade of an outdated
    /// hash right after a login checked it) on the login lane.
    pub async fn rehash(&self, metrics: &Metrics, password: String) -> Result<String> {
        let _permit = self.login.acquire().await?;
        self.hash_now(metrics, password).await
    }

    async fn hash_now(&self, metrics: &Metrics, password: String) -> Result<String> {
        metrics.password_hashes.fetch_add(1, Ordering::Relaxed);
        let cost = self.cost;
        self.pool
            .run(move |memory| auth::hash_password_with(&password, memory, cost))
            .await?
    }

    /// Whether a stored hash was made at another cost than the configured one.
    pub fn outdated(&self, stored: &str) -> bool {
        self.cost.outdated(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lane_queues_a_bounded_number_of_waiters_then_answers_busy() {
        let lane = Arc::new(KdfLane::new(1, 1));
        let held = lane.acquire().await.unwrap();
        let l = lane.clone();
        let waiter = tokio::spawn(async move { l.acquire().await.map(|_| ()) });
        while lane.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = lane.acquire().await.err().unwrap();
        assert_eq!(refused.code(), ErrorCode::Busy);
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(lane.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_pool_hashes_and_verifies() {
        let pool = KdfPool::new(2).unwrap();
        let hash = pool
            .run(|m| auth::hash_password_with("correct horse", m, auth::Argon2Cost::default()))
            .await
            .unwrap()
            .unwrap();
        let ok = pool
            .run(move |m| auth::verify_password_with("correct horse", &hash, m))
            .await
            .unwrap();
        assert!(ok);
    }
}
