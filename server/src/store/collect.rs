//! How a writer gathers one batch: its first job, whatever else is queued, and — while the relay
//! is under load — whatever arrives before the batch's deadline.
//!
//! Committing only what happens to be queued ("by luck of arrival") makes evenly spaced
//! traffic pay one transaction, one fsync and one round of replies per message. With a
//! deadline the writer keeps its transaction open up to [`StoreConfig::commit_window`] after
//! the first job, so one fsync covers the whole window. At idle a deadline would only add
//! latency, so it applies only after a batch that held more than one job (messages arriving
//! faster than a commit takes); a lone message at idle is committed at once.
//!
//! How the writer waits inside the window is the backend's choice ([`Wait`]). SQLite's jobs
//! take microseconds, so its writer sleeps until the deadline once and then runs whatever
//! arrived: waiting on the queue instead would wake it (and make the sender pay a futex call)
//! for every job that arrives in the window, and the jobs' work is short next to the commit.
//! (A sleeping writer does not notice a batch filling before the deadline; at the default
//! 2,048 jobs in 2 ms that is a million messages a second, far past what one writer
//! commits, and the bounded job queue holds senders back meanwhile.)
//! A PostgreSQL job costs a network round trip, so its writer runs each job as it arrives (a
//! timed receive), and the batch commits at the deadline, not a round trip per job after it.
//!
//! [`StoreConfig::commit_window`]: super::StoreConfig::commit_window

use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TryRecvError};

use super::Job;
use crate::error::{Error, Result};

/// How a writer waits for more jobs while a batch's window is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Sleep until the deadline once, then take what arrived: no wake-up per job.
    Sleep,
    /// Take each job as it arrives, up to the deadline: its work overlaps the window.
    Receive,
}

/// Gathers the jobs of each batch for one writer thread.
pub(crate) struct Collector {
    window: Duration,
    max: usize,
    /// The last batch held more than one job: wait for more up to the deadline.
    busy: bool,
    /// Timer for [`Wait::Receive`] (none: [`Wait::Sleep`]); the writer thread has no runtime
    /// of its own.
    rt: Option<tokio::runtime::Runtime>,
}

impl Collector {
    /// A collector for batches of at most `max` jobs, open for at most `window` under load,
    /// waiting within it the `wait` way.
    pub(crate) fn new(window: Duration, max: usize, wait: Wait) -> Result<Self> {
        let rt = match wait {
            Wait::Sleep => None,
            Wait::Receive => Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .map_err(|e| Error::Internal(format!("store timer: {e}")))?,
            ),
        };
        Ok(Collector {
            window,
            max,
            busy: false,
            rt,
        })
    }

    /// The next job for the batch opened at `opened` that holds `ran` jobs so far, or `None`
    /// when it is time to commit.
    pub(crate) fn next(
        &mut self,
        rx: &mut mpsc::Receiver<Job>,
        opened: Instant,
        ran: usize,
    ) -> Option<Job> {
        if ran >= self.max {
            return None;
        }
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if !self.busy || self.window.is_zero() {
            return None;
        }
        // Past the deadline (always so after one sleep): commit.
        let left = (opened + self.window).checked_duration_since(Instant::now())?;
        match &self.rt {
            None => {
                std::thread::sleep(left);
                rx.try_recv().ok()
            }
            // The timer must be made inside the runtime it runs on.
            Some(rt) => rt
                .block_on(async { tokio::time::timeout(left, rx.recv()).await })
                .ok()
                .flatten(),
        }
    }

    /// The batch was committed (or failed) holding `ran` jobs.
    pub(crate) fn finished(&mut self, ran: usize) {
        self.busy = ran > 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Box::new(|_, _| {})
    }

    #[test]
    fn an_idle_writer_commits_a_lone_job_at_once_and_a_busy_one_waits_for_the_deadline() {
        for wait in [Wait::Sleep, Wait::Receive] {
            idle_then_busy(wait);
        }
    }

    fn idle_then_busy(wait: Wait) {
        let (tx, mut rx) = mpsc::channel::<Job>(8);
        // Sleeping waits out the whole window; receiving returns with the job. Either way the
        // window leaves the late sender below seconds to be scheduled on a loaded machine.
        let window = match wait {
            Wait::Sleep => Duration::from_secs(2),
            Wait::Receive => Duration::from_secs(5),
        };
        let mut c = Collector::new(window, 8, wait).unwrap();
        let opened = Instant::now();
        assert!(
            c.next(&mut rx, opened, 1).is_none(),
            "idle: nothing queued, commit"
        );
        c.finished(1);

        tx.try_send(job()).unwrap();
        assert!(
            c.next(&mut rx, opened, 1).is_some(),
            "queued work joins the batch"
        );
        c.finished(2);

        // Busy now: a job sent while the batch is open joins it instead of waiting for the
        // next commit.
        let sender = tx.clone();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let _ = sender.try_send(job());
        });
        assert!(c.next(&mut rx, Instant::now(), 1).is_some());
        late.join().unwrap();
        // Past the deadline the batch commits even while busy.
        let long_ago = Instant::now() - Duration::from_secs(10);
        assert!(c.next(&mut rx, long_ago, 1).is_none());
        // Full batches commit whatever is queued.
        tx.try_send(job()).unwrap();
        assert!(c.next(&mut rx, Instant::now(), 8).is_none());
    }
}
