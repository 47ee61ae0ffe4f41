//! Queries on `conversations` and `members`: creating direct chats and groups, membership
//! changes, receipt markers, listings, and what changed since a sync cursor.
//!
//! Every change to a conversation's shape bumps its `version`, and every change to a member
//! row (joining, leaving, receipts) bumps that row's `version`, both from the relay-wide change
//! counter; sync sends what has a version above the client's `changes_since`.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tern_proto::{
    ConversationId, ConversationInfo, ConversationKind, ConversationSummary, ErrorCode, Member,
    MemberRole, Picture, ReceiptState, Seq, Timestamp, UserId,
};

use super::{enum_column, messages, next_version};
use crate::error::{Error, Result};
use crate::store::tx::{picture_columns, picture_from, Changes, Roster};

/// The conversation's current shape with its active members.
pub fn info(txn: &Connection, conv: ConversationId) -> Result<ConversationInfo> {
    let head = txn
        .prepare_cached(
            "SELECT kind, name, last_seq, created_at, avatar, version FROM conversations WHERE id = ?1",
        )?
        .query_row([conv], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Seq>(2)?,
                r.get::<_, Timestamp>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .optional()?
        .ok_or_else(|| Error::refused(ErrorCode::NotFound, format!("no conversation {conv}")))?;
    let members = txn
        .prepare_cached(
            "SELECT m.user_id, u.username, m.role, m.delivered_seq, m.read_seq, u.display_name,
                    m.accepted, u.avatar
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conversation_id = ?1 AND m.active = 1 ORDER BY m.joined_at, m.user_id",
        )?
        .query_map([conv], |r| {
            Ok(Member {
                user_id: r.get(0)?,
                username: r.get(1)?,
                role: enum_column(r, 2)?,
                delivered_seq: r.get::<_, Seq>(3)?,
                read_seq: r.get::<_, Seq>(4)?,
                display_name: r.get(5)?,
                accepted: r.get(6)?,
                avatar: picture_from(r.get(7)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ConversationInfo {
        conversation_id: conv,
        kind: head.0.parse().map_err(Error::Internal)?,
        name: head.1,
        avatar: picture_from(head.4),
        members,
        last_seq: head.2,
        created_at: head.3,
        version: head.5 as u64,
    })
}

/// Set or clear a conversation's picture and give it a new version.
pub fn set_avatar(
    txn: &Transaction<'_>,
    conv: ConversationId,
    avatar: Option<&Picture>,
) -> Result<()> {
    let (json, blob) = picture_columns(avatar);
    let version = next_version(txn)? as i64;
    txn.prepare_cached(
        "UPDATE conversations SET avatar = ?2, avatar_blob = ?3, version = ?4 WHERE id = ?1",
    )?
    .execute(params![conv, json, blob, version])?;
    Ok(())
}

/// The caller's role, or `not_member` (also for conversations that do not exist, so that
/// probing ids reveals nothing).
pub fn require_member(
    txn: &Transaction<'_>,
    conv: ConversationId,
    user: UserId,
) -> Result<MemberRole> {
    let role: Option<String> = txn
        .prepare_cached(
            "SELECT role FROM members WHERE conversation_id = ?1 AND user_id = ?2 AND active = 1",
        )?
        .query_row(params![conv, user], |r| r.get(0))
        .optional()?;
    role.map(|r| r.parse::<MemberRole>().map_err(Error::Internal))
        .transpose()?
        .ok_or_else(|| {
            Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            )
        })
}

/// Ids of the active members.
pub fn member_ids(txn: &Transaction<'_>, conv: ConversationId) -> Result<Vec<UserId>> {
    Ok(txn
        .prepare_cached("SELECT user_id FROM members WHERE conversation_id = ?1 AND active = 1")?
        .query_map([conv], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Kind and active members with their `accepted` flags; `not_member` if there are none.
pub fn roster(txn: &Connection, conv: ConversationId) -> Result<Roster> {
    let mut kind = None;
    let mut members = Vec::new();
    let mut stmt = txn.prepare_cached(
        "SELECT c.kind, m.user_id, m.accepted FROM conversations c
         JOIN members m ON m.conversation_id = c.id AND m.active = 1 WHERE c.id = ?1",
    )?;
    let mut rows = stmt.query([conv])?;
    while let Some(r) = rows.next()? {
        kind = Some(enum_column::<ConversationKind>(r, 0)?);
        members.push((r.get(1)?, r.get(2)?));
    }
    let kind = kind.ok_or_else(|| {
        Error::refused(
            ErrorCode::NotMember,
            format!("you are not a member of conversation {conv}"),
        )
    })?;
    Ok(Roster { kind, members })
}

/// Mark a membership accepted or a message request.
pub fn set_accepted(
    txn: &Transaction<'_>,
    conv: ConversationId,
    user: UserId,
    accepted: bool,
) -> Result<()> {
    let version = next_version(txn)?;
    txn.prepare_cached(
        "UPDATE members SET accepted = ?3, version = ?4
         WHERE conversation_id = ?1 AND user_id = ?2 AND active = 1",
    )?
    .execute(params![conv, user, accepted, version as i64])?;
    touch(txn, conv, version)
}

/// The conversation's kind.
pub fn kind(txn: &Transaction<'_>, conv: ConversationId) -> Result<ConversationKind> {
    let kind: Option<String> = txn
        .prepare_cached("SELECT kind FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get(0))
        .optional()?;
    let Some(kind) = kind else {
        return Err(Error::refused(ErrorCode::NotFound, "no such conversation"));
    };
    kind.parse().map_err(Error::Internal)
}

fn upsert_member(
    txn: &Transaction<'_>,
    conv: ConversationId,
    user: UserId,
    role: MemberRole,
    now: Timestamp,
    version: u64,
) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO members (conversation_id, user_id, role, active, joined_at, version)
         VALUES (?1, ?2, ?3, 1, ?4, ?5)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET active = 1, role = ?3, joined_at = ?4, version = ?5,
           -- Coming back: accepted unless the adder's rules make it a request again.
           accepted = CASE WHEN members.active = 1 THEN members.accepted ELSE 1 END",
    )?
    .execute(params![conv, user, role.as_str(), now, version as i64])?;
    Ok(())
}

fn touch(txn: &Transaction<'_>, conv: ConversationId, version: u64) -> Result<()> {
    txn.prepare_cached("UPDATE conversations SET version = ?2 WHERE id = ?1")?
        .execute(params![conv, version as i64])?;
    Ok(())
}

/// The direct conversation of `low` and `high`, created if missing; whether it was created.
pub fn direct_between(
    txn: &Transaction<'_>,
    low: UserId,
    high: UserId,
    now: Timestamp,
) -> Result<(ConversationId, bool)> {
    let key = format!("{low}:{high}");
    let existing: Option<ConversationId> = txn
        .prepare_cached("SELECT id FROM conversations WHERE direct_key = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if let Some(conv) = existing {
        return Ok((conv, false));
    }
    let version = next_version(txn)?;
    txn.prepare_cached(
        "INSERT INTO conversations (kind, direct_key, last_activity, version, created_at) VALUES ('direct', ?1, ?2, ?3, ?2)",
    )?
    .execute(params![key, now, version as i64])?;
    let conv = ConversationId(txn.last_insert_rowid());
    for user in [low, high] {
        upsert_member(txn, conv, user, MemberRole::Member, now, version)?;
    }
    Ok((conv, true))
}

/// A new group with these members and roles.
pub fn insert_group(
    txn: &Transaction<'_>,
    name: &str,
    members: &[(UserId, MemberRole)],
    now: Timestamp,
) -> Result<ConversationId> {
    let version = next_version(txn)?;
    txn.prepare_cached(
        "INSERT INTO conversations (kind, name, last_activity, version, created_at) VALUES ('group', ?1, ?2, ?3, ?2)",
    )?
    .execute(params![name, now, version as i64])?;
    let conv = ConversationId(txn.last_insert_rowid());
    for &(user, role) in members {
        upsert_member(txn, conv, user, role, now, version)?;
    }
    Ok(conv)
}

/// Set a group's name.
pub fn set_name(txn: &Transaction<'_>, conv: ConversationId, name: &str) -> Result<()> {
    let version = next_version(txn)?;
    txn.prepare_cached("UPDATE conversations SET name = ?2, version = ?3 WHERE id = ?1")?
        .execute(params![conv, name, version as i64])?;
    Ok(())
}

/// Make `users` active members of `conv`.
pub fn insert_members(
    txn: &Transaction<'_>,
    conv: ConversationId,
    users: &[UserId],
    now: Timestamp,
) -> Result<()> {
    let version = next_version(txn)?;
    for &user in users {
        upsert_member(txn, conv, user, MemberRole::Member, now, version)?;
    }
    touch(txn, conv, version)
}

/// Take a member out; a group left without an admin promotes its longest-standing member (a
/// direct conversation has no admins).
pub fn deactivate(txn: &Transaction<'_>, conv: ConversationId, user: UserId) -> Result<()> {
    let version = next_version(txn)?;
    txn.prepare_cached(
        "UPDATE members SET active = 0, version = ?3 WHERE conversation_id = ?1 AND user_id = ?2",
    )?
    .execute(params![conv, user, version as i64])?;
    touch(txn, conv, version)?;
    let admins: i64 = txn
        .prepare_cached("SELECT count(*) FROM members WHERE conversation_id = ?1 AND active = 1 AND role = 'admin'")?
        .query_row([conv], |r| r.get(0))?;
    if admins == 0 {
        txn.prepare_cached(
            "UPDATE members SET role = 'admin' WHERE conversation_id = ?1 AND user_id =
             (SELECT user_id FROM members WHERE conversation_id = ?1 AND active = 1 ORDER BY joined_at, user_id LIMIT 1)
             AND (SELECT kind FROM conversations WHERE id = ?1) = 'group'",
        )?
        .execute([conv])?;
    }
    Ok(())
}

/// Move a member's cumulative markers forward (never back; never past the newest message).
/// Returns the new state if anything moved.
pub fn advance_receipt(
    txn: &Transaction<'_>,
    conv: ConversationId,
    user: UserId,
    delivered: Seq,
    read: Seq,
) -> Result<Option<ReceiptState>> {
    require_member(txn, conv, user)?;
    let last_seq: Seq = txn
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get(0))?;
    let (old_d, old_r): (Seq, Seq) = txn
        .prepare_cached("SELECT delivered_seq, read_seq FROM members WHERE conversation_id = ?1 AND user_id = ?2")?
        .query_row(params![conv, user], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // Reading implies delivery.
    let new_r = read.min(last_seq).max(old_r);
    let new_d = delivered.min(last_seq).max(old_d).max(new_r);
    if new_d == old_d && new_r == old_r {
        return Ok(None);
    }
    let version = next_version(txn)?;
    txn.prepare_cached(
        "UPDATE members SET delivered_seq = ?3, read_seq = ?4, version = ?5 WHERE conversation_id = ?1 AND user_id = ?2",
    )?
    .execute(params![conv, user, new_d, new_r, version as i64])?;
    Ok(Some(ReceiptState {
        conversation_id: conv,
        user_id: user,
        delivered_seq: new_d,
        read_seq: new_r,
    }))
}

/// Every conversation of the user with its newest message and unread count, most recent
/// activity first.
pub fn list(txn: &Connection, me: UserId) -> Result<Vec<ConversationSummary>> {
    let rows = txn
        .prepare_cached(
            "SELECT c.id, m.read_seq FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.user_id = ?1 AND m.active = 1
             ORDER BY c.last_activity DESC,
                      (SELECT x.id FROM messages x WHERE x.conversation_id = c.id AND x.seq = c.last_seq) DESC,
                      c.id DESC",
        )?
        .query_map([me], |r| Ok((r.get::<_, ConversationId>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (conv, read_seq) in rows {
        let info = info(txn, conv)?;
        let last_message = if info.last_seq > Seq::ZERO {
            messages::latest_text(txn, conv)?
        } else {
            None
        };
        // Unread counts messages people read, not edits or reactions.
        let unread: i64 = txn
            .prepare_cached("SELECT count(*) FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND sender_id != ?3 AND kind = 'text' AND deleted = 0 AND (withheld_from IS NULL OR withheld_from != ?3)")?
            .query_row(params![conv, read_seq, me], |r| r.get(0))?;
        out.push(ConversationSummary {
            info,
            last_message,
            unread: unread as u64,
        });
    }
    Ok(out)
}

/// Collect [`Changes`] for a user.
pub fn changes_since(txn: &Connection, me: UserId, since: u64) -> Result<Changes> {
    let mut changes = Changes::default();
    let mine = txn
        .prepare_cached(
            "SELECT c.id, c.last_seq, c.version, m.active, m.version FROM members m
             JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?1",
        )?
        .query_map([me], |r| {
            Ok((
                r.get::<_, ConversationId>(0)?,
                r.get::<_, Seq>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let since = since as i64;
    let mut receipts = txn.prepare_cached(
        "SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = ?1 AND active = 1 AND version > ?2",
    )?;
    for (conv, last_seq, conv_version, active, member_version) in mine {
        if !active {
            if member_version > since {
                changes.removed.push(conv);
            }
            continue;
        }
        changes.heads.push((conv, last_seq));
        if conv_version > since || member_version > since {
            changes.conversations.push(info(txn, conv)?);
        }
        let rows = receipts.query_map(params![conv, since], |r| {
            Ok(ReceiptState {
                conversation_id: conv,
                user_id: r.get(0)?,
                delivered_seq: r.get::<_, Seq>(1)?,
                read_seq: r.get::<_, Seq>(2)?,
            })
        })?;
        for row in rows {
            changes.receipts.push(row?);
        }
    }
    Ok(changes)
}
