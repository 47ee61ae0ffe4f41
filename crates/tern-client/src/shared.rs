//! The state a [`crate::Client`] handle shares with its connection task: configuration, the
//! cache, who is signed in, the token, and the event channel with the last link state.
//!
//! It lives apart from `client.rs` so the connection task depends on it alone, not on the
//! handle that starts the task.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use tern_proto::UserId;
use tokio::sync::{broadcast, mpsc};

use crate::cache::Cache;
use crate::config::ClientConfig;
use crate::connection::Cmd;
use crate::events::{ConnectionState, Event};
use crate::keychain::Token;
use crate::transfer::KeyedLocks;

/// State shared by the handle and the connection task.
pub(crate) struct Shared {
    pub(crate) config: ClientConfig,
    pub(crate) cache: Cache,
    pub(crate) user_id: UserId,
    pub(crate) username: String,
    pub(crate) token: Token,
    events: broadcast::Sender<Event>,
    /// Last published link state, for callers that subscribe late.
    state: Mutex<ConnectionState>,
    /// A flush (or a read marker) was asked for while the connection task's command queue was
    /// full: the task's housekeeping flushes soon instead ([`Shared::ask`]).
    flush_owed: AtomicBool,
    /// One download per file at a time, across every handle of this client.
    pub(crate) fetches: KeyedLocks,
    /// Longest message body the relay takes (bytes), from its last welcome; 0 until one.
    max_message_bytes: AtomicUsize,
    /// The client was shut down: no file of the account is written any more (its folder
    /// may be removed next).
    closed: AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        config: ClientConfig,
        cache: Cache,
        user_id: UserId,
        username: String,
        token: Token,
        events: broadcast::Sender<Event>,
    ) -> Self {
        Shared {
            config,
            cache,
            user_id,
            username,
            token,
            events,
            state: Mutex::new(ConnectionState::Connecting),
            flush_owed: AtomicBool::new(false),
            fetches: KeyedLocks::default(),
            max_message_bytes: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// The client is shutting down: downloads write no more files.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// [`crate::error::Error::Closed`] once the client was shut down: a download must not
    /// create the account's folders again after they were removed.
    pub(crate) fn check_open(&self) -> crate::error::Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(crate::error::Error::Closed);
        }
        Ok(())
    }

    /// Note the relay's limit on a message body (from its welcome).
    pub(crate) fn set_max_message_bytes(&self, max: usize) {
        self.max_message_bytes.store(max, Ordering::Relaxed);
    }

    /// Refuse a body longer than the relay takes, when its limit is known: said at once,
    /// instead of a message that could never be stored.
    pub(crate) fn check_body(&self, body: &str) -> crate::error::Result<()> {
        let max = self.max_message_bytes.load(Ordering::Relaxed);
        if max > 0 && body.len() > max {
            return Err(crate::error::Error::Invalid(format!(
                "a message can have at most {max} bytes; this one has {}",
                body.len()
            )));
        }
        Ok(())
    }

    /// Hand the connection task a command that only says "what the cache holds should go out
    /// now" (a flush, a read marker) without waiting. If its queue is full the command is not
    /// lost: the task's housekeeping (a few times a second) flushes instead, which sends
    /// everything the cache holds to send. Offline it is dropped: the next connection flushes.
    pub(crate) fn ask(&self, cmds: &mpsc::Sender<Cmd>, cmd: Cmd) {
        ask(&self.flush_owed, cmds, cmd);
    }

    /// Whether a flush was owed since the last call ([`Shared::ask`]).
    pub(crate) fn take_flush_owed(&self) -> bool {
        self.flush_owed.swap(false, Ordering::Relaxed)
    }

    /// A new receiver of every event from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The last published link state.
    pub(crate) fn state(&self) -> ConnectionState {
        self.state.lock().unwrap().clone()
    }

    pub(crate) fn emit(&self, event: Event) {
        // No subscriber is fine: the cache already holds the truth.
        let _ = self.events.send(event);
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        *self.state.lock().unwrap() = state.clone();
        self.emit(Event::Connection { state });
    }
}

/// Send `cmd` without waiting; a full queue notes a flush as owed in `owed`.
fn ask(owed: &AtomicBool, cmds: &mpsc::Sender<Cmd>, cmd: Cmd) {
    if let Err(mpsc::error::TrySendError::Full(_)) = cmds.try_send(cmd) {
        owed.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flush asked for while the connection task's queue is full is owed, not lost; one
    /// asked for while no task listens (offline) is left to the next connection's flush.
    #[test]
    fn a_flush_that_finds_the_queue_full_is_owed() {
        let owed = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel(1);
        ask(&owed, &tx, Cmd::Flush);
        assert!(!owed.load(Ordering::Relaxed), "queued");
        ask(&owed, &tx, Cmd::Flush);
        assert!(owed.load(Ordering::Relaxed), "the queue was full");
        owed.store(false, Ordering::Relaxed);
        drop(rx);
        ask(&owed, &tx, Cmd::Flush);
        assert!(
            !owed.load(Ordering::Relaxed),
            "offline: the next connection flushes"
        );
    }
}
