//! Queries on `chat_prefs`: how each user's conversations behave on their devices (muted,
//! pinned, marked unread, archived). A row exists only while something is set; the relay never interprets it beyond
//! the pin limit.

use rusqlite::{params, Connection, OptionalExtension};
use tern_proto::{ChatPrefs, ConversationId, Timestamp, UserId};

use crate::error::Result;
use crate::store::PrefEdits;

/// Every conversation `user` is in and muted, pinned or marked unread.
pub fn chat_prefs(c: &Connection, user: UserId) -> Result<Vec<ChatPrefs>> {
    Ok(c.prepare_cached(
        "SELECT p.conversation_id, p.muted, p.muted_until, p.pinned_at, p.marked_unread,
                    p.archived, p.archived_at
             FROM chat_prefs p
             JOIN members m ON m.conversation_id = p.conversation_id AND m.user_id = p.user_id
             WHERE p.user_id = ?1 AND m.active = 1 ORDER BY p.conversation_id",
    )?
    .query_map([user], ChatPrefs::from_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// What `user` set for `conv`, whether or not they are still in it.
pub fn chat_prefs_in(
    c: &Connection,
    user: UserId,
    conv: ConversationId,
) -> Result<Option<ChatPrefs>> {
    Ok(c.prepare_cached(
        "SELECT conversation_id, muted, muted_until, pinned_at, marked_unread, archived,
                archived_at
         FROM chat_prefs WHERE user_id = ?1 AND conversation_id = ?2",
    )?
    .query_row(params![user, conv], ChatPrefs::from_row)
    .optional()?)
}

/// Replace what `user` set for one conversation (nothing set: the row goes); what is stored.
/// `now` stamps `archived_at` when it becomes archived (an archived one keeps its time).
pub fn set_chat_prefs(
    c: &Connection,
    user: UserId,
    prefs: &ChatPrefs,
    now: Timestamp,
) -> Result<ChatPrefs> {
    if prefs.is_empty() {
        c.prepare_cached("DELETE FROM chat_prefs WHERE user_id = ?1 AND conversation_id = ?2")?
            .execute(params![user, prefs.conversation_id])?;
        return Ok(ChatPrefs::none(prefs.conversation_id));
    }
    let archived_at: Option<Timestamp> = c
        .prepare_cached(
            "INSERT INTO chat_prefs (user_id, conversation_id, muted, muted_until, pinned_at,
                                     marked_unread, archived, archived_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?7 THEN ?8 END)
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET
                 muted = excluded.muted, muted_until = excluded.muted_until,
                 pinned_at = excluded.pinned_at, marked_unread = excluded.marked_unread,
                 archived = excluded.archived,
                 archived_at = CASE WHEN NOT excluded.archived THEN NULL
                                    WHEN chat_prefs.archived THEN chat_prefs.archived_at
                                    ELSE excluded.archived_at END
             RETURNING archived_at",
        )?
        .query_row(
            params![
                user,
                prefs.conversation_id,
                prefs.muted,
                prefs.muted.then_some(prefs.muted_until).flatten(),
                prefs.pinned_at,
                prefs.marked_unread,
                prefs.archived,
                now
            ],
            |r| r.get(0),
        )?;
    Ok(ChatPrefs {
        archived_at,
        ..*prefs
    })
}

/// How many conversations other than `except` `user` has pinned among those they are still
/// in (a pin in a conversation they left takes no place).
pub fn pinned_elsewhere(c: &Connection, user: UserId, except: ConversationId) -> Result<usize> {
    let n: i64 = c
        .prepare_cached(
            "SELECT count(*) FROM chat_prefs p
             JOIN members m ON m.conversation_id = p.conversation_id AND m.user_id = p.user_id
             WHERE p.user_id = ?1 AND p.conversation_id <> ?2 AND p.pinned_at IS NOT NULL
               AND m.active = 1",
        )?
        .query_row(params![user, except], |r| r.get(0))?;
    Ok(n as usize)
}

/// When `user` last changed each setting of `conv` (none: never, or before edits were kept).
pub fn pref_edits(c: &Connection, user: UserId, conv: ConversationId) -> Result<PrefEdits> {
    Ok(c.prepare_cached(
        "SELECT mute, pin, marked_unread, archived FROM pref_edits
         WHERE user_id = ?1 AND conversation_id = ?2",
    )?
    .query_row(params![user, conv], |r| {
        Ok(PrefEdits {
            mute: r.get(0)?,
            pin: r.get(1)?,
            marked_unread: r.get(2)?,
            archived: r.get(3)?,
        })
    })
    .optional()?
    .unwrap_or_default())
}

/// Record when `user` last changed each setting of `conv`.
pub fn set_pref_edits(
    c: &Connection,
    user: UserId,
    conv: ConversationId,
    e: &PrefEdits,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO pref_edits (user_id, conversation_id, mute, pin, marked_unread, archived)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET mute = excluded.mute,
             pin = excluded.pin, marked_unread = excluded.marked_unread,
             archived = excluded.archived",
    )?
    .execute(params![
        user,
        conv,
        e.mute,
        e.pin,
        e.marked_unread,
        e.archived
    ])?;
    Ok(())
}
