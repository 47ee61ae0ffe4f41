//! The local cache: one SQLite file per relay and account, owned by one thread.
//!
//! It holds conversations, members with their receipt markers, messages (with a full-text
//! index), the outbox, presence and sync cursors, so history shows instantly and offline.
//! Callers hold a cheap [`Cache`] handle and run closures on the owner thread with
//! [`Cache::call`]; each closure runs inside one transaction.

pub mod chat;
pub mod conversations;
pub mod fold;
pub mod messages;
pub mod outbox;
pub mod prefs;
pub mod schema;
pub mod transfers;
pub mod views;

use std::path::Path;

use rusqlite::{Connection, Transaction};
use tern_proto::UserId;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the owner thread is handed: a transaction to run, or the word to close the file.
enum Work {
    Job(Job),
    Close(oneshot::Sender<()>),
}

/// Handle to the cache's owner thread.
#[derive(Clone)]
pub struct Cache {
    jobs: mpsc::UnboundedSender<Work>,
    /// Jobs submitted so far (each one transaction): what the app costs the cache, for
    /// measurements.
    submitted: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Cache {
    /// Open (creating and migrating) the cache file.
    pub fn open(path: &Path) -> Result<Cache> {
        if let Some(dir) = path.parent() {
            crate::private_fs::create_dir(dir)?;
        }
        // Created 0600 before SQLite opens it; SQLite gives -wal/-shm the same mode. Files
        // from older versions are tightened here.
        crate::private_fs::touch_file(path)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            crate::private_fs::restrict_file(Path::new(&side))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        // A message deleted for everyone is overwritten here too, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        schema::migrate(&mut conn)?;
        {
            // Entries an earlier version could not read, read again after an update.
            let txn = conn.transaction()?;
            messages::reread_unknown(&txn)?;
            txn.commit()?;
        }
        let (jobs, mut rx) = mpsc::unbounded_channel::<Work>();
        let submitted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        std::thread::Builder::new()
            .name("tern-cache".into())
            .spawn(move || {
                while let Some(work) = rx.blocking_recv() {
                    match work {
                        Work::Job(job) => job(&mut conn),
                        Work::Close(done) => {
                            // Jobs sent after this one find the queue gone: `Closed`.
                            rx.close();
                            drop(conn);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })?;
        Ok(Cache { jobs, submitted })
    }

    /// How many jobs (transactions) were submitted so far.
    pub fn jobs_submitted(&self) -> u64 {
        self.submitted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Run `f` in a transaction on the owner thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = (|| {
                let txn = conn.transaction()?;
                let value = f(&txn)?;
                txn.commit()?;
                Ok(value)
            })();
            let _ = tx.send(result);
        });
        self.jobs.send(Work::Job(job)).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Run what was submitted before, then close the file, for every handle: later calls
    /// answer [`Error::Closed`]. The account's folder can then be removed, also where an open
    /// file cannot be (Windows), whoever still holds a handle.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Work::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// Read a value from the `meta` table.
pub fn meta_get(txn: &Transaction<'_>, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(txn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Write a value to the `meta` table.
pub fn meta_set(txn: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute([key, value])?;
    Ok(())
}

/// The user id recorded in the `meta` table of the cache file at `path`, read without going
/// through [`Cache::open`] (so nothing is migrated); `None` when it cannot be read.
///
/// Used to recognise a cache left by an older version before it is moved into place.
pub(crate) fn recorded_user_id(path: &Path) -> Option<UserId> {
    let conn = Connection::open(path).ok()?;
    conn.query_row("SELECT value FROM meta WHERE key = 'user_id'", [], |r| {
        r.get::<_, String>(0)
    })
    .ok()?
    .parse()
    .ok()
}

/// Test fixture: a cache file as an older version left it, with only its `meta` table.
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
pub(crate) fn write_old_cache(path: &Path, user_id: UserId, username: &str) -> Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")?;
    conn.execute(
        "INSERT INTO meta VALUES ('user_id', ?1), ('username', ?2)",
        rusqlite::params![user_id.to_string(), username],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_id_of_an_older_cache_can_be_read_and_a_foreign_file_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("cache.db");
        write_old_cache(&old, UserId(42), "alice").unwrap();
        assert_eq!(recorded_user_id(&old), Some(UserId(42)));
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"not a database").unwrap();
        assert_eq!(recorded_user_id(&other), None);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_closed_cache_lets_go_of_its_file_for_every_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let cache = Cache::open(&path).unwrap();
        let other = cache.clone();
        cache.call(|txn| meta_set(txn, "k", "v")).await.unwrap();
        use tern_testkit::fds::open_on;
        assert!(open_on(&path) > 0, "open while in use");
        cache.close().await;
        assert_eq!(open_on(&path), 0, "no descriptor left on the cache");
        assert!(matches!(
            other.call(|txn| meta_get(txn, "k")).await,
            Err(Error::Closed)
        ));
        // What was written before the close is kept.
        let reopened = Cache::open(&path).unwrap();
        assert_eq!(
            reopened
                .call(|txn| meta_get(txn, "k"))
                .await
                .unwrap()
                .as_deref(),
            Some("v")
        );
    }
}
