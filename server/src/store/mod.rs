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
//! The write-ahead log is bounded: the writer checkpoints it itself (SQLite's automatic
//! checkpoint every 1000 pages, so copying pages back costs a little on the commit path but can
//! never fall behind), and if readers ever keep it from being reset and it passes
//! [`StoreConfig::wal_limit_bytes`], the writer runs a blocking `TRUNCATE` checkpoint.
//!
//! Reads that need no transaction (token checks at the handshake, health) go to a separate
//! read-only connection on its own thread ([`Store::read`]), so a flood of bogus tokens or
//! health probes never queues in front of message commits. Its queue is bounded and answers
//! `busy` when full instead of waiting.
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
    /// WAL size past which the writer forces a truncating checkpoint.
    pub wal_limit_bytes: u64,
}

/// Read jobs waiting for the read-only connection before new ones are refused.
const READ_QUEUE: usize = 256;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

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
    /// The read-only connection's queue; `None` for an in-memory database, whose reads go
    /// through the writer.
    reads: Option<mpsc::Sender<ReadJob>>,
}

impl Store {
    /// Open (creating and migrating as needed) the database and start the owner thread.
    /// The thread stops when every handle is dropped, after finishing queued work.
    pub fn open(config: StoreConfig, fanout: Arc<dyn Fanout>) -> Result<(Store, StoreThread)> {
        let mut conn = open_connection(&config)?;
        schema::migrate(&mut conn)?;
        let (jobs, rx) = mpsc::channel::<Job>(config.max_batch * 4);
        let max_batch = config.max_batch;
        conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        conn.pragma_update(
            None,
            "journal_size_limit",
            (config.wal_limit_bytes / 2) as i64,
        )?;
        let reads = if config.path.as_os_str() == ":memory:" {
            None
        } else {
            let reader = open_reader(&config)?;
            let (tx, rx) = mpsc::channel::<ReadJob>(READ_QUEUE);
            std::thread::Builder::new()
                .name("tern-store-read".into())
                .spawn(move || read_loop(reader, rx))
                .map_err(|e| Error::Internal(format!("cannot start read thread: {e}")))?;
            Some(tx)
        };
        let wal = Wal {
            path: wal_path(&config.path),
            limit: config.wal_limit_bytes,
        };
        let handle = std::thread::Builder::new()
            .name("tern-store".into())
            .spawn(move || run(conn, rx, max_batch, config.commit_window, fanout, wal))
            .map_err(|e| Error::Internal(format!("cannot start store thread: {e}")))?;
        Ok((Store { jobs, reads }, StoreThread(Some(handle))))
    }

    /// Run a read-only `f` on the read connection (outside any group commit). Refused with
    /// `busy` when the read queue is full, so callers answer at once instead of piling up.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let Some(reads) = &self.reads else {
            return self.call(move |txn, _| f(txn)).await;
        };
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: ReadJob = Box::new(move |conn| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(Error::Internal("read job panicked".into())));
            let _ = tx.send(outcome);
        });
        reads.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                Error::refused(tern_proto::ErrorCode::Busy, "the relay is busy; try again")
            }
            mpsc::error::TrySendError::Closed(_) => Error::Internal("store is closed".into()),
        })?;
        rx.await
            .map_err(|_| Error::Internal("store dropped a read".into()))?
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

/// Create the database file (and a missing parent folder) readable by the relay's user only,
/// before SQLite opens it: SQLite gives the `-wal` and `-shm` files the database file's mode,
/// so all three hold every message and account privately. An existing file readable by others
/// is tightened.
#[cfg(unix)]
fn private_file(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::info!(path = %path.display(), "making the database private (0600)");
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn private_file(_path: &std::path::Path) -> Result<()> {
    Ok(())
}

fn open_connection(config: &StoreConfig) -> Result<Connection> {
    private_file(&config.path)?;
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
    // Deleting a message for everyone must erase its text, not leave it in free space.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn open_reader(config: &StoreConfig) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.path, flags)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

fn read_loop(conn: Connection, mut rx: mpsc::Receiver<ReadJob>) {
    while let Some(job) = rx.blocking_recv() {
        job(&conn);
    }
}

fn wal_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The WAL's bound, checked by the writer between batches.
struct Wal {
    path: PathBuf,
    limit: u64,
}

impl Wal {
    /// Checkpoint and truncate the WAL if it has grown past the limit (a stat per call).
    fn enforce(&self, conn: &Connection) {
        let size = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size <= self.limit {
            return;
        }
        match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(0) => tracing::debug!(size, "WAL over its limit: truncated"),
            Ok(_) => tracing::warn!(size, "WAL over its limit and a reader kept it busy"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    window: Duration,
    fanout: Arc<dyn Fanout>,
    wal: Wal,
) {
    let mut batches = 0u64;
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
        batches += 1;
        if batches % 32 == 0 || rx.is_empty() {
            wal.enforce(&conn);
        }
    }
    tracing::debug!("store thread finished");
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
pub fn current_version(txn: &Connection) -> Result<u64> {
    let v: i64 = txn
        .prepare_cached("SELECT value FROM meta WHERE key = 'change_version'")?
        .query_row([], |r| r.get(0))?;
    Ok(v as u64)
}

/// Read a text column holding one of the protocol's enums (`kind`, `role`): a value the enum
/// does not know is a conversion error, never silently another variant.
pub(crate) fn enum_column<T>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr<Err = String>,
{
    let text: String = row.get(index)?;
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}
