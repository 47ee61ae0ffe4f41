//! Persistence: one thread owns the SQLite connection and commits work in groups.
//!
//! Callers hold a cheap [`Store`] handle and submit closures with [`Store::call`]. The owner
//! thread takes the first waiting job, drains whatever else is queued (up to
//! [`StoreConfig::max_batch`]), runs them all inside one transaction — each inside its own
//! savepoint, so one failing job does not undo its neighbours — commits once, and only then
//! answers the callers and hands the batch's [`Publish`] effects to the [`Fanout`], in commit
//! order. That order is what lets every member see a conversation's messages in sequence order,
//! and committing before answering is what makes an acknowledgement mean "stored".
//!
//! Group commit is why storage does not cap throughput: one fsync covers a whole batch.
//!
//! The SQL lives in one module per table group ([`accounts`], [`conversations`],
//! [`messages`]); this module only knows about jobs, batches and transactions. A deployment on
//! PostgreSQL would replace this module and keep its interface.

pub mod accounts;
pub mod conversations;
pub mod messages;
pub mod schema;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::fanout::{Fanout, Publish};

/// How the store opens and runs its database.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// SQLite file path; `:memory:` for a throwaway database.
    pub path: PathBuf,
    /// `FULL` fsyncs every commit (survives power loss); `NORMAL` survives a process crash.
    pub synchronous_full: bool,
    /// Most jobs committed together.
    pub max_batch: usize,
    /// How long a transaction stays open for more jobs before committing (0: commit as soon
    /// as the queue is empty). Trades a little latency for fewer fsyncs under load.
    pub commit_window: Duration,
}

type Job = Box<dyn FnOnce(&Transaction<'_>, &mut Batch) + Send>;

/// What a batch of jobs leaves to do once the transaction commits.
#[derive(Default)]
struct Batch {
    replies: Vec<Box<dyn FnOnce(bool) + Send>>,
    publishes: Vec<Publish>,
}

/// Handle to the store's owner thread. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
}

impl Store {
    /// Open (creating and migrating as needed) the database and start the owner thread.
    /// The thread stops when every handle is dropped, after finishing queued work.
    pub fn open(config: StoreConfig, fanout: Arc<dyn Fanout>) -> Result<(Store, StoreThread)> {
        let mut conn = open_connection(&config)?;
        schema::migrate(&mut conn)?;
        let (jobs, rx) = mpsc::channel::<Job>(config.max_batch * 4);
        let max_batch = config.max_batch;
        // Checkpoints run on their own connection and thread, so copying the WAL back into
        // the database never stalls a commit (and with it every waiting sender).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (alive, stopped) = std::sync::mpsc::channel::<()>();
        let checkpoint_conn = open_connection(&config)?;
        std::thread::Builder::new()
            .name("tern-checkpoint".into())
            .spawn(move || checkpointer(checkpoint_conn, stopped))
            .map_err(|e| Error::Internal(format!("cannot start checkpoint thread: {e}")))?;
        let handle = std::thread::Builder::new()
            .name("tern-store".into())
            .spawn(move || {
                run(conn, rx, max_batch, config.commit_window, fanout);
                drop(alive);
            })
            .map_err(|e| Error::Internal(format!("cannot start store thread: {e}")))?;
        Ok((Store { jobs }, StoreThread(Some(handle))))
    }

    /// Run `f` inside the next group commit and return its result once committed. Effects
    /// pushed into the `Vec<Publish>` are delivered after the commit, in order, and only if
    /// `f` succeeded and the commit did.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    {
        self.enqueue(f).await?.await
    }

    /// Queue `f` now and return a future of its committed result. Jobs run in the order they
    /// were queued, so a connection can pipeline requests without reordering them.
    pub async fn enqueue<T, F>(
        &self,
        f: F,
    ) -> Result<impl std::future::Future<Output = Result<T>> + Send + 'static>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |txn, batch| {
            if let Err(e) = txn
                .prepare_cached("SAVEPOINT job")
                .and_then(|mut st| st.execute([]))
            {
                let _ = tx.send(Err(e.into()));
                return;
            }
            let mut effects = Vec::new();
            // A bug in one job must not take the store thread (and every later write) down.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(txn, &mut effects)))
                    .unwrap_or_else(|_| Err(Error::Internal("store job panicked".into())));
            match outcome {
                Ok(value) => {
                    if let Err(e) = txn
                        .prepare_cached("RELEASE job")
                        .and_then(|mut st| st.execute([]))
                    {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                    batch.publishes.extend(effects);
                    batch.replies.push(Box::new(move |committed| {
                        let _ = tx.send(if committed {
                            Ok(value)
                        } else {
                            Err(Error::Internal("commit failed".into()))
                        });
                    }));
                }
                Err(err) => {
                    let _ = txn
                        .prepare_cached("ROLLBACK TO job")
                        .and_then(|mut st| st.execute([]));
                    let _ = txn
                        .prepare_cached("RELEASE job")
                        .and_then(|mut st| st.execute([]));
                    batch.replies.push(Box::new(move |_| {
                        let _ = tx.send(Err(err));
                    }));
                }
            }
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| Error::Internal("store is closed".into()))?;
        Ok(async move {
            rx.await
                .map_err(|_| Error::Internal("store dropped a job".into()))?
        })
    }
}

/// Joins the store thread when dropped or when [`StoreThread::join`] is called.
pub struct StoreThread(Option<std::thread::JoinHandle<()>>);

impl StoreThread {
    /// Wait for the store to finish queued work (all [`Store`] handles must be gone).
    pub fn join(mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

fn open_connection(config: &StoreConfig) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.path, flags)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        if config.synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        },
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    window: Duration,
    fanout: Arc<dyn Fanout>,
) {
    while let Some(first) = rx.blocking_recv() {
        let opened = Instant::now();
        let mut batch = Batch::default();
        let committed = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(txn) => {
                first(&txn, &mut batch);
                let mut ran = 1;
                // Run whatever else is queued in the same transaction. With a commit window,
                // keep the transaction open a little longer for jobs still on their way, so
                // one fsync covers more of them; each job still runs as soon as it arrives.
                while ran < max_batch {
                    match rx.try_recv() {
                        Ok(job) => {
                            job(&txn, &mut batch);
                            ran += 1;
                        }
                        Err(mpsc::error::TryRecvError::Empty) if opened.elapsed() < window => {
                            std::thread::sleep(Duration::from_micros(50));
                        }
                        Err(_) => break,
                    }
                }
                match txn.commit() {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "store commit failed");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store could not begin a transaction");
                // The first job never ran; dropping it drops its reply sender, which its
                // caller sees as an internal error.
                drop(first);
                false
            }
        };
        if committed {
            for publish in batch.publishes.drain(..) {
                fanout.publish(publish);
            }
        }
        for reply in batch.replies {
            reply(committed);
        }
    }
    tracing::debug!("store thread finished");
}

/// Copy the WAL into the database every half second (passive: never blocks the writer).
/// Stops when the store thread ends, after one last checkpoint.
fn checkpointer(conn: Connection, stopped: std::sync::mpsc::Receiver<()>) {
    loop {
        let done = !matches!(
            stopped.recv_timeout(Duration::from_millis(500)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        );
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
        if done {
            return;
        }
    }
}

/// Bump and return the relay-wide change counter that versions conversations, memberships and
/// receipts for sync.
pub fn next_version(txn: &Transaction<'_>) -> Result<u64> {
    let v: i64 = txn
        .prepare_cached(
            "UPDATE meta SET value = value + 1 WHERE key = 'change_version' RETURNING value",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(v as u64)
}

/// The current change counter.
pub fn current_version(txn: &Transaction<'_>) -> Result<u64> {
    let v: i64 = txn
        .prepare_cached("SELECT value FROM meta WHERE key = 'change_version'")?
        .query_row([], |r| r.get(0))?;
    Ok(v as u64)
}
