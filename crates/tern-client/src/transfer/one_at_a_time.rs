//! One fetch per file at a time. Two downloads of the same attachment (a preview and a
//! save, or a double click) used to append to the same `.part` file from the same offset,
//! so the file held the bytes twice and failed its hash check. A download now holds the
//! lock of its file's key while it fetches and records the result; the second waits, then
//! finds the file done.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// Locks by key, each kept only while someone holds or waits for it.
#[derive(Default)]
pub(crate) struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while one fetch of a key runs; dropping it lets the next waiter in and forgets the
/// key when nobody else wants it.
pub(crate) struct KeyGuard<'a> {
    owner: &'a KeyedLocks,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    /// Wait until no one else holds `key`, and hold it.
    pub(crate) async fn lock(&self, key: &str) -> KeyGuard<'_> {
        let lock = self
            .locks
            .lock()
            .expect("keyed locks")
            .entry(key.to_owned())
            .or_default()
            .clone();
        KeyGuard {
            owner: self,
            key: key.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().expect("keyed locks").len()
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.owner.locks.lock().expect("keyed locks");
        // Only the map's own reference left: nobody holds or waits for this key.
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn one_holder_per_key_and_the_map_forgets_keys_nobody_wants() {
        let locks = Arc::new(KeyedLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _held = locks.lock("blob").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        // Another key is never held up by this one.
        let other = locks.lock("other").await;
        drop(other);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "one holder at a time");
        assert_eq!(locks.len(), 0, "no key left behind");
    }
}
