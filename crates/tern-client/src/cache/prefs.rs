//! How the user's conversations behave on their devices (muted, pinned, marked unread,
//! archived): the relay's word, and this device's change on top of it until the relay has it.
//!
//! Each row holds what the relay last said and, in `mine`, this device's change not yet seen
//! back from the relay. A change made here is sent by the connection's flush (at once when
//! online, after the next sync otherwise), like a read marker. The relay sends every change
//! to every device of the user, the one that made it included, in the order it stored them;
//! so this device's change has landed when the relay's word equals it (its own echo, or a
//! sync that has it), and `mine` goes. Until then, a different word from the relay is older
//! than the change and only updates the relay's copy underneath it. A change the relay
//! refuses goes, and the relay's copy shows again.

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{ChatPrefs, ConversationId, Timestamp};

use crate::error::Result;

/// The relay's copy of one row.
fn relay_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatPrefs> {
    Ok(ChatPrefs {
        conversation_id: r.get(0)?,
        muted: r.get(1)?,
        muted_until: r.get(2)?,
        pinned_at: r.get(3)?,
        marked_unread: r.get(4)?,
        archived: r.get(5)?,
        archived_at: r.get(6)?,
    })
}

/// This device's change as kept in `mine`.
fn encode(p: &ChatPrefs) -> String {
    serde_json::to_string(p).expect("chat prefs serialize")
}

fn decode(text: &str) -> Option<ChatPrefs> {
    serde_json::from_str(text).ok()
}

/// What a row shows: this device's change if it has one, else the relay's word.
fn shown(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatPrefs> {
    let relay = relay_row(r)?;
    let mine: Option<String> = r.get(7)?;
    Ok(mine.as_deref().and_then(decode).unwrap_or(relay))
}

const COLUMNS: &str =
    "conversation_id, muted, muted_until, pinned_at, marked_unread, archived, archived_at, mine";

/// Every conversation muted, pinned or marked unread, this device's changes included.
pub fn all(txn: &Transaction<'_>) -> Result<Vec<ChatPrefs>> {
    let rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs ORDER BY conversation_id"
        ))?
        .query_map([], shown)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().filter(|p| !p.is_empty()).collect())
}

/// What one conversation shows now.
pub fn one(txn: &Transaction<'_>, conv: ConversationId) -> Result<ChatPrefs> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs WHERE conversation_id = ?1"
        ))?
        .query_row([conv], shown)
        .optional()?
        .unwrap_or(ChatPrefs::none(conv)))
}

/// How many conversations other than `except` are pinned among those the user is still in,
/// this device's changes included.
pub fn pinned_elsewhere(txn: &Transaction<'_>, except: ConversationId) -> Result<usize> {
    let n: i64 = txn
        .prepare_cached(
            "SELECT count(*) FROM chat_prefs p JOIN conversations c ON c.id = p.conversation_id
             WHERE p.conversation_id <> ?1 AND c.active = 1
               AND (CASE WHEN p.mine IS NULL THEN p.pinned_at
                         ELSE json_extract(p.mine, '$.pinned_at') END) IS NOT NULL",
        )?
        .query_row([except], |r| r.get(0))?;
    Ok(n as usize)
}

/// This device's change: shown at once, and marked for the relay.
pub fn set_here(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO chat_prefs (conversation_id, mine) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET mine = excluded.mine",
    )?
    .execute(params![p.conversation_id, encode(p)])?;
    Ok(())
}

/// Write the relay's word on one conversation under whatever this device changed, and drop
/// the change if the word is it (it landed).
fn put_relay(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO chat_prefs (conversation_id, muted, muted_until, pinned_at, marked_unread,
                                 archived, archived_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (conversation_id) DO UPDATE SET muted = excluded.muted,
             muted_until = excluded.muted_until, pinned_at = excluded.pinned_at,
             marked_unread = excluded.marked_unread, archived = excluded.archived,
             archived_at = excluded.archived_at",
    )?
    .execute(params![
        p.conversation_id,
        p.muted,
        p.muted_until,
        p.pinned_at,
        p.marked_unread,
        p.archived,
        p.archived_at
    ])?;
    drop_mine_if(txn, p)
}

/// Drop this device's change on `p`'s conversation if it makes the same choices as `p`.
fn drop_mine_if(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    let mine: Option<String> = txn
        .prepare_cached("SELECT mine FROM chat_prefs WHERE conversation_id = ?1")?
        .query_row([p.conversation_id], |r| r.get(0))
        .optional()?
        .flatten();
    if mine
        .as_deref()
        .and_then(decode)
        .is_some_and(|m| m.same_choice(p))
    {
        txn.prepare_cached("UPDATE chat_prefs SET mine = NULL WHERE conversation_id = ?1")?
            .execute([p.conversation_id])?;
    }
    Ok(())
}

/// Rows with nothing set and no change of this device's on its way are not kept.
fn sweep(txn: &Transaction<'_>) -> Result<()> {
    txn.prepare_cached(
        "DELETE FROM chat_prefs WHERE mine IS NULL AND muted = 0 AND pinned_at IS NULL
             AND marked_unread = 0 AND archived = 0",
    )?
    .execute([])?;
    Ok(())
}

/// The relay's word on one conversation (a push); whether what it shows changed.
pub fn apply(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<bool> {
    let before = one(txn, p.conversation_id)?;
    put_relay(txn, p)?;
    sweep(txn)?;
    Ok(one(txn, p.conversation_id)? != before)
}

/// The relay's whole list (a sync): the relay's copy of every row becomes it (a conversation
/// not in it has nothing set).
pub fn replace(txn: &Transaction<'_>, list: &[ChatPrefs]) -> Result<()> {
    let known: Vec<ConversationId> = txn
        .prepare_cached("SELECT conversation_id FROM chat_prefs")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for conv in known {
        if !list.iter().any(|p| p.conversation_id == conv) {
            put_relay(txn, &ChatPrefs::none(conv))?;
        }
    }
    for p in list {
        put_relay(txn, p)?;
    }
    sweep(txn)
}

/// Changes of this device's the relay does not have yet.
pub fn to_send(txn: &Transaction<'_>) -> Result<Vec<ChatPrefs>> {
    let mine: Vec<String> = txn
        .prepare_cached(
            "SELECT mine FROM chat_prefs WHERE mine IS NOT NULL ORDER BY conversation_id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(mine.iter().filter_map(|m| decode(m)).collect())
}

/// A message from someone else arrived in each of `spoken` (its conversation, and when the
/// relay stored the latest): an archived one comes back to the list, as this device's
/// change, if the message came after it was archived and it was not muted then. Whether any
/// did. Called with the relay's word in the cache (live, or after a sync's `sync_done`), so
/// the change carries the account's other choices as they are now.
pub fn bring_back(txn: &Transaction<'_>, spoken: &[(ConversationId, Timestamp)]) -> Result<bool> {
    let mut any = false;
    for &(conv, sent_at) in spoken {
        let mut p = one(txn, conv)?;
        let after = p.archived_at.is_some_and(|at| sent_at > at);
        if p.archived && after && !p.muted_at(sent_at) {
            p.archived = false;
            p.archived_at = None;
            set_here(txn, &p)?;
            any = true;
        }
    }
    Ok(any)
}

/// Note that messages from others arrived in a sync (each conversation with the latest
/// one's time): [`bring_back_noted`] judges them once the sync's `sync_done` brought the
/// relay's word. Kept in the cache, so a sync cut short judges them at the next one's end.
pub fn note_spoken(txn: &Transaction<'_>, spoken: &[(ConversationId, Timestamp)]) -> Result<()> {
    let mut stmt = txn.prepare_cached(
        "INSERT INTO spoken (conversation_id, sent_at) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET sent_at = max(sent_at, excluded.sent_at)",
    )?;
    for (conv, at) in spoken {
        stmt.execute(params![conv, at])?;
    }
    Ok(())
}

/// [`bring_back`] what [`note_spoken`] noted, and forget it; whether any chat came back.
pub fn bring_back_noted(txn: &Transaction<'_>) -> Result<bool> {
    let spoken: Vec<(ConversationId, Timestamp)> = txn
        .prepare_cached("SELECT conversation_id, sent_at FROM spoken")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    txn.prepare_cached("DELETE FROM spoken")?.execute([])?;
    bring_back(txn, &spoken)
}

/// The relay refused `p` for good: unless this device changed the conversation again since,
/// the change goes and the relay's word shows again.
pub fn refused(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    drop_mine_if(txn, p)?;
    sweep(txn)
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
    fn a_change_of_this_devices_shows_until_the_relays_word_is_it_and_a_refusal_shows_the_relays_again(
    ) {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        replace(&txn, &[muted(1), muted(2)]).unwrap();
        // Here: 2 unmuted and 3 pinned, not sent yet.
        set_here(&txn, &ChatPrefs::none(ConversationId(2))).unwrap();
        set_here(&txn, &pinned(3, 10)).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![muted(1), pinned(3, 10)]);
        // A sync that does not have them yet, and a push of an older state, change neither.
        replace(&txn, &[muted(2)]).unwrap();
        assert!(!apply(&txn, &muted(2)).unwrap());
        assert_eq!(all(&txn).unwrap(), vec![pinned(3, 10)]);
        assert_eq!(
            to_send(&txn).unwrap(),
            vec![ChatPrefs::none(ConversationId(2)), pinned(3, 10)]
        );
        // Conversation 3 changed again here: its first change's echo does not settle it.
        set_here(&txn, &pinned(3, 20)).unwrap();
        assert!(!apply(&txn, &pinned(3, 10)).unwrap());
        assert!(!apply(&txn, &ChatPrefs::none(ConversationId(2))).unwrap());
        assert_eq!(to_send(&txn).unwrap(), vec![pinned(3, 20)]);
        // Its echo does; the relay's later word (another device's) then shows.
        assert!(!apply(&txn, &pinned(3, 20)).unwrap());
        assert!(to_send(&txn).unwrap().is_empty());
        assert!(apply(&txn, &muted(3)).unwrap());
        assert_eq!(all(&txn).unwrap(), vec![muted(3)]);
        // A mark "unread" is a change like the others.
        let marked = ChatPrefs {
            marked_unread: true,
            ..muted(3)
        };
        set_here(&txn, &marked).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![marked]);
        // Refused for good: the relay's word (muted) shows again, nothing is lost.
        refused(&txn, &marked).unwrap();
        assert!(to_send(&txn).unwrap().is_empty());
        assert_eq!(all(&txn).unwrap(), vec![muted(3)]);
        // A sync that has this device's change settles it too.
        set_here(&txn, &pinned(4, 30)).unwrap();
        replace(&txn, &[muted(3), pinned(4, 30)]).unwrap();
        assert!(to_send(&txn).unwrap().is_empty());
        assert_eq!(all(&txn).unwrap(), vec![muted(3), pinned(4, 30)]);
        // Unset everywhere, the rows go.
        replace(&txn, &[]).unwrap();
        assert!(all(&txn).unwrap().is_empty());
        let rows: i64 = txn
            .query_row("SELECT count(*) FROM chat_prefs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }

    #[test]
    fn a_message_brings_back_a_chat_archived_before_it_unless_muted_then() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId;
        let archived = |conv: i64, at: i64| ChatPrefs {
            archived: true,
            archived_at: Some(at),
            ..ChatPrefs::none(c(conv))
        };
        let quiet_until = |conv: i64, at: i64, end: i64| ChatPrefs {
            muted: true,
            muted_until: Some(end),
            ..archived(conv, at)
        };
        replace(
            &txn,
            &[
                archived(1, 100),
                archived(2, 100),
                quiet_until(3, 100, 500),
                quiet_until(4, 100, 500),
            ],
        )
        .unwrap();
        // 1: a message from before it was archived; 2: one after; 3: one while muted;
        // 4: one after its mute ended.
        let spoken = [(c(1), 90), (c(2), 110), (c(3), 400), (c(4), 600)];
        assert!(bring_back(&txn, &spoken).unwrap());
        let shown: Vec<_> = all(&txn)
            .unwrap()
            .into_iter()
            .map(|p| (p.conversation_id.0, p.archived))
            .collect();
        // 2 has nothing set any more, so it is not listed.
        assert_eq!(shown, vec![(1, true), (3, true), (4, false)]);
        // Brought back here, sent as this device's change: only `archived` differs.
        let sent = to_send(&txn).unwrap();
        assert_eq!(sent.len(), 2);
        assert!(sent[1].muted && sent[1].muted_until == Some(500) && !sent[1].archived);
        assert!(
            !bring_back(&txn, &spoken).unwrap(),
            "nothing more to bring back"
        );
        // A sync's messages are noted (kept until judged, even across a cut-short sync), then
        // judged at its end, once.
        replace(&txn, &[archived(5, 100)]).unwrap();
        note_spoken(&txn, &[(c(5), 150)]).unwrap();
        note_spoken(&txn, &[(c(5), 120)]).unwrap();
        assert!(bring_back_noted(&txn).unwrap());
        assert!(all(&txn).unwrap().iter().all(|p| p.conversation_id != c(5)));
        assert!(!bring_back_noted(&txn).unwrap(), "judged once");
    }
}
