//! What a connection sends, and how each item becomes a WebSocket message: shared payloads
//! arrive pre-serialized, replies are serialized here, and large frames go out deflated when
//! the client asked for it. [`super::outq::OutQueue`] queues them and writes them.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message};
use tern_proto::compression::COMPRESSION_THRESHOLD;
use tern_proto::ServerFrame;

use crate::fanout::Payload;
use crate::hub::CloseReason;

impl Outbound {
    /// A reply for this connection.
    pub fn own(frame: ServerFrame) -> Self {
        Outbound::Own(Box::new(frame))
    }
}

/// Something for the connection to send. Two words, so a backlog slot is three: every variant
/// holds at most one pointer.
#[derive(Debug)]
pub enum Outbound {
    /// A frame serialized once for many recipients.
    Shared(Arc<Payload>),
    /// A reply for this connection only.
    Own(Box<ServerFrame>),
    /// A reply already serialized (it waited in the backlog, where its size is counted).
    /// Boxed to keep the enum two words wide (a `String` is three).
    #[allow(clippy::box_collection)]
    Encoded(Box<String>),
    /// A WebSocket ping (heartbeat).
    Ping,
    /// Close the connection with this code and reason, then stop.
    Close(Box<CloseReason>),
}

const _: () = assert!(std::mem::size_of::<Outbound>() == 2 * std::mem::size_of::<usize>());

/// The WebSocket message for `item`.
pub fn encode(item: Outbound, compression: bool) -> Message {
    match item {
        Outbound::Shared(p) => {
            if compression && p.text().len() >= COMPRESSION_THRESHOLD {
                Message::Binary(p.deflated())
            } else {
                Message::Text(p.text().clone())
            }
        }
        Outbound::Own(frame) => encode_text(frame.to_json(), compression),
        Outbound::Encoded(text) => encode_text(*text, compression),
        Outbound::Ping => Message::Ping(Default::default()),
        Outbound::Close(r) => Message::Close(Some(CloseFrame {
            code: r.code,
            reason: r.reason.into(),
        })),
    }
}

fn encode_text(text: String, compression: bool) -> Message {
    if compression && text.len() >= COMPRESSION_THRESHOLD {
        Message::Binary(tern_proto::compression::deflate(&text).into())
    } else {
        Message::Text(text.into())
    }
}

impl Outbound {
    /// Serialize now and report the size: what waits in a backlog is counted in bytes.
    pub fn weighed(self) -> (Outbound, usize) {
        match self {
            Outbound::Shared(p) => {
                let n = p.text().len();
                (Outbound::Shared(p), n)
            }
            Outbound::Own(frame) => {
                let text = frame.to_json();
                let n = text.len();
                (Outbound::Encoded(Box::new(text)), n)
            }
            Outbound::Encoded(text) => {
                let n = text.len();
                (Outbound::Encoded(text), n)
            }
            other => (other, 16),
        }
    }
}
