//! PostgreSQL queries on `conversations` and `members`; the same contracts as
//! [`crate::store::sqlite::conversations`]. Sequence numbers are assigned under the
//! conversation row's lock (`UPDATE … RETURNING`), so relays sharing the database still give
//! every conversation one gap-free order.

use postgres::GenericClient;
use tern_proto::{
    ConversationId, ConversationInfo, ConversationKind, ConversationSummary, ErrorCode, Member,
    MemberRole, Picture, ReceiptState, Seq, Timestamp, UserId,
};

use super::{messages, next_version, parse};
use crate::error::{Error, Result};
use crate::store::tx::{picture_columns, picture_from, Changes, Roster};

/// A conversation's current shape with its active members; `not_found` if none.
pub fn info(c: &mut impl GenericClient, conv: ConversationId) -> Result<ConversationInfo> {
    let head = c
        .query_opt(
            "SELECT kind, name, last_seq, created_at, avatar FROM conversations WHERE id = $1",
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
    })
}

/// Set or clear a conversation's picture and give it a new version.
pub fn set_avatar(
    c: &mut impl GenericClient,
    conv: ConversationId,
    avatar: Option<&Picture>,
) -> Result<()> {
    let (json, blob) = picture_columns(avatar);
    let version = next_version(c)? as i64;
    c.execute(
        "UPDATE conversations SET avatar = $2, avatar_blob = $3, version = $4 WHERE id = $1",
        &[&conv, &json, &blob, &version],
    )?;
    Ok(())
}

/// The caller's role; `not_member` (also for conversations that do not exist).
pub fn require_member(
    c: &mut impl GenericClient,
    conv: ConversationId,
    user: UserId,
) -> Result<MemberRole> {
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
pub fn member_ids(c: &mut impl GenericClient, conv: ConversationId) -> Result<Vec<UserId>> {
    Ok(c.query(
        "SELECT user_id FROM members WHERE conversation_id = $1 AND active",
        &[&conv],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Kind and active members with their `accepted` flags; `not_member` if there are none.
pub fn roster(c: &mut impl GenericClient, conv: ConversationId) -> Result<Roster> {
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
    c: &mut impl GenericClient,
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

fn is_group(c: &mut impl GenericClient, conv: ConversationId) -> Result<bool> {
    let kind: String = c
        .query_one("SELECT kind FROM conversations WHERE id = $1", &[&conv])?
        .get(0);
    Ok(parse::<ConversationKind>(&kind)? == ConversationKind::Group)
}

fn require_group_admin(
    c: &mut impl GenericClient,
    conv: ConversationId,
    user: UserId,
) -> Result<()> {
    let role = require_member(c, conv, user)?;
    if !is_group(c, conv)? {
        return Err(Error::refused(
            ErrorCode::Forbidden,
            "direct conversations have fixed members",
        ));
    }
    if role != MemberRole::Admin {
        return Err(Error::refused(
            ErrorCode::Forbidden,
            "only a group admin may do that",
        ));
    }
    Ok(())
}

fn upsert_member(
    c: &mut impl GenericClient,
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
         DO UPDATE SET active = TRUE, role = $3, joined_at = $4, version = $5",
        &[&conv, &user, &role.as_str(), &now, &(version as i64)],
    )?;
    Ok(())
}

fn touch(c: &mut impl GenericClient, conv: ConversationId, version: u64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET version = $2 WHERE id = $1",
        &[&conv, &(version as i64)],
    )?;
    Ok(())
}

/// Find or create the direct conversation of two users; whether it was created.
pub fn start_direct(
    c: &mut impl GenericClient,
    me: UserId,
    other: UserId,
    now: Timestamp,
) -> Result<(ConversationInfo, bool)> {
    if me == other {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "a direct conversation needs another user",
        ));
    }
    let key = format!("{}:{}", me.min(other), me.max(other));
    if let Some(r) = c.query_opt(
        "SELECT id FROM conversations WHERE direct_key = $1",
        &[&key],
    )? {
        return Ok((info(c, r.get(0))?, false));
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
        let conv: ConversationId = c
            .query_one(
                "SELECT id FROM conversations WHERE direct_key = $1",
                &[&key],
            )?
            .get(0);
        return Ok((info(c, conv)?, false));
    };
    let conv: ConversationId = r.get(0);
    upsert_member(c, conv, me, MemberRole::Member, now, version)?;
    upsert_member(c, conv, other, MemberRole::Member, now, version)?;
    Ok((info(c, conv)?, true))
}

/// Create a group with `me` as admin.
pub fn create_group(
    c: &mut impl GenericClient,
    me: UserId,
    name: &str,
    others: &[UserId],
    max_size: usize,
    now: Timestamp,
) -> Result<ConversationInfo> {
    let mut everyone: Vec<UserId> = vec![me];
    for &u in others {
        if !everyone.contains(&u) {
            everyone.push(u);
        }
    }
    if everyone.len() > max_size {
        return Err(Error::refused(
            ErrorCode::GroupTooLarge,
            format!("a group may have at most {max_size} members"),
        ));
    }
    let version = next_version(c)?;
    let conv: ConversationId = c
        .query_one(
            "INSERT INTO conversations (kind, name, last_activity, version, created_at)
             VALUES ('group', $1, $2, $3, $2) RETURNING id",
            &[&name, &now, &(version as i64)],
        )?
        .get(0);
    for &u in &everyone {
        let role = if u == me {
            MemberRole::Admin
        } else {
            MemberRole::Member
        };
        upsert_member(c, conv, u, role, now, version)?;
    }
    info(c, conv)
}

/// Rename a group; any member may.
pub fn rename(
    c: &mut impl GenericClient,
    conv: ConversationId,
    me: UserId,
    name: &str,
) -> Result<ConversationInfo> {
    require_member(c, conv, me)?;
    if !is_group(c, conv)? {
        return Err(Error::refused(
            ErrorCode::Forbidden,
            "direct conversations have no name",
        ));
    }
    let version = next_version(c)?;
    c.execute(
        "UPDATE conversations SET name = $2, version = $3 WHERE id = $1",
        &[&conv, &name, &(version as i64)],
    )?;
    info(c, conv)
}

/// Add users to a group (admins only); the new shape and who was actually added.
pub fn add_members(
    c: &mut impl GenericClient,
    conv: ConversationId,
    me: UserId,
    users: &[UserId],
    max_size: usize,
    now: Timestamp,
) -> Result<(ConversationInfo, Vec<UserId>)> {
    require_group_admin(c, conv, me)?;
    let current = member_ids(c, conv)?;
    let mut added: Vec<UserId> = Vec::new();
    for &u in users {
        if !current.contains(&u) && !added.contains(&u) {
            added.push(u);
        }
    }
    if current.len() + added.len() > max_size {
        return Err(Error::refused(
            ErrorCode::GroupTooLarge,
            format!("a group may have at most {max_size} members"),
        ));
    }
    let version = next_version(c)?;
    for &u in &added {
        upsert_member(c, conv, u, MemberRole::Member, now, version)?;
    }
    touch(c, conv, version)?;
    Ok((info(c, conv)?, added))
}

fn deactivate(c: &mut impl GenericClient, conv: ConversationId, user: UserId) -> Result<()> {
    let version = next_version(c)?;
    c.execute(
        "UPDATE members SET active = FALSE, version = $3 WHERE conversation_id = $1 AND user_id = $2",
        &[&conv, &user, &(version as i64)],
    )?;
    touch(c, conv, version)?;
    // A group never goes without an admin: promote the longest-standing member.
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
              ORDER BY joined_at, user_id LIMIT 1)",
            &[&conv],
        )?;
    }
    Ok(())
}

/// Take a member out of any conversation, direct or group (their account is being deleted).
pub fn depart(c: &mut impl GenericClient, conv: ConversationId, user: UserId) -> Result<()> {
    deactivate(c, conv, user)
}

/// Remove a member (admins only).
pub fn remove_member(
    c: &mut impl GenericClient,
    conv: ConversationId,
    me: UserId,
    target: UserId,
) -> Result<ConversationInfo> {
    require_group_admin(c, conv, me)?;
    if target == me {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "use leave_group to leave",
        ));
    }
    require_member(c, conv, target).map_err(|_| {
        Error::refused(
            ErrorCode::NotFound,
            "that user is not a member of this group",
        )
    })?;
    deactivate(c, conv, target)?;
    info(c, conv)
}

/// Leave a group.
pub fn leave(
    c: &mut impl GenericClient,
    conv: ConversationId,
    me: UserId,
) -> Result<ConversationInfo> {
    require_member(c, conv, me)?;
    if !is_group(c, conv)? {
        return Err(Error::refused(
            ErrorCode::Forbidden,
            "direct conversations cannot be left",
        ));
    }
    deactivate(c, conv, me)?;
    info(c, conv)
}

/// Move a member's markers forward (never back, never past the newest entry).
pub fn advance_receipt(
    c: &mut impl GenericClient,
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
pub fn list(c: &mut impl GenericClient, me: UserId) -> Result<Vec<ConversationSummary>> {
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
pub fn changes_since(c: &mut impl GenericClient, me: UserId, since: u64) -> Result<Changes> {
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
