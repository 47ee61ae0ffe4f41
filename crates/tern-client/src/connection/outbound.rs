//! What the session writes: frame encoding, the outbox flush, read markers and delivery
//! acknowledgements.
//!
//! The outbox is a persisted queue (see [`crate::cache::outbox`]): a flush sends every queued
//! entry not already in flight on this connection, at most [`MAX_IN_FLIGHT`] at a time, and an
//! entry leaves the queue only when the relay acknowledges it. A new connection starts with
//! nothing in flight, so whatever was unanswered when a link dropped is sent again; the relay
//! answers a repeated client id with the original result, so nothing is stored twice.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::SinkExt;
use tern_proto::compression::COMPRESSION_THRESHOLD;
use tern_proto::{
    ClientFrame, ClientId, ConversationId, ErrorCode, MarkDelivered, MarkRead, MessageKind,
    SendMessage, Seq, SetChatPrefs, Timestamp,
};
use tokio_tungstenite::tungstenite::Message;

use super::failure::SessionError;
use super::pending::Pending;
use super::session::{Session, Step, Ws};
use crate::cache::messages::WRITTEN_EARLIER_MS;
use crate::cache::prefs::{Field, Outgoing};
use crate::cache::{conversations as convs, outbox, prefs};

/// Delivery markers remembered by id, to say again one refused for a moment.
const DELIVERED_IDS: usize = 512;

/// Outbox entries sent on one connection and not yet answered.
pub(super) const MAX_IN_FLIGHT: usize = 256;

impl Session<'_> {
    /// The wire form of a frame: deflated when the relay agreed and it is large.
    fn encode(&self, frame: &ClientFrame) -> Message {
        self.encode_text(serde_json::to_string(frame).expect("client frames serialize"))
    }

    fn encode_text(&self, text: String) -> Message {
        if self.compression && text.len() >= COMPRESSION_THRESHOLD {
            Message::Binary(tern_proto::compression::deflate(&text).into())
        } else {
            Message::Text(text.into())
        }
    }

    /// Write one frame now.
    pub(super) async fn write(&mut self, ws: &mut Ws, frame: ClientFrame) -> Step {
        let message = self.encode(&frame);
        self.bounded(ws.send(message)).await
    }

    /// Queue one frame for the next [`SinkExt::flush`] (it writes when the queue is full).
    async fn feed(&mut self, ws: &mut Ws, frame: ClientFrame) -> Step {
        let message = self.encode(&frame);
        self.bounded(ws.feed(message)).await
    }

    /// A write to the socket, given at most the heartbeat timeout. A write waits while the
    /// socket takes no more bytes, and on a dead link nobody closes (a network that went away,
    /// a NAT that forgot it) that is until TCP gives up, many minutes later, with the session
    /// loop and its timers, the heartbeat's among them, stalled behind it. A link that takes a
    /// whole heartbeat timeout to take a frame is the silent one it is.
    pub(super) async fn bounded(
        &self,
        write: impl std::future::Future<Output = Result<(), tokio_tungstenite::tungstenite::Error>>,
    ) -> Step {
        let limit = self.shared.config.timing.heartbeat_timeout;
        match tokio::time::timeout(limit, write).await {
            Ok(done) => done.map_err(SessionError::Write),
            Err(_) => Err(SessionError::Silent(limit)),
        }
    }

    /// Send every queued outbox entry not already in flight, and unacknowledged read markers.
    pub(super) async fn flush(&mut self, ws: &mut Ws) -> Step {
        if self.hold_until.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        self.hold_until = None;
        let me = self.shared.user_id;
        // What is in flight is the head of the queue (sent in order), so the head plus a full
        // window is all that could go now.
        let window = self.pending.sends_in_flight() + MAX_IN_FLIGHT;
        let acked: Vec<(ConversationId, Seq)> = self.acked_reads.drain().collect();
        let delivered_owed = std::mem::take(&mut self.delivered_owed);
        let (queued, reads, prefs, lagging) = self
            .shared
            .cache
            .call(move |txn| {
                for &(conv, seq) in &acked {
                    convs::read_sent(txn, conv, seq)?;
                }
                Ok((
                    outbox::queued_first(txn, window)?,
                    convs::reads_to_send(txn, me)?,
                    prefs::to_send(txn)?,
                    if delivered_owed {
                        convs::delivered_behind(txn, me)?
                    } else {
                        Vec::new()
                    },
                ))
            })
            .await?;
        // Delivery markers refused for a moment.
        if !lagging.is_empty() {
            self.ack_delivered(ws, lagging).await?;
        }
        // Each send names the one before it in its conversation that is still unacknowledged
        // (queued from the head of the outbox, so every earlier one is in this list): the
        // relay stores it only after that one, so the order holds even when one of them is
        // refused for a moment while the ones after it are on their way.
        let mut last_in: HashMap<ConversationId, String> = HashMap::new();
        for item in queued {
            if self.pending.sends_in_flight() >= MAX_IN_FLIGHT {
                break;
            }
            let after = last_in.get(&item.conversation_id).cloned();
            if self.pending.is_sending(&item.client_id) {
                last_in.insert(item.conversation_id, item.client_id);
                continue;
            }
            let id = self.pending.insert(Pending::Send {
                client_id: item.client_id.clone(),
                deadline: Instant::now() + self.shared.config.timing.request_timeout,
            });
            let (conversation_id, client_id) = (item.conversation_id, item.client_id.clone());
            let written_at = written_at_to_send(
                item.kind,
                item.created_at,
                (self.opened_at, tern_proto::now_ms()),
                self.clock_offset_ms,
            );
            let frame = ClientFrame::Send(SendMessage {
                id,
                conversation_id: item.conversation_id,
                client_id: ClientId::from(item.client_id),
                body: item.body,
                kind: item.kind,
                target_seq: item.target_seq,
                reply_to: item.reply_to,
                attachment: item.attachment,
                after: after.map(ClientId::from),
                written_at,
            });
            let text = serde_json::to_string(&frame).expect("client frames serialize");
            if text.len() > self.max_frame_bytes {
                // The relay would refuse it without saying which it was: it would be sent
                // again forever, and every later entry of its chat would wait behind it.
                self.pending.take_send(id);
                let reason = format!(
                    "too large for this relay ({} bytes; it takes frames of at most {})",
                    text.len(),
                    self.max_frame_bytes
                );
                self.on_send_refused(client_id, ErrorCode::FrameTooLarge, reason)
                    .await?;
                continue;
            }
            last_in.insert(conversation_id, client_id);
            let message = self.encode_text(text);
            self.bounded(ws.feed(message)).await?;
        }
        for (conversation_id, seq) in reads {
            self.feed_read(ws, conversation_id, seq).await?;
        }
        for out in prefs {
            // Each field not on its way at this edit already, in a request of its own with
            // the time it was edited (the relay keeps the later edit of a setting); so a pin
            // the pin limit refuses takes back nothing else.
            let unsent = Field::ALL.into_iter().filter(|&f| {
                f.in_change(&out.change)
                    && !self
                        .pending
                        .is_setting(out.conversation_id, f, out.gens.get(f))
            });
            for field in unsent.collect::<Vec<_>>() {
                let change = field.alone(&out.change);
                let sent = Outgoing { change, ..out };
                let id = self.pending.insert(Pending::Prefs { sent });
                let frame = SetChatPrefs {
                    id,
                    conversation_id: out.conversation_id,
                    change,
                    edited_at: out.at.get(field),
                };
                self.feed(ws, ClientFrame::SetChatPrefs(frame)).await?;
            }
        }
        self.bounded(ws.flush()).await
    }

    /// Queue a read marker unless the same one is already awaiting its answer.
    pub(super) async fn feed_read(
        &mut self,
        ws: &mut Ws,
        conversation_id: ConversationId,
        seq: Seq,
    ) -> Step {
        if self.pending.is_reading(conversation_id, seq) {
            return Ok(());
        }
        let id = self.pending.insert(Pending::Read {
            conversation_id,
            seq,
        });
        let frame = ClientFrame::Read(MarkRead {
            id,
            conversation_id,
            seq,
        });
        self.feed(ws, frame).await
    }

    /// Tell the relay which messages from others reached this device.
    pub(super) async fn ack_delivered(
        &mut self,
        ws: &mut Ws,
        cursors: Vec<(ConversationId, Seq)>,
    ) -> Step {
        for (conversation_id, seq) in cursors {
            // Not again what this connection already said (a refusal for a moment takes it
            // back: answers.rs).
            let sent = self.delivered_sent.entry(conversation_id).or_default();
            if seq > *sent {
                *sent = seq;
                let id = self.pending.next_id();
                if self.delivered_ids.len() == DELIVERED_IDS {
                    self.delivered_ids.pop_front();
                }
                self.delivered_ids.push_back((id, conversation_id, seq));
                let frame = ClientFrame::Delivered(MarkDelivered {
                    id,
                    conversation_id,
                    seq,
                });
                self.feed(ws, frame).await?;
            }
        }
        self.bounded(ws.flush()).await
    }
}

/// What a send says of when its text was written: for a message written before the link it
/// goes out on opened and going out [`WRITTEN_EARLIER_MS`] or more after it was written
/// (`written`, and `(opened, now)`, on this device's clock: it waited for the relay), the time
/// it was written on the relay's clock (`offset` ahead of this device's). Nothing for one sent
/// as it was written, one that only waited for its turn behind an upload on a live link, or
/// an event.
fn written_at_to_send(
    kind: MessageKind,
    written: Timestamp,
    (opened, now): (Timestamp, Timestamp),
    offset: i64,
) -> Option<Timestamp> {
    let waited = written < opened && now.saturating_sub(written) >= WRITTEN_EARLIER_MS;
    (kind.is_text() && waited)
        .then(|| written.saturating_add(offset))
        .filter(|&t| t > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_that_waited_a_minute_or_more_says_when_it_was_written_on_the_relays_clock() {
        let now = 1_800_000_000_000;
        let waited = now - WRITTEN_EARLIER_MS;
        let link = (now - 1_000, now);
        assert_eq!(
            written_at_to_send(MessageKind::Text, waited, link, 250),
            Some(waited + 250)
        );
        assert_eq!(
            written_at_to_send(MessageKind::Text, now - 5_000, link, 250),
            None
        );
        assert_eq!(
            written_at_to_send(MessageKind::React, waited, link, 250),
            None
        );
        // Written on this link and held a minute behind a file going up: it never waited
        // for the relay.
        let long_link = (waited - 1, now);
        assert_eq!(
            written_at_to_send(MessageKind::Text, waited, long_link, 250),
            None
        );
        // A device clock set before 1970 gives no time at all.
        assert_eq!(
            written_at_to_send(MessageKind::Text, -WRITTEN_EARLIER_MS, (0, 0), 0),
            None
        );
    }
}
