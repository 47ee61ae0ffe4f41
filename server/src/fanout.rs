//! The boundary between storage and delivery: what the store hands over after a commit.
//!
//! A [`Publish`] names users, not connections; the [`Fanout`] implementation decides where
//! those users' sessions are: the in-process [`crate::hub::Hub`] on a single relay, and in a
//! cluster [`crate::bus::Delivery`], which hands the same frame to the hub and to the bus
//! between relays. Payloads are serialized once and shared by every recipient.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use tern_proto::{ConversationId, ReceiptState, Seq, ServerFrame, UserId};

/// Identifies one WebSocket connection on this relay.
pub type ConnId = u64;

/// No connection's id (ids start at 1): a publication that leaves no connection out.
pub const NO_CONN: ConnId = 0;

/// A frame shared by all its recipients, serialized once: at once ([`Payload::new`]), or by
/// the first recipient that needs the text ([`Payload::lazy`], so a message whose recipients
/// are all offline is never serialized at all), with its deflated form made on
/// first use.
#[derive(Debug)]
pub struct Payload {
    /// The frame, for a payload serialized on first use.
    frame: Option<ServerFrame>,
    text: OnceLock<Utf8Bytes>,
    deflated: OnceLock<Bytes>,
}

impl Payload {
    /// Serialize `frame` once, now.
    pub fn new(frame: &ServerFrame) -> Arc<Payload> {
        Self::from_text(Utf8Bytes::from(frame.to_json()))
    }

    /// `frame`, serialized when a recipient first needs its text.
    pub fn lazy(frame: ServerFrame) -> Arc<Payload> {
        Arc::new(Payload {
            frame: Some(frame),
            text: OnceLock::new(),
            deflated: OnceLock::new(),
        })
    }

    /// A frame already serialized (by the relay that published it on the bus).
    pub fn from_text(text: Utf8Bytes) -> Arc<Payload> {
        Arc::new(Payload {
            frame: None,
            text: OnceLock::from(text),
            deflated: OnceLock::new(),
        })
    }

    /// The JSON text.
    pub fn text(&self) -> &Utf8Bytes {
        self.text.get_or_init(|| {
            let frame = self
                .frame
                .as_ref()
                .expect("a payload has its frame or its text");
            Utf8Bytes::from(frame.to_json())
        })
    }

    /// The raw-deflate bytes of the JSON text (computed once).
    pub fn deflated(&self) -> Bytes {
        self.deflated
            .get_or_init(|| Bytes::from(tern_proto::compression::deflate(self.text().as_str())))
            .clone()
    }
}

/// What a pushed frame carries, as far as sync de-duplication needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// A new message: its conversation and sequence.
    Message(ConversationId, Seq),
    /// A member's cumulative receipt markers.
    Receipt(ReceiptState),
    /// A conversation's shape, or its removal for the recipient, at this change version (its
    /// [`tern_proto::ConversationInfo::version`]): a connection that already sent a newer
    /// shape drops it.
    Shape(ConversationId, u64),
    /// Anything else.
    Other,
}

/// A frame to push to every connected session of some users.
#[derive(Debug, Clone)]
pub struct Publish {
    /// Recipients.
    pub users: Vec<UserId>,
    /// The frame.
    pub payload: Arc<Payload>,
    /// What the frame is about, so a connection that just synced can drop what the sync
    /// already sent (or what it has newer).
    pub tag: Tag,
    /// A connection that must not receive it (the one that caused it and got a reply).
    pub except: Option<ConnId>,
    /// For this relay's connections only: in a cluster each relay announces presence to its
    /// own connections (see [`crate::bus`]).
    pub local: bool,
}

impl Publish {
    /// Publish `frame` to `users`.
    pub fn new(users: Vec<UserId>, frame: &ServerFrame) -> Self {
        Self::of(users, Payload::new(frame))
    }

    /// Publish `frame` to `users`, serialized by its first recipient ([`Payload::lazy`]).
    pub fn lazy(users: Vec<UserId>, frame: ServerFrame) -> Self {
        Self::of(users, Payload::lazy(frame))
    }

    fn of(users: Vec<UserId>, payload: Arc<Payload>) -> Self {
        Publish {
            users,
            payload,
            tag: Tag::Other,
            except: None,
            local: false,
        }
    }
}

/// Delivers published frames to users' live sessions. Must not block: it is called after each
/// commit, in commit order, by the task that settles the store's batches on the event loop (by
/// the store's writer thread when the store was opened outside a runtime).
pub trait Fanout: Send + Sync + 'static {
    /// Deliver to every connected session of `publish.users`.
    fn publish(&self, publish: Publish);

    /// A batch's commit failed in a way that leaves its outcome unknown (the database's
    /// answer to `COMMIT` was lost): it may be stored, and its publications were not made.
    /// Every connection that could have been told of it must look in the store instead.
    fn unsure(&self) {}
}
