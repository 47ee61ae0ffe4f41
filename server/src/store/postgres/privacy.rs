//! Queries on privacy settings, blocks and sessions as a user manages them: presence and
//! read-receipt settings, the block list, password changes and the session list.

use super::sql::Sql;
use tern_proto::{
    ConversationId, Person, PresenceVisibility, SessionId, SessionInfo, Timestamp, UserId,
};

use super::parse;
use crate::error::Result;
use crate::store::tx::PrivacyRow;

/// Settings of the given users.
pub fn privacy(c: &mut impl Sql, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>> {
    let mut out = Vec::with_capacity(users.len());
    for r in c.query(
        "SELECT id, presence_visibility, read_receipts FROM users WHERE id = ANY($1)",
        &[&users],
    )? {
        out.push((
            r.get(0),
            PrivacyRow {
                presence: parse(r.get::<_, &str>(1))?,
                read_receipts: r.get(2),
            },
        ));
    }
    Ok(out)
}

/// Change a user's settings; `None` leaves a field as it is.
pub fn set_privacy(
    c: &mut impl Sql,
    user: UserId,
    presence: Option<PresenceVisibility>,
    read_receipts: Option<bool>,
) -> Result<()> {
    c.execute(
        "UPDATE users SET presence_visibility = coalesce($2, presence_visibility),
                          read_receipts = coalesce($3, read_receipts)
         WHERE id = $1",
        &[&user, &presence.map(|p| p.as_str()), &read_receipts],
    )?;
    Ok(())
}

/// Record a block (again is a no-op).
pub fn block(c: &mut impl Sql, blocker: UserId, blocked: UserId, now: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&blocker, &blocked, &now],
    )?;
    Ok(())
}

/// Lift a block.
pub fn unblock(c: &mut impl Sql, blocker: UserId, blocked: UserId) -> Result<()> {
    c.execute(
        "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
        &[&blocker, &blocked],
    )?;
    Ok(())
}

/// The users `user` blocks.
pub fn blocked_by(c: &mut impl Sql, user: UserId) -> Result<Vec<Person>> {
    Ok(c.query(
        "SELECT u.id, u.username, u.display_name FROM blocks b JOIN users u ON u.id = b.blocked_id
             WHERE b.blocker_id = $1 ORDER BY b.created_at, u.id",
        &[&user],
    )?
    .iter()
    .map(|r| Person {
        user_id: r.get(0),
        username: r.get(1),
        display_name: r.get(2),
    })
    .collect())
}

/// Every (blocker, blocked) pair involving `user`.
pub fn blocks_of(c: &mut impl Sql, user: UserId) -> Result<Vec<(UserId, UserId)>> {
    Ok(c.query(
        "SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
        &[&user],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

/// Whether `a` and `b` are both accepted members of a conversation other than `except`.
pub fn shares_accepted(
    c: &mut impl Sql,
    a: UserId,
    b: UserId,
    except: ConversationId,
) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM members x JOIN members y ON y.conversation_id = x.conversation_id
             WHERE x.user_id = $1 AND y.user_id = $2 AND x.conversation_id != $3
               AND x.active AND y.active AND x.accepted AND y.accepted
             LIMIT 1",
        &[&a, &b, &except],
    )?
    .is_some())
}

/// Replace a user's password hash.
pub fn set_password_hash(
    c: &mut impl Sql,
    user: UserId,
    hash: &str,
    replacing: Option<&str>,
) -> Result<bool> {
    Ok(c.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1 AND ($3::text IS NULL OR password_hash = $3)",
        &[&user, &hash, &replacing],
    )? > 0)
}

/// Revoke every session of `user` but `keep` (all with `None`), and forget every device
/// credential.
pub fn revoke_others(
    c: &mut impl Sql,
    user: UserId,
    keep: Option<SessionId>,
    now: Timestamp,
) -> Result<Vec<SessionId>> {
    let ids = c
        .query(
            "UPDATE sessions SET revoked_at = $3
             WHERE user_id = $1 AND ($2::BIGINT IS NULL OR id != $2) AND revoked_at IS NULL
             RETURNING id",
            &[&user, &keep, &now],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.execute(
        "DELETE FROM device_credentials WHERE user_id = $1",
        &[&user],
    )?;
    Ok(ids)
}

/// Revoke one of `user`'s sessions; whether it was theirs and still active.
pub fn revoke_own_session(
    c: &mut impl Sql,
    user: UserId,
    session: SessionId,
    now: Timestamp,
) -> Result<bool> {
    let n = c.execute(
        "UPDATE sessions SET revoked_at = $3
         WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL AND expires_at > $3",
        &[&user, &session, &now],
    )?;
    Ok(n > 0)
}

/// A user's active sessions, newest first.
pub fn sessions(c: &mut impl Sql, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
    Ok(c.query(
        "SELECT id, device_name, created_at, last_seen_at, expires_at FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY created_at DESC, id DESC",
        &[&user, &now],
    )?
    .iter()
    .map(|r| SessionInfo {
        session_id: r.get(0),
        device_name: r.get(1),
        created_at: r.get(2),
        last_seen_at: r.get(3),
        expires_at: r.get(4),
        current: false,
    })
    .collect())
}

/// Record when a session was last connected.
pub fn touch_session(c: &mut impl Sql, session: SessionId, at: Timestamp) -> Result<()> {
    c.execute(
        "UPDATE sessions SET last_seen_at = $2
         WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < $2)",
        &[&session, &at],
    )?;
    Ok(())
}

/// Delete an account; the same contract as the SQLite store's.
pub fn delete_account(
    c: &mut impl Sql,
    user: UserId,
    now: Timestamp,
) -> Result<(Vec<SessionId>, Vec<ConversationId>)> {
    c.execute(
        "UPDATE users SET deleted_at = $2, display_name = NULL, avatar = NULL, avatar_blob = NULL, last_seen = NULL WHERE id = $1",
        &[&user, &now],
    )?;
    c.execute(
        "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
        &[&user],
    )?;
    c.execute("DELETE FROM chat_prefs WHERE user_id = $1", &[&user])?;
    c.execute("DELETE FROM pref_edits WHERE user_id = $1", &[&user])?;
    let sessions = revoke_others(c, user, None, now)?;
    let convs: Vec<ConversationId> = c
        .query(
            "SELECT conversation_id FROM members WHERE user_id = $1 AND active",
            &[&user],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for &conv in &convs {
        super::conversations::deactivate(c, conv, user)?;
    }
    Ok((sessions, convs))
}

/// Free the names of accounts deleted before `before`; how many.
pub fn release_deleted_names(c: &mut impl Sql, before: Timestamp) -> Result<usize> {
    Ok(c.execute(
        "UPDATE users SET username = '~deleted~' || id
         WHERE deleted_at IS NOT NULL AND deleted_at < $1 AND username NOT LIKE '~deleted~%'",
        &[&before],
    )? as usize)
}
