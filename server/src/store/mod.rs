//! Persistence: one writer owns the database connection and commits work in groups.
//!
//! Callers hold a cheap [`Store`] handle and submit closures with [`Store::call`]. The writer
//! takes the first waiting job, drains whatever else is queued (up to
//! [`StoreConfig::max_batch`]), runs them all inside one transaction — each as its own job
//! ([`Tx::begin_job`]), so one failing job does not undo its neighbours: in a savepoint, or,
//! for a job that refuses before it writes ([`Store::enqueue_checked`]), where the backend
//! can tell it wrote nothing, without one; a failed job that cannot be undone alone keeps the
//! whole batch from committing — commits once, and only then hands the batch's [`Publish`]
//! effects to the [`Fanout`] and answers the callers, in commit order, on the event loop
//! (`settle.rs`). That order is what lets every member see a conversation's messages in
//! sequence order, and committing before answering is what makes an acknowledgement mean
//! "stored". Group commit is why storage does not cap throughput: one fsync covers a batch.
//!
//! Jobs see the database only through the [`Tx`] trait ([`tx`]); reads that need no write
//! transaction take a [`ReadTx`] on one of `READERS` read-only connections: token checks at
//! the handshake and health ([`Store::read`]), whose queue is bounded and answers `busy` when
//! full, so a flood of bogus tokens or health probes never queues in front of message
//! commits; and a sync's reads ([`Store::snapshot`]), each in one read-only transaction, so a
//! reconnect storm's syncs neither wait for group commits nor hold up the messages in them.
//!
//! The backend is [`sqlite`] (embedded, the default) or [`postgres`] (several relays on one
//! database): each has its writer thread, read threads, schema and queries, and implements
//! [`Tx`]/[`ReadTx`] with the same batch contract; the jobs, and every operation above them,
//! are the same for both.

mod collect;
pub mod postgres;
mod settle;
pub mod sqlite;
pub mod tx;

pub use sqlite::schema;
pub use tx::{
    cut_to_page, page_weight, picture_columns, picture_from, AuthSession, Changes, NewEntry,
    PrefEdits, PrivacyRow, ReadTx, Roster, Target, Tx, Undo, UploadRow, UserRow, MAX_PAGE_BYTES,
};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Semaphore};

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
    /// Under load, how long a batch stays open for more jobs after its first (0: commit as
    /// soon as the queue is empty); at idle a lone job commits at once (`store::collect`).
    /// `None`: the store's own default.
    pub commit_window: Option<Duration>,
    /// WAL size past which the writer forces a truncating checkpoint.
    pub wal_limit_bytes: u64,
    /// A `postgres://` address: use PostgreSQL instead of the SQLite file at `path`.
    pub postgres: Option<String>,
}

/// Read jobs waiting for a read connection before [`Store::read`] refuses new ones.
pub(crate) const READ_QUEUE: usize = 256;

/// [`Store::snapshot`] jobs queued or running at once; more wait for a place. One read
/// connection is always left to the short reads (token checks, health), so a reconnect
/// storm's syncs never keep a handshake or a health probe waiting; and the read queue has
/// this much room beyond [`READ_QUEUE`], so syncs never take the places of token checks.
const SNAPSHOTS: usize = READERS - 1;

/// The read queue's capacity.
pub(crate) const READ_CAPACITY: usize = READ_QUEUE + SNAPSHOTS;

/// Read-only connections per store, taking jobs from one queue: a reconnect storm's syncs
/// read side by side, beside the writer, instead of one after another.
pub(crate) const READERS: usize = 3;

/// A read job: runs on one of the backend's read connections.
pub(crate) struct ReadJob {
    /// Run inside one read-only transaction, so that all its statements see the database as
    /// of one moment ([`Store::snapshot`]).
    pub(crate) snapshot: bool,
    pub(crate) run: ReadFn,
}

/// What a read job runs.
pub(crate) type ReadFn = Box<dyn FnOnce(&dyn ReadTx) + Send>;

/// The read connections' shared queue: each reader thread takes the next job.
pub(crate) type ReadQueue = Arc<std::sync::Mutex<mpsc::Receiver<ReadJob>>>;

/// The next read job, or `None` once the store is gone.
pub(crate) fn next_read(queue: &ReadQueue) -> Option<ReadJob> {
    // Holding the lock while waiting is the point: one idle reader waits on the queue, the
    // others on the lock. A reader that panicked poisoned nothing the queue relies on.
    let mut rx = queue.lock().unwrap_or_else(|e| e.into_inner());
    rx.blocking_recv()
}

/// A write job: runs inside a group commit.
pub(crate) type Job = Box<dyn FnOnce(&dyn Tx, &mut Batch) + Send>;

/// What a batch of jobs leaves to do once the transaction commits: `publishes` in order, then
/// every reply with whether the commit succeeded (see [`settle`]).
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) replies: Vec<Box<dyn FnOnce(bool) + Send>>,
    pub(crate) publishes: Vec<Publish>,
    /// A failed job's writes could not be undone: the backend must not commit the batch
    /// (every job of it is then answered `internal`, as for a failed commit).
    pub(crate) poisoned: bool,
}

/// Handle to the store's owner thread. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    /// The read connections' queue; `None` for an in-memory database, whose reads go
    /// through the writer.
    reads: Option<mpsc::Sender<ReadJob>>,
    /// Places for [`Store::snapshot`] jobs in the read queue.
    snapshots: Arc<Semaphore>,
}

impl Store {
    /// Open (creating and migrating as needed) the database and start the owner thread.
    /// The thread stops when every handle is dropped, after finishing queued work. Called
    /// inside a tokio runtime, that runtime settles every commit (see `settle.rs`) and must
    /// keep running while the store is in use; outside one, the owner thread settles them.
    pub fn open(config: StoreConfig, fanout: Arc<dyn Fanout>) -> Result<(Store, StoreThread)> {
        let (jobs, rx) = mpsc::channel::<Job>(config.max_batch * 4);
        let settle = settle::Settler::new(fanout);
        let (reads, handle) = match config.postgres.clone() {
            Some(url) => postgres::start(config, url, rx, settle)?,
            None => sqlite::start(config, rx, settle)?,
        };
        let snapshots = Arc::new(Semaphore::new(SNAPSHOTS));
        Ok((
            Store {
                jobs,
                reads,
                snapshots,
            },
            StoreThread(Some(handle)),
        ))
    }

    /// Run a read-only `f` on a read connection (outside any group commit). Refused with
    /// `busy` when the read queue is full, so callers answer at once instead of piling up.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ReadTx) -> Result<T> + Send + 'static,
    {
        let Some(reads) = &self.reads else {
            return self.call(move |txn, _| f(txn as &dyn ReadTx)).await;
        };
        let (job, answer) = read_job(false, f);
        reads.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                Error::refused(tern_proto::ErrorCode::Busy, "the relay is busy; try again")
            }
            mpsc::error::TrySendError::Closed(_) => Error::Internal("store is closed".into()),
        })?;
        answer.await
    }

    /// Run a read-only `f` on a read connection inside one read-only transaction: every
    /// statement sees the database as of one moment, as the writer's jobs would, without
    /// waiting for a group commit (a sync's reads). Waits for one of `SNAPSHOTS` places
    /// rather than answering `busy`: its callers are signed in and take their turn.
    pub async fn snapshot<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ReadTx) -> Result<T> + Send + 'static,
    {
        let Some(reads) = &self.reads else {
            return self.call(move |txn, _| f(txn as &dyn ReadTx)).await;
        };
        let place = self
            .snapshots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("store is closed".into()))?;
        // The place is given back when the job has run (or was dropped unrun).
        let (job, answer) = read_job(true, move |txn: &dyn ReadTx| {
            let _place = place;
            f(txn)
        });
        reads
            .send(job)
            .await
            .map_err(|_| Error::Internal("store is closed".into()))?;
        answer.await
    }

    /// Run `f` inside the next group commit and return its result once committed. Effects
    /// pushed into the `Vec<Publish>` are delivered after the commit, in order, and only if
    /// `f` succeeded and the commit did.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx, &mut Vec<Publish>) -> Result<T> + Send + 'static,
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
        F: FnOnce(&dyn Tx, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    {
        self.queue(false, f).await
    }

    /// [`Store::enqueue`] for a job that makes every refusal before its first write (a
    /// message's send): the backend may run it without a savepoint ([`Undo::Unwritten`]).
    /// Should it ever fail after writing anyway, its whole batch is not committed.
    pub async fn enqueue_checked<T, F>(
        &self,
        f: F,
    ) -> Result<impl std::future::Future<Output = Result<T>> + Send + 'static>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    {
        self.queue(true, f).await
    }

    async fn queue<T, F>(
        &self,
        checks_first: bool,
        f: F,
    ) -> Result<impl std::future::Future<Output = Result<T>> + Send + 'static>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |txn, batch| {
            let undo = match txn.begin_job(checks_first) {
                Ok(undo) => undo,
                Err(e) => {
                    // Whatever failed (a savepoint, the release of the one before) may have
                    // left earlier jobs' writes unsettled: the batch must not commit.
                    batch.poisoned = true;
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let mut effects = Vec::new();
            // A bug in one job must not take the store thread (and every later write) down.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(txn, &mut effects)))
                    .unwrap_or_else(|_| Err(Error::Internal("store job panicked".into())));
            match outcome {
                Ok(value) => {
                    if let Err(e) = txn.end_job(undo) {
                        // Its writes are neither released nor undone: none of the batch may
                        // commit, or the caller would be told "failed" about stored work.
                        batch.poisoned = true;
                        let _ = tx.send(Err(e));
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
                    if let Err(e) = txn.rollback_job(undo) {
                        tracing::error!(error = %e, job_error = %err, "a failed job could not be undone; its batch will not commit");
                        batch.poisoned = true;
                    }
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

/// `f` as a read job, and the future of its answer.
fn read_job<T, F>(
    snapshot: bool,
    f: F,
) -> (
    ReadJob,
    impl std::future::Future<Output = Result<T>> + Send + 'static,
)
where
    T: Send + 'static,
    F: FnOnce(&dyn ReadTx) -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<Result<T>>();
    let run = Box::new(move |conn: &dyn ReadTx| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
            .unwrap_or_else(|_| Err(Error::Internal("read job panicked".into())));
        let _ = tx.send(outcome);
    });
    let answer = async move {
        rx.await
            .map_err(|_| Error::Internal("store dropped a read".into()))?
    };
    (ReadJob { snapshot, run }, answer)
}

/// The store's owner thread; [`StoreThread::join`] waits for it (dropping this detaches it).
pub struct StoreThread(Option<std::thread::JoinHandle<()>>);

impl StoreThread {
    /// Wait for the store to finish queued work (all [`Store`] handles must be gone).
    pub fn join(mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// A login whose account changed while its password was being checked (the password was
/// changed, or the account deleted): refused as a wrong password would be.
pub(crate) fn changed_meanwhile() -> Error {
    Error::refused(
        tern_proto::ErrorCode::InvalidCredentials,
        "wrong username or password",
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tern_proto::{ErrorCode, MemberRole};

    use super::*;

    struct Nobody;
    impl Fanout for Nobody {
        fn publish(&self, _: Publish) {}
    }

    /// A store with read connections: a SQLite file in `dir`, or, under
    /// scripts/with-postgres.sh, a fresh PostgreSQL database.
    fn open(dir: &std::path::Path) -> (Store, StoreThread) {
        let config = StoreConfig {
            postgres: tern_testkit::postgres::test_database(),
            ..sqlite_config(dir)
        };
        Store::open(config, Arc::new(Nobody)).unwrap()
    }

    /// The tests' store settings, on a SQLite file in `dir`.
    fn sqlite_config(dir: &std::path::Path) -> StoreConfig {
        StoreConfig {
            path: dir.join("tern.db"),
            synchronous_full: false,
            max_batch: 64,
            commit_window: Some(Duration::ZERO),
            wal_limit_bytes: 1 << 20,
            postgres: None,
        }
    }

    /// Long enough for any read on a loaded test machine; only reached if something is stuck.
    const STUCK: Duration = Duration::from_secs(30);

    /// Hold the writer inside a batch until `release` is sent, so what is queued meanwhile
    /// joins that batch.
    async fn hold_writer(store: &Store) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (entered, inside) = oneshot::channel();
        // Queued now; its answer is not needed.
        drop(
            store
                .enqueue(move |_, _| {
                    let _ = entered.send(());
                    let _ = held.recv_timeout(STUCK);
                    Ok(())
                })
                .await
                .unwrap(),
        );
        inside.await.unwrap();
        release
    }

    async fn exists(store: &Store, name: &'static str) -> bool {
        store
            .read(move |c| c.find_user(name))
            .await
            .unwrap()
            .is_some()
    }

    /// A login checks the password against the hash it read, slowly; a password change or a
    /// deletion that commits meanwhile wins: the login opens no session, and the hash upgrade
    /// that follows a login puts no old password back.
    #[tokio::test]
    async fn a_login_checked_against_a_replaced_hash_opens_no_session() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let session = |user, checked: &'static str| {
            move |txn: &dyn Tx, _: &mut Vec<Publish>| {
                txn.create_session(user, checked, &[1; 32], "d", 0, i64::MAX, 10)
            }
        };
        let alice = store
            .call(|txn, _| txn.create_user("alice", "old", 0))
            .await
            .unwrap();
        // The owner changes the password while a login still checks against "old".
        store
            .call(move |txn, _| txn.set_password_hash(alice, "new", None))
            .await
            .unwrap();
        let refused = store.call(session(alice, "old")).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InvalidCredentials);
        // The login's rehash of the old password does not replace the new one.
        let upgraded = store
            .call(move |txn, _| txn.set_password_hash(alice, "old-rehashed", Some("old")))
            .await
            .unwrap();
        assert!(!upgraded);
        store.call(session(alice, "new")).await.unwrap();
        let upgraded = store
            .call(move |txn, _| txn.set_password_hash(alice, "new-rehashed", Some("new")))
            .await
            .unwrap();
        assert!(upgraded);
        // A deleted account opens no session, whatever hash the login read.
        store
            .call(move |txn, _| txn.delete_account(alice, 1))
            .await
            .unwrap();
        let refused = store
            .call(session(alice, "new-rehashed"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InvalidCredentials);
    }

    #[tokio::test]
    async fn a_failed_job_in_a_batch_undoes_only_its_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let release = hold_writer(&store).await;
        let before = store
            .enqueue(|txn, _| txn.create_user("before", "h", 0))
            .await
            .unwrap();
        let failed = store
            .enqueue(|txn, _| -> Result<()> {
                txn.create_user("undone", "h", 0)?;
                Err(Error::refused(
                    ErrorCode::BadRequest,
                    "refused after writing",
                ))
            })
            .await
            .unwrap();
        let after = store
            .enqueue(|txn, _| txn.create_user("after", "h", 0))
            .await
            .unwrap();
        release.send(()).unwrap();
        assert!(before.await.is_ok() && after.await.is_ok());
        assert!(failed.await.is_err());
        assert!(exists(&store, "before").await && exists(&store, "after").await);
        assert!(!exists(&store, "undone").await);
    }

    #[tokio::test]
    async fn a_send_like_job_refused_before_writing_costs_its_batch_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let release = hold_writer(&store).await;
        let kept = store
            .enqueue(|txn, _| txn.create_user("kept", "h", 0))
            .await
            .unwrap();
        let refused = store
            .enqueue_checked(|txn, _| -> Result<()> {
                // Reads before the refusal, as a send's checks do.
                txn.current_version()?;
                Err(Error::refused(ErrorCode::NotMember, "not a member"))
            })
            .await
            .unwrap();
        let also_kept = store
            .enqueue(|txn, _| txn.create_user("also_kept", "h", 0))
            .await
            .unwrap();
        release.send(()).unwrap();
        assert!(kept.await.is_ok() && also_kept.await.is_ok());
        assert!(matches!(
            refused.await,
            Err(Error::Refused(ErrorCode::NotMember, _))
        ));
        assert!(exists(&store, "kept").await && exists(&store, "also_kept").await);
    }

    #[tokio::test]
    async fn a_job_without_savepoint_that_fails_after_writing_commits_nothing_of_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let release = hold_writer(&store).await;
        let neighbour = store
            .enqueue(|txn, _| txn.create_user("neighbour", "h", 0))
            .await
            .unwrap();
        let broken = store
            .enqueue_checked(|txn, _| -> Result<()> {
                txn.create_user("half", "h", 0)?;
                Err(Error::refused(
                    ErrorCode::BadRequest,
                    "refused after writing",
                ))
            })
            .await
            .unwrap();
        release.send(()).unwrap();
        // Nothing of the batch is kept, and everyone in it hears so.
        assert!(matches!(neighbour.await, Err(Error::Internal(_))));
        assert!(broken.await.is_err());
        assert!(!exists(&store, "half").await);
        assert!(!exists(&store, "neighbour").await);
        // The next batch commits as usual.
        store
            .call(|txn, _| txn.create_user("later", "h", 0))
            .await
            .unwrap();
        assert!(exists(&store, "later").await);
    }

    #[tokio::test]
    async fn whatever_a_failed_statement_does_to_a_batch_every_answer_matches_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let user = store
            .call(|txn, _| txn.create_user("user", "h", 0))
            .await
            .unwrap();
        let release = hold_writer(&store).await;
        let neighbour = store
            .enqueue(|txn, _| txn.create_user("neighbour", "h", 0))
            .await
            .unwrap();
        // A statement that fails (blocking a user who does not exist breaks a foreign key),
        // in a job without a savepoint. PostgreSQL refuses every later statement of the
        // transaction after one fails, and turns its COMMIT into a rollback.
        let failing = store
            .enqueue_checked(move |txn, _| txn.block(user, tern_proto::UserId(1 << 40), 0))
            .await
            .unwrap();
        release.send(()).unwrap();
        assert!(failing.await.is_err());
        let answered = neighbour.await.is_ok();
        assert_eq!(
            answered,
            exists(&store, "neighbour").await,
            "the neighbour was told {answered} about its commit"
        );
    }

    #[tokio::test]
    async fn a_snapshot_is_answered_while_the_writer_is_inside_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (entered, inside) = oneshot::channel();
        let writer = store
            .enqueue(move |_, _| {
                let _ = entered.send(());
                let _ = held.recv_timeout(STUCK);
                Ok(())
            })
            .await
            .unwrap();
        inside.await.unwrap();
        let read = tokio::time::timeout(STUCK, store.snapshot(|r| r.current_version())).await;
        release.send(()).unwrap();
        assert!(
            matches!(read, Ok(Ok(_))),
            "a sync's reads waited for the writer's batch"
        );
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn token_checks_are_answered_while_syncs_hold_the_read_connections() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let (entered, mut inside) = mpsc::unbounded_channel::<()>();
        let mut releases = Vec::new();
        let mut syncs = Vec::new();
        // More long syncs than there are read connections.
        for _ in 0..READERS {
            let (release, held) = std::sync::mpsc::channel::<()>();
            releases.push(release);
            let (store, entered) = (store.clone(), entered.clone());
            syncs.push(tokio::spawn(async move {
                store
                    .snapshot(move |r| {
                        let _ = entered.send(());
                        // Longer than the check below waits.
                        let _ = held.recv_timeout(STUCK * 2);
                        r.current_version()
                    })
                    .await
            }));
        }
        // As many as may run at once have started reading.
        for _ in 0..SNAPSHOTS.min(READERS) {
            inside.recv().await.unwrap();
        }
        let check = tokio::time::timeout(STUCK, store.read(|r| r.current_version())).await;
        for release in releases {
            let _ = release.send(());
        }
        assert!(
            matches!(check, Ok(Ok(_))),
            "a token check waited for the syncs"
        );
        for sync in syncs {
            sync.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_snapshot_sees_the_database_as_of_one_moment() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _thread) = open(dir.path());
        let user = store
            .call(|txn, _| txn.create_user("ann", "hash", 0))
            .await
            .unwrap();
        let (first_read, read_once) = oneshot::channel();
        let (go, committed) = std::sync::mpsc::channel::<()>();
        let reader = store.clone();
        let reading = tokio::spawn(async move {
            reader
                .snapshot(move |r| {
                    let before = r.current_version()?;
                    let _ = first_read.send(());
                    let _ = committed.recv_timeout(STUCK);
                    Ok((before, r.current_version()?))
                })
                .await
        });
        read_once.await.unwrap();
        // A change commits between the snapshot's two reads.
        store
            .call(move |txn, _| txn.insert_group("g", &[(user, MemberRole::Admin)], 1))
            .await
            .unwrap();
        go.send(()).unwrap();
        let (before, after) = reading.await.unwrap().unwrap();
        assert_eq!(before, after, "the second read saw a later commit");
        let now = store.read(|r| r.current_version()).await.unwrap();
        assert!(now > before, "the change did commit ({before} → {now})");
    }
    /// SQLite's write-ahead log: a reader on an old snapshot (a long sync) keeps it from being
    /// reset. Past its limit the writer checkpoints it, which waits for such readers; writes
    /// must go on meanwhile, and the log must come back under its limit once the reader is done.
    #[tokio::test]
    async fn a_reader_on_an_old_snapshot_never_stalls_the_writer_and_the_log_is_bounded_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = sqlite_config(dir.path());
        let limit = config.wal_limit_bytes;
        let wal = sqlite::wal_path(&config.path);
        let (store, _thread) = Store::open(config, Arc::new(Nobody)).unwrap();
        let user = store
            .call(|txn, _| txn.create_user("ann", "hash", 0))
            .await
            .unwrap();
        let conv = store
            .call(move |txn, _| txn.insert_group("g", &[(user, MemberRole::Admin)], 1))
            .await
            .unwrap();
        // A reader takes its snapshot and keeps it.
        let (taken, snapshot_taken) = oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let reader = store.clone();
        let reading = tokio::spawn(async move {
            reader
                .snapshot(move |r| {
                    let v = r.current_version()?;
                    let _ = taken.send(());
                    let _ = released.recv_timeout(STUCK);
                    Ok(v)
                })
                .await
        });
        snapshot_taken.await.unwrap();
        // Four times the log's limit is written, one batch per message, while it reads.
        let body = "x".repeat(64 * 1024);
        let write = |i: usize| {
            let body = body.clone();
            store.call(move |txn, _| {
                let client_id = format!("c{i}");
                let entry = NewEntry::text(conv, (user, "ann"), &client_id, &body, 1);
                txn.insert_new(&entry).map(|r| r.is_some())
            })
        };
        // A writer that waited out its lock timeout (5 s) for the reader at every batch over
        // the limit would take minutes for these.
        let writes = async {
            for i in 0..64 {
                assert!(write(i).await.unwrap(), "write {i} stored");
            }
        };
        tokio::time::timeout(STUCK, writes)
            .await
            .expect("the writes went through while the reader held its snapshot");
        let grown = std::fs::metadata(&wal).unwrap().len();
        assert!(
            grown > limit,
            "the reader pinned the log past its limit ({grown} bytes)"
        );
        release.send(()).unwrap();
        reading.await.unwrap().unwrap();
        // Once the reader is gone, the writer brings the log back under its limit.
        let mut i = 64;
        let deadline = tokio::time::Instant::now() + STUCK;
        while std::fs::metadata(&wal).unwrap().len() > limit {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the log stayed over its limit"
            );
            write(i).await.unwrap();
            i += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
