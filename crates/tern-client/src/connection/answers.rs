//! Answers to what this connection asked: acks of outbox sends, `ok`s, and errors.
//!
//! Each answer settles exactly the [`super::pending::PendingTable`] entry of its request id. An
//! acknowledged send is stored as a message (which removes it from the outbox) before its
//! status event; a send refused for a reason that may pass stays queued and is retried after
//! [`crate::Timing::transient_retry`]; one refused for good is marked failed, not retried.

use std::time::Instant;

use tern_proto::{
    ClientId, ConversationId, ErrorCode, MessageId, MessageRecord, RequestId, Seq, ServerFrame,
    Timestamp,
};

use super::failure::SessionError;
use super::outbound::MAX_IN_FLIGHT;
use super::session::{Session, Step, Ws};
use crate::cache::{chat, messages, outbox, prefs, transfers};
use crate::error::Error;
use crate::events::{ChatMessage, Event, MessageStatus};

/// The relay's acknowledgement of one outbox send: the fields of [`ServerFrame::Ack`] this
/// client uses.
pub(super) struct Ack {
    /// The request id the entry was sent under.
    pub(super) id: RequestId,
    /// The outbox entry's client id.
    pub(super) client_id: ClientId,
    /// The relay's id for the stored message.
    pub(super) message_id: MessageId,
    /// Its conversation.
    pub(super) conversation_id: ConversationId,
    /// Its place in the conversation.
    pub(super) seq: Seq,
    /// The relay's timestamp.
    pub(super) sent_at: Timestamp,
}

/// What became of an outbox entry the relay refused for good.
enum Refusal {
    /// It was no longer in the outbox.
    Gone,
    /// A message: marked failed (in this conversation, if known).
    Failed(Option<ConversationId>),
    /// A message whose file the relay no longer has: it stays queued, and the file goes up
    /// again first.
    Reupload,
    /// An event: dropped; the target (conversation, seq), how it shows now, and the event.
    Dropped(
        ConversationId,
        Seq,
        Option<Box<ChatMessage>>,
        Box<outbox::OutboxItem>,
    ),
}

/// The chat views of changed messages, in order (for [`Event::MessageChanged`]).
pub(super) fn changed_views(
    txn: &rusqlite::Transaction<'_>,
    me: tern_proto::UserId,
    changed: &[(ConversationId, Seq)],
) -> crate::Result<Vec<ChatMessage>> {
    let mut views = Vec::with_capacity(changed.len());
    for &(conv, seq) in changed {
        // A message deleted for the user stays out of sight, whatever later changes it.
        let Some(record) = crate::cache::messages::shown_text_at(txn, conv, seq)? else {
            continue;
        };
        views.extend(chat::to_chats(txn, me, std::slice::from_ref(&record))?);
    }
    Ok(views)
}

impl Session<'_> {
    /// Tell subscribers how changed messages show now.
    pub(super) fn emit_changed(&self, changed: Vec<ChatMessage>) {
        for message in changed {
            self.shared.emit(Event::MessageChanged {
                message,
                hidden: false,
            });
        }
    }

    /// The relay stored an outbox entry: store it as a message, then send more.
    pub(super) async fn on_ack(&mut self, ws: &mut Ws, ack: Ack) -> Step {
        self.pending.settle_send(ack.id, ack.client_id.as_str());
        let me = self.shared.user_id;
        let username = self.shared.username.clone();
        let cid = ack.client_id.clone();
        let (message_id, conversation_id, seq, sent_at) =
            (ack.message_id, ack.conversation_id, ack.seq, ack.sent_at);
        let outcome = self
            .shared
            .cache
            .call(move |txn| {
                let Some(item) = outbox::entry(txn, cid.as_str())? else {
                    return Ok(None);
                };
                let record = MessageRecord {
                    message_id,
                    conversation_id,
                    seq,
                    sender_id: me,
                    sender: username,
                    client_id: cid,
                    body: item.body,
                    sent_at,
                    kind: item.kind,
                    target_seq: item.target_seq,
                    reply_to: item.reply_to,
                    attachment: item.attachment,
                    ..MessageRecord::default()
                };
                let stored = messages::acked(txn, me, &record)?;
                let shown = if record.kind.is_text() {
                    chat::chat_at(txn, me, conversation_id, seq)?.map(|c| (c.status, c.written_at))
                } else {
                    None
                };
                Ok(Some((shown, changed_views(txn, me, &stored.changed)?)))
            })
            .await?;
        if let Some((shown, changed)) = outcome {
            if let Some((status, written_at)) = shown {
                self.shared.emit(Event::Status {
                    conversation_id,
                    client_id: ack.client_id.0,
                    seq: Some(seq),
                    sent_at: Some(sent_at),
                    written_at,
                    status,
                });
            }
            self.emit_changed(changed);
        }
        // Refill the window once half of it has drained.
        if self.pending.sends_in_flight() < MAX_IN_FLIGHT / 2 {
            self.flush(ws).await?;
        }
        Ok(())
    }

    /// The relay refused something: a send, a read marker, the sync or a caller's request.
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
            // The marker is still unsent in the cache: a transient refusal (rate, a busy
            // relay) sends it again after the pause, with nothing else to prompt a flush.
            tracing::debug!(%code, "read marker refused");
            if code.is_transient() {
                self.hold_for_transient();
            }
            return Ok(());
        }
        if let Some(conv) = self.pending.take_fill(id) {
            // The next message pushed in it asks again (a sync fills it otherwise).
            tracing::debug!(%code, %conv, "missing messages could not be read");
            return Ok(());
        }
        if let Some(sent) = self.pending.take_prefs(id) {
            if code.is_transient() {
                // Still this device's change: the flush after the pause sends it again.
                self.hold_for_transient();
                return Ok(());
            }
            // Refused for good: the relay's word shows again. A later edit of the same
            // setting from another device is the account's choice, not a failure.
            if code == ErrorCode::Superseded {
                tracing::debug!(%message, "a chat setting changed here was changed later elsewhere");
            } else {
                tracing::warn!(%code, %message, "a chat's mute, pin or mark was refused");
            }
            let all = self
                .shared
                .cache
                .call(move |txn| {
                    prefs::refused(txn, &sent)?;
                    prefs::all(txn)
                })
                .await?;
            self.shared.emit(Event::ChatPrefs { all });
            return Ok(());
        }
        if let Some(at) = self.delivered_ids.iter().position(|&(i, ..)| i == id) {
            let (_, conv, seq) = self.delivered_ids.remove(at).expect("found");
            tracing::debug!(%code, %conv, "delivery marker refused");
            if code.is_transient() {
                // Not said, as far as this connection knows: the next flush says it again.
                if self.delivered_sent.get(&conv) == Some(&seq) {
                    self.delivered_sent.remove(&conv);
                }
                self.delivered_owed = true;
                self.hold_for_transient();
            }
            return Ok(());
        }
        // Without its sync a session would stay "syncing" for ever: start over.
        if self.pending.take_sync(id) {
            return Err(SessionError::SyncRefused { code, message });
        }
        if code.is_transient() && !self.pending.is_tracked(id) {
            // Nothing this connection waits for: most likely a delivery marker whose id was
            // no longer remembered (a burst of them). The next flush says those behind again.
            self.delivered_owed = true;
            self.hold_for_transient();
        }
        self.pending
            .resolve(id, Err(Error::Relay { code, message }));
        Ok(())
    }

    /// Something was refused for a moment: nothing is sent again before the transient pause
    /// has passed; then housekeeping flushes what the cache still holds to send.
    fn hold_for_transient(&mut self) {
        self.hold_until = Some(Instant::now() + self.shared.config.timing.transient_retry);
    }

    /// An outbox send was refused: pause and retry if that may pass, else mark it failed.
    pub(super) async fn on_send_refused(
        &mut self,
        client_id: String,
        code: ErrorCode,
        message: String,
    ) -> Step {
        if code.is_transient() {
            // Keep it queued; resend after a pause.
            self.hold_for_transient();
            return Ok(());
        }
        let reason = format!("{message} ({code})");
        let (cid, stored_reason) = (client_id.clone(), reason.clone());
        let me = self.shared.user_id;
        // The relay's words for an attachment it does not have (send_rules.rs).
        let swept = code == ErrorCode::NotFound && message.contains("attachment upload");
        let outcome = self
            .shared
            .cache
            .call(move |txn| {
                let Some(item) = outbox::entry(txn, &cid)? else {
                    return Ok(Refusal::Gone);
                };
                if swept && item.attachment.is_some() && transfers::upload_again(txn, &cid)? {
                    return Ok(Refusal::Reupload);
                }
                let Some(target) = item.target_seq.filter(|_| !item.kind.is_text()) else {
                    return outbox::fail(txn, &cid, &stored_reason).map(Refusal::Failed);
                };
                // An event has no row of its own to retry from: drop it, show the target
                // as it was.
                outbox::delete(txn, &cid)?;
                let view = chat::chat_at(txn, me, item.conversation_id, target)?.map(Box::new);
                Ok(Refusal::Dropped(
                    item.conversation_id,
                    target,
                    view,
                    Box::new(item),
                ))
            })
            .await?;
        let conv = match outcome {
            Refusal::Gone => None,
            Refusal::Reupload => {
                tracing::info!("the relay no longer has a queued message's file: it goes up again");
                return Ok(());
            }
            Refusal::Failed(conv) => conv,
            Refusal::Dropped(conversation_id, seq, view, item) => {
                if let Some(message) = view {
                    self.shared.emit(Event::MessageChanged {
                        message: *message,
                        hidden: false,
                    });
                }
                self.shared.emit(Event::ActionRefused {
                    conversation_id,
                    seq,
                    kind: item.kind,
                    body: item.body,
                    reason,
                });
                return Ok(());
            }
        };
        if let Some(conversation_id) = conv {
            self.shared.emit(Event::Status {
                conversation_id,
                client_id,
                seq: None,
                sent_at: None,
                written_at: None,
                status: MessageStatus::Failed { reason },
            });
        }
        Ok(())
    }

    /// `ok` settles a read marker (recorded as sent with the next flush) or answers a caller's
    /// request.
    pub(super) async fn on_ok(&mut self, id: RequestId) -> Step {
        if let Some((conv, seq)) = self.pending.take_read(id) {
            let acked = self.acked_reads.entry(conv).or_default();
            *acked = (*acked).max(seq);
        } else if let Some(sent) = self.pending.take_prefs(id) {
            // Stored: its fields go once the relay's word has them (its echo, sent before
            // this answer was, may have come first).
            let conv = sent.conversation_id;
            let all = self
                .shared
                .cache
                .call(move |txn| {
                    let before = prefs::one(txn, conv)?;
                    prefs::stored(txn, &sent)?;
                    (prefs::one(txn, conv)? != before)
                        .then(|| prefs::all(txn))
                        .transpose()
                })
                .await?;
            if let Some(all) = all {
                self.shared.emit(Event::ChatPrefs { all });
            }
        } else {
            self.pending.resolve(id, Ok(ServerFrame::Ok { id }));
        }
        Ok(())
    }
}
