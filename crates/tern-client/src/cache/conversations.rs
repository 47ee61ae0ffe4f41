//! Conversations, members, receipt markers, presence and sync cursors in the cache.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{
    ConversationId, ConversationInfo, ConversationKind, Cursor, Member, Picture, Presence, Privacy,
    ReceiptState, Seq, UserId,
};

use crate::error::Result;

/// A picture descriptor as stored (JSON).
fn picture_json(p: Option<&Picture>) -> Option<String> {
    p.map(|p| serde_json::to_string(p).expect("a picture serializes"))
}

/// A stored picture descriptor (one that does not parse counts as none).
pub(crate) fn picture(json: Option<String>) -> Option<Picture> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

/// Insert or update a conversation and replace its member list. Markers only move forward.
pub fn upsert(txn: &Transaction<'_>, info: &ConversationInfo) -> Result<()> {
    let back: bool = txn
        .prepare_cached("SELECT active = 0 FROM conversations WHERE id = ?1")?
        .query_row([info.conversation_id], |r| r.get(0))
        .optional()?
        .unwrap_or(false);
    if back {
        super::messages::reread_unknown_of(txn, info.conversation_id)?;
    }
    txn.prepare_cached(
        "INSERT INTO conversations (id, kind, name, last_seq, created_at, last_activity, active, avatar)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, ?6)
         ON CONFLICT (id) DO UPDATE SET kind = ?2, name = ?3, last_seq = max(last_seq, ?4), active = 1,
           avatar = ?6",
    )?
    .execute(params![info.conversation_id, ConversationKind::as_str(info.kind), info.name, info.last_seq, info.created_at, picture_json(info.avatar.as_ref())])?;
    let ids: Vec<UserId> = info.members.iter().map(|m| m.user_id).collect();
    let existing: Vec<UserId> = txn
        .prepare_cached("SELECT user_id FROM members WHERE conversation_id = ?1")?
        .query_map([info.conversation_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for gone in existing.into_iter().filter(|u| !ids.contains(u)) {
        txn.prepare_cached("DELETE FROM members WHERE conversation_id = ?1 AND user_id = ?2")?
            .execute(params![info.conversation_id, gone])?;
        // The other member of a direct chat goes only by deleting their account.
        if info.kind == ConversationKind::Direct {
            super::messages::sender_deleted(txn, gone)?;
        }
    }
    for m in &info.members {
        txn.prepare_cached(
            "INSERT INTO members (conversation_id, user_id, username, role, delivered_seq, read_seq, display_name, accepted, avatar)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET username = ?3, role = ?4,
               delivered_seq = max(delivered_seq, ?5), read_seq = max(read_seq, ?6), display_name = ?7,
               accepted = ?8, avatar = ?9",
        )?
        .execute(params![
            info.conversation_id,
            m.user_id,
            m.username,
            m.role.as_str(),
            m.delivered_seq,
            m.read_seq,
            m.display_name,
            m.accepted,
            picture_json(m.avatar.as_ref()),
        ])?;
    }
    Ok(())
}

/// Make sure a row exists for a conversation a message arrived in before its description.
pub fn ensure(txn: &Transaction<'_>, conv: ConversationId) -> Result<()> {
    txn.prepare_cached(
        "INSERT OR IGNORE INTO conversations (id, kind, created_at) VALUES (?1, 'group', 0)",
    )?
    .execute([conv])?;
    Ok(())
}

/// The user left or was removed: keep the history, stop listing it as active. Whether it
/// was active.
pub fn deactivate(txn: &Transaction<'_>, conv: ConversationId) -> Result<bool> {
    let changed = txn
        .prepare_cached("UPDATE conversations SET active = 0 WHERE id = ?1 AND active = 1")?
        .execute([conv])?;
    Ok(changed > 0)
}

/// Move a member's markers forward.
pub fn apply_receipt(txn: &Transaction<'_>, r: &ReceiptState) -> Result<()> {
    txn.prepare_cached(
        "UPDATE members SET delivered_seq = max(delivered_seq, ?3), read_seq = max(read_seq, ?4)
         WHERE conversation_id = ?1 AND user_id = ?2",
    )?
    .execute(params![
        r.conversation_id,
        r.user_id,
        r.delivered_seq,
        r.read_seq
    ])?;
    Ok(())
}

/// Sync cursors of every active conversation.
pub fn cursors(txn: &Transaction<'_>) -> Result<Vec<Cursor>> {
    Ok(txn
        .prepare_cached("SELECT id, synced_seq FROM conversations WHERE active = 1")?
        .query_map([], |r| {
            Ok(Cursor {
                conversation_id: r.get(0)?,
                seq: r.get::<_, Seq>(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The cached shape of one conversation.
pub fn info(txn: &Transaction<'_>, conv: ConversationId) -> Result<Option<ConversationInfo>> {
    let head = txn
        .prepare_cached(
            "SELECT kind, name, last_seq, created_at, avatar FROM conversations WHERE id = ?1",
        )?
        .query_row([conv], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Seq>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    let Some((kind, name, last_seq, created_at, avatar)) = head else {
        return Ok(None);
    };
    let members = txn
        .prepare_cached(
            "SELECT user_id, username, role, delivered_seq, read_seq, display_name, accepted,
                    avatar
             FROM members WHERE conversation_id = ?1 ORDER BY username",
        )?
        .query_map([conv], |r| {
            Ok(Member {
                user_id: r.get(0)?,
                username: r.get(1)?,
                role: super::enum_column(r, 2)?,
                delivered_seq: r.get::<_, Seq>(3)?,
                read_seq: r.get::<_, Seq>(4)?,
                display_name: r.get(5)?,
                accepted: r.get(6)?,
                avatar: picture(r.get(7)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(ConversationInfo {
        conversation_id: conv,
        kind: kind
            .parse()
            .map_err(|e: String| crate::error::Error::Invalid(format!("corrupt cache: {e}")))?,
        name,
        avatar: picture(avatar),
        members,
        last_seq,
        created_at,
        // The cache keeps the newest shape it was given; its relay version is not kept.
        version: 0,
    }))
}

/// Hide a conversation from the list until a new message arrives in it (or show it again).
pub fn set_hidden(txn: &Transaction<'_>, conv: ConversationId, hidden: bool) -> Result<()> {
    txn.prepare_cached("UPDATE conversations SET hidden = ?2 WHERE id = ?1")?
        .execute(params![conv, hidden])?;
    Ok(())
}

/// Unread messages across every active conversation (the same count `list` gives per
/// conversation), in one query.
pub fn unread_total(txn: &Transaction<'_>, me: UserId) -> Result<u64> {
    let n: i64 = txn
        .prepare_cached(
            "SELECT count(*) FROM messages m
             JOIN conversations c ON c.id = m.conversation_id AND c.active = 1 AND c.hidden = 0
             JOIN members mine ON mine.conversation_id = m.conversation_id AND mine.user_id = ?1
                  AND mine.accepted = 1
             WHERE m.sender_id != ?1 AND m.seq > mine.read_seq AND m.kind = 'text' AND m.hidden = 0",
        )?
        .query_row([me], |r| r.get(0))?;
    Ok(n as u64)
}

/// The `meta` key holding the user's privacy settings and block list (JSON).
const PRIVACY: &str = "privacy";

/// Store the user's privacy settings and block list as the relay last sent them.
pub fn set_privacy(txn: &Transaction<'_>, privacy: &Privacy) -> Result<()> {
    let json = serde_json::to_string(privacy).expect("serializable");
    super::meta_set(txn, PRIVACY, &json)
}

/// The user's privacy settings and block list as last synced (the defaults before the
/// first sync).
pub fn privacy(txn: &Transaction<'_>) -> Result<Privacy> {
    Ok(super::meta_get(txn, PRIVACY)?
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or(Privacy {
            read_receipts: true,
            ..Privacy::default()
        }))
}

/// Record a presence change. A presence without `last_seen` clears it: the user hides it now
/// (or was never seen), so a stale time must not stay on screen.
pub fn set_presence(txn: &Transaction<'_>, p: &Presence) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO presence (user_id, online, last_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET online = ?2, last_seen = ?3",
    )?
    .execute(params![p.user_id, p.online, p.last_seen])?;
    Ok(())
}

/// After a sync: everyone the relay's full list (`sync_done.presence`) left out hides their
/// presence from this user now (they chose `nobody`, or a block or a left conversation ended
/// the sharing), perhaps while this device was away and missed the push that said so. Their
/// kept state is cleared; returns the entries that changed, as the user now sees them.
pub fn hide_unlisted(txn: &Transaction<'_>, listed: &[Presence]) -> Result<Vec<Presence>> {
    let listed: Vec<UserId> = listed.iter().map(|p| p.user_id).collect();
    let kept: Vec<(UserId, bool, Option<i64>)> = txn
        .prepare_cached("SELECT user_id, online, last_seen FROM presence")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut hidden = Vec::new();
    for (user_id, online, last_seen) in kept {
        if listed.contains(&user_id) || (!online && last_seen.is_none()) {
            continue;
        }
        let p = Presence {
            user_id,
            online: false,
            last_seen: None,
        };
        set_presence(txn, &p)?;
        hidden.push(p);
    }
    Ok(hidden)
}

/// Everyone's last known presence.
pub fn presence_map(txn: &Transaction<'_>) -> Result<HashMap<UserId, Presence>> {
    Ok(txn
        .prepare_cached("SELECT user_id, online, last_seen FROM presence")?
        .query_map([], |r| {
            Ok(Presence {
                user_id: r.get(0)?,
                online: r.get(1)?,
                last_seen: r.get(2)?,
            })
        })?
        .map(|p| p.map(|p| (p.user_id, p)))
        .collect::<rusqlite::Result<_>>()?)
}

/// Everyone offline (the link dropped; presence is unknown until the next sync). Returns the
/// entries that changed.
pub fn all_offline(txn: &Transaction<'_>) -> Result<Vec<Presence>> {
    Ok(txn
        .prepare_cached(
            "UPDATE presence SET online = 0 WHERE online = 1 RETURNING user_id, online, last_seen",
        )?
        .query_map([], |r| {
            Ok(Presence {
                user_id: r.get(0)?,
                online: r.get(1)?,
                last_seen: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Move the user's own read marker forward locally (never past the newest message); the new
/// markers if the read marker moved.
pub fn mark_read(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<ReceiptState>> {
    let row: Option<(Seq, Seq, Seq)> = txn
        .prepare_cached(
            "SELECT c.last_seq, m.delivered_seq, m.read_seq FROM conversations c
             JOIN members m ON m.conversation_id = c.id AND m.user_id = ?2 WHERE c.id = ?1",
        )?
        .query_row(params![conv, me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((last, delivered, read)) = row else {
        return Ok(None);
    };
    let seq = seq.min(last);
    if seq <= read {
        return Ok(None);
    }
    let delivered = delivered.max(seq);
    txn.prepare_cached(
        "UPDATE members SET read_seq = ?3, delivered_seq = ?4 WHERE conversation_id = ?1 AND user_id = ?2",
    )?
    .execute(params![conv, me, seq, delivered])?;
    Ok(Some(ReceiptState {
        conversation_id: conv,
        user_id: me,
        delivered_seq: delivered,
        read_seq: seq,
    }))
}

/// Conversations whose gap-free cursor is past the user's delivered marker as the relay last
/// said it, with that cursor: deliveries to say again.
pub fn delivered_behind(txn: &Transaction<'_>, me: UserId) -> Result<Vec<(ConversationId, Seq)>> {
    Ok(txn
        .prepare_cached(
            "SELECT c.id, c.synced_seq FROM conversations c
             JOIN members m ON m.conversation_id = c.id AND m.user_id = ?1
             WHERE c.active = 1 AND c.synced_seq > m.delivered_seq",
        )?
        .query_map([me], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Read markers set here that the relay has not acknowledged yet.
pub fn reads_to_send(txn: &Transaction<'_>, me: UserId) -> Result<Vec<(ConversationId, Seq)>> {
    Ok(txn
        .prepare_cached(
            "SELECT c.id, m.read_seq FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.user_id = ?1
             WHERE c.active = 1 AND m.read_seq > c.read_sent_seq",
        )?
        .query_map([me], |r| Ok((r.get(0)?, r.get::<_, Seq>(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The relay acknowledged a read marker.
pub fn read_sent(txn: &Transaction<'_>, conv: ConversationId, seq: Seq) -> Result<()> {
    txn.prepare_cached(
        "UPDATE conversations SET read_sent_seq = max(read_sent_seq, ?2) WHERE id = ?1",
    )?
    .execute(params![conv, seq])?;
    Ok(())
}
