//! How the user's conversations behave on their devices (muted, pinned, marked unread), as
//! the relay last
//! said, with this device's own changes on top until the relay has them.
//!
//! A change made here is kept `pending` and sent by the connection's flush (at once when
//! online, after the next sync otherwise), like a read marker. While a row is pending, what
//! the relay says about that conversation (a push, a sync) does not overwrite it: this
//! device's later word wins, and the relay's copy comes back to it once the change lands.

use rusqlite::{params, Transaction};
use tern_proto::{ChatPrefs, ConversationId};

use crate::error::Result;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatPrefs> {
    Ok(ChatPrefs {
        conversation_id: r.get(0)?,
        muted: r.get(1)?,
        muted_until: r.get(2)?,
        pinned_at: r.get(3)?,
        marked_unread: r.get(4)?,
    })
}

/// Every conversation muted or pinned, pending changes included.
pub fn all(txn: &Transaction<'_>) -> Result<Vec<ChatPrefs>> {
    Ok(txn
        .prepare_cached(
            "SELECT conversation_id, muted, muted_until, pinned_at, marked_unread FROM chat_prefs
             WHERE muted = 1 OR pinned_at IS NOT NULL OR marked_unread = 1
             ORDER BY conversation_id",
        )?
        .query_map([], row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// How many conversations other than `except` are pinned among those the user is still in.
pub fn pinned_elsewhere(txn: &Transaction<'_>, except: ConversationId) -> Result<usize> {
    let n: i64 = txn
        .prepare_cached(
            "SELECT count(*) FROM chat_prefs p JOIN conversations c ON c.id = p.conversation_id
             WHERE p.conversation_id <> ?1 AND p.pinned_at IS NOT NULL AND c.active = 1",
        )?
        .query_row([except], |r| r.get(0))?;
    Ok(n as usize)
}

/// This device's change: kept, and marked for the relay.
pub fn set_here(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO chat_prefs (conversation_id, muted, muted_until, pinned_at, marked_unread,
                                 pending)
         VALUES (?1, ?2, ?3, ?4, ?5, 1)
         ON CONFLICT (conversation_id) DO UPDATE SET muted = excluded.muted,
             muted_until = excluded.muted_until, pinned_at = excluded.pinned_at,
             marked_unread = excluded.marked_unread, pending = 1",
    )?
    .execute(params![
        p.conversation_id,
        p.muted,
        p.muted_until,
        p.pinned_at,
        p.marked_unread
    ])?;
    Ok(())
}

/// The relay's word on one conversation (a push); ignored while a change of this device's
/// is on its way. Whether anything changed.
pub fn apply(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<bool> {
    let n = txn
        .prepare_cached(
            "INSERT INTO chat_prefs (conversation_id, muted, muted_until, pinned_at,
                                     marked_unread, pending)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)
             ON CONFLICT (conversation_id) DO UPDATE SET muted = excluded.muted,
                 muted_until = excluded.muted_until, pinned_at = excluded.pinned_at,
                 marked_unread = excluded.marked_unread
             WHERE pending = 0 AND (muted IS NOT excluded.muted
                 OR muted_until IS NOT excluded.muted_until OR pinned_at IS NOT excluded.pinned_at
                 OR marked_unread IS NOT excluded.marked_unread)",
        )?
        .execute(params![
            p.conversation_id,
            p.muted,
            p.muted_until,
            p.pinned_at,
            p.marked_unread
        ])?;
    Ok(n > 0)
}

/// The relay's whole list (a sync): everything not pending is replaced by it.
pub fn replace(txn: &Transaction<'_>, list: &[ChatPrefs]) -> Result<()> {
    txn.prepare_cached("DELETE FROM chat_prefs WHERE pending = 0")?
        .execute([])?;
    for p in list {
        apply(txn, p)?;
    }
    Ok(())
}

/// Changes of this device's the relay does not have yet.
pub fn to_send(txn: &Transaction<'_>) -> Result<Vec<ChatPrefs>> {
    Ok(txn
        .prepare_cached(
            "SELECT conversation_id, muted, muted_until, pinned_at, marked_unread FROM chat_prefs
             WHERE pending = 1 ORDER BY conversation_id",
        )?
        .query_map([], row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The relay took `p` (or refused it for good: `landed` false). Unless the row changed again
/// since it was sent, it is no longer pending; a refused one is forgotten until the next sync
/// brings the relay's word back.
pub fn settled(txn: &Transaction<'_>, p: &ChatPrefs, landed: bool) -> Result<()> {
    let sql = if landed {
        "UPDATE chat_prefs SET pending = 0
         WHERE conversation_id = ?1 AND pending = 1 AND muted IS ?2 AND muted_until IS ?3
           AND pinned_at IS ?4 AND marked_unread IS ?5"
    } else {
        "DELETE FROM chat_prefs
         WHERE conversation_id = ?1 AND pending = 1 AND muted IS ?2 AND muted_until IS ?3
           AND pinned_at IS ?4 AND marked_unread IS ?5"
    };
    txn.prepare_cached(sql)?.execute(params![
        p.conversation_id,
        p.muted,
        p.muted_until,
        p.pinned_at,
        p.marked_unread
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn muted(conv: i64) -> ChatPrefs {
        ChatPrefs {
            muted: true,
            ..ChatPrefs::none(ConversationId(conv))
        }
    }

    fn pinned(conv: i64, at: i64) -> ChatPrefs {
        ChatPrefs {
            pinned_at: Some(at),
            ..ChatPrefs::none(ConversationId(conv))
        }
    }

    #[test]
    fn a_change_of_this_devices_outlives_the_relays_older_word_until_it_lands() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        replace(&txn, &[muted(1), muted(2)]).unwrap();
        // Here: 2 unmuted and 3 pinned, not sent yet.
        set_here(&txn, &ChatPrefs::none(ConversationId(2))).unwrap();
        set_here(&txn, &pinned(3, 10)).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![muted(1), pinned(3, 10)]);
        // A sync that does not have them yet, and a push of the old state, change neither.
        replace(&txn, &[muted(2)]).unwrap();
        assert!(!apply(&txn, &muted(2)).unwrap());
        assert_eq!(all(&txn).unwrap(), vec![pinned(3, 10)]);
        assert_eq!(
            to_send(&txn).unwrap(),
            vec![ChatPrefs::none(ConversationId(2)), pinned(3, 10)]
        );
        // Conversation 3 changed again before the relay took the first change: still pending.
        set_here(&txn, &pinned(3, 20)).unwrap();
        settled(&txn, &pinned(3, 10), true).unwrap();
        settled(&txn, &ChatPrefs::none(ConversationId(2)), true).unwrap();
        assert_eq!(to_send(&txn).unwrap(), vec![pinned(3, 20)]);
        // Landed, the relay's word counts again.
        settled(&txn, &pinned(3, 20), true).unwrap();
        assert!(apply(&txn, &muted(3)).unwrap());
        assert_eq!(all(&txn).unwrap(), vec![muted(3)]);
        // A mark "unread" is a change like the others.
        let marked = ChatPrefs {
            marked_unread: true,
            ..muted(3)
        };
        set_here(&txn, &marked).unwrap();
        assert!(!apply(&txn, &muted(3)).unwrap(), "pending");
        settled(&txn, &marked, true).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![marked]);
        assert!(apply(&txn, &muted(3)).unwrap(), "marked read elsewhere");
        // Refused for good: forgotten until the next sync.
        set_here(&txn, &pinned(4, 30)).unwrap();
        settled(&txn, &pinned(4, 30), false).unwrap();
        assert!(to_send(&txn).unwrap().is_empty());
        assert_eq!(all(&txn).unwrap(), vec![muted(3)]);
    }
}
