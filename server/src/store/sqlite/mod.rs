//! The embedded SQLite backend: a writer thread that owns the read-write connection and runs
//! group commits, a read thread on a read-only connection, the schema ([`schema`]) and the
//! queries, one module per table group ([`accounts`], [`conversations`], [`messages`]),
//! exposed to the operations through the [`Tx`](crate::store::Tx)/[`ReadTx`](crate::store::ReadTx) implementations in `tx`.
//!
//! The write-ahead log is bounded: the writer checkpoints it itself (SQLite's automatic
//! checkpoint at a quarter of the limit, so copying pages back costs a little on the commit path
//! but can never fall behind), and if readers ever keep it from being reset and it passes
//! [`StoreConfig::wal_limit_bytes`], the writer runs a `TRUNCATE` checkpoint. That checkpoint
//! waits for readers on older snapshots (a long sync holds one), so it waits briefly and, if
//! they are still there, is tried again a second later: the log is brought back under its
//! limit as soon as the readers let go, and the writer never stalls behind them.

pub mod accounts;
pub mod conversations;
mod hot;
pub mod messages;
pub mod prefs;
pub mod privacy;
pub mod schema;
mod tx;
pub mod uploads;

pub use tx::SqliteTx;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use hot::Hot;
use tokio::sync::mpsc;

use super::collect::{Collector, Wait};
use super::settle::Settler;
use super::{next_read, Batch, Job, ReadJob, ReadQueue, StoreConfig, READERS, READ_CAPACITY};
use crate::error::{Error, Result};

/// Open (creating and migrating as needed) the database and start the writer thread, and the
/// read threads unless the database is in memory. Returns the read queue and the writer's handle.
/// The commit window when none is configured: at 5,000 messages/s 2 ms cost 12–22 % less CPU
/// per message than 1 ms, and at 1,500/s about 30 % less, for about 0.6–0.8 ms more median
/// latency (docs/benchmarks.md, "A 2 ms commit window").
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(2);

pub(super) fn start(
    config: StoreConfig,
    jobs: mpsc::Receiver<Job>,
    settle: Settler,
) -> Result<(Option<mpsc::Sender<ReadJob>>, std::thread::JoinHandle<()>)> {
    let mut conn = open_connection(&config)?;
    schema::migrate(&mut conn)?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        autocheckpoint_pages(&conn, config.wal_limit_bytes)?,
    )?;
    conn.pragma_update(
        None,
        "journal_size_limit",
        (config.wal_limit_bytes / 2) as i64,
    )?;
    let reads = if config.path.as_os_str() == ":memory:" {
        None
    } else {
        let (tx, rx) = mpsc::channel::<ReadJob>(READ_CAPACITY);
        let queue: ReadQueue = Arc::new(std::sync::Mutex::new(rx));
        for _ in 0..READERS {
            let reader = open_reader(&config)?;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("tern-store-read".into())
                .spawn(move || read_loop(reader, queue))
                .map_err(|e| Error::Internal(format!("cannot start read thread: {e}")))?;
        }
        Some(tx)
    };
    let wal = Wal::new(wal_path(&config.path), config.wal_limit_bytes);
    let window = config.commit_window.unwrap_or(DEFAULT_WINDOW);
    let collect = Collector::new(window, config.max_batch, Wait::Sleep)?;
    let hot = Hot::install(&conn)?;
    let handle = std::thread::Builder::new()
        .name("tern-store".into())
        .spawn(move || run(conn, jobs, collect, settle, wal, hot))
        .map_err(|e| Error::Internal(format!("cannot start store thread: {e}")))?;
    Ok((reads, handle))
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
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Deleting a message for everyone must erase its text, not leave it in free space.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    add_functions(&conn)?;
    Ok(conn)
}

/// SQL functions the store's statements use besides SQLite's own: `tern_lower(text)`, text in
/// lower case by Unicode's rules ([`crate::store::tx::fold_case`]; SQLite's `lower` changes
/// ASCII letters only, so a search for "élodie" would miss "Élodie").
fn add_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("tern_lower", 1, flags, |ctx| {
        Ok(ctx
            .get::<Option<String>>(0)?
            .map(|t| crate::store::tx::fold_case(&t)))
    })?;
    Ok(())
}

fn open_reader(config: &StoreConfig) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(16);
    add_functions(&conn)?;
    Ok(conn)
}

fn read_loop(conn: Connection, queue: ReadQueue) {
    while let Some(job) = next_read(&queue) {
        // Never read from a snapshot a failed end left open (stale, and holding the WAL).
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if !job.snapshot {
            (job.run)(&conn);
            continue;
        }
        // A deferred transaction: its snapshot is taken by the first read and held to the end.
        match conn.execute_batch("BEGIN") {
            Ok(()) => {
                (job.run)(&conn);
                if let Err(e) = conn.execute_batch("COMMIT") {
                    tracing::warn!(error = %e, "ending a read transaction failed");
                    let _ = conn.execute_batch("ROLLBACK");
                }
            }
            // Dropping the job answers its caller `internal`.
            Err(e) => tracing::warn!(error = %e, "a read transaction could not begin"),
        }
    }
}

pub(super) fn wal_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// SQLite's automatic checkpoint, in pages: after a commit that leaves the WAL at a quarter
/// of its limit, the writer copies it back into the database. Rarely enough that the pages a
/// busy conversation rewrites in every commit are copied once per checkpoint rather than
/// every few commits (4,096 pages, 16 MiB, at the default 64 MiB limit), and well under the
/// limit that forces a truncating checkpoint.
fn autocheckpoint_pages(conn: &Connection, wal_limit_bytes: u64) -> Result<i64> {
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok((wal_limit_bytes as i64 / 4 / page.max(512)).max(16))
}

/// The WAL's bound, checked by the writer between batches.
struct Wal {
    path: PathBuf,
    limit: u64,
    /// After a checkpoint that readers kept from finishing: not before then again.
    retry_at: Option<Instant>,
}

/// How long the truncating checkpoint waits for readers on older snapshots.
const TRUNCATE_PATIENCE: Duration = Duration::from_millis(100);
/// How long after a checkpoint that readers kept busy the next one is tried.
const TRUNCATE_RETRY: Duration = Duration::from_secs(1);
/// The connection's usual wait for a lock (`busy_timeout`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Wal {
    fn new(path: PathBuf, limit: u64) -> Wal {
        Wal {
            path,
            limit,
            retry_at: None,
        }
    }

    /// Checkpoint and truncate the WAL if it has grown past the limit (a stat per call),
    /// waiting at most [`TRUNCATE_PATIENCE`] for readers, and not again for
    /// [`TRUNCATE_RETRY`] if they kept it from finishing.
    fn enforce(&mut self, conn: &Connection) {
        let size = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size <= self.limit || self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        let _ = conn.busy_timeout(TRUNCATE_PATIENCE);
        let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        self.retry_at = match done {
            Ok(0) => {
                tracing::debug!(size, "WAL over its limit: truncated");
                None
            }
            Ok(_) => {
                tracing::debug!(
                    size,
                    "WAL over its limit and readers kept it: tried again soon"
                );
                Some(Instant::now() + TRUNCATE_RETRY)
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                Some(Instant::now() + TRUNCATE_RETRY)
            }
        };
    }
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    mut collect: Collector,
    settle: Settler,
    mut wal: Wal,
    hot: Hot,
) {
    let mut batches = 0u64;
    while let Some(first) = rx.blocking_recv() {
        let opened = Instant::now();
        let mut batch = Batch::default();
        let mut ran = 0;
        let committed = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(txn) => {
                let txn = SqliteTx::new(txn, Some(hot.clone()));
                first(&txn, &mut batch);
                ran = 1;
                // Everything else queued, and under load what arrives before the deadline,
                // runs in the same transaction as it arrives: one fsync for all of them.
                while let Some(job) = collect.next(&mut rx, opened, ran) {
                    job(&txn, &mut batch);
                    ran += 1;
                }
                // A poisoned batch is not committed: dropping the transaction rolls it back.
                !batch.poisoned
                    && txn
                        .commit()
                        .inspect_err(|e| tracing::error!(error = %e, "store commit failed"))
                        .is_ok()
            }
            Err(e) => {
                tracing::error!(error = %e, "store could not begin a transaction");
                // The first job never ran; dropping it drops its reply sender, which its
                // caller sees as an internal error.
                drop(first);
                false
            }
        };
        collect.finished(ran);
        if !committed {
            hot.forget_all();
        }
        settle.settle(committed, batch);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tx::ReadTx;

    /// A writer's connection and cache holding user "me" in one group per name, committed.
    fn seeded(
        groups: &[&str],
    ) -> (
        Connection,
        Hot,
        tern_proto::UserId,
        Vec<tern_proto::ConversationId>,
    ) {
        use crate::store::Tx;
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let hot = Hot::install(&conn).unwrap();
        let txn = SqliteTx::new(conn.transaction().unwrap(), Some(hot.clone()));
        let me = txn.create_user("me", "h", 0).unwrap();
        let admin = [(me, tern_proto::MemberRole::Admin)];
        let convs = groups
            .iter()
            .map(|g| txn.insert_group(g, &admin, 0).unwrap())
            .collect();
        txn.commit().unwrap();
        (conn, hot, me, convs)
    }

    fn entry(
        conv: tern_proto::ConversationId,
        me: tern_proto::UserId,
        client_id: &str,
    ) -> crate::store::NewEntry<'_> {
        crate::store::NewEntry::text(conv, (me, "me"), client_id, "hi", 7)
    }

    #[test]
    fn a_wrong_cached_sequence_number_fails_one_store_or_the_batch_and_never_lands() {
        use crate::store::{ReadTx, Tx};
        use tern_proto::{MemberRole, Seq};

        let (mut conn, hot, me, convs) = seeded(&["g"]);
        let conv = convs[0];
        let txn = SqliteTx::new(conn.transaction().unwrap(), Some(hot.clone()));
        let first = txn.insert_new(&entry(conv, me, "a")).unwrap().unwrap();
        assert_eq!(first.seq, Seq(1));
        // Reading the conversation writes its head first.
        assert_eq!(txn.info(conv).unwrap().last_seq, Seq(1));
        // Behind the database: the insert meets the existing seq 1 and fails.
        hot.set_last_seq(conv, Seq(0), false);
        assert!(txn.insert_new(&entry(conv, me, "b")).is_err());
        // The number is read afresh: the next store lands right behind seq 1.
        assert_eq!(
            txn.insert_new(&entry(conv, me, "c")).unwrap().unwrap().seq,
            Seq(2)
        );
        assert_eq!(hot.last_seq(conv), Some(Seq(2)));
        assert_eq!(txn.range(conv, Seq(0), Seq(9), 9).unwrap().len(), 2);
        txn.commit().unwrap();

        // Ahead of it: the insert would leave a gap; writing the head refuses it, and the
        // batch does not commit.
        let txn = SqliteTx::new(conn.transaction().unwrap(), Some(hot.clone()));
        assert_eq!(
            txn.insert_new(&entry(conv, me, "d")).unwrap().unwrap().seq,
            Seq(3)
        );
        hot.set_last_seq(conv, Seq(5), false);
        let other = txn
            .insert_group("h", &[(me, MemberRole::Admin)], 0)
            .unwrap();
        assert_eq!(
            txn.insert_new(&entry(conv, me, "e")).unwrap().unwrap().seq,
            Seq(6)
        );
        assert!(txn.commit().is_err());
        let stored: Vec<i64> = conn
            .prepare("SELECT seq FROM messages ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(stored, [1, 2]);
        assert_eq!(conversations::info(&conn, conv).unwrap().last_seq, Seq(2));
        assert!(
            conversations::info(&conn, other).is_err(),
            "the failed batch left a group"
        );
    }

    #[test]
    fn a_batch_writes_each_conversations_head_once_and_reads_see_it_moved() {
        use crate::store::Tx;
        use tern_proto::Seq;

        let (mut conn, hot, me, convs) = seeded(&["a", "b"]);
        let (a, b) = (convs[0], convs[1]);
        let txn = SqliteTx::new(conn.transaction().unwrap(), Some(hot.clone()));
        let before = txn.total_changes();
        for (conv, id) in [(a, "1"), (b, "2"), (a, "3"), (a, "4"), (b, "5")] {
            let undo = txn.begin_job(true).unwrap();
            txn.insert_new(&entry(conv, me, id)).unwrap().unwrap();
            txn.end_job(undo).unwrap();
        }
        // Five rows, no head yet; reading a conversation writes both heads, one row each.
        assert_eq!(txn.total_changes() - before, 5);
        assert_eq!(txn.info(b).unwrap().last_seq, Seq(2));
        assert_eq!(txn.total_changes() - before, 7);
        // A receipt in the same batch sees the moved head: it is written first.
        let undo = txn.begin_job(true).unwrap();
        let receipt = txn.advance_receipt(a, me, Seq(3), Seq(3)).unwrap().unwrap();
        assert_eq!(receipt.delivered_seq, Seq(3));
        txn.end_job(undo).unwrap();
        // A job without a savepoint that had the heads written on the way to its refusal
        // wrote nothing itself.
        let undo = txn.begin_job(true).unwrap();
        txn.insert_new(&entry(a, me, "6")).unwrap().unwrap();
        txn.end_job(undo).unwrap();
        let undo = txn.begin_job(true).unwrap();
        assert_eq!(txn.info(a).unwrap().last_seq, Seq(4));
        txn.rollback_job(undo).unwrap();
        // A job in a savepoint that rolls back takes its moved head with it, whether it was
        // still waiting or already written inside the savepoint.
        let undo = txn.begin_job(false).unwrap();
        txn.insert_new(&entry(b, me, "7")).unwrap().unwrap();
        txn.rollback_job(undo).unwrap();
        let undo = txn.begin_job(false).unwrap();
        txn.insert_new(&entry(b, me, "8")).unwrap().unwrap();
        assert_eq!(txn.info(b).unwrap().last_seq, Seq(3));
        txn.rollback_job(undo).unwrap();
        assert_eq!(txn.info(b).unwrap().last_seq, Seq(2));
        txn.commit().unwrap();
        assert_eq!(conversations::info(&conn, a).unwrap().last_seq, Seq(4));
        assert_eq!(conversations::info(&conn, b).unwrap().last_seq, Seq(2));
        assert_eq!(hot.last_seq(b), Some(Seq(2)));
        let activity: i64 = conn
            .query_row(
                "SELECT last_activity FROM conversations WHERE id = ?1",
                [a],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(activity, 7);
    }

    #[test]
    fn a_batch_that_sqlite_rolled_back_on_its_own_writes_no_head_and_does_not_commit() {
        use crate::store::Tx;
        use tern_proto::Seq;

        let (mut conn, hot, me, convs) = seeded(&["g"]);
        let conv = convs[0];
        let txn = SqliteTx::new(conn.transaction().unwrap(), Some(hot.clone()));
        txn.insert_new(&entry(conv, me, "a")).unwrap().unwrap();
        // What SQLite does after a full disk or an I/O error: the transaction is gone and the
        // connection is back in autocommit mode.
        let undo = txn.begin_job(true).unwrap();
        txn.execute_batch("ROLLBACK").unwrap();
        assert!(txn.rollback_job(undo).is_err());
        // A later job does not start: its statements would commit one by one.
        assert!(txn.begin_job(true).is_err());
        assert!(txn.commit().is_err());
        assert_eq!(conversations::info(&conn, conv).unwrap().last_seq, Seq(0));
        let stored: i64 = conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 0);
    }
}
