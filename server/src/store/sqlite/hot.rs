//! What the writer keeps in memory between jobs, so that storing a message costs one INSERT
//! (and its conversation one UPDATE per batch) instead of also reading the conversation's
//! members, the sender's blocks and the conversation's sequence number back from the database.
//!
//! The SQLite writer is the only connection that writes conversations, members, blocks and
//! messages (the admin command touches invites, passwords and sessions only), so what it has
//! read stays true until it writes otherwise. It never has to remember to say so: TEMP
//! triggers on its own connection call back into this cache on every row change of
//! `members` (joins, leaves, acceptance), `blocks` and a conversation's kind, whatever code
//! made it, and the cached entry is forgotten.
//!
//! Jobs run in savepoints. A job that rolls back takes its changes with it, so the cache
//! undoes what the job did to it: sequence numbers go back to their value before the job, and
//! entries forgotten during the job (which may since have been reloaded with the job's
//! uncommitted rows) are forgotten again. A failed commit forgets everything.
//!
//! Each map is bounded ([`MAX_ENTRIES`]); a full map is emptied and refilled on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use tern_proto::{ConversationId, Seq, UserId};

use crate::error::Result;
use crate::store::Roster;

/// Entries per map before it is emptied.
pub const MAX_ENTRIES: usize = 50_000;

/// The writer's cache; cloning shares it (the trigger callbacks hold a clone).
#[derive(Clone, Default)]
pub struct Hot(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    rosters: HashMap<ConversationId, Roster>,
    blocks: HashMap<UserId, Vec<(UserId, UserId)>>,
    seqs: HashMap<ConversationId, Seq>,
    /// Sequence numbers the running job moved, with their value before it.
    moved: Vec<(ConversationId, Option<Seq>)>,
    /// Rosters and block lists the running job's writes made stale.
    forgot_rosters: Vec<ConversationId>,
    forgot_blocks: Vec<UserId>,
}

/// The TEMP triggers that keep the cache true: every change to who is in a conversation
/// (or accepted it), to its kind, or to a block forgets what it affects.
const TRIGGERS: &str = "
    CREATE TEMP TRIGGER hot_member_in AFTER INSERT ON main.members
        BEGIN SELECT tern_forget_roster(NEW.conversation_id); END;
    CREATE TEMP TRIGGER hot_member_out AFTER DELETE ON main.members
        BEGIN SELECT tern_forget_roster(OLD.conversation_id); END;
    CREATE TEMP TRIGGER hot_member_change
        AFTER UPDATE OF conversation_id, user_id, active, accepted ON main.members
        BEGIN SELECT tern_forget_roster(OLD.conversation_id), tern_forget_roster(NEW.conversation_id); END;
    CREATE TEMP TRIGGER hot_conversation_kind AFTER UPDATE OF kind ON main.conversations
        BEGIN SELECT tern_forget_roster(OLD.id); END;
    CREATE TEMP TRIGGER hot_conversation_gone AFTER DELETE ON main.conversations
        BEGIN SELECT tern_forget_roster(OLD.id), tern_forget_seq(OLD.id); END;
    CREATE TEMP TRIGGER hot_block_in AFTER INSERT ON main.blocks
        BEGIN SELECT tern_forget_blocks(NEW.blocker_id), tern_forget_blocks(NEW.blocked_id); END;
    CREATE TEMP TRIGGER hot_block_out AFTER DELETE ON main.blocks
        BEGIN SELECT tern_forget_blocks(OLD.blocker_id), tern_forget_blocks(OLD.blocked_id); END;
";

impl Hot {
    /// A cache for the writer connection `conn`: registers the callbacks and creates the
    /// triggers (on this connection only; other connections never see them).
    pub fn install(conn: &Connection) -> Result<Hot> {
        let hot = Hot::default();
        let flags = FunctionFlags::SQLITE_UTF8;
        let h = hot.clone();
        conn.create_scalar_function("tern_forget_roster", 1, flags, move |ctx| {
            let conv = ConversationId(ctx.get(0)?);
            let mut s = h.state();
            s.rosters.remove(&conv);
            s.forgot_rosters.push(conv);
            Ok(0)
        })?;
        let h = hot.clone();
        conn.create_scalar_function("tern_forget_blocks", 1, flags, move |ctx| {
            let user = UserId(ctx.get(0)?);
            let mut s = h.state();
            s.blocks.remove(&user);
            s.forgot_blocks.push(user);
            Ok(0)
        })?;
        let h = hot.clone();
        conn.create_scalar_function("tern_forget_seq", 1, flags, move |ctx| {
            h.state().seqs.remove(&ConversationId(ctx.get(0)?));
            Ok(0)
        })?;
        conn.execute_batch(TRIGGERS)?;
        Ok(hot)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the cache is still only
        // ever a subset of the truth.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The conversation's members, if known.
    pub fn roster(&self, conv: ConversationId) -> Option<Roster> {
        self.state().rosters.get(&conv).cloned()
    }

    /// Remember a roster just read inside the writer's transaction.
    pub fn keep_roster(&self, conv: ConversationId, roster: &Roster) {
        let mut s = self.state();
        if s.rosters.len() >= MAX_ENTRIES {
            s.rosters.clear();
        }
        s.rosters.insert(conv, roster.clone());
    }

    /// The blocks `user` makes or is under, if known.
    pub fn blocks(&self, user: UserId) -> Option<Vec<(UserId, UserId)>> {
        self.state().blocks.get(&user).cloned()
    }

    /// Remember a user's blocks just read inside the writer's transaction.
    pub fn keep_blocks(&self, user: UserId, pairs: &[(UserId, UserId)]) {
        let mut s = self.state();
        if s.blocks.len() >= MAX_ENTRIES {
            s.blocks.clear();
        }
        s.blocks.insert(user, pairs.to_vec());
    }

    /// The conversation's last sequence number, if known.
    pub fn last_seq(&self, conv: ConversationId) -> Option<Seq> {
        self.state().seqs.get(&conv).copied()
    }

    /// The conversation's last sequence number is now `seq`: written by the running job
    /// (`by_job`, undone if it rolls back) or just read.
    pub fn set_last_seq(&self, conv: ConversationId, seq: Seq, by_job: bool) {
        let mut s = self.state();
        if s.seqs.len() >= MAX_ENTRIES {
            s.seqs.clear();
        }
        let before = s.seqs.insert(conv, seq);
        if by_job {
            s.moved.push((conv, before));
        }
    }

    /// Forget a conversation's sequence number (after a store that did not go as expected,
    /// so the next one reads it afresh).
    pub fn forget_seq(&self, conv: ConversationId) {
        self.state().seqs.remove(&conv);
    }

    /// A job starts or ends well: nothing of it is left to undo.
    pub fn settle(&self) {
        let mut s = self.state();
        s.moved.clear();
        s.forgot_rosters.clear();
        s.forgot_blocks.clear();
    }

    /// The running job rolled back: undo what it did to the cache.
    pub fn undo_job(&self) {
        let mut s = self.state();
        while let Some((conv, before)) = s.moved.pop() {
            match before {
                Some(seq) => s.seqs.insert(conv, seq),
                None => s.seqs.remove(&conv),
            };
        }
        for conv in std::mem::take(&mut s.forgot_rosters) {
            s.rosters.remove(&conv);
        }
        for user in std::mem::take(&mut s.forgot_blocks) {
            s.blocks.remove(&user);
        }
    }

    /// The transaction did not commit: forget everything.
    pub fn forget_all(&self) {
        *self.state() = State::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::ConversationKind;

    fn roster(members: &[(i64, bool)]) -> Roster {
        Roster {
            kind: ConversationKind::Group,
            members: members.iter().map(|&(u, a)| (UserId(u), a)).collect(),
        }
    }

    fn schema() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE conversations (id INTEGER PRIMARY KEY, kind TEXT NOT NULL);
             CREATE TABLE members (conversation_id INTEGER, user_id INTEGER, active INTEGER,
                                   accepted INTEGER, delivered_seq INTEGER DEFAULT 0);
             CREATE TABLE blocks (blocker_id INTEGER, blocked_id INTEGER);
             INSERT INTO conversations VALUES (1, 'group'), (2, 'group');
             INSERT INTO members VALUES (1, 10, 1, 1, 0), (2, 10, 1, 1, 0);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn every_membership_or_block_change_forgets_what_it_affects_and_nothing_else() {
        let conn = schema();
        let hot = Hot::install(&conn).unwrap();
        let both = |hot: &Hot| {
            hot.keep_roster(ConversationId(1), &roster(&[(10, true)]));
            hot.keep_roster(ConversationId(2), &roster(&[(10, true)]));
        };
        for change in [
            "INSERT INTO members VALUES (1, 11, 1, 0, 0)",
            "UPDATE members SET active = 0 WHERE conversation_id = 1",
            "UPDATE members SET accepted = 0 WHERE conversation_id = 1",
            "DELETE FROM members WHERE conversation_id = 1",
            "UPDATE conversations SET kind = 'direct' WHERE id = 1",
        ] {
            both(&hot);
            conn.execute_batch(change).unwrap();
            assert!(hot.roster(ConversationId(1)).is_none(), "{change}");
            assert!(hot.roster(ConversationId(2)).is_some(), "{change}");
        }
        // A receipt moves a member's markers, not the roster.
        both(&hot);
        conn.execute_batch("UPDATE members SET delivered_seq = 5")
            .unwrap();
        assert!(hot.roster(ConversationId(1)).is_some());

        for change in [
            "INSERT INTO blocks VALUES (10, 20)",
            "DELETE FROM blocks WHERE blocker_id = 10",
        ] {
            hot.keep_blocks(UserId(20), &[]);
            hot.keep_blocks(UserId(30), &[]);
            conn.execute_batch(change).unwrap();
            assert!(hot.blocks(UserId(20)).is_none(), "{change}");
            assert!(hot.blocks(UserId(30)).is_some(), "{change}");
        }
    }

    #[test]
    fn a_rolled_back_job_leaves_the_cache_as_before_it_and_a_settled_one_keeps_its_changes() {
        let conn = schema();
        let hot = Hot::install(&conn).unwrap();
        let conv = ConversationId(1);
        hot.set_last_seq(conv, Seq(7), false);

        // Settled: the job's sequence numbers stay.
        hot.settle();
        hot.set_last_seq(conv, Seq(8), true);
        hot.settle();
        hot.undo_job();
        assert_eq!(hot.last_seq(conv), Some(Seq(8)));

        // Rolled back: the numbers it took come back, and a roster it reloaded after its own
        // (undone) membership change is forgotten again.
        hot.set_last_seq(conv, Seq(9), true);
        hot.set_last_seq(ConversationId(2), Seq(1), true);
        conn.execute_batch("INSERT INTO members VALUES (1, 11, 1, 1, 0)")
            .unwrap();
        hot.keep_roster(conv, &roster(&[(10, true), (11, true)]));
        hot.undo_job();
        assert_eq!(hot.last_seq(conv), Some(Seq(8)));
        assert_eq!(hot.last_seq(ConversationId(2)), None);
        assert!(hot.roster(conv).is_none());

        hot.keep_roster(conv, &roster(&[(10, true)]));
        hot.forget_all();
        assert!(hot.roster(conv).is_none() && hot.last_seq(conv).is_none());
    }
}
