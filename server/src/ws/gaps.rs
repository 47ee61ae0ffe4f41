//! What a connection forwards from the hub, and — in a cluster — how it keeps its message
//! pushes in order and gap-free although they come from several relays.
//!
//! On a single relay pushes of a conversation reach a connection in `seq` order by construction
//! (one writer commits, and its batches are published in commit order). In a cluster a message
//! stored through another relay arrives over the bus, later than the local ones and possibly never
//! (NATS core is at-most-once). So the connection keeps, per conversation, the newest `seq` below
//! which the client has been sent everything (by the sync, by pushes, or as the `ack` of its own
//! send), and the own sends acknowledged beyond it (in a chat spread over relays one's own message
//! is often stored before another's that arrives later over the bus; the client has it, so it is no
//! gap). A push past that mark is preceded by the missing entries read from the store (every lower
//! `seq` is committed once a higher one is: sequence numbers are assigned under the conversation's
//! row lock, held to commit); a push at or below it arrived another way already and is dropped.
//! When the bus was away, [`Live::CatchUp`] makes the connection send what changed since the
//! client's last sync (conversations, receipt markers) and compare each conversation's mark with
//! its head in the store, sending what it lacks.
//!
//! Both read on the store's read connections, as a sync does ([`crate::store::Store::snapshot`]),
//! not as jobs of the writer's group commits: on PostgreSQL those hold the lock every relay's
//! batches queue for, and a bus outage ends with every connection of every relay catching up.

use tern_proto::{close, ConversationId, Seq, ServerFrame};

use super::connection::Conn;
use super::outbound::Outbound;
use crate::fanout::Tag;
use crate::hub::Live;
use crate::ops::privacy_state;
use crate::ops::visibility::Rules;

/// Entries read from the store at a time when filling a gap.
const CHUNK: usize = 64;

/// Most entries a catch-up sends of a conversation the connection was never told of; past
/// it the connection is closed and the client's sync pages them in.
const FROM_START_MAX: u64 = 500;

impl Conn {
    /// Forward what the hub handed over, unless a sync on this connection already sent it or
    /// newer; in a cluster, fill a gap before a message push and drop a copy that came late.
    pub(super) async fn forward(&mut self, item: Live) {
        let (payload, tag) = match item {
            Live::Frame(pushed) => (pushed.payload.clone(), pushed.tag),
            Live::CatchUp => return self.catch_up().await,
        };
        match tag {
            Tag::Message(conv, seq) => {
                if self.synced.get(&conv).is_some_and(|head| seq <= *head) {
                    return;
                }
                if self.state.bus.is_clustered() {
                    // Already sent (a late copy), or the client's own send.
                    if self.contiguous.has(conv, seq) {
                        return;
                    }
                    if self.contiguous.missing_before(conv, seq) {
                        let upto = self.contiguous.upto(conv).unwrap_or(Seq::ZERO);
                        // The store failed: the connection closes and the client syncs.
                        if !self.fill(conv, upto, Seq(seq.0 - 1)).await {
                            return;
                        }
                    }
                    self.contiguous.pushed(conv, seq);
                }
                self.note_pushed(conv, seq);
            }
            Tag::Receipt(r) => {
                if !self.receipts.admit(&r) {
                    return;
                }
            }
            Tag::Shape(conv, version) => {
                if !self.shapes.admit(conv, version) {
                    return;
                }
            }
            Tag::Other => {}
        }
        self.emit(Outbound::Shared(payload));
    }

    /// Record a message push for the next sync to leave out.
    fn note_pushed(&mut self, conv: ConversationId, seq: Seq) {
        self.pushed
            .entry(conv)
            .and_modify(|r| {
                if seq > r.1 {
                    r.1 = seq;
                } else if seq.next() == r.0 {
                    // An entry below a new conversation's first push (see `Contiguous::pushed`).
                    r.0 = seq;
                }
            })
            .or_insert((seq, seq));
    }

    /// A reply moves what the connection has sent like a push would: a conversation's shape
    /// (the reply to a change the client asked for) and, in a cluster, the `ack` of its own send.
    /// A shape older than one already pushed (a change made elsewhere committed after the
    /// request's and its push overtook the reply) names its conversation: the reply still goes
    /// (it answers the request), followed by the shape as it is now ([`Conn::resend_shape`]).
    pub(super) fn note_reply(&mut self, reply: &Outbound) -> Option<ConversationId> {
        let Outbound::Own(frame) = reply else {
            return None;
        };
        match &**frame {
            ServerFrame::Ack {
                conversation_id,
                seq,
                ..
            } if self.state.bus.is_clustered() => {
                self.contiguous.sent_one(*conversation_id, *seq);
                None
            }
            ServerFrame::Conversation {
                id: Some(_),
                conversation,
            } => {
                let conv = conversation.conversation_id;
                (!self.shapes.admit(conv, conversation.version)).then_some(conv)
            }
            _ => None,
        }
    }

    /// Send `conv`'s shape as it is now, as the user may see it (or its removal, if they are no
    /// longer in it): after a reply that carried an older one.
    pub(super) async fn resend_shape(&mut self, conv: ConversationId) {
        let user = self.caller.user_id;
        let now = self
            .state
            .store
            .snapshot(move |txn| {
                let info = txn.info(conv)?;
                if !info.members.iter().any(|m| m.user_id == user) {
                    return Ok((info.version, None));
                }
                Ok((info.version, Some(Rules::new(txn).view_info(user, &info)?)))
            })
            .await;
        match now {
            Ok((version, Some(conversation))) => {
                self.shapes.admit(conv, version);
                self.emit(Outbound::own(ServerFrame::Conversation {
                    id: None,
                    conversation,
                }));
            }
            Ok((version, None)) => {
                self.shapes.admit(conv, version);
                self.emit(Outbound::own(ServerFrame::ConversationRemoved {
                    conversation_id: conv,
                }));
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a shape failed; closing so the client syncs");
                self.mailbox.kick(close::GOING_AWAY);
            }
        }
    }

    /// Push the entries of `conv` after `after` up to `upto` from the store. False when the
    /// store failed or the connection's queue overflowed: the connection is then closed, and
    /// the client's reconnect syncs.
    async fn fill(&mut self, conv: ConversationId, mut after: Seq, upto: Seq) -> bool {
        let user = self.caller.user_id;
        // A fill that outgrew the connection's queue ends here: the connection closes as too
        // slow (4008) and the client's sync reads the rest page by page, with backpressure.
        while after < upto && !self.too_slow {
            let batch = self
                .state
                .store
                .snapshot(move |txn| txn.range(conv, after, upto, CHUNK))
                .await;
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, conn = self.caller.conn_id, "gap fill failed");
                    self.mailbox.kick(close::GOING_AWAY);
                    return false;
                }
            };
            let Some(last) = batch.last().map(|m| m.seq) else {
                break;
            };
            let metrics = &self.state.metrics;
            metrics
                .bus_gap_fills
                .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
            for m in batch {
                let seq = m.seq;
                if !self.contiguous.has(conv, seq) {
                    let message = m.view_for(user);
                    self.emit(Outbound::own(ServerFrame::Message { message }));
                    self.note_pushed(conv, seq);
                }
                self.contiguous.reached(conv, seq);
            }
            after = last;
        }
        !self.too_slow
    }

    /// After a bus outage: send what changed since the client's last sync or catch-up —
    /// conversations (new, changed, left) and receipt markers, as the privacy rules let it see
    /// them; the user's privacy settings and chat preferences, whole — and the messages each
    /// conversation gained meanwhile (from its start for one it was never told of).
    async fn catch_up(&mut self) {
        let Some(since) = self.seen_version else {
            return;
        };
        let user = self.caller.user_id;
        let changes = self
            .state
            .store
            .snapshot(move |txn| {
                let (changes, version) = super::sync::visible_changes(txn, user, since)?;
                let privacy = privacy_state(txn, user)?;
                Ok((changes, version, privacy, txn.chat_prefs(user)?))
            })
            .await;
        let (changes, version, privacy, prefs) = match changes {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up failed; closing so the client syncs");
                self.mailbox.kick(close::GOING_AWAY);
                return;
            }
        };
        for conversation in changes.conversations {
            self.emit(Outbound::own(ServerFrame::Conversation {
                id: None,
                conversation,
            }));
        }
        for conversation_id in changes.removed {
            self.emit(Outbound::own(ServerFrame::ConversationRemoved {
                conversation_id,
            }));
        }
        for receipt in changes.receipts {
            if self.receipts.admit(&receipt) {
                self.emit(Outbound::own(ServerFrame::Receipt { receipt }));
            }
        }
        // The user's own settings, changed on a device of theirs on another relay: not
        // versioned, so sent whole (two small frames).
        self.emit(Outbound::own(ServerFrame::Privacy { privacy }));
        self.emit(Outbound::own(ServerFrame::ChatPrefsList { prefs }));
        self.shapes.caught_up(version);
        for (conv, head) in changes.heads {
            if self.too_slow {
                // Closing (4008): the client's sync brings the rest.
                return;
            }
            // A conversation the connection was never told of (made, or joined, since its
            // last sync) is sent from its start, as the client's next sync would; one with a
            // long history is left to that sync, which pages it with backpressure.
            let upto = match self.contiguous.upto(conv) {
                Some(upto) => upto,
                None if head.0 <= FROM_START_MAX => Seq::ZERO,
                None => {
                    self.mailbox.kick(close::GOING_AWAY);
                    return;
                }
            };
            if head > upto && !self.fill(conv, upto, head).await {
                return;
            }
        }
        self.seen_version = Some(version);
    }
}
