//! How the user's conversations behave on their devices (muted, pinned, marked unread,
//! archived): the relay's word, and this device's change on top of it until the relay has it.
//!
//! Each row holds what the relay last said and, in `mine`, what this device changed and the
//! relay has not yet said back: only the fields the user changed ([`ChatPrefsChange`]). What a
//! row shows is the relay's word with the change on top; what is sent is the change alone,
//! which the relay applies to its row as it stands then, so a change made here (offline or
//! at the same moment as another device's) never writes an old copy of the other fields
//! over what the account's other devices changed. It is sent by the connection's flush (at
//! once when online, after the next sync otherwise), like a read marker. The relay sends
//! every change to every device of the user, the one that made it included, in the order it
//! stored them; a field of the change has landed when the relay's word has it (its own echo,
//! or a sync that has it), and leaves `mine`. The fields of a change the relay refuses go,
//! and the relay's word shows again there.

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{ChatPrefs, ChatPrefsChange, ConversationId, Timestamp};

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

/// What this device changed in one conversation, field by field, as kept in `mine`.
type Change = ChatPrefsChange;

fn encode(c: &Change) -> String {
    serde_json::to_string(c).expect("a change serializes")
}

fn decode(text: &str) -> Option<Change> {
    serde_json::from_str(text).ok()
}

/// What a row shows: the relay's word with this device's change on top.
fn shown(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatPrefs> {
    let relay = relay_row(r)?;
    let mine: Option<String> = r.get(7)?;
    Ok(match mine.as_deref().and_then(decode) {
        Some(change) => change.on(&relay),
        None => relay,
    })
}

/// The relay's word on `conv` and this device's change, if the row exists.
fn layers(
    txn: &Transaction<'_>,
    conv: ConversationId,
) -> Result<Option<(ChatPrefs, Option<Change>)>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs WHERE conversation_id = ?1"
        ))?
        .query_row([conv], |r| {
            let mine: Option<String> = r.get(7)?;
            Ok((relay_row(r)?, mine.as_deref().and_then(decode)))
        })
        .optional()?)
}

/// Keep `change` as this device's change on `conv`, less the fields the relay's word
/// already has (they landed; nothing left: nothing is kept).
fn put_mine(
    txn: &Transaction<'_>,
    conv: ConversationId,
    relay: &ChatPrefs,
    change: Option<Change>,
) -> Result<()> {
    let mine = change
        .map(|c| c.beyond(relay))
        .filter(|c| !c.is_empty())
        .map(|c| encode(&c));
    txn.prepare_cached(
        "INSERT INTO chat_prefs (conversation_id, mine) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET mine = excluded.mine",
    )?
    .execute(params![conv, mine])?;
    Ok(())
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
/// this device's changes included (as each row shows: [`shown`]).
pub fn pinned_elsewhere(txn: &Transaction<'_>, except: ConversationId) -> Result<usize> {
    let rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs JOIN conversations c ON c.id = conversation_id
             WHERE conversation_id <> ?1 AND c.active = 1"
        ))?
        .query_map([except], shown)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.iter().filter(|p| p.pinned_at.is_some()).count())
}

/// This device's change: the conversation is to show `p`. Kept as the fields in which `p`
/// differs from what it shows now, on top of any earlier change not yet landed; shown at
/// once, and marked for the relay.
pub fn set_here(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    let conv = p.conversation_id;
    let (relay, earlier) = layers(txn, conv)?.unwrap_or((ChatPrefs::none(conv), None));
    let before = earlier.map_or(relay, |c| c.on(&relay));
    let change = earlier
        .unwrap_or_default()
        .then(Change::between(&before, p));
    put_mine(txn, conv, &relay, Some(change))?;
    sweep(txn)
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
    // Landed once the relay's word has every field of it.
    if let Some((relay, change)) = layers(txn, p.conversation_id)? {
        put_mine(txn, p.conversation_id, &relay, change)?;
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

/// Changes of this device's the relay does not have yet, each as the fields still to set.
pub fn to_send(txn: &Transaction<'_>) -> Result<Vec<(ConversationId, ChatPrefsChange)>> {
    Ok(txn
        .prepare_cached("SELECT conversation_id, mine FROM chat_prefs WHERE mine IS NOT NULL ORDER BY conversation_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<(ConversationId, String)>>>()?
        .into_iter()
        .filter_map(|(conv, mine)| Some((conv, decode(&mine)?)))
        .collect())
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

/// The relay refused `sent` for good: the fields of this device's change that are still
/// what was sent go, and the relay's word shows again there (a field changed again since
/// stays, to be sent).
pub fn refused(txn: &Transaction<'_>, conv: ConversationId, sent: &ChatPrefsChange) -> Result<()> {
    if let Some((relay, Some(change))) = layers(txn, conv)? {
        put_mine(txn, conv, &relay, Some(change.without(sent)))?;
    }
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

    fn pin(at: Option<i64>) -> ChatPrefsChange {
        ChatPrefsChange {
            pin: Some(tern_proto::Pin { at }),
            ..ChatPrefsChange::default()
        }
    }

    fn mute(muted: bool) -> ChatPrefsChange {
        ChatPrefsChange {
            mute: Some(tern_proto::Mute { muted, until: None }),
            ..ChatPrefsChange::default()
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
            vec![
                (ConversationId(2), mute(false)),
                (ConversationId(3), pin(Some(10)))
            ]
        );
        // Conversation 3 changed again here: its first change's echo does not settle it.
        set_here(&txn, &pinned(3, 20)).unwrap();
        assert!(!apply(&txn, &pinned(3, 10)).unwrap());
        assert!(!apply(&txn, &ChatPrefs::none(ConversationId(2))).unwrap());
        assert_eq!(
            to_send(&txn).unwrap(),
            vec![(ConversationId(3), pin(Some(20)))]
        );
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
        let mark = ChatPrefsChange {
            marked_unread: Some(true),
            ..ChatPrefsChange::default()
        };
        assert_eq!(to_send(&txn).unwrap(), vec![(ConversationId(3), mark)]);
        refused(&txn, ConversationId(3), &mark).unwrap();
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
        // Brought back here, sent as this device's change: only `archived`.
        let back = ChatPrefsChange {
            archived: Some(false),
            ..ChatPrefsChange::default()
        };
        assert_eq!(to_send(&txn).unwrap(), vec![(c(2), back), (c(4), back)]);
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

    #[test]
    fn a_change_made_offline_shows_on_top_of_what_other_devices_changed_and_sends_only_itself() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(7);
        // Here, offline: pinned. Meanwhile another device muted it, and the sync says so.
        set_here(&txn, &pinned(7, 10)).unwrap();
        replace(&txn, &[muted(7)]).unwrap();
        let both = ChatPrefs {
            muted: true,
            pinned_at: Some(10),
            ..ChatPrefs::none(c)
        };
        assert_eq!(all(&txn).unwrap(), vec![both]);
        assert_eq!(
            to_send(&txn).unwrap(),
            vec![(c, pin(Some(10)))],
            "only the pin: the relay's mute stays as the relay has it"
        );
        // Its echo has both: landed.
        assert!(!apply(&txn, &both).unwrap());
        assert!(to_send(&txn).unwrap().is_empty());
        // A change back to what the relay says is no change to send.
        set_here(&txn, &pinned(7, 20)).unwrap();
        set_here(&txn, &both).unwrap();
        assert!(to_send(&txn).unwrap().is_empty());
    }

    #[test]
    fn each_field_settles_on_its_own_and_a_refusal_takes_back_only_what_it_refused() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(8);
        // Here: muted, then pinned.
        set_here(&txn, &muted(8)).unwrap();
        let both = ChatPrefs {
            pinned_at: Some(10),
            ..muted(8)
        };
        set_here(&txn, &both).unwrap();
        assert_eq!(
            to_send(&txn).unwrap(),
            vec![(c, mute(true).then(pin(Some(10))))]
        );
        // The mute's echo settles the mute alone; another device then unmutes, and this
        // device's change (the pin) does not mute it again.
        assert!(!apply(&txn, &muted(8)).unwrap());
        assert_eq!(to_send(&txn).unwrap(), vec![(c, pin(Some(10)))]);
        assert!(apply(&txn, &ChatPrefs::none(c)).unwrap());
        assert_eq!(all(&txn).unwrap(), vec![pinned(8, 10)]);
        // Muted again here, then the pin refused (the limit): the mute is still to go.
        set_here(&txn, &both).unwrap();
        refused(&txn, c, &pin(Some(10))).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![muted(8)]);
        assert_eq!(to_send(&txn).unwrap(), vec![(c, mute(true))]);
    }

    #[test]
    fn pins_are_counted_as_they_show_in_the_chats_the_user_is_in() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        for id in 1..=4 {
            txn.execute(
                "INSERT INTO conversations (id, kind, active, created_at) VALUES (?1, 'group', ?2, 0)",
                params![id, id != 4],
            )
            .unwrap();
        }
        // 1 pinned by the relay, 2 pinned here (not sent yet), 3 unpinned here, 4 left.
        replace(&txn, &[pinned(1, 10), pinned(3, 30), pinned(4, 40)]).unwrap();
        set_here(&txn, &pinned(2, 20)).unwrap();
        set_here(&txn, &ChatPrefs::none(ConversationId(3))).unwrap();
        assert_eq!(pinned_elsewhere(&txn, ConversationId(9)).unwrap(), 2);
        assert_eq!(pinned_elsewhere(&txn, ConversationId(2)).unwrap(), 1);
    }
}
