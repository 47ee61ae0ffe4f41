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
//! Within the window the writer sleeps until the deadline once, then runs whatever arrived.
//! Waiting on the queue instead would wake the writer (and make the sender pay a futex call)
//! for every job that arrives in the window; asleep, it has no waker to wake, and the jobs'
//! work still happens before the commit the deadline would have made anyway.
//!
//! [`StoreConfig::commit_window`]: super::StoreConfig::commit_window

use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TryRecvError};

use super::Job;

/// Gathers the jobs of each batch for one writer thread.
pub(crate) struct Collector {
    window: Duration,
    max: usize,
    /// The last batch held more than one job: wait for more up to the deadline.
    busy: bool,
}

impl Collector {
    /// A collector for batches of at most `max` jobs, open for at most `window` under load.
    pub(crate) fn new(window: Duration, max: usize) -> Self {
        Collector {
            window,
            max,
            busy: false,
        }
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
        // Past the deadline (always so after the one sleep below): commit.
        let left = (opened + self.window).checked_duration_since(Instant::now())?;
        std::thread::sleep(left);
        rx.try_recv().ok()
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
        let (tx, mut rx) = mpsc::channel::<Job>(8);
        let mut c = Collector::new(Duration::from_secs(1), 8);
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
