//! What a committed (or failed) batch leaves to do — its publications, then its replies —
//! handed to the event loop in one hop.
//!
//! Every publication wakes the connection tasks of its recipients and every reply wakes the task
//! that queued the job. Done on the writer thread, each of those wakes is a cross-thread hop: a
//! write to the event loop's wake-up descriptor and another return from its `epoll_wait`, per
//! message. Handed over as one item to a task on the runtime that opened the store, a batch costs
//! one hop whatever its size, and the wakes it makes there are local.
//!
//! Batches are settled in commit order (one FIFO channel, one task), so publications keep the
//! order the writer committed them in. Outside a runtime (tools that open the store to seed
//! it), or once that runtime's task is gone, the writer settles batches itself. The runtime
//! that opens the store must therefore keep being driven while the store is used: a runtime
//! that is alive but idle would hold every answer.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Batch;
use crate::fanout::Fanout;

/// Settles the writer's batches: on the event loop when there is one, on the writer otherwise.
pub(crate) struct Settler {
    fanout: Arc<dyn Fanout>,
    to_loop: Option<mpsc::UnboundedSender<Settled>>,
}

/// A batch's work after its commit.
struct Settled {
    committed: bool,
    /// Not committed as far as the writer knows, but perhaps committed ([`Fanout::unsure`]).
    unsure: bool,
    batch: Batch,
}

impl Settled {
    /// Publish (only if committed), then answer every job.
    fn run(self, fanout: &dyn Fanout) {
        let Settled {
            committed,
            unsure,
            batch,
        } = self;
        if committed {
            for publish in batch.publishes {
                fanout.publish(publish);
            }
        }
        for reply in batch.replies {
            reply(committed);
        }
        if unsure {
            fanout.unsure();
        }
    }
}

impl Settler {
    /// A settler for `fanout`, with its task on the current runtime if there is one.
    pub(crate) fn new(fanout: Arc<dyn Fanout>) -> Self {
        let to_loop = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Settled>();
            let fanout = fanout.clone();
            // Ends when the writer drops its sender, after settling everything sent before.
            rt.spawn(async move {
                while let Some(settled) = rx.recv().await {
                    // A bug in one publication must not end the task: every later batch
                    // would then be settled on the writer, and this one's leftovers lost
                    // silently. Its callers that got no answer see `internal`.
                    let run = std::panic::AssertUnwindSafe(|| settled.run(&*fanout));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("settling a committed batch panicked");
                    }
                }
            });
            tx
        });
        Settler { fanout, to_loop }
    }

    /// Publish `batch`'s frames if `committed`, then answer its jobs with `committed`.
    pub(crate) fn settle(&self, committed: bool, batch: Batch) {
        self.hand_over(Settled {
            committed,
            unsure: false,
            batch,
        });
    }

    /// Have every connection look in the store for what it may have missed: a batch whose
    /// commit's outcome was never learnt may be stored, and nothing of it was published (its
    /// jobs were answered as not committed; a resend of what was stored is answered as such).
    /// Called once the store takes commits again, so the connections can read it.
    pub(crate) fn look_again(&self) {
        self.hand_over(Settled {
            committed: false,
            unsure: true,
            batch: Batch::default(),
        });
    }

    fn hand_over(&self, settled: Settled) {
        let settled = match &self.to_loop {
            // The unbounded send never waits: the writer must not block on the event loop,
            // which may itself be waiting for the writer. What it holds is bounded by the
            // jobs whose callers are waiting for an answer (requests in flight per connection,
            // connections) and the few each connection queues without waiting.
            Some(tx) => match tx.send(settled) {
                Ok(()) => return,
                // The runtime's task is gone (the runtime shut down): settle here.
                Err(mpsc::error::SendError(settled)) => settled,
            },
            None => settled,
        };
        settled.run(&*self.fanout);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tern_proto::{RequestId, ServerFrame, UserId};

    use super::*;
    use crate::fanout::Publish;

    /// Records which thread each publication ran on.
    #[derive(Default)]
    struct Threads(Mutex<Vec<std::thread::ThreadId>>);
    impl Fanout for Threads {
        fn publish(&self, _: Publish) {
            self.0.lock().unwrap().push(std::thread::current().id());
        }
    }

    fn batch_of(replies: usize, answers: &Arc<Mutex<Vec<(usize, bool)>>>) -> Batch {
        let mut batch = Batch::default();
        batch.publishes.push(Publish::new(
            vec![UserId(1)],
            &ServerFrame::Pong { id: RequestId(1) },
        ));
        for i in 0..replies {
            let answers = answers.clone();
            batch
                .replies
                .push(Box::new(move |ok| answers.lock().unwrap().push((i, ok))));
        }
        batch
    }

    #[test]
    fn a_runtime_settles_batches_in_commit_order_on_its_own_thread_and_publishes_only_commits() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let fanout = Arc::new(Threads::default());
        let settler = rt.block_on(async { Settler::new(fanout.clone()) });
        let answers = Arc::new(Mutex::new(Vec::new()));
        // Settled from another thread, as the writer does.
        std::thread::scope(|s| {
            s.spawn(|| {
                settler.settle(true, batch_of(2, &answers));
                settler.settle(false, batch_of(1, &answers));
            });
        });
        assert!(
            answers.lock().unwrap().is_empty(),
            "nothing runs on the writer's thread while the runtime is there"
        );
        let loop_thread = std::thread::current().id();
        rt.block_on(async {
            while answers.lock().unwrap().len() < 3 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(
            *answers.lock().unwrap(),
            vec![(0, true), (1, true), (0, false)]
        );
        assert_eq!(
            *fanout.0.lock().unwrap(),
            vec![loop_thread],
            "one publication: the committed batch's, on the event loop"
        );

        // Without its runtime the settler still answers, on the caller's thread.
        drop(rt);
        settler.settle(true, batch_of(1, &answers));
        assert_eq!(answers.lock().unwrap().last(), Some(&(0, true)));
        assert_eq!(fanout.0.lock().unwrap().len(), 2);
    }

    /// Panics on its first publication.
    #[derive(Default)]
    struct PanicsOnce(std::sync::atomic::AtomicBool);
    impl Fanout for PanicsOnce {
        fn publish(&self, _: Publish) {
            if !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
                panic!("a bug in one publication");
            }
        }
    }

    #[test]
    fn a_panicking_publication_loses_its_batch_but_not_the_task_that_settles_later_ones() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let settler = rt.block_on(async { Settler::new(Arc::new(PanicsOnce::default())) });
        let answers = Arc::new(Mutex::new(Vec::new()));
        settler.settle(true, batch_of(1, &answers));
        settler.settle(true, batch_of(2, &answers));
        rt.block_on(async {
            // Bounded: without the task there would be nothing to wait for.
            for _ in 0..10_000 {
                if answers.lock().unwrap().len() >= 2 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(*answers.lock().unwrap(), vec![(0, true), (1, true)]);
        assert!(
            !settler.to_loop.as_ref().unwrap().is_closed(),
            "the task still settles batches"
        );
    }

    /// Counts publications and unsure commits.
    #[derive(Default)]
    struct Counts {
        published: std::sync::atomic::AtomicUsize,
        unsure: std::sync::atomic::AtomicUsize,
    }
    impl Fanout for Counts {
        fn publish(&self, _: Publish) {
            self.published
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        fn unsure(&self) {
            self.unsure
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// After a commit whose outcome was never learnt, every connection looks in the store
    /// once; a plain failure asks nothing of them.
    #[test]
    fn a_commit_of_unknown_outcome_makes_connections_look_again_once() {
        let fanout = Arc::new(Counts::default());
        let settler = Settler::new(fanout.clone());
        let answers = Arc::new(Mutex::new(Vec::new()));
        settler.settle(false, batch_of(1, &answers));
        assert_eq!(fanout.unsure.load(std::sync::atomic::Ordering::SeqCst), 0);
        settler.look_again();
        assert_eq!(*answers.lock().unwrap(), vec![(0, false)]);
        assert_eq!(
            fanout.published.load(std::sync::atomic::Ordering::SeqCst),
            0
        );
        assert_eq!(fanout.unsure.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
