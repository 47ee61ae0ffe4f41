//! What one connection has asked of the relay and not yet heard back about, keyed by request id.
//!
//! Every frame the session sends gets a fresh id; frames whose answer matters are entered here
//! as a [`Pending`] so the answer (an `ok`, `ack`, `error`, reply frame or `sync_done`) resolves
//! exactly the thing that was asked, and nothing else. Design decision: one table instead of one
//! map per kind, so an id can never be tracked twice and the session's end settles everything in
//! one place. Each `take_*` method removes an entry only when it is of the expected kind: an
//! answer of the wrong shape for an id leaves that entry waiting, as if the answer had not come.
//!
//! The table also knows which outbox entries are in flight (by client id), so a flush never
//! sends the same message twice on one connection.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tern_proto::{ConversationId, RequestId, Seq, ServerFrame};

use crate::cache::prefs::{Field, Outgoing};
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Where a caller waits for the answer to its request.
pub(crate) type Reply = oneshot::Sender<Result<ServerFrame>>;

/// One thing sent to the relay whose answer is awaited.
pub(crate) enum Pending {
    /// A caller's request: the answer goes to `reply`, or [`Error::Timeout`] after `deadline`.
    Request {
        /// Where the answer goes.
        reply: Reply,
        /// When the caller stops waiting.
        deadline: Instant,
    },
    /// An outbox entry, acknowledged (or refused) by the relay.
    Send {
        /// The outbox entry's client id.
        client_id: String,
        /// Past this, it counts as no longer in flight and is sent again (its client id makes
        /// that safe): an answer that cannot come (the relay refused the frame without
        /// reading its id) must not hold it, and the ones after it, for the whole connection.
        deadline: Instant,
    },
    /// A read marker for a conversation up to a sequence number.
    Read {
        /// The conversation read.
        conversation_id: ConversationId,
        /// The last message read.
        seq: Seq,
    },
    /// The sync started when the connection came up; answered by `sync_done`.
    Sync,
    /// A change of how one conversation behaves (muted, pinned, marked, archived), made on
    /// this device.
    Prefs {
        /// What was sent, with the edit each field is.
        sent: Outgoing,
    },
    /// Messages of a conversation missing below those this connection was pushed (the user
    /// was added to it, or added again, after messages were written), asked for with
    /// `history`.
    Fill {
        /// Its conversation.
        conversation_id: ConversationId,
    },
}

/// The connection's table of unanswered requests.
pub(crate) struct PendingTable {
    /// The last id handed out; ids only grow, so an id is never reused on a connection.
    last_id: RequestId,
    entries: HashMap<RequestId, Pending>,
    /// Client ids of the [`Pending::Send`] entries, so "is this message in flight" is one lookup
    /// even with a long outbox.
    sending: HashSet<String>,
}

impl PendingTable {
    /// An empty table.
    pub(crate) fn new() -> Self {
        PendingTable {
            last_id: RequestId(1),
            entries: HashMap::new(),
            sending: HashSet::new(),
        }
    }

    /// A fresh id for a frame whose answer is not tracked.
    pub(crate) fn next_id(&mut self) -> RequestId {
        self.last_id = RequestId(self.last_id.0 + 1);
        self.last_id
    }

    /// Track `pending` under a fresh id, which is returned.
    pub(crate) fn insert(&mut self, pending: Pending) -> RequestId {
        let id = self.next_id();
        if let Pending::Send { client_id, .. } = &pending {
            self.sending.insert(client_id.clone());
        }
        self.entries.insert(id, pending);
        id
    }

    /// Whether an answer to `id` is awaited.
    pub(crate) fn is_tracked(&self, id: RequestId) -> bool {
        self.entries.contains_key(&id)
    }

    /// How many outbox entries are in flight.
    pub(crate) fn sends_in_flight(&self) -> usize {
        self.sending.len()
    }

    /// Whether the outbox entry `client_id` is in flight.
    pub(crate) fn is_sending(&self, client_id: &str) -> bool {
        self.sending.contains(client_id)
    }

    /// Whether a read marker for exactly `(conversation_id, seq)` is in flight.
    pub(crate) fn is_reading(&self, conversation_id: ConversationId, seq: Seq) -> bool {
        self.entries.values().any(|p| {
            matches!(p, Pending::Read { conversation_id: c, seq: s } if (*c, *s) == (conversation_id, seq))
        })
    }

    /// Whether field `field` of conversation `conv`, at edit `gen`, is on its way (sent and
    /// unanswered): then it is not sent again. A later edit of it is another number, so mute,
    /// unmute, mute again sends all three.
    pub(crate) fn is_setting(&self, conv: ConversationId, field: Field, gen: u64) -> bool {
        self.entries.values().any(|p| {
            matches!(p, Pending::Prefs { sent } if sent.conversation_id == conv
                && field.in_change(&sent.change)
                && sent.gens.get(field) == gen)
        })
    }

    /// Whether the gap below conversation `conv`'s pushed messages is being filled.
    pub(crate) fn is_filling(&self, conv: ConversationId) -> bool {
        self.entries
            .values()
            .any(|p| matches!(p, Pending::Fill { conversation_id } if *conversation_id == conv))
    }

    /// Settle the gap-filling request `id`, returning its conversation.
    pub(crate) fn take_fill(&mut self, id: RequestId) -> Option<ConversationId> {
        match self.take_if(id, |p| matches!(p, Pending::Fill { .. }))? {
            Pending::Fill { conversation_id } => Some(conversation_id),
            _ => None,
        }
    }

    /// The answer to `id` came and this version cannot read it (a newer relay's): a caller's
    /// request gets an error at once instead of its timeout, and a gap fill is no longer
    /// awaited (the next message pushed in its chat asks again). What else waits stays as it
    /// is: the sync (started over, it would bring the same frame), a send (the relay may have
    /// stored it: its resend after the deadline is answered as a duplicate), markers and chat
    /// settings (sent again by later flushes). Returns the gap's conversation, if it was one.
    pub(crate) fn unreadable(&mut self, id: RequestId) -> Option<ConversationId> {
        let message = "the relay answered in a way this version of Tern cannot read".to_owned();
        self.resolve(
            id,
            Err(Error::Relay {
                code: tern_proto::ErrorCode::Unknown,
                message,
            }),
        );
        self.take_fill(id)
    }

    /// Settle the change of chat preferences `id`, returning what it sent.
    pub(crate) fn take_prefs(&mut self, id: RequestId) -> Option<Outgoing> {
        match self.take_if(id, |p| matches!(p, Pending::Prefs { .. }))? {
            Pending::Prefs { sent } => Some(sent),
            _ => None,
        }
    }

    /// Remove `id` if `kind` says it is of the expected kind.
    fn take_if(&mut self, id: RequestId, kind: impl FnOnce(&Pending) -> bool) -> Option<Pending> {
        if !self.entries.get(&id).is_some_and(kind) {
            return None;
        }
        let pending = self.entries.remove(&id)?;
        if let Pending::Send { client_id, .. } = &pending {
            self.sending.remove(client_id);
        }
        Some(pending)
    }

    /// Settle the outbox send `id`, returning its client id.
    pub(crate) fn take_send(&mut self, id: RequestId) -> Option<String> {
        match self.take_if(id, |p| matches!(p, Pending::Send { .. }))? {
            Pending::Send { client_id, .. } => Some(client_id),
            _ => None,
        }
    }

    /// Settle the outbox entry `client_id` acknowledged under `id`: whatever id it was sent
    /// under, it is no longer in flight.
    pub(crate) fn settle_send(&mut self, id: RequestId, client_id: &str) {
        if self.take_send(id).as_deref() == Some(client_id) || !self.is_sending(client_id) {
            return;
        }
        self.entries
            .retain(|_, p| !matches!(p, Pending::Send { client_id: c, .. } if c == client_id));
        self.sending.remove(client_id);
    }

    /// Settle the read marker `id`, returning what it marked.
    pub(crate) fn take_read(&mut self, id: RequestId) -> Option<(ConversationId, Seq)> {
        match self.take_if(id, |p| matches!(p, Pending::Read { .. }))? {
            Pending::Read {
                conversation_id,
                seq,
            } => Some((conversation_id, seq)),
            _ => None,
        }
    }

    /// Whether the connection's sync is still under way.
    pub(crate) fn is_syncing(&self) -> bool {
        self.entries.values().any(|p| matches!(p, Pending::Sync))
    }

    /// Settle the sync `id`; true if `id` is the sync in progress.
    pub(crate) fn take_sync(&mut self, id: RequestId) -> bool {
        self.take_if(id, |p| matches!(p, Pending::Sync)).is_some()
    }

    /// Hand `result` to the caller waiting on request `id`, if any.
    pub(crate) fn resolve(&mut self, id: RequestId, result: Result<ServerFrame>) {
        if let Some(Pending::Request { reply, .. }) =
            self.take_if(id, |p| matches!(p, Pending::Request { .. }))
        {
            // The caller may have stopped waiting; nothing to do then.
            let _ = reply.send(result);
        }
    }

    /// Sends unanswered past their deadline are no longer in flight (the next flush sends them
    /// again); whether there were any.
    pub(crate) fn expire_sends(&mut self, now: Instant) -> bool {
        let late: Vec<RequestId> = self
            .entries
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Send { deadline, .. } if *deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in &late {
            if let Some(Pending::Send { client_id, .. }) = self.entries.remove(id) {
                self.sending.remove(&client_id);
            }
        }
        !late.is_empty()
    }

    /// Answer [`Error::Timeout`] to every request whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        let late: Vec<RequestId> = self
            .entries
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Request { deadline, .. } if *deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.resolve(id, Err(Error::Timeout));
        }
    }

    /// The connection ended: answer [`Error::Offline`] to every waiting caller and forget the
    /// rest (queued sends and read markers stay in the cache and go again on the next link).
    pub(crate) fn close(&mut self) {
        for (_, pending) in self.entries.drain() {
            if let Pending::Request { reply, .. } = pending {
                let _ = reply.send(Err(Error::Offline));
            }
        }
        self.sending.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(
        table: &mut PendingTable,
        deadline: Instant,
    ) -> (RequestId, oneshot::Receiver<Result<ServerFrame>>) {
        let (reply, rx) = oneshot::channel();
        (table.insert(Pending::Request { reply, deadline }), rx)
    }

    #[test]
    fn an_answer_this_version_cannot_read_ends_a_request_or_a_fill_and_nothing_else() {
        let mut table = PendingTable::new();
        let later = Instant::now() + Duration::from_secs(60);
        let (asked, mut answer) = request(&mut table, later);
        let fill = table.insert(Pending::Fill {
            conversation_id: ConversationId(4),
        });
        let sync = table.insert(Pending::Sync);
        let send = table.insert(Pending::Send {
            client_id: "c1".into(),
            deadline: later,
        });
        assert_eq!(table.unreadable(asked), None);
        assert!(matches!(
            answer.try_recv(),
            Ok(Err(Error::Relay {
                code: tern_proto::ErrorCode::Unknown,
                ..
            }))
        ));
        assert_eq!(table.unreadable(fill), Some(ConversationId(4)));
        assert!(!table.is_filling(ConversationId(4)));
        for id in [sync, send] {
            assert_eq!(table.unreadable(id), None);
            assert!(table.is_tracked(id), "still awaited");
        }
        assert!(table.is_sending("c1"));
    }

    #[test]
    fn a_reply_resolves_exactly_its_request() {
        let mut table = PendingTable::new();
        let later = Instant::now() + Duration::from_secs(60);
        let (a, mut rx_a) = request(&mut table, later);
        let (b, mut rx_b) = request(&mut table, later);
        assert_ne!(a, b);
        table.resolve(b, Ok(ServerFrame::Ok { id: b }));
        assert!(matches!(rx_b.try_recv(), Ok(Ok(ServerFrame::Ok { id })) if id == b));
        assert!(
            rx_a.try_recv().is_err(),
            "the other request is still waiting"
        );
        // A second answer for the same id finds nobody waiting.
        table.resolve(b, Ok(ServerFrame::Ok { id: b }));
        table.resolve(a, Ok(ServerFrame::Ok { id: a }));
        assert!(matches!(rx_a.try_recv(), Ok(Ok(ServerFrame::Ok { id })) if id == a));
    }

    #[test]
    fn a_request_past_its_deadline_times_out_and_one_before_it_keeps_waiting() {
        let mut table = PendingTable::new();
        let now = Instant::now();
        let (_, mut due) = request(&mut table, now);
        let (later_id, mut later) = request(&mut table, now + Duration::from_secs(5));
        table.expire(now);
        assert!(matches!(due.try_recv(), Ok(Err(Error::Timeout))));
        assert!(later.try_recv().is_err());
        table.resolve(later_id, Ok(ServerFrame::Ok { id: later_id }));
        assert!(matches!(later.try_recv(), Ok(Ok(_))));
    }

    #[test]
    fn an_answer_of_the_wrong_kind_leaves_the_entry_waiting() {
        let mut table = PendingTable::new();
        let send = table.insert(Pending::Send {
            client_id: "c1".into(),
            deadline: Instant::now() + Duration::from_secs(60),
        });
        let read = table.insert(Pending::Read {
            conversation_id: ConversationId(3),
            seq: Seq(9),
        });
        let sync = table.insert(Pending::Sync);
        assert_eq!(table.take_read(send), None);
        assert!(!table.take_sync(read));
        assert_eq!(table.take_send(sync), None);
        assert!(table.is_sending("c1"));
        assert!(table.is_reading(ConversationId(3), Seq(9)));
        assert_eq!(table.take_send(send).as_deref(), Some("c1"));
        assert_eq!(table.take_read(read), Some((ConversationId(3), Seq(9))));
        assert!(table.take_sync(sync));
        assert!(!table.take_sync(sync), "a sync is answered once");
    }

    #[test]
    fn an_acknowledged_message_is_no_longer_in_flight() {
        let mut table = PendingTable::new();
        let a = table.insert(Pending::Send {
            client_id: "a".into(),
            deadline: Instant::now() + Duration::from_secs(60),
        });
        table.insert(Pending::Send {
            client_id: "b".into(),
            deadline: Instant::now() + Duration::from_secs(60),
        });
        assert_eq!(table.sends_in_flight(), 2);
        table.settle_send(a, "a");
        assert!(!table.is_sending("a"));
        // An ack naming a message under another id still settles that message.
        table.settle_send(RequestId(999), "b");
        assert_eq!(table.sends_in_flight(), 0);
    }

    #[test]
    fn closing_tells_every_waiting_caller_it_is_offline() {
        let mut table = PendingTable::new();
        let (_, mut rx) = request(&mut table, Instant::now() + Duration::from_secs(60));
        table.insert(Pending::Send {
            client_id: "a".into(),
            deadline: Instant::now() + Duration::from_secs(60),
        });
        table.close();
        assert!(matches!(rx.try_recv(), Ok(Err(Error::Offline))));
        assert_eq!(table.sends_in_flight(), 0);
    }

    #[test]
    fn a_send_unanswered_past_its_deadline_is_no_longer_in_flight() {
        let mut table = PendingTable::new();
        let now = Instant::now();
        table.insert(Pending::Send {
            client_id: "late".into(),
            deadline: now,
        });
        table.insert(Pending::Send {
            client_id: "early".into(),
            deadline: now + Duration::from_secs(60),
        });
        assert!(table.expire_sends(now));
        assert!(!table.is_sending("late"), "sent again by the next flush");
        assert!(table.is_sending("early"));
        assert_eq!(table.sends_in_flight(), 1);
        assert!(!table.expire_sends(now));
    }

    #[test]
    fn a_field_already_sent_is_skipped_only_at_the_same_edit() {
        let mut table = PendingTable::new();
        let conv = ConversationId(4);
        let out = Outgoing {
            conversation_id: conv,
            change: tern_proto::ChatPrefsChange {
                mute: Some(tern_proto::Mute {
                    muted: true,
                    until: None,
                }),
                ..Default::default()
            },
            gens: crate::cache::prefs::Gens::only(Field::Mute, 1),
            at: Default::default(),
        };
        assert!(!table.is_setting(conv, Field::Mute, 1));
        let first = table.insert(Pending::Prefs { sent: out });
        assert!(table.is_setting(conv, Field::Mute, 1));
        // Mute, unmute, mute again: each is another edit, and goes.
        assert!(!table.is_setting(conv, Field::Mute, 3));
        assert!(!table.is_setting(conv, Field::Pin, 0));
        assert!(!table.is_setting(ConversationId(5), Field::Mute, 1));
        assert_eq!(table.take_prefs(first), Some(out));
        assert!(!table.is_setting(conv, Field::Mute, 1));
    }
}
