//! Queries on privacy settings, blocks and sessions as a user manages them: presence and
//! read-receipt settings, the block list, password changes and the session list.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tern_proto::{
    ConversationId, Person, PresenceVisibility, SessionId, SessionInfo, Timestamp, UserId,
};

use super::enum_column;
use crate::error::Result;
use crate::store::tx::PrivacyRow;

/// Settings of the given users.
pub fn privacy(txn: &Connection, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>> {
    let mut stmt =
        txn.prepare_cached("SELECT presence_visibility, read_receipts FROM users WHERE id = ?1")?;
    let mut out = Vec::with_capacity(users.len());
    for &id in users {
        let row = stmt
            .query_row([id], |r| {
                Ok(PrivacyRow {
                    presence: enum_column(r, 0)?,
                    read_receipts: r.get(1)?,
                })
            })
            .optional()?;
        if let Some(row) = row {
            out.push((id, row));
        }
    }
    Ok(out)
}

/// Change a user's settings; `None` leaves a field as it is.
pub fn set_privacy(
    txn: &Transaction<'_>,
    user: UserId,
    presence: Option<PresenceVisibility>,
    read_receipts: Option<bool>,
) -> Result<()> {
    txn.prepare_cached(
        "UPDATE users SET presence_visibility = coalesce(?2, presence_visibility),
                          read_receipts = coalesce(?3, read_receipts)
         WHERE id = ?1",
    )?
    .execute(params![user, presence.map(|p| p.as_str()), read_receipts])?;
    Ok(())
}

/// Record a block (again is a no-op).
pub fn block(
    txn: &Transaction<'_>,
    blocker: UserId,
    blocked: UserId,
    now: Timestamp,
) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![blocker, blocked, now])?;
    Ok(())
}

/// Lift a block.
pub fn unblock(txn: &Transaction<'_>, blocker: UserId, blocked: UserId) -> Result<()> {
    txn.prepare_cached("DELETE FROM blocks WHERE blocker_id = ?1 AND blocked_id = ?2")?
        .execute(params![blocker, blocked])?;
    Ok(())
}

/// The users `user` blocks.
pub fn blocked_by(txn: &Connection, user: UserId) -> Result<Vec<Person>> {
    Ok(txn
        .prepare_cached(
            "SELECT u.id, u.username, u.display_name FROM blocks b JOIN users u ON u.id = b.blocked_id
             WHERE b.blocker_id = ?1 ORDER BY b.created_at, u.id",
        )?
        .query_map([user], |r| {
            Ok(Person {
                user_id: r.get(0)?,
                username: r.get(1)?,
                display_name: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every (blocker, blocked) pair involving `user`.
pub fn blocks_of(txn: &Connection, user: UserId) -> Result<Vec<(UserId, UserId)>> {
    Ok(txn
        .prepare_cached(
            "SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = ?1
             UNION ALL SELECT blocker_id, blocked_id FROM blocks WHERE blocked_id = ?1",
        )?
        .query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Whether `a` and `b` are both accepted members of a conversation other than `except`.
pub fn shares_accepted(
    txn: &Transaction<'_>,
    a: UserId,
    b: UserId,
    except: ConversationId,
) -> Result<bool> {
    Ok(txn
        .prepare_cached(
            "SELECT 1 FROM members x JOIN members y ON y.conversation_id = x.conversation_id
             WHERE x.user_id = ?1 AND y.user_id = ?2 AND x.conversation_id != ?3
               AND x.active = 1 AND y.active = 1 AND x.accepted = 1 AND y.accepted = 1
             LIMIT 1",
        )?
        .query_row(params![a, b, except], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Replace a user's password hash.
pub fn set_password_hash(
    txn: &Transaction<'_>,
    user: UserId,
    hash: &str,
    replacing: Option<&str>,
) -> Result<bool> {
    Ok(txn
        .prepare_cached(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1 AND (?3 IS NULL OR password_hash = ?3)",
        )?
        .execute(params![user, hash, replacing])?
        > 0)
}

/// Revoke every session of `user` but `keep` (all with `None`), and forget every device
/// credential: none of the devices keeps its exemption from the account-wide login limit.
pub fn revoke_others(
    txn: &Transaction<'_>,
    user: UserId,
    keep: Option<SessionId>,
    now: Timestamp,
) -> Result<Vec<SessionId>> {
    let ids = txn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3
             WHERE user_id = ?1 AND (?2 IS NULL OR id != ?2) AND revoked_at IS NULL RETURNING id",
        )?
        .query_map(params![user, keep, now], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<SessionId>>>()?;
    txn.prepare_cached("DELETE FROM device_credentials WHERE user_id = ?1")?
        .execute([user])?;
    Ok(ids)
}

/// Revoke one of `user`'s sessions; whether it was theirs and still active.
pub fn revoke_own_session(
    txn: &Transaction<'_>,
    user: UserId,
    session: SessionId,
    now: Timestamp,
) -> Result<bool> {
    let n = txn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3
             WHERE id = ?2 AND user_id = ?1 AND revoked_at IS NULL AND expires_at > ?3",
        )?
        .execute(params![user, session, now])?;
    Ok(n > 0)
}

/// A user's active sessions, newest first.
pub fn sessions(
    txn: &rusqlite::Connection,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<SessionInfo>> {
    Ok(txn
        .prepare_cached(
            "SELECT id, device_name, created_at, last_seen_at, expires_at FROM sessions
             WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
             ORDER BY created_at DESC, id DESC",
        )?
        .query_map(params![user, now], |r| {
            Ok(SessionInfo {
                session_id: r.get(0)?,
                device_name: r.get(1)?,
                created_at: r.get(2)?,
                last_seen_at: r.get(3)?,
                expires_at: r.get(4)?,
                current: false,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Record when a session was last connected.
pub fn touch_session(txn: &Transaction<'_>, session: SessionId, at: Timestamp) -> Result<()> {
    txn.prepare_cached(
        "UPDATE sessions SET last_seen_at = ?2
         WHERE id = ?1 AND (last_seen_at IS NULL OR last_seen_at < ?2)",
    )?
    .execute(params![session, at])?;
    Ok(())
}

/// Delete an account: mark it deleted (its name stays taken until released), forget its
/// display name, last-seen, blocks, sessions and device credentials, and take it out of every
/// conversation. Returns the sessions revoked and the conversations it left.
pub fn delete_account(
    txn: &Transaction<'_>,
    user: UserId,
    now: Timestamp,
) -> Result<(Vec<SessionId>, Vec<ConversationId>)> {
    txn.prepare_cached(
        "UPDATE users SET deleted_at = ?2, display_name = NULL, avatar = NULL, avatar_blob = NULL, last_seen = NULL WHERE id = ?1",
    )?
    .execute(params![user, now])?;
    txn.prepare_cached("DELETE FROM blocks WHERE blocker_id = ?1 OR blocked_id = ?1")?
        .execute([user])?;
    txn.prepare_cached("DELETE FROM chat_prefs WHERE user_id = ?1")?
        .execute([user])?;
    txn.prepare_cached("DELETE FROM pref_edits WHERE user_id = ?1")?
        .execute([user])?;
    let sessions = revoke_others(txn, user, None, now)?;
    let convs: Vec<ConversationId> = txn
        .prepare_cached("SELECT conversation_id FROM members WHERE user_id = ?1 AND active = 1")?
        .query_map([user], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for &conv in &convs {
        super::conversations::deactivate(txn, conv, user)?;
    }
    Ok((sessions, convs))
}

/// Free the names of accounts deleted before `before` (renamed to a name no one can
/// register); how many.
pub fn release_deleted_names(txn: &Transaction<'_>, before: Timestamp) -> Result<usize> {
    Ok(txn
        .prepare_cached(
            "UPDATE users SET username = '~deleted~' || id
             WHERE deleted_at IS NOT NULL AND deleted_at < ?1 AND username NOT LIKE '~deleted~%'",
        )?
        .execute([before])?)
}
