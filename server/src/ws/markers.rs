//! What one connection has already been sent, as far as later pushes must know:
//! - receipt markers ([`SentMarkers`]), so an older receipt push that waited behind a sync is
//!   not delivered after the sync's newer markers: on every connection a member's
//!   delivered/read markers only move forward, as docs/protocol.md promises;
//! - conversation shapes ([`SentShapes`]), so a shape that comes late (over the bus from
//!   another relay, or queued behind a sync) never replaces a newer one the client was sent;
//! - in a cluster, how far each conversation's messages have been sent ([`Contiguous`]), for
//!   the gap fill of [`super::gaps`].

use std::collections::{BTreeSet, HashMap};

use tern_proto::{ConversationId, ReceiptState, Seq, UserId};

/// Newest (delivered, read) markers sent per (conversation, member).
#[derive(Debug, Default)]
pub struct SentMarkers(HashMap<(ConversationId, UserId), (Seq, Seq)>);

impl SentMarkers {
    /// Record markers about to be sent; false when they are not newer than what was sent.
    /// Markers are cumulative and each push is a snapshot taken at its commit, so a push that
    /// is newer in neither marker is stale.
    pub fn admit(&mut self, r: &ReceiptState) -> bool {
        let new = (r.delivered_seq, r.read_seq);
        match self.0.get_mut(&(r.conversation_id, r.user_id)) {
            Some(seen) if new.0 <= seen.0 && new.1 <= seen.1 => false,
            Some(seen) => {
                *seen = (seen.0.max(new.0), seen.1.max(new.1));
                true
            }
            None => {
                self.0.insert((r.conversation_id, r.user_id), new);
                true
            }
        }
    }
}

/// The newest conversation shapes (and removals) sent, by their change version.
///
/// Every change to a shape takes a new version from the store's change counter, handed out in
/// commit order on every backend, so of two shapes of one conversation the one with the
/// higher version is the newer; a sync or catch-up at version `V` brought the client every
/// shape up to `V`.
#[derive(Debug, Default)]
pub struct SentShapes {
    /// The version of the last sync or catch-up: every shape up to it has been sent.
    floor: u64,
    /// Shapes sent since, per conversation.
    newest: HashMap<ConversationId, u64>,
}

impl SentShapes {
    /// Record a shape (or removal) at `version` about to be sent; false when the client has
    /// been sent a newer one. One at the same version passes: it is the same change (a copy
    /// for another device of the caller) or a view of it.
    pub fn admit(&mut self, conv: ConversationId, version: u64) -> bool {
        if version < self.floor {
            return false;
        }
        let newest = self.newest.entry(conv).or_insert(version);
        if version < *newest {
            return false;
        }
        *newest = version;
        true
    }

    /// The client was sent every shape up to `version` (a sync or catch-up read at it).
    pub fn caught_up(&mut self, version: u64) {
        self.floor = self.floor.max(version);
        let floor = self.floor;
        self.newest.retain(|_, v| *v > floor);
    }
}

/// How far a conversation has been sent on this connection.
#[derive(Debug)]
struct Mark {
    /// Everything from `floor` up to `upto` has been sent: from the start for a conversation
    /// the sync covered; from its first push for one that came up since (a later push from
    /// another relay may bring an entry below it, which has not been sent).
    floor: Seq,
    /// Everything from `floor` up to here has been sent.
    upto: Seq,
    /// This connection's own sends acknowledged beyond `upto` (its client has them; others'
    /// messages in between are still on their way over the bus).
    ahead: BTreeSet<Seq>,
}

/// Own sends remembered beyond the mark, per conversation; past that a gap fill sends the
/// client a few of its own messages again, which it takes as duplicates.
const MAX_AHEAD: usize = 1024;

impl Mark {
    fn has(&self, seq: Seq) -> bool {
        (self.floor <= seq && seq <= self.upto) || self.ahead.contains(&seq)
    }

    /// Move `upto` over own sends that now follow it.
    fn absorb(&mut self) {
        while self.ahead.remove(&self.upto.next()) {
            self.upto = self.upto.next();
        }
        self.ahead.retain(|s| *s > self.upto);
    }
}

/// Per conversation, what has been sent on this connection (see the module header).
#[derive(Debug, Default)]
pub(super) struct Contiguous(HashMap<ConversationId, Mark>);

impl Contiguous {
    /// Everything up to `seq` has been sent (by a sync, or by a gap fill).
    pub(super) fn reached(&mut self, conv: ConversationId, seq: Seq) {
        let mark = self.0.entry(conv).or_insert(Mark {
            floor: Seq::ZERO,
            upto: seq,
            ahead: BTreeSet::new(),
        });
        mark.upto = mark.upto.max(seq);
        mark.absorb();
    }

    /// The push of `seq` has been sent, after any gap below it was filled. The first push of a
    /// conversation this connection knew nothing of (a group the user was just added to)
    /// starts its mark there: the entries below it were not sent, and one arriving later
    /// from another relay (pushes from different relays arrive in any order) goes out too.
    pub(super) fn pushed(&mut self, conv: ConversationId, seq: Seq) {
        let mark = self.0.entry(conv).or_insert(Mark {
            floor: seq,
            upto: seq,
            ahead: BTreeSet::new(),
        });
        if seq < mark.floor && seq.next() == mark.floor {
            mark.floor = seq;
        }
        mark.upto = mark.upto.max(seq);
        mark.absorb();
    }

    /// `seq` was this connection's own send, acknowledged.
    pub(super) fn sent_one(&mut self, conv: ConversationId, seq: Seq) {
        if let Some(mark) = self.0.get_mut(&conv) {
            if seq == mark.upto.next() {
                mark.upto = seq;
                mark.absorb();
            } else if seq > mark.upto && mark.ahead.len() < MAX_AHEAD {
                mark.ahead.insert(seq);
            }
        }
    }

    pub(super) fn upto(&self, conv: ConversationId) -> Option<Seq> {
        self.0.get(&conv).map(|m| m.upto)
    }

    /// Whether the client has been sent `seq` (false when nothing is known).
    pub(super) fn has(&self, conv: ConversationId, seq: Seq) -> bool {
        self.0.get(&conv).is_some_and(|m| m.has(seq))
    }

    /// Whether something before `seq` is neither sent nor the client's own.
    pub(super) fn missing_before(&self, conv: ConversationId, seq: Seq) -> bool {
        self.0.get(&conv).is_some_and(|m| {
            let between = seq.0.saturating_sub(m.upto.0 + 1);
            let own = m.ahead.range(m.upto.next()..seq).count() as u64;
            between > own
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shape that comes after a newer one (from another relay, or queued behind a sync) is
    /// not sent; one of the same version is.
    #[test]
    fn an_older_shape_never_follows_a_newer_one() {
        let (a, b) = (ConversationId(1), ConversationId(2));
        let mut s = SentShapes::default();
        assert!(s.admit(a, 5));
        assert!(!s.admit(a, 4), "older than what was sent");
        assert!(s.admit(a, 5), "the same change again");
        assert!(s.admit(b, 3), "conversations are apart");
        s.caught_up(10);
        assert!(!s.admit(b, 9), "the sync at 10 sent it or newer");
        assert!(s.admit(b, 10));
        assert!(s.admit(a, 11));
        s.caught_up(8);
        assert!(
            !s.admit(a, 10),
            "a catch-up at an older version lowers nothing"
        );
        assert!(!s.admit(b, 9));
    }

    fn r(user: i64, delivered: u64, read: u64) -> ReceiptState {
        ReceiptState {
            conversation_id: ConversationId(1),
            user_id: UserId(user),
            delivered_seq: Seq(delivered),
            read_seq: Seq(read),
        }
    }

    #[test]
    fn markers_from_a_sync_hold_back_older_pushes_but_not_newer_ones() {
        let mut sent = SentMarkers::default();
        assert!(sent.admit(&r(7, 10, 8)), "the sync page's markers");
        assert!(
            !sent.admit(&r(7, 9, 5)),
            "an older push held during the sync"
        );
        assert!(!sent.admit(&r(7, 10, 8)), "the same markers again");
        assert!(sent.admit(&r(7, 10, 9)), "read moved on");
        assert!(sent.admit(&r(8, 1, 0)), "another member is separate");
    }

    const C: ConversationId = ConversationId(1);

    /// A conversation first seen through a push (the user was just added; the sync did not
    /// cover it): an entry below that push, arriving later from another relay, has not been
    /// sent and is not taken for a late copy.
    #[test]
    fn an_entry_below_a_new_conversations_first_push_is_not_taken_as_sent() {
        let mut c = Contiguous::default();
        c.pushed(C, Seq(8));
        assert!(c.has(C, Seq(8)));
        assert!(!c.has(C, Seq(7)), "the notice before it was never sent");
        assert!(!c.missing_before(C, Seq(7)));
        c.pushed(C, Seq(7));
        assert!(c.has(C, Seq(7)), "sent now: a copy arriving again is late");
        assert!(!c.has(C, Seq(6)));
        c.pushed(C, Seq(9));
        assert_eq!(c.upto(C), Some(Seq(9)));
        // A conversation the sync covered was sent from its start.
        c.reached(ConversationId(2), Seq(5));
        assert!(c.has(ConversationId(2), Seq(1)));
    }

    #[test]
    fn the_mark_moves_on_contiguous_sends_and_never_back() {
        let mut c = Contiguous::default();
        c.sent_one(C, Seq(1));
        assert_eq!(c.upto(C), None, "no mark before the first push or sync");
        c.reached(C, Seq(5));
        c.sent_one(C, Seq(6));
        assert_eq!(c.upto(C), Some(Seq(6)));
        c.reached(C, Seq(3));
        assert_eq!(
            c.upto(C),
            Some(Seq(6)),
            "an older head does not move it back"
        );
    }

    #[test]
    fn own_sends_ahead_of_the_mark_are_not_a_gap_and_are_never_filled() {
        let mut c = Contiguous::default();
        c.reached(C, Seq(4));
        // Own sends 6 and 7 acknowledged while 5 (someone else's) is still on the bus.
        c.sent_one(C, Seq(6));
        c.sent_one(C, Seq(7));
        assert_eq!(c.upto(C), Some(Seq(4)));
        assert!(c.has(C, Seq(6)) && c.has(C, Seq(7)) && !c.has(C, Seq(5)));
        assert!(c.missing_before(C, Seq(8)), "5 is missing before 8");
        assert!(!c.missing_before(C, Seq(5)), "nothing is missing before 5");
        // 5 arrives: the mark jumps over the own sends.
        c.reached(C, Seq(5));
        assert_eq!(c.upto(C), Some(Seq(7)));
        assert!(!c.missing_before(C, Seq(8)));
        c.sent_one(C, Seq(9));
        assert!(!c.missing_before(C, Seq(8)) && c.missing_before(C, Seq(10)));
    }
}
