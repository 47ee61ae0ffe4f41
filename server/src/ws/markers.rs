//! Receipt markers already sent on one connection, so an older receipt push that waited
//! behind a sync is not delivered after the sync's newer markers: on every connection a
//! member's delivered/read markers only move forward, as docs/protocol.md promises.

use std::collections::HashMap;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
