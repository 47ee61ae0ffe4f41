//! Queries on `users`, `sessions`, `device_credentials` and `invites`: registration, login
//! sessions, token lookup, revocation, device credentials, invite codes, last-seen, and the set
//! of users who share a conversation with someone (their contacts).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tern_proto::{ConversationId, ErrorCode, Person, Picture, SessionId, Timestamp, UserId};

use crate::error::{Error, Result};
use crate::store::tx::{AuthSession, UserRow};

/// Insert a user; `username_taken` if the name exists in any letter case.
pub fn create_user(
    txn: &Transaction<'_>,
    username: &str,
    hash: &str,
    now: Timestamp,
) -> Result<UserId> {
    let res = txn
        .prepare_cached(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![username, hash, now]);
    match res {
        Ok(_) => Ok(UserId(txn.last_insert_rowid())),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(Error::refused(
                ErrorCode::UsernameTaken,
                format!("the username {username:?} is taken"),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Look a user up by username (case-insensitive).
pub fn find_user(txn: &rusqlite::Connection, username: &str) -> Result<Option<UserRow>> {
    Ok(txn
        .prepare_cached(
            "SELECT id, username, password_hash FROM users WHERE username = ?1 AND deleted_at IS NULL",
        )?
        .query_row([username], |r| {
            Ok(UserRow {
                id: r.get(0)?,
                username: r.get(1)?,
                password_hash: r.get(2)?,
            })
        })
        .optional()?)
}

/// Whether a username exists (in any letter case).
pub fn username_exists(txn: &rusqlite::Connection, username: &str) -> Result<bool> {
    Ok(txn
        .prepare_cached("SELECT 1 FROM users WHERE username = ?1")?
        .query_row([username], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether `credential_hash` is a device credential of `user_id`.
pub fn device_credential_valid(
    txn: &rusqlite::Connection,
    user_id: UserId,
    credential_hash: &[u8],
) -> Result<bool> {
    Ok(txn
        .prepare_cached(
            "SELECT 1 FROM device_credentials WHERE credential_hash = ?1 AND user_id = ?2",
        )?
        .query_row(params![credential_hash, user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Store a new device credential for `user_id`, dropping the one it replaces (if that was
/// the user's) and the least recently used beyond `max_per_user`.
pub fn issue_device_credential(
    txn: &Transaction<'_>,
    user_id: UserId,
    credential_hash: &[u8],
    replaces: Option<&[u8]>,
    now: Timestamp,
    max_per_user: usize,
) -> Result<()> {
    if let Some(old) = replaces {
        txn.prepare_cached(
            "DELETE FROM device_credentials WHERE credential_hash = ?1 AND user_id = ?2",
        )?
        .execute(params![old, user_id])?;
    }
    txn.prepare_cached(
        "INSERT INTO device_credentials (credential_hash, user_id, created_at, last_used)
         VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![credential_hash, user_id, now])?;
    // The new credential always stays, even if others were issued in the same millisecond.
    txn.prepare_cached(
        "DELETE FROM device_credentials
         WHERE user_id = ?1 AND credential_hash != ?3 AND credential_hash NOT IN (
             SELECT credential_hash FROM device_credentials
             WHERE user_id = ?1 AND credential_hash != ?3
             ORDER BY last_used DESC LIMIT ?2)",
    )?
    .execute(params![
        user_id,
        max_per_user.saturating_sub(1) as i64,
        credential_hash
    ])?;
    Ok(())
}

/// Record an invite code (its hash) good for `uses` registrations.
pub fn create_invite(
    txn: &Transaction<'_>,
    code_hash: &[u8],
    uses: u32,
    now: Timestamp,
) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO invites (code_hash, uses_left, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![code_hash, uses, now])?;
    Ok(())
}

/// Whether an invite code has uses left (does not use it).
pub fn invite_usable(txn: &rusqlite::Connection, code_hash: &[u8]) -> Result<bool> {
    Ok(txn
        .prepare_cached("SELECT 1 FROM invites WHERE code_hash = ?1 AND uses_left > 0")?
        .query_row([code_hash], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Use an invite code once; `invalid_invite` if it is unknown or used up.
pub fn use_invite(txn: &Transaction<'_>, code_hash: &[u8]) -> Result<()> {
    let used = txn
        .prepare_cached(
            "UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = ?1 AND uses_left > 0",
        )?
        .execute([code_hash])?;
    if used == 0 {
        return Err(invalid_invite());
    }
    Ok(())
}

/// The refusal for a missing, unknown or used-up invite code.
pub fn invalid_invite() -> Error {
    Error::refused(
        ErrorCode::InvalidInvite,
        "this relay registers by invitation: the invite code is missing, unknown or used up",
    )
}

/// Resolve usernames to ids, each user once, failing with `not_found` naming the first
/// unknown one.
pub fn resolve_usernames(txn: &Transaction<'_>, names: &[String]) -> Result<Vec<(UserId, String)>> {
    let mut stmt = txn.prepare_cached(
        "SELECT id, username FROM users WHERE username = ?1 AND deleted_at IS NULL",
    )?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let row = stmt
            .query_row([name], |r| {
                Ok((r.get::<_, UserId>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        match row {
            Some(row) if out.iter().any(|(seen, _)| *seen == row.0) => {}
            Some(row) => out.push(row),
            None => {
                return Err(Error::refused(
                    ErrorCode::NotFound,
                    format!("no user named {name:?}"),
                ))
            }
        }
    }
    Ok(out)
}

/// Create a login session unless the user already has `max_active` unexpired, unrevoked ones.
#[allow(clippy::too_many_arguments)]
pub fn create_session(
    txn: &Transaction<'_>,
    user_id: UserId,
    password_hash: &str,
    token_hash: &[u8],
    device_name: &str,
    now: Timestamp,
    expires_at: Timestamp,
    max_active: usize,
) -> Result<SessionId> {
    // The account as the login found it: not deleted, its password not changed since.
    let unchanged = txn
        .prepare_cached(
            "SELECT 1 FROM users WHERE id = ?1 AND password_hash = ?2 AND deleted_at IS NULL",
        )?
        .query_row(params![user_id, password_hash], |_| Ok(()))
        .optional()?
        .is_some();
    if !unchanged {
        return Err(crate::store::changed_meanwhile());
    }
    let active: i64 = txn
        .prepare_cached(
            "SELECT count(*) FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
        )?
        .query_row(params![user_id, now], |r| r.get(0))?;
    if active as usize >= max_active {
        return Err(Error::refused(
            ErrorCode::SessionLimit,
            format!("this account already has {active} active sessions; log out on another device first"),
        ));
    }
    txn.prepare_cached(
        "INSERT INTO sessions (user_id, token_hash, device_name, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![user_id, token_hash, device_name, now, expires_at])?;
    Ok(SessionId(txn.last_insert_rowid()))
}

/// Find the session a token hash belongs to, refusing unknown, expired and revoked tokens.
pub fn authenticate(
    txn: &rusqlite::Connection,
    token_hash: &[u8],
    now: Timestamp,
) -> Result<AuthSession> {
    let row = txn
        .prepare_cached(
            "SELECT s.id, s.user_id, u.username, s.expires_at, s.revoked_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
        )?
        .query_row([token_hash], |r| {
            Ok((
                AuthSession {
                    session_id: r.get(0)?,
                    user_id: r.get(1)?,
                    username: r.get(2)?,
                    expires_at: r.get(3)?,
                },
                r.get::<_, Timestamp>(3)?,
                r.get::<_, Option<Timestamp>>(4)?,
            ))
        })
        .optional()?;
    match row {
        None => Err(Error::refused(
            ErrorCode::InvalidToken,
            "the token is not valid",
        )),
        Some((_, _, Some(_))) => Err(Error::refused(
            ErrorCode::TokenRevoked,
            "the token was revoked; log in again",
        )),
        Some((_, expires_at, None)) if expires_at <= now => Err(Error::refused(
            ErrorCode::TokenExpired,
            "the token has expired; log in again",
        )),
        Some((session, _, None)) => Ok(session),
    }
}

/// Whether a session is still usable (not revoked, not expired).
pub fn session_active(
    conn: &rusqlite::Connection,
    session_id: SessionId,
    now: Timestamp,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT revoked_at IS NULL AND expires_at > ?2 FROM sessions WHERE id = ?1",
        )?
        .query_row(params![session_id, now], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Revoke one session.
pub fn revoke_session(txn: &Transaction<'_>, session_id: SessionId, now: Timestamp) -> Result<()> {
    txn.prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![session_id, now])?;
    Ok(())
}

/// Record when a user's last device disconnected.
pub fn set_last_seen(txn: &Transaction<'_>, user_id: UserId, at: Timestamp) -> Result<()> {
    txn.prepare_cached("UPDATE users SET last_seen = ?2 WHERE id = ?1 AND deleted_at IS NULL")?
        .execute(params![user_id, at])?;
    Ok(())
}

/// Everyone who currently shares at least one conversation with `user_id` that both
/// accepted, with their
/// last-seen time.
pub fn contacts(txn: &Connection, user_id: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>> {
    let rows = txn
        .prepare_cached(
            "SELECT DISTINCT u.id, u.last_seen FROM members mine
             JOIN members other ON other.conversation_id = mine.conversation_id
                  AND other.active = 1 AND other.accepted = 1
             JOIN users u ON u.id = other.user_id
             WHERE mine.user_id = ?1 AND mine.active = 1 AND mine.accepted = 1
                   AND other.user_id != ?1",
        )?
        .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Last-seen times of the given users.
pub fn last_seen(txn: &Connection, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>> {
    let mut stmt = txn.prepare_cached("SELECT last_seen FROM users WHERE id = ?1")?;
    let mut out = Vec::with_capacity(users.len());
    for &id in users {
        let seen = stmt.query_row([id], |r| r.get(0)).optional()?.flatten();
        out.push((id, seen));
    }
    Ok(out)
}

/// Set or clear a user's display name. Each conversation the user is in gets a new version
/// (its members are part of its shape), so it syncs with the new name. Returns those
/// conversations.
pub fn set_display_name(
    txn: &Transaction<'_>,
    user_id: UserId,
    name: Option<&str>,
) -> Result<Vec<ConversationId>> {
    txn.prepare_cached("UPDATE users SET display_name = ?2 WHERE id = ?1")?
        .execute(params![user_id, name])?;
    touch_conversations_of(txn, user_id)
}

/// Set or clear a user's picture; like [`set_display_name`], every conversation the user is
/// in gets a new version, and those are returned.
pub fn set_avatar(
    txn: &Transaction<'_>,
    user_id: UserId,
    avatar: Option<&Picture>,
) -> Result<Vec<ConversationId>> {
    let (json, blob) = crate::store::picture_columns(avatar);
    txn.prepare_cached("UPDATE users SET avatar = ?2, avatar_blob = ?3 WHERE id = ?1")?
        .execute(params![user_id, json, blob])?;
    touch_conversations_of(txn, user_id)
}

/// Give every conversation `user_id` is in a new version; their ids.
fn touch_conversations_of(txn: &Transaction<'_>, user_id: UserId) -> Result<Vec<ConversationId>> {
    let version = super::next_version(txn)? as i64;
    Ok(txn
        .prepare_cached(
            "UPDATE conversations SET version = ?2
             WHERE id IN (SELECT conversation_id FROM members WHERE user_id = ?1 AND active = 1)
             RETURNING id",
        )?
        .query_map(params![user_id, version], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Most people one search returns.
pub const MAX_PEOPLE: usize = 20;

/// People matching `query` for `me`: among those sharing a conversation with `me`, a username
/// that starts with it or a display name containing it (both without case); beyond them only
/// the user whose username is exactly `query`. Never `me`.
pub fn find_people(txn: &Connection, me: UserId, query: &str) -> Result<Vec<Person>> {
    let q = crate::store::tx::fold_case(query);
    let row = |r: &rusqlite::Row<'_>| {
        Ok(Person {
            user_id: r.get(0)?,
            username: r.get(1)?,
            display_name: r.get(2)?,
        })
    };
    let mut people: Vec<Person> = txn
        .prepare_cached(
            "SELECT DISTINCT u.id, u.username, u.display_name FROM members mine
             JOIN members other ON other.conversation_id = mine.conversation_id AND other.active = 1
             JOIN users u ON u.id = other.user_id
             WHERE mine.user_id = ?1 AND mine.active = 1 AND u.id != ?1
               AND (substr(lower(u.username), 1, length(?2)) = ?2
                    OR instr(tern_lower(coalesce(u.display_name, '')), ?2) > 0)
             ORDER BY lower(u.username) LIMIT ?3",
        )?
        .query_map(params![me, q, MAX_PEOPLE as i64], row)?
        .collect::<rusqlite::Result<_>>()?;
    let exact = txn
        .prepare_cached(
            "SELECT id, username, display_name FROM users
             WHERE username = ?1 AND id != ?2 AND deleted_at IS NULL",
        )?
        .query_row(params![query, me], row)
        .optional()?;
    if let Some(p) = exact {
        if !people.iter().any(|x| x.user_id == p.user_id) {
            people.insert(0, p);
            people.truncate(MAX_PEOPLE);
        }
    }
    Ok(people)
}
