//! Answers to what this connection asked: acks of outbox sends, `ok`s, and errors.
//!
//! Each answer settles exactly the [`super::pending::PendingTable`] entry of its request id. An
//! acknowledged send is stored as a message (which removes it from the outbox) before its
//! status event; a send refused for a reason that may pass stays queued and is retried after
//! [`crate::Timing::transient_retry`]; one refused for good is marked failed, not retried.

use std::time::Instant;

use tern_proto::{
    ConversationId, ErrorCode, MessageId, MessageRecord, RequestId, Seq, ServerFrame, Timestamp,
};

use super::outbound::MAX_IN_FLIGHT;
use super::session::{Session, Step, Ws};
use crate::cache::{conversations as convs, messages, outbox};
use crate::error::Error;
use crate::events::{Event, MessageStatus};

/// The relay's acknowledgement of one outbox send: the fields of [`ServerFrame::Ack`] this
/// client uses.
pub(super) struct Ack {
    /// The request id the entry was sent under.
    pub(super) id: RequestId,
    /// The outbox entry's client id.
    pub(super) client_id: String,
    /// The relay's id for the stored message.
    pub(super) message_id: MessageId,
    /// Its conversation.
    pub(super) conversation_id: ConversationId,
    /// Its place in the conversation.
    pub(super) seq: Seq,
    /// The relay's timestamp.
    pub(super) sent_at: Timestamp,
}

impl Session<'_> {
    /// The relay stored an outbox entry: store it as a message, then send more.
    pub(super) async fn on_ack(&mut self, ws: &mut Ws, ack: Ack) -> Step {
        self.pending.settle_send(ack.id, &ack.client_id);
        let me = self.shared.user_id;
        let username = self.shared.username.clone();
        let cid = ack.client_id.clone();
        let (message_id, conversation_id, seq, sent_at) =
            (ack.message_id, ack.conversation_id, ack.seq, ack.sent_at);
        let chat = self
            .shared
            .cache
            .call(move |txn| {
                let Some(body) = outbox::body(txn, &cid)? else {
                    return Ok(None);
                };
                let record = MessageRecord {
                    message_id,
                    conversation_id,
                    seq,
                    sender_id: me,
                    sender: username,
                    client_id: cid,
                    body,
                    sent_at,
                };
                messages::acked(txn, me, &record).map(Some)
            })
            .await?;
        if let Some(chat) = chat {
            self.shared.emit(Event::Status {
                conversation_id,
                client_id: ack.client_id,
                seq: Some(seq),
                status: chat.status,
            });
        }
        // Refill the window once half of it has drained.
        if self.pending.sends_in_flight() < MAX_IN_FLIGHT / 2 {
            self.flush(ws).await?;
        }
        Ok(())
    }

    /// The relay refused something: a send, a read marker or a caller's request.
    pub(super) async fn on_error(
        &mut self,
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    ) -> Step {
        let Some(id) = id else {
            tracing::warn!(%code, %message, "relay reported an error");
            return Ok(());
        };
        if let Some(client_id) = self.pending.take_send(id) {
            return self.on_send_refused(client_id, code, message).await;
        }
        if self.pending.take_read(id).is_some() {
            tracing::debug!(%code, "read marker refused");
            return Ok(());
        }
        self.pending
            .resolve(id, Err(Error::Relay { code, message }));
        Ok(())
    }

    /// An outbox send was refused: pause and retry if that may pass, else mark it failed.
    async fn on_send_refused(
        &mut self,
        client_id: String,
        code: ErrorCode,
        message: String,
    ) -> Step {
        if code.is_transient() {
            // Keep it queued; resend after a pause.
            self.hold_until = Some(Instant::now() + self.shared.config.timing.transient_retry);
            return Ok(());
        }
        let reason = format!("{message} ({code})");
        let (cid, stored_reason) = (client_id.clone(), reason.clone());
        let conv = self
            .shared
            .cache
            .call(move |txn| outbox::fail(txn, &cid, &stored_reason))
            .await?;
        if let Some(conversation_id) = conv {
            self.shared.emit(Event::Status {
                conversation_id,
                client_id,
                seq: None,
                status: MessageStatus::Failed { reason },
            });
        }
        Ok(())
    }

    /// `ok` settles a read marker (recorded as sent) or answers a caller's request.
    pub(super) async fn on_ok(&mut self, id: RequestId) -> Step {
        if let Some((conv, seq)) = self.pending.take_read(id) {
            self.shared
                .cache
                .call(move |txn| convs::read_sent(txn, conv, seq))
                .await?;
        } else {
            self.pending.resolve(id, Ok(ServerFrame::Ok { id }));
        }
        Ok(())
    }
}
