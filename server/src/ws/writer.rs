//! The per-connection writer task: the only owner of the socket's sending half.
//!
//! It takes everything queued for the connection, feeds as much as is waiting into the sink and
//! flushes once, so a burst of fan-out costs one syscall rather than one per frame. Shared
//! payloads arrive pre-serialized; large ones go out deflated when the client asked for it.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tern_proto::compression::COMPRESSION_THRESHOLD;
use tern_proto::ServerFrame;
use tokio::sync::mpsc;

use crate::fanout::Payload;
use crate::hub::CloseReason;

impl Outbound {
    /// A reply for this connection.
    pub fn own(frame: ServerFrame) -> Self {
        Outbound::Own(Box::new(frame))
    }
}

/// Most frames fed before a flush.
const MAX_BATCH: usize = 64;

/// Something for the writer to send. Two words: the writer's channel allocates its slots in
/// blocks of 32 for every connection, so every variant holds at most one pointer.
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

fn encode(item: Outbound, compression: bool) -> Message {
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

/// Run until the queue closes, a close is sent, or the socket fails.
pub async fn run(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    compression: bool,
) {
    while let Some(first) = rx.recv().await {
        let mut closing = matches!(first, Outbound::Close(_));
        if sink.feed(encode(first, compression)).await.is_err() {
            return;
        }
        let mut fed = 1;
        while !closing && fed < MAX_BATCH {
            let Ok(item) = rx.try_recv() else { break };
            closing = matches!(item, Outbound::Close(_));
            if sink.feed(encode(item, compression)).await.is_err() {
                return;
            }
            fed += 1;
        }
        if sink.flush().await.is_err() || closing {
            let _ = sink.close().await;
            return;
        }
    }
    let _ = sink.close().await;
}
