//! The in-process registry of live connections: fan-out, kicking and presence counts.
//!
//! In a cluster the hub also holds what the bus said about the other relays' users
//! ([`crate::bus::presence::Remote`]), so "online" means online on any relay, and it reports
//! its own users' first and last connections to the bus from inside its lock, so those reports
//! leave in the order the changes happened.
//!
//! The map is behind a `std::sync::Mutex` that is never held across an `.await`: every
//! operation is a short lookup followed by non-blocking `try_send`s. A connection whose queue
//! is full is too slow to keep up; rather than buffer without bound or drop frames silently,
//! the hub kicks it, and the client's reconnect-and-sync fills what it missed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tern_proto::{close, SessionId, UserId};

use crate::bus::presence::Remote;
use crate::fanout::{ConnId, Fanout, Payload, Publish, Tag};
use crate::metrics::Metrics;

mod mailbox;
pub use mailbox::{Mailbox, Refused};

/// What reaches a connection from outside its own request handling. One pointer wide, so a
/// burst waiting in a [`Mailbox`] is small.
#[derive(Debug, Clone)]
pub enum Live {
    /// A frame to push, shared by every recipient of one publication.
    Frame(Arc<Pushed>),
    /// The bus was away (or dropped frames): look in the store for messages this connection
    /// has not been sent.
    CatchUp,
}

const _: () = assert!(std::mem::size_of::<Live>() == std::mem::size_of::<usize>());

/// A published frame as its recipients' connections get it.
#[derive(Debug)]
pub struct Pushed {
    /// The frame.
    pub payload: Arc<Payload>,
    /// What the frame is about, so a connection can drop what a sync already sent.
    pub tag: Tag,
}

/// Most connections one session holds at once (different client instances); a newer one
/// closes the oldest.
pub const CONNECTIONS_PER_SESSION: usize = 16;

/// Told, under the hub's lock, when a user's first connection on this relay opens (`true`)
/// or their last one closes (`false`).
pub type PresenceHook = Box<dyn Fn(UserId, bool) + Send + Sync>;

/// Why a connection is being closed, as a WebSocket close code and reason (the protocol's
/// codes live in [`tern_proto::close`]).
pub type CloseReason = tern_proto::close::CloseCode;

struct Conn {
    id: ConnId,
    session_id: SessionId,
    /// The client process's instance tag from the handshake (see [`Hub::register`]).
    instance: Option<String>,
    mailbox: Arc<Mailbox>,
}

struct UserEntry {
    conns: Vec<Conn>,
}

/// What a connection gets when it registers.
pub struct Registration {
    /// Its id.
    pub conn_id: ConnId,
    /// What is pushed to it, and its close signal.
    pub mailbox: Arc<Mailbox>,
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
    /// Connections in `users`, changed under its lock: counted without walking it.
    conns: AtomicU64,
    next_conn: AtomicU64,
    queue_len: usize,
    metrics: Arc<Metrics>,
    /// The other relays' users (empty on a relay without a bus).
    remote: Mutex<Remote>,
    on_presence: Option<PresenceHook>,
}

impl Hub {
    /// An empty hub. `queue_len` bounds each connection's pending pushed frames.
    pub fn new(queue_len: usize, metrics: Arc<Metrics>) -> Hub {
        Self::with_presence_hook(queue_len, metrics, None)
    }

    /// An empty hub that reports its users' presence changes to `hook` (the bus).
    pub fn with_presence_hook(
        queue_len: usize,
        metrics: Arc<Metrics>,
        hook: Option<PresenceHook>,
    ) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                users: Mutex::new(HashMap::new()),
                conns: AtomicU64::new(0),
                next_conn: AtomicU64::new(1),
                queue_len,
                metrics,
                remote: Mutex::new(Remote::default()),
                on_presence: hook,
            }),
        }
    }

    /// Register a new connection of `session_id`. Older connections of the same session *and
    /// the same client instance* are kicked: a client reconnecting after a network change must
    /// not leave a half-open twin that keeps the user "online". Two processes sharing one
    /// session (a `tern listen` beside a `tern send`) carry different instance tags and so
    /// coexist; connections without a tag are all one instance. A session holds at most
    /// [`CONNECTIONS_PER_SESSION`] connections: past that its oldest is closed, so one token
    /// (a stolen one, say) cannot hold sockets, presence and their writes without bound.
    pub fn register(
        &self,
        user: UserId,
        session_id: SessionId,
        instance: Option<String>,
    ) -> Registration {
        let conn_id = self.shared.next_conn.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::new(self.shared.queue_len));
        let mut users = self.shared.users.lock().unwrap();
        let entry = users.entry(user).or_insert_with(|| UserEntry {
            // Most users have one device online: no room reserved for four.
            conns: Vec::with_capacity(1),
        });
        for old in entry
            .conns
            .iter()
            .filter(|c| c.session_id == session_id && c.instance == instance)
        {
            old.mailbox.kick(close::REPLACED);
        }
        let mut open = entry
            .conns
            .iter()
            .filter(|c| c.session_id == session_id && !c.mailbox.is_kicked());
        let count = open.clone().count();
        if count >= CONNECTIONS_PER_SESSION {
            for old in open.by_ref().take(count + 1 - CONNECTIONS_PER_SESSION) {
                old.mailbox.kick(close::REPLACED);
            }
        }
        let came_online = entry.conns.is_empty();
        if came_online {
            if let Some(hook) = &self.shared.on_presence {
                hook(user, true);
            }
        }
        entry.conns.push(Conn {
            id: conn_id,
            session_id,
            instance,
            mailbox: mailbox.clone(),
        });
        self.shared.conns.fetch_add(1, Ordering::Relaxed);
        Registration {
            conn_id,
            mailbox,
            came_online,
        }
    }

    /// Remove a connection. Returns true if the user has no connection left (went offline).
    pub fn unregister(&self, user: UserId, conn_id: ConnId) -> bool {
        let mut users = self.shared.users.lock().unwrap();
        let Some(entry) = users.get_mut(&user) else {
            return false;
        };
        let before = entry.conns.len();
        entry.conns.retain(|c| c.id != conn_id);
        let removed = (before - entry.conns.len()) as u64;
        self.shared.conns.fetch_sub(removed, Ordering::Relaxed);
        if entry.conns.is_empty() {
            users.remove(&user);
            if let Some(hook) = &self.shared.on_presence {
                hook(user, false);
            }
            true
        } else {
            false
        }
    }

    /// Whether `user` has a connection on this relay or, in a cluster, on another one.
    pub fn is_online(&self, user: UserId) -> bool {
        self.is_local(user) || self.shared.remote.lock().unwrap().is_online(user)
    }

    /// Whether any connection of `user` is registered on this relay.
    pub fn is_local(&self, user: UserId) -> bool {
        self.shared.users.lock().unwrap().contains_key(&user)
    }

    /// Every user with a connection on this relay.
    pub fn local_users(&self) -> Vec<UserId> {
        self.shared.users.lock().unwrap().keys().copied().collect()
    }

    /// Change what is known about the other relays' users; returns what `f` returns.
    pub fn remote<T>(&self, f: impl FnOnce(&mut Remote) -> T) -> T {
        f(&mut self.shared.remote.lock().unwrap())
    }

    /// Ask every connection to look for messages it missed (see [`Live::CatchUp`]). A
    /// connection whose queue is full is closed instead; its reconnect syncs.
    pub fn catch_up_all(&self) {
        let users = self.shared.users.lock().unwrap();
        for c in users.values().flat_map(|e| e.conns.iter()) {
            if c.mailbox.push(Live::CatchUp) == Err(Refused::Full) {
                c.mailbox.kick(close::TOO_SLOW);
            }
        }
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
                c.mailbox.kick(reason);
            }
        }
    }

    /// Close every connection (shutdown).
    pub fn kick_all(&self, reason: CloseReason) {
        let users = self.shared.users.lock().unwrap();
        for c in users.values().flat_map(|e| e.conns.iter()) {
            c.mailbox.kick(reason);
        }
    }

    /// Number of live connections.
    pub fn connection_count(&self) -> usize {
        self.shared.conns.load(Ordering::Relaxed) as usize
    }
}

impl Fanout for Hub {
    /// A relay alone keeps no per-connection marks to catch up by (those are kept only in a
    /// cluster): its connections are closed instead, and their clients' syncs bring what
    /// they missed.
    fn unsure(&self) {
        self.kick_all(close::GOING_AWAY);
    }

    fn publish(&self, publish: Publish) {
        let users = self.shared.users.lock().unwrap();
        let mut delivered = 0u64;
        let mut pushed = None;
        for user in &publish.users {
            let Some(entry) = users.get(user) else {
                continue;
            };
            for conn in &entry.conns {
                // A closing connection gets nothing more: after a push dropped by its full
                // queue, a later one must not arrive behind the gap.
                if Some(conn.id) == publish.except || conn.mailbox.is_kicked() {
                    continue;
                }
                let pushed = pushed.get_or_insert_with(|| {
                    Arc::new(Pushed {
                        payload: publish.payload.clone(),
                        tag: publish.tag,
                    })
                });
                let live = Live::Frame(pushed.clone());
                match conn.mailbox.push(live) {
                    Ok(()) => delivered += 1,
                    Err(Refused::Full) => conn.mailbox.kick(close::TOO_SLOW),
                    // The connection is closing; it will unregister itself.
                    Err(Refused::Closed) => {}
                }
            }
        }
        self.shared
            .metrics
            .pushed
            .fetch_add(delivered, Ordering::Relaxed);
    }
}
