//! The PostgreSQL backend, for operators who run several relays on one database (see
//! docs/scaling.md): the same writer-thread design as [`super::sqlite`] — one connection runs
//! the group commits, each job a savepoint, publishing after commit in commit order — plus a
//! read connection for token checks and health. Sequence numbers come from the conversation
//! row, updated under its lock, so relays sharing the database agree on one gap-free order.
//!
//! Losing the database does not stop the relay: a batch that cannot run or commit answers its
//! callers `internal` (nothing unsaved is ever acknowledged), and the next batch reconnects.

pub mod accounts;
pub mod conversations;
pub mod messages;
pub mod privacy;
pub mod schema;
pub mod sql;
mod tx;
pub mod uploads;

use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use sql::Sql;
use tokio::sync::mpsc;

use super::collect::Collector;
use super::{Batch, Job, ReadJob, StoreConfig, READ_QUEUE};
use crate::error::{Error, Result};
use crate::fanout::Fanout;
use tx::PgRead;
pub use tx::PgTx;

/// How long a connection attempt may take before the batch is answered `internal`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn connect(url: &str) -> Result<Client> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| Error::Internal(format!("invalid PostgreSQL address: {e}")))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    config.application_name("tern-relay");
    Ok(config.connect(NoTls)?)
}

/// Connect, migrate, and start the writer and read threads. The blocking client must not run
/// on the async runtime, so connecting and migrating happen on the writer thread; this waits
/// for its answer.
pub(super) fn start(
    config: StoreConfig,
    url: String,
    jobs: mpsc::Receiver<Job>,
    fanout: Arc<dyn Fanout>,
) -> Result<(Option<mpsc::Sender<ReadJob>>, std::thread::JoinHandle<()>)> {
    let (reads, read_rx) = mpsc::channel::<ReadJob>(READ_QUEUE);
    let (ready, started) = std::sync::mpsc::channel::<Result<()>>();
    let collect = Collector::new(config.commit_window, config.max_batch)?;
    let handle = std::thread::Builder::new()
        .name("tern-store".into())
        .spawn(move || {
            let opened = (|| {
                let mut writer = connect(&url)?;
                schema::migrate(&mut writer)?;
                let reader = connect(&url)?;
                let read_url = url.clone();
                std::thread::Builder::new()
                    .name("tern-store-read".into())
                    .spawn(move || read_loop(reader, read_url, read_rx))
                    .map_err(|e| Error::Internal(format!("cannot start read thread: {e}")))?;
                Ok(writer)
            })();
            match opened {
                Ok(writer) => {
                    let _ = ready.send(Ok(()));
                    run(writer, url, jobs, collect, fanout);
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

fn read_loop(client: Client, url: String, mut rx: mpsc::Receiver<ReadJob>) {
    let mut link = Link {
        client: Some(client),
        url,
    };
    while let Some(job) = rx.blocking_recv() {
        match link.get() {
            Ok(client) => {
                let read = PgRead::new(client);
                job(&read);
            }
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL is unreachable for a read");
                // Dropping the job drops its reply sender: the caller sees `internal`.
                drop(job);
            }
        }
    }
}

/// Run one batch: the first job and whatever else is queued, in one transaction. Returns
/// whether it committed.
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
) -> Result<()> {
    let opened = Instant::now();
    let mut txn = client.transaction()?;
    txn.execute(
        "SELECT value FROM meta WHERE key = 'change_version' FOR UPDATE",
        &[],
    )?;
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
        return Err(crate::error::Error::Internal(
            "a failed job could not be undone".into(),
        ));
    }
    tx.commit()
}

fn run(
    client: Client,
    url: String,
    mut rx: mpsc::Receiver<Job>,
    mut collect: Collector,
    fanout: Arc<dyn Fanout>,
) {
    let mut link = Link {
        client: Some(client),
        url,
    };
    while let Some(first) = rx.blocking_recv() {
        let mut batch = Batch::default();
        let committed = match link.get() {
            Ok(client) => match run_batch(client, first, &mut rx, &mut collect, &mut batch) {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "PostgreSQL commit failed");
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
