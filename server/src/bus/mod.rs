//! The bus between relays: several relays on one PostgreSQL database tell each other, over
//! NATS (`--bus nats://…`), what their connections must see live: new messages, receipts,
//! typing, conversation changes, their users' presence, and revoked sessions.
//!
//! PostgreSQL stays the source of truth; the bus only saves a connection from waiting for its
//! next sync. NATS core delivers at most once, so nothing depends on it arriving:
//! - a connection that is pushed a message whose predecessors it has not been sent reads them
//!   from the store first (gap fill, `ws/connection.rs`), so pushes stay in order and
//!   gap-free on every connection whichever relay stored them;
//! - when the bus comes back after an outage (or NATS reports frames dropped for a slow
//!   subscriber, or frames are found lost without a word: [`heard`]) every connection looks in
//!   the store for what it missed ([`Live::CatchUp`]);
//! - presence is each relay's full list every heartbeat interval plus changes between, and a
//!   relay silent for the heartbeat timeout is taken for dead ([`presence`]).
//!
//! Each relay delivers what it stores to its own connections at once (the hub) and publishes
//! it to the bus for the others. Presence announcements are the exception: every relay derives
//! them from the presence it hears and tells only its own connections, so none is announced
//! twice. Without `--bus` a relay is alone and none of this runs.
//!
//! [`Live::CatchUp`]: crate::hub::Live::CatchUp

pub mod heard;
pub mod link;
pub mod presence;
pub mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tern_proto::{SessionId, UserId};
use tokio::sync::mpsc;

use crate::fanout::{Fanout, Payload, Publish, Tag};
use crate::hub::{Hub, PresenceHook};
use crate::metrics::Metrics;
use wire::{Control, RelayId};

/// Frames waiting for the bus by default ([`crate::Config::bus_outbox`]); past this they are
/// dropped (and made up for by the receivers' gap fill and, told by [`Control::Lost`], their
/// catch-up) rather than held in memory without bound.
pub const OUTBOX: usize = 16 * 1024;

/// What this relay sends to the bus.
#[derive(Debug)]
pub enum Out {
    /// A frame for some users' connections.
    Fan {
        /// Recipients.
        users: Vec<UserId>,
        /// What it is about.
        tag: Tag,
        /// The frame.
        payload: Arc<Payload>,
    },
    /// A control message.
    Control(Control),
}

/// The queue the link drains, and this relay's id on the bus.
pub struct Outbox {
    rx: mpsc::Receiver<Out>,
    relay: RelayId,
}

struct Shared {
    relay: RelayId,
    out: mpsc::Sender<Out>,
    /// Connected to NATS right now.
    up: AtomicBool,
    /// Counts the link's connects and disconnects, under a lock that `up` changes under
    /// too: a confirmation that comes after a newer one of these is stale.
    link: std::sync::Mutex<u64>,
    /// Something this relay stored did not go out on the bus since the last [`Control::Lost`].
    lost: AtomicBool,
    /// Every live relay heard from numbers its frames ([`heard::Heard::all_number`]): frames
    /// go out numbered, else in the format relays of the version before read.
    peers_number: AtomicBool,
    metrics: Arc<Metrics>,
}

/// Handle to the bus; a relay without one is alone. Cheap to clone.
#[derive(Clone, Default)]
pub struct Bus(Option<Arc<Shared>>);

impl Bus {
    /// No bus: a single relay.
    pub fn alone() -> Bus {
        Bus(None)
    }

    /// A bus handle with a fresh relay id, and the queue [`link::start`] drains.
    pub fn clustered(metrics: Arc<Metrics>, outbox: usize) -> (Bus, Outbox) {
        let (out, rx) = mpsc::channel(outbox.max(1));
        let relay = RelayId(rand::random());
        let shared = Shared {
            relay,
            out,
            up: AtomicBool::new(false),
            link: std::sync::Mutex::new(0),
            lost: AtomicBool::new(false),
            peers_number: AtomicBool::new(true),
            metrics,
        };
        (Bus(Some(Arc::new(shared))), Outbox { rx, relay })
    }

    /// Whether other relays may store messages for this relay's connections.
    pub fn is_clustered(&self) -> bool {
        self.0.is_some()
    }

    /// This relay's id on the bus.
    pub fn relay(&self) -> Option<RelayId> {
        self.0.as_ref().map(|s| s.relay)
    }

    /// `Some(connected)` in a cluster.
    pub fn is_up(&self) -> Option<bool> {
        self.0.as_ref().map(|s| s.up.load(Ordering::Relaxed))
    }

    /// The link disconnected: down, and any confirmation of an earlier connect is stale.
    fn link_down(&self) {
        if let Some(s) = &self.0 {
            let mut link = s.link.lock().unwrap();
            *link += 1;
            s.up.store(false, Ordering::Relaxed);
        }
    }

    /// The link connected (up once confirmed): the number of this event.
    fn link_connected(&self) -> u64 {
        self.0.as_ref().map_or(0, |s| {
            let mut link = s.link.lock().unwrap();
            *link += 1;
            *link
        })
    }

    /// Confirm connect `event`: up, unless a newer connect or a disconnect came since (then
    /// false, and nothing changes).
    fn confirm_up(&self, event: u64) -> bool {
        self.0.as_ref().is_some_and(|s| {
            let link = s.link.lock().unwrap();
            let latest = *link == event;
            if latest {
                s.up.store(true, Ordering::Relaxed);
            }
            latest
        })
    }

    /// Whether connect `event` is still the link's latest connect or disconnect.
    fn is_latest(&self, event: u64) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| *s.link.lock().unwrap() == event)
    }

    /// Queue for the bus without waiting; a full queue drops (counted, and told to the other
    /// relays: [`Bus::take_lost`]).
    fn send(&self, out: Out) {
        if let Some(s) = &self.0 {
            if s.out.try_send(out).is_err() {
                s.metrics.bus_dropped.fetch_add(1, Ordering::Relaxed);
                self.note_lost();
            }
        }
    }

    /// Something stored here did not reach the bus.
    fn note_lost(&self) {
        if let Some(s) = &self.0 {
            s.lost.store(true, Ordering::Relaxed);
        }
    }

    /// Whether something was lost since the last call: the link then publishes
    /// [`Control::Lost`] (once the bus takes publishes again).
    fn take_lost(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| s.lost.swap(false, Ordering::Relaxed))
    }

    /// Send a control message from this relay.
    fn control(&self, make: impl FnOnce(RelayId) -> Control) {
        if let Some(relay) = self.relay() {
            self.send(Out::Control(make(relay)));
        }
    }

    /// Whether frames may go out numbered: every live relay reads that format.
    fn peers_number(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|s| s.peers_number.load(Ordering::Relaxed))
    }

    /// Whether every live relay reads numbered frames, as the receiver last found.
    fn set_peers_number(&self, all: bool) {
        if let Some(s) = &self.0 {
            if s.peers_number.swap(all, Ordering::Relaxed) != all {
                let format = if all { "numbered" } else { "previous" };
                tracing::info!("bus frames now go out in the {format} format");
            }
        }
    }

    /// What the hub calls when a user's first connection here opens or last one closes.
    pub fn presence_hook(&self) -> Option<PresenceHook> {
        let bus = self.clone();
        self.is_clustered().then(|| -> PresenceHook {
            Box::new(move |user, online| {
                bus.control(|relay| {
                    if online {
                        Control::Online { relay, user }
                    } else {
                        Control::Offline { relay, user }
                    }
                })
            })
        })
    }

    /// Close the connections of revoked sessions, here and on every other relay.
    pub fn revoked(&self, hub: &Hub, sessions: &[SessionId]) {
        hub.kick_sessions(sessions, tern_proto::close::REVOKED);
        if !sessions.is_empty() {
            self.control(|relay| Control::Revoked {
                relay,
                sessions: sessions.to_vec(),
            });
        }
    }
}

/// Delivery in a cluster: this relay's connections at once, the others' through the bus.
pub struct Delivery {
    /// This relay's connections.
    pub hub: Hub,
    /// The other relays.
    pub bus: Bus,
}

impl Fanout for Delivery {
    /// Here and, once the bus takes publishes, on every other relay ([`Bus::take_lost`]).
    fn unsure(&self) {
        self.bus.note_lost();
        self.hub.catch_up_all();
    }

    fn publish(&self, publish: Publish) {
        if !publish.local {
            self.bus.send(Out::Fan {
                users: publish.users.clone(),
                tag: publish.tag,
                payload: publish.payload.clone(),
            });
        }
        self.hub.publish(publish);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reconnect's confirmation that comes after the link dropped again (or reconnected
    /// once more) leaves the link as the newer event says.
    #[test]
    fn a_stale_confirmation_does_not_bring_the_link_up() {
        let (bus, _outbox) = Bus::clustered(Arc::new(Metrics::default()), 1);
        let first = bus.link_connected();
        bus.link_down();
        assert!(!bus.confirm_up(first), "confirmed after the drop");
        assert_eq!(bus.is_up(), Some(false));
        let second = bus.link_connected();
        let third = bus.link_connected();
        assert!(!bus.confirm_up(second), "a newer connect came since");
        assert!(bus.is_latest(third));
        assert!(bus.confirm_up(third));
        assert_eq!(bus.is_up(), Some(true));
        bus.link_down();
        assert_eq!(bus.is_up(), Some(false));
    }
}
