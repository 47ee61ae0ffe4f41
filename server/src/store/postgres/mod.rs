//! The PostgreSQL backend, for operators who run several relays on one database (see
//! docs/scaling.md): the same writer-thread design as [`super::sqlite`] — one connection runs
//! the group commits, each job in a savepoint unless it refuses before it writes ([`PgTx`]),
//! publishing after commit in commit order — plus read connections for token checks, health
//! and syncs. Sequence numbers come from the conversation row, updated under its lock, so
//! relays sharing the database agree on one gap-free order.
//!
//! Losing the database does not stop the relay: a batch that cannot run or commit answers its
//! callers `internal` (nothing unsaved is ever acknowledged), and the next batch reconnects.

pub mod accounts;
pub mod conversations;
pub mod messages;
pub mod prefs;
pub mod privacy;
pub mod schema;
pub mod sql;
mod tx;
pub mod uploads;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use sql::Sql;
use tokio::sync::mpsc;

use super::collect::{Collector, Wait};
use super::settle::Settler;
use super::{next_read, Batch, Job, ReadJob, ReadQueue, StoreConfig, READERS, READ_CAPACITY};
use crate::error::{Error, Result};
use tx::PgRead;
pub use tx::PgTx;

/// Most jobs in one PostgreSQL batch, whatever the configured maximum. Its jobs are round
/// trips made while holding the change counter's lock, which every relay's batches queue for:
/// 512 of them (about 0.1 s under a flood) keep the other relays' wait short.
pub const MAX_BATCH: usize = 512;

/// Longest commit window on PostgreSQL, whatever the configured one, and its default. Its writer runs each job
/// as it arrives while holding the change counter's lock, so the window is also how long the
/// other relays' batches may wait for that lock.
pub const MAX_WINDOW: Duration = Duration::from_millis(1);

/// How long a connection attempt may take before the batch is answered `internal`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the writer's session may sit in an open transaction between statements before
/// PostgreSQL ends it. Every relay's batch holds the change counter's lock from its start to
/// its commit, so a relay that stops mid-batch (its host frozen, paused or cut off, its
/// socket still open) would otherwise hold every other relay's writes for as long as TCP
/// takes to notice, about two hours. A healthy batch waits at most its commit window.
pub const WRITER_IDLE_LIMIT: Duration = Duration::from_secs(5);

/// Longest a batch waits for the change counter's lock before it is answered `internal`
/// (and the client sends again), so that a relay's writes never hang behind another's.
pub const LOCK_WAIT_LIMIT: Duration = Duration::from_secs(5);

/// Idle time after which the relay's side of a connection starts TCP keepalive probes, so
/// that a database host that vanished is noticed in about a minute, not two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// How long the writer goes on asking whether a batch whose `COMMIT` answer was lost was
/// rolled back, reconnecting as needed, before it leaves that to the connections' catch-up.
const RESOLVE_FOR: Duration = Duration::from_secs(10);

fn connect(url: &str) -> Result<Client> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| Error::Internal(format!("invalid PostgreSQL address: {e}")))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    // A dead link is noticed in about a minute whether idle (probes) or not (unacknowledged
    // data), not after the system's defaults of a quarter of an hour or more.
    config.keepalives_idle(KEEPALIVE_IDLE);
    config.keepalives_interval(Duration::from_secs(10));
    config.keepalives_retries(3);
    config.tcp_user_timeout(Duration::from_secs(60));
    config.application_name("tern-relay");
    Ok(config.connect(NoTls)?)
}

/// Open a batch in `txn`: bound what it may hold and wait for ([`WRITER_IDLE_LIMIT`],
/// [`LOCK_WAIT_LIMIT`], for this transaction only, so that a pooler in transaction mode hands
/// no one else a limited session and migrations may wait as long as they need), take the
/// change counter's lock, and return the transaction's id (to ask later whether it committed).
/// One round trip.
fn begin_batch(txn: &mut postgres::Transaction<'_>) -> Result<i64> {
    let answers = txn.simple_query(&format!(
        "SET LOCAL idle_in_transaction_session_timeout = {}; SET LOCAL lock_timeout = {};
         SELECT txid_current() FROM meta WHERE key = 'change_version' FOR UPDATE",
        WRITER_IDLE_LIMIT.as_millis(),
        LOCK_WAIT_LIMIT.as_millis()
    ))?;
    answers
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse::<i64>().ok(),
            _ => None,
        })
        .ok_or_else(|| Error::Internal("the change counter is missing".into()))
}

/// Whether transaction `txid`, whose `COMMIT` answer was lost, is known not to have
/// committed: asked of the database (reconnecting as needed; one still writing its commit is
/// asked again) until it says, or for [`RESOLVE_FOR`]. Only "aborted" is trusted: an id whose
/// transaction never reached durable log can be handed out again after a crash or a failover,
/// so "committed" may be another transaction's, and is taken as not knowing.
fn aborted(link: &mut Link, txid: i64) -> bool {
    let until = Instant::now() + RESOLVE_FOR;
    loop {
        if let Ok(client) = link.get() {
            if let Ok(row) = client.query_one("SELECT txid_status($1)", &[&txid]) {
                match row.get::<_, Option<&str>>(0) {
                    Some("aborted") => return true,
                    Some("in progress") => {}
                    _ => return false,
                }
            }
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Connect, migrate, and start the writer and read threads. The blocking client must not run
/// on the async runtime, so connecting and migrating happen on the writer thread; this waits
/// for its answer.
pub(super) fn start(
    config: StoreConfig,
    url: String,
    jobs: mpsc::Receiver<Job>,
    settle: Settler,
) -> Result<(Option<mpsc::Sender<ReadJob>>, std::thread::JoinHandle<()>)> {
    let (reads, read_rx) = mpsc::channel::<ReadJob>(READ_CAPACITY);
    let (ready, started) = std::sync::mpsc::channel::<Result<()>>();
    // Unset, the window is the longest PostgreSQL takes; a longer one set is cut, and said.
    let window = config.commit_window.unwrap_or(MAX_WINDOW);
    if window > MAX_WINDOW {
        tracing::info!(
            configured_us = window.as_micros() as u64,
            "the commit window on PostgreSQL is at most {} µs",
            MAX_WINDOW.as_micros()
        );
    }
    let collect = Collector::new(
        window.min(MAX_WINDOW),
        config.max_batch.min(MAX_BATCH),
        Wait::Receive,
    )?;
    let handle = std::thread::Builder::new()
        .name("tern-store".into())
        .spawn(move || {
            let opened = (|| {
                let mut writer = connect(&url)?;
                schema::migrate(&mut writer)?;
                let queue: ReadQueue = Arc::new(std::sync::Mutex::new(read_rx));
                let losses = Arc::new(AtomicU64::new(0));
                for _ in 0..READERS {
                    let reader = connect(&url)?;
                    let (url, queue, losses) = (url.clone(), queue.clone(), losses.clone());
                    std::thread::Builder::new()
                        .name("tern-store-read".into())
                        .spawn(move || read_loop(reader, url, queue, losses))
                        .map_err(|e| Error::Internal(format!("cannot start read thread: {e}")))?;
                }
                Ok(writer)
            })();
            match opened {
                Ok(writer) => {
                    let _ = ready.send(Ok(()));
                    run(writer, url, jobs, collect, settle);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start store thread: {e}")))?;
    started
        .recv()
        .map_err(|_| Error::Internal("the store thread stopped while starting".into()))??;
    Ok((Some(reads), handle))
}

/// A connection that reconnects when its link broke.
struct Link {
    client: Option<Client>,
    url: String,
}

impl Link {
    fn get(&mut self) -> Result<&mut Client> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = None;
            // Statements prepared on the old connection do not exist on the new one.
            sql::forget();
            let client = connect(&self.url)?;
            tracing::info!("connected to PostgreSQL again");
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }
}

/// One read connection's thread. `losses` counts the read connections found broken: when
/// one reader finds the server gone (restarted, failed over), the others reconnect before
/// their next job instead of each failing one first.
fn read_loop(client: Client, url: String, queue: ReadQueue, losses: Arc<AtomicU64>) {
    let mut link = Link {
        client: Some(client),
        url,
    };
    let mut known = losses.load(Ordering::Relaxed);
    while let Some(job) = next_read(&queue) {
        let now = losses.load(Ordering::Relaxed);
        if now != known {
            known = now;
            link.client = None;
        }
        let client = match link.get() {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL is unreachable for a read");
                // Dropping the job drops its reply sender: the caller sees `internal`.
                continue;
            }
        };
        run_read(client, job);
        if link.client.as_ref().is_some_and(|c| c.is_closed()) {
            known = losses.fetch_add(1, Ordering::Relaxed) + 1;
        }
    }
}

fn run_read(client: &mut Client, job: ReadJob) {
    if !job.snapshot {
        (job.run)(&PgRead::new(client));
        return;
    }
    // One snapshot for every statement. Versions are handed out under the counter's lock
    // in commit order, so a snapshot that sees version N sees every change up to N.
    if let Err(e) = client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") {
        // Dropping the job answers its caller `internal`.
        tracing::warn!(error = %e, "a read transaction could not begin");
        return;
    }
    (job.run)(&PgRead::new(client));
    // After a failed statement this ends the transaction as a rollback.
    if let Err(e) = client.batch_execute("COMMIT") {
        tracing::warn!(error = %e, "ending a read transaction failed");
    }
}

/// How a batch ended that did not commit.
enum Failed {
    /// Before `COMMIT`: rolled back, nothing of it stored.
    Before(Error),
    /// `COMMIT` itself failed: the database may have stored it (its answer was lost). With
    /// the transaction's id, when known, to ask.
    AtCommit(Error, Option<i64>),
}

/// Run one batch: the first job and whatever else is queued, in one transaction.
///
/// The batch first locks the change counter's row, so the batches of all relays on this
/// database commit one at a time. Without that, two relays' batches lock conversation rows
/// and the counter in whatever order their jobs come, and PostgreSQL breaks the resulting
/// deadlocks by failing a whole batch after `deadlock_timeout` (observed with three relays
/// writing to one group). Taken first, the lock is the only one a batch can wait for.
fn run_batch(
    client: &mut Client,
    first: Job,
    rx: &mut mpsc::Receiver<Job>,
    collect: &mut Collector,
    batch: &mut Batch,
) -> std::result::Result<(), Failed> {
    let opened = Instant::now();
    let before = |e: postgres::Error| Failed::Before(e.into());
    let mut txn = client.transaction().map_err(before)?;
    let txid = begin_batch(&mut txn).map_err(Failed::Before)?;
    let tx = PgTx::new(txn);
    first(&tx, batch);
    let mut ran = 1;
    while let Some(job) = collect.next(rx, opened, ran) {
        job(&tx, batch);
        ran += 1;
    }
    collect.finished(ran);
    if batch.poisoned {
        // Dropping the transaction rolls it back.
        return Err(Failed::Before(crate::error::Error::Internal(
            "a failed job could not be undone".into(),
        )));
    }
    tx.commit_batch().map_err(|f| match f {
        Failed::AtCommit(e, _) => Failed::AtCommit(e, Some(txid)),
        other => other,
    })
}

fn run(
    client: Client,
    url: String,
    mut rx: mpsc::Receiver<Job>,
    mut collect: Collector,
    settle: Settler,
) {
    let mut link = Link {
        client: Some(client),
        url,
    };
    // A lost commit's outcome was never learnt: the connections look in the database once it
    // takes commits again.
    let mut owed = false;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = Batch::default();
        let committed = match link.get() {
            Ok(client) => match run_batch(client, first, &mut rx, &mut collect, &mut batch) {
                Ok(()) => true,
                Err(Failed::Before(e)) => {
                    tracing::error!(error = %e, "PostgreSQL batch failed");
                    false
                }
                Err(Failed::AtCommit(e, txid)) => {
                    tracing::error!(error = %e, "the answer to a PostgreSQL commit was lost");
                    if !txid.is_some_and(|t| aborted(&mut link, t)) {
                        tracing::error!("that batch may be stored; connections will look");
                        owed = true;
                    }
                    false
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "PostgreSQL is unreachable");
                // The first job never ran; dropping it answers its caller `internal`.
                drop(first);
                false
            }
        };
        settle.settle(committed, batch);
        if committed && std::mem::take(&mut owed) {
            settle.look_again();
        }
    }
    tracing::debug!("store thread finished");
}

/// Bump and return the change counter. The row stays locked until commit, so versions are
/// handed out in commit order: a sync that reads version N has seen every change up to N.
pub fn next_version(c: &mut impl Sql) -> Result<u64> {
    let v: i64 = c
        .query_one(
            "UPDATE meta SET value = value + 1 WHERE key = 'change_version' RETURNING value",
            &[],
        )?
        .get(0);
    Ok(v as u64)
}

/// The current change counter.
pub fn current_version(c: &mut impl Sql) -> Result<u64> {
    let v: i64 = c
        .query_one("SELECT value FROM meta WHERE key = 'change_version'", &[])?
        .get(0);
    Ok(v as u64)
}

/// Parse a text column holding one of the protocol's enums; an unknown value is an error.
pub(crate) fn parse<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T> {
    text.parse().map_err(Error::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch's session is ended by PostgreSQL when it sits in its open transaction longer
    /// than [`WRITER_IDLE_LIMIT`] (a relay frozen mid-batch), which frees the counter's lock;
    /// the limit is the transaction's own, so the session's next transaction (and a sync's
    /// snapshot elsewhere) is not limited so. A batch ended so reads as aborted; a committed
    /// one does not (its id alone cannot prove it was this batch).
    #[test]
    fn a_batch_idle_in_its_transaction_is_ended_and_nothing_else_is() {
        let Some(url) = tern_testkit::postgres::test_database() else {
            eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
            return;
        };
        let mut writer = connect(&url).unwrap();
        schema::migrate(&mut writer).unwrap();
        let mut idle = connect(&url).unwrap();
        let mut txn = idle.transaction().unwrap();
        let txid = begin_batch(&mut txn).unwrap();
        assert!(txid > 0);
        let mut link = Link {
            client: Some(connect(&url).unwrap()),
            url: url.clone(),
        };
        std::thread::sleep(WRITER_IDLE_LIMIT + Duration::from_secs(2));
        assert!(
            txn.execute("SELECT 1", &[]).is_err(),
            "the idle batch's session was ended"
        );
        drop(txn);
        assert!(aborted(&mut link, txid), "it rolled back");

        // A batch that commits is not taken as aborted; the same session idles freely after.
        let mut txn = writer.transaction().unwrap();
        let txid = begin_batch(&mut txn).unwrap();
        txn.commit().unwrap();
        assert!(!aborted(&mut link, txid));
        writer.batch_execute("BEGIN; SELECT 1").unwrap();
        std::thread::sleep(WRITER_IDLE_LIMIT + Duration::from_secs(2));
        writer.batch_execute("SELECT 1; COMMIT").unwrap();
    }
}
