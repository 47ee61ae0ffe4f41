//! PostgreSQL queries on `conversations` and `members`; the same contracts as
//! [`crate::store::sqlite::conversations`]. Sequence numbers are assigned under the
//! conversation row's lock (`UPDATE … RETURNING`), so relays sharing the database still give
//! every conversation one gap-free order.

use super::sql::Sql;
use tern_proto::{
    ConversationId, ConversationInfo, ConversationKind, ConversationSummary, ErrorCode, Member,
    MemberRole, Picture, ReceiptState, Seq, Timestamp, UserId,
};

use super::{messages, next_version, parse};
use crate::error::{Error, Result};
use crate::store::tx::{picture_columns, picture_from, Changes, Roster};

/// A conversation's current shape with its active members; `not_found` if none.
pub fn info(c: &mut impl Sql, conv: ConversationId) -> Result<ConversationInfo> {
    let head = c
        .query_opt(
            "SELECT kind, name, last_seq, created_at, avatar, version FROM conversations WHERE id = $1",
            &[&conv],
        )?
        .ok_or_else(|| Error::refused(ErrorCode::NotFound, format!("no conversation {conv}")))?;
    let mut members = Vec::new();
    for r in c.query(
        "SELECT m.user_id, u.username, m.role, m.delivered_seq, m.read_seq, u.display_name,
                m.accepted, u.avatar
         FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.conversation_id = $1 AND m.active ORDER BY m.joined_at, m.user_id",
        &[&conv],
    )? {
        members.push(Member {
            user_id: r.get(0),
            username: r.get(1),
            role: parse(r.get::<_, &str>(2))?,
            delivered_seq: r.get::<_, Seq>(3),
            read_seq: r.get::<_, Seq>(4),
            display_name: r.get(5),
            accepted: r.get(6),
            avatar: picture_from(r.get(7)),
        });
    }
    Ok(ConversationInfo {
        conversation_id: conv,
        kind: parse(head.get::<_, &str>(0))?,
        name: head.get(1),
        avatar: picture_from(head.get(4)),
        members,
        last_seq: head.get::<_, Seq>(2),
        created_at: head.get(3),
        version: head.get::<_, i64>(5) as u64,
    })
}

/// Set or clear a conversation's picture and give it a new version.
pub fn set_avatar(c: &mut impl Sql, conv: ConversationId, avatar: Option<&Picture>) -> Result<()> {
    let (json, blob) = picture_columns(avatar);
    let version = next_version(c)? as i64;
    c.execute(
        "UPDATE conversations SET avatar = $2, avatar_blob = $3, version = $4 WHERE id = $1",
        &[&conv, &json, &blob, &version],
    )?;
    Ok(())
}

/// The caller's role; `not_member` (also for conversations that do not exist).
pub fn require_member(c: &mut impl Sql, conv: ConversationId, user: UserId) -> Result<MemberRole> {
    let row = c.query_opt(
        "SELECT role FROM members WHERE conversation_id = $1 AND user_id = $2 AND active",
        &[&conv, &user],
    )?;
    match row {
        Some(r) => parse(r.get::<_, &str>(0)),
        None => Err(Error::refused(
            ErrorCode::NotMember,
            format!("you are not a member of conversation {conv}"),
        )),
    }
}

/// Ids of the active members.
pub fn member_ids(c: &mut impl Sql, conv: ConversationId) -> Result<Vec<UserId>> {
    Ok(c.query(
        "SELECT user_id FROM members WHERE conversation_id = $1 AND active",
        &[&conv],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Kind and active members with their `accepted` flags; `not_member` if there are none.
pub fn roster(c: &mut impl Sql, conv: ConversationId) -> Result<Roster> {
    let rows = c.query(
        "SELECT c.kind, m.user_id, m.accepted FROM conversations c
         JOIN members m ON m.conversation_id = c.id AND m.active WHERE c.id = $1",
        &[&conv],
    )?;
    let Some(first) = rows.first() else {
        return Err(Error::refused(
            ErrorCode::NotMember,
            format!("you are not a member of conversation {conv}"),
        ));
    };
    Ok(Roster {
        kind: parse(first.get::<_, &str>(0))?,
        members: rows.iter().map(|r| (r.get(1), r.get(2))).collect(),
    })
}

/// Mark a membership accepted or a message request.
pub fn set_accepted(
    c: &mut impl Sql,
    conv: ConversationId,
    user: UserId,
    accepted: bool,
) -> Result<()> {
    let version = next_version(c)?;
    c.execute(
        "UPDATE members SET accepted = $3, version = $4
         WHERE conversation_id = $1 AND user_id = $2 AND active",
        &[&conv, &user, &accepted, &(version as i64)],
    )?;
    touch(c, conv, version)
}

/// The conversation's kind.
pub fn kind(c: &mut impl Sql, conv: ConversationId) -> Result<ConversationKind> {
    let Some(row) = c.query_opt("SELECT kind FROM conversations WHERE id = $1", &[&conv])? else {
        return Err(Error::refused(ErrorCode::NotFound, "no such conversation"));
    };
    row.get::<_, String>(0).parse().map_err(Error::Internal)
}

fn upsert_member(
    c: &mut impl Sql,
    conv: ConversationId,
    user: UserId,
    role: MemberRole,
    now: Timestamp,
    version: u64,
) -> Result<()> {
    c.execute(
        "INSERT INTO members (conversation_id, user_id, role, active, joined_at, version)
         VALUES ($1, $2, $3, TRUE, $4, $5)
         ON CONFLICT (conversation_id, user_id)
         DO UPDATE SET active = TRUE, role = $3, joined_at = $4, version = $5,
           accepted = CASE WHEN members.active THEN members.accepted ELSE TRUE END",
        &[&conv, &user, &role.as_str(), &now, &(version as i64)],
    )?;
    Ok(())
}

fn touch(c: &mut impl Sql, conv: ConversationId, version: u64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET version = $2 WHERE id = $1",
        &[&conv, &(version as i64)],
    )?;
    Ok(())
}

/// The direct conversation of `low` and `high`, created if missing; whether it was created.
pub fn direct_between(
    c: &mut impl Sql,
    low: UserId,
    high: UserId,
    now: Timestamp,
) -> Result<(ConversationId, bool)> {
    let key = format!("{low}:{high}");
    let find = "SELECT id FROM conversations WHERE direct_key = $1";
    if let Some(r) = c.query_opt(find, &[&key])? {
        return Ok((r.get(0), false));
    }
    let version = next_version(c)?;
    // Two relays creating the same pair at once: the unique key lets one win; the other
    // finds the winner's conversation.
    let created = c.query_opt(
        "INSERT INTO conversations (kind, direct_key, last_activity, version, created_at)
         VALUES ('direct', $1, $2, $3, $2) ON CONFLICT (direct_key) DO NOTHING RETURNING id",
        &[&key, &now, &(version as i64)],
    )?;
    let Some(r) = created else {
        return Ok((c.query_one(find, &[&key])?.get(0), false));
    };
    let conv: ConversationId = r.get(0);
    for user in [low, high] {
        upsert_member(c, conv, user, MemberRole::Member, now, version)?;
    }
    Ok((conv, true))
}

/// A new group with these members and roles.
pub fn insert_group(
    c: &mut impl Sql,
    name: &str,
    members: &[(UserId, MemberRole)],
    now: Timestamp,
) -> Result<ConversationId> {
    let version = next_version(c)?;
    let conv: ConversationId = c
        .query_one(
            "INSERT INTO conversations (kind, name, last_activity, version, created_at)
             VALUES ('group', $1, $2, $3, $2) RETURNING id",
            &[&name, &now, &(version as i64)],
        )?
        .get(0);
    for &(user, role) in members {
        upsert_member(c, conv, user, role, now, version)?;
    }
    Ok(conv)
}

/// Set a group's name.
pub fn set_name(c: &mut impl Sql, conv: ConversationId, name: &str) -> Result<()> {
    let version = next_version(c)?;
    c.execute(
        "UPDATE conversations SET name = $2, version = $3 WHERE id = $1",
        &[&conv, &name, &(version as i64)],
    )?;
    Ok(())
}

/// Make `users` active members of `conv`.
pub fn insert_members(
    c: &mut impl Sql,
    conv: ConversationId,
    users: &[UserId],
    now: Timestamp,
) -> Result<()> {
    let version = next_version(c)?;
    for &user in users {
        upsert_member(c, conv, user, MemberRole::Member, now, version)?;
    }
    touch(c, conv, version)
}

/// Take a member out; a group left without an admin promotes its longest-standing member (a
/// direct conversation has no admins).
pub fn deactivate(c: &mut impl Sql, conv: ConversationId, user: UserId) -> Result<()> {
    let version = next_version(c)?;
    c.execute(
        "UPDATE members SET active = FALSE, version = $3 WHERE conversation_id = $1 AND user_id = $2",
        &[&conv, &user, &(version as i64)],
    )?;
    touch(c, conv, version)?;
    let admins: i64 = c
        .query_one(
            "SELECT count(*) FROM members WHERE conversation_id = $1 AND active AND role = 'admin'",
            &[&conv],
        )?
        .get(0);
    if admins == 0 {
        c.execute(
            "UPDATE members SET role = 'admin' WHERE conversation_id = $1 AND user_id =
             (SELECT user_id FROM members WHERE conversation_id = $1 AND active
              ORDER BY joined_at, user_id LIMIT 1)
             AND (SELECT kind FROM conversations WHERE id = $1) = 'group'",
            &[&conv],
        )?;
    }
    Ok(())
}

/// Move a member's markers forward (never back, never past the newest entry).
pub fn advance_receipt(
    c: &mut impl Sql,
    conv: ConversationId,
    user: UserId,
    delivered: Seq,
    read: Seq,
) -> Result<Option<ReceiptState>> {
    require_member(c, conv, user)?;
    let last_seq: Seq = c
        .query_one("SELECT last_seq FROM conversations WHERE id = $1", &[&conv])?
        .get(0);
    let row = c.query_one(
        "SELECT delivered_seq, read_seq FROM members WHERE conversation_id = $1 AND user_id = $2 FOR UPDATE",
        &[&conv, &user],
    )?;
    let (old_d, old_r): (Seq, Seq) = (row.get(0), row.get(1));
    let new_r = read.min(last_seq).max(old_r);
    let new_d = delivered.min(last_seq).max(old_d).max(new_r);
    if new_d == old_d && new_r == old_r {
        return Ok(None);
    }
    let version = next_version(c)?;
    c.execute(
        "UPDATE members SET delivered_seq = $3, read_seq = $4, version = $5
         WHERE conversation_id = $1 AND user_id = $2",
        &[&conv, &user, &new_d, &new_r, &(version as i64)],
    )?;
    Ok(Some(ReceiptState {
        conversation_id: conv,
        user_id: user,
        delivered_seq: new_d,
        read_seq: new_r,
    }))
}

/// The user's conversations with newest text message and unread count, most recent first.
pub fn list(c: &mut impl Sql, me: UserId) -> Result<Vec<ConversationSummary>> {
    let rows: Vec<(ConversationId, i64)> = c
        .query(
            "SELECT c.id, m.read_seq FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.user_id = $1 AND m.active
             ORDER BY c.last_activity DESC,
                      (SELECT x.id FROM messages x WHERE x.conversation_id = c.id AND x.seq = c.last_seq) DESC NULLS LAST,
                      c.id DESC",
            &[&me],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for (conv, read_seq) in rows {
        let info = info(c, conv)?;
        let last_message = if info.last_seq > Seq::ZERO {
            messages::latest_text(c, conv)?
        } else {
            None
        };
        let unread: i64 = c
            .query_one(
                "SELECT count(*) FROM messages WHERE conversation_id = $1 AND seq > $2
                 AND sender_id != $3 AND kind = 'text' AND NOT deleted
                 AND (withheld_from IS NULL OR withheld_from != $3)",
                &[&conv, &read_seq, &me],
            )?
            .get(0);
        out.push(ConversationSummary {
            info,
            last_message,
            unread: unread as u64,
        });
    }
    Ok(out)
}

/// What a syncing user must learn since `since`.
pub fn changes_since(c: &mut impl Sql, me: UserId, since: u64) -> Result<Changes> {
    let mut changes = Changes::default();
    let mine: Vec<(ConversationId, Seq, i64, bool, i64)> = c
        .query(
            "SELECT c.id, c.last_seq, c.version, m.active, m.version FROM members m
             JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = $1",
            &[&me],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let since = since as i64;
    for (conv, last_seq, conv_version, active, member_version) in mine {
        if !active {
            if member_version > since {
                changes.removed.push(conv);
            }
            continue;
        }
        changes.heads.push((conv, last_seq));
        if conv_version > since || member_version > since {
            changes.conversations.push(info(c, conv)?);
        }
        for r in c.query(
            "SELECT user_id, delivered_seq, read_seq FROM members
             WHERE conversation_id = $1 AND active AND version > $2",
            &[&conv, &since],
        )? {
            changes.receipts.push(ReceiptState {
                conversation_id: conv,
                user_id: r.get(0),
                delivered_seq: r.get::<_, Seq>(1),
                read_seq: r.get::<_, Seq>(2),
            });
        }
    }
    Ok(changes)
}
