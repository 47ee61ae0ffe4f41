//! The in-process registry of live connections: fan-out, kicking and presence counts.
//!
//! The map is behind a `std::sync::Mutex` that is never held across an `.await`: every
//! operation is a short lookup followed by non-blocking `try_send`s. A connection whose queue
//! is full is too slow to keep up; rather than buffer without bound or drop frames silently,
//! the hub kicks it, and the client's reconnect-and-sync fills what it missed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tern_proto::{close, SessionId, UserId};
use tokio::sync::{mpsc, Notify};

use crate::fanout::{ConnId, Fanout, Payload, Publish, Tag};
use crate::metrics::Metrics;

/// A frame pushed to a connection from outside its own request handling.
#[derive(Debug, Clone)]
pub struct Live {
    /// The frame.
    pub payload: Arc<Payload>,
    /// What the frame is about, so a connection can drop what a sync already sent.
    pub tag: Tag,
}

/// Why a connection is being closed, as a WebSocket close code and reason (the protocol's
/// codes live in [`tern_proto::close`]).
pub type CloseReason = tern_proto::close::CloseCode;

/// A one-shot "close now" signal for one connection.
#[derive(Debug, Default)]
pub struct Kick {
    notify: Notify,
    reason: Mutex<Option<CloseReason>>,
}

impl Kick {
    /// Ask the connection to close (the first reason wins).
    pub fn kick(&self, reason: CloseReason) {
        let mut r = self.reason.lock().unwrap();
        if r.is_none() {
            *r = Some(reason);
            self.notify.notify_one();
        }
    }

    /// Whether the connection has been asked to close.
    pub fn is_kicked(&self) -> bool {
        self.reason.lock().unwrap().is_some()
    }

    /// Wait until kicked; returns why.
    pub async fn kicked(&self) -> CloseReason {
        loop {
            if let Some(r) = *self.reason.lock().unwrap() {
                return r;
            }
            self.notify.notified().await;
        }
    }
}

struct Conn {
    id: ConnId,
    session_id: SessionId,
    /// The client process's instance tag from the handshake (see [`Hub::register`]).
    instance: Option<String>,
    tx: mpsc::Sender<Live>,
    kick: Arc<Kick>,
}

struct UserEntry {
    conns: Vec<Conn>,
}

/// What a connection gets when it registers.
pub struct Registration {
    /// Its id.
    pub conn_id: ConnId,
    /// Frames pushed to it.
    pub live: mpsc::Receiver<Live>,
    /// Its close signal.
    pub kick: Arc<Kick>,
    /// True if this made the user go from offline to online.
    pub came_online: bool,
}

/// Handle to the registry. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

struct Shared {
    /// Live connections per user. Guarded by a plain mutex: critical sections are short and
    /// never await.
    users: Mutex<HashMap<UserId, UserEntry>>,
    next_conn: AtomicU64,
    queue_len: usize,
    metrics: Arc<Metrics>,
}

impl Hub {
    /// An empty hub. `queue_len` bounds each connection's pending pushed frames.
    pub fn new(queue_len: usize, metrics: Arc<Metrics>) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                users: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                queue_len,
                metrics,
            }),
        }
    }

    /// Register a new connection of `session_id`. Older connections of the same session *and
    /// the same client instance* are kicked: a client reconnecting after a network change must
    /// not leave a half-open twin that keeps the user "online". Two processes sharing one
    /// session (a `tern listen` beside a `tern send`) carry different instance tags and so
    /// coexist; connections without a tag are all one instance.
    pub fn register(
        &self,
        user: UserId,
        session_id: SessionId,
        instance: Option<String>,
    ) -> Registration {
        let conn_id = self.shared.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, live) = mpsc::channel(self.shared.queue_len);
        let kick = Arc::new(Kick::default());
        let mut users = self.shared.users.lock().unwrap();
        let entry = users
            .entry(user)
            .or_insert_with(|| UserEntry { conns: Vec::new() });
        for old in entry
            .conns
            .iter()
            .filter(|c| c.session_id == session_id && c.instance == instance)
        {
            old.kick.kick(close::REPLACED);
        }
        let came_online = entry.conns.is_empty();
        entry.conns.push(Conn {
            id: conn_id,
            session_id,
            instance,
            tx,
            kick: kick.clone(),
        });
        Registration {
            conn_id,
            live,
            kick,
            came_online,
        }
    }

    /// Remove a connection. Returns true if the user has no connection left (went offline).
    pub fn unregister(&self, user: UserId, conn_id: ConnId) -> bool {
        let mut users = self.shared.users.lock().unwrap();
        let Some(entry) = users.get_mut(&user) else {
            return false;
        };
        entry.conns.retain(|c| c.id != conn_id);
        if entry.conns.is_empty() {
            users.remove(&user);
            true
        } else {
            false
        }
    }

    /// Whether any connection of `user` is registered.
    pub fn is_online(&self, user: UserId) -> bool {
        self.shared.users.lock().unwrap().contains_key(&user)
    }

    /// Close every connection of the given sessions.
    pub fn kick_sessions(&self, sessions: &[SessionId], reason: CloseReason) {
        let users = self.shared.users.lock().unwrap();
        for entry in users.values() {
            for c in entry
                .conns
                .iter()
                .filter(|c| sessions.contains(&c.session_id))
            {
                c.kick.kick(reason);
            }
        }
    }

    /// Close every connection (shutdown).
    pub fn kick_all(&self, reason: CloseReason) {
        let users = self.shared.users.lock().unwrap();
        for c in users.values().flat_map(|e| e.conns.iter()) {
            c.kick.kick(reason);
        }
    }

    /// Number of live connections.
    pub fn connection_count(&self) -> usize {
        self.shared
            .users
            .lock()
            .unwrap()
            .values()
            .map(|e| e.conns.len())
            .sum()
    }
}

impl Fanout for Hub {
    fn publish(&self, publish: Publish) {
        let users = self.shared.users.lock().unwrap();
        let mut delivered = 0u64;
        for user in &publish.users {
            let Some(entry) = users.get(user) else {
                continue;
            };
            for conn in &entry.conns {
                // A closing connection gets nothing more: after a push dropped by its full
                // queue, a later one must not arrive behind the gap.
                if Some(conn.id) == publish.except || conn.kick.is_kicked() {
                    continue;
                }
                let live = Live {
                    payload: publish.payload.clone(),
                    tag: publish.tag,
                };
                match conn.tx.try_send(live) {
                    Ok(()) => delivered += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => conn.kick.kick(close::TOO_SLOW),
                    // The connection is closing; it will unregister itself.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        self.shared
            .metrics
            .pushed
            .fetch_add(delivered, Ordering::Relaxed);
    }
}
