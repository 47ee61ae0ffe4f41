//! PostgreSQL queries on `users`, `sessions`, `device_credentials` and `invites`; the same
//! contracts as [`crate::store::sqlite::accounts`].

use super::sql::Sql;
use tern_proto::{ConversationId, ErrorCode, Person, Picture, SessionId, Timestamp, UserId};

use super::next_version;
use crate::error::{Error, Result};
use crate::store::sqlite::accounts::invalid_invite;
use crate::store::tx::{AuthSession, UserRow};

/// Insert a user; `username_taken` if the name exists in any letter case.
pub fn create_user(c: &mut impl Sql, username: &str, hash: &str, now: Timestamp) -> Result<UserId> {
    let row = c.query_opt(
        "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (lower(username)) DO NOTHING RETURNING id",
        &[&username, &hash, &now],
    )?;
    row.map(|r| r.get(0)).ok_or_else(|| {
        Error::refused(
            ErrorCode::UsernameTaken,
            format!("the username {username:?} is taken"),
        )
    })
}

/// A user by username, in any letter case.
pub fn find_user(c: &mut impl Sql, username: &str) -> Result<Option<UserRow>> {
    Ok(c.query_opt(
        "SELECT id, username, password_hash FROM users
             WHERE lower(username) = lower($1) AND deleted_at IS NULL",
        &[&username],
    )?
    .map(|r| UserRow {
        id: r.get(0),
        username: r.get(1),
        password_hash: r.get(2),
    }))
}

/// Whether a username exists in any letter case.
pub fn username_exists(c: &mut impl Sql, username: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM users WHERE lower(username) = lower($1)",
        &[&username],
    )?
    .is_some())
}

/// Whether `credential_hash` is a device credential of `user`.
pub fn device_credential_valid(
    c: &mut impl Sql,
    user: UserId,
    credential_hash: &[u8],
) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM device_credentials WHERE credential_hash = $1 AND user_id = $2",
        &[&credential_hash, &user],
    )?
    .is_some())
}

/// Store a device credential, dropping the one it replaces and the least recently used beyond
/// `max_per_user`.
pub fn issue_device_credential(
    c: &mut impl Sql,
    user: UserId,
    credential_hash: &[u8],
    replaces: Option<&[u8]>,
    now: Timestamp,
    max_per_user: usize,
) -> Result<()> {
    if let Some(old) = replaces {
        c.execute(
            "DELETE FROM device_credentials WHERE credential_hash = $1 AND user_id = $2",
            &[&old, &user],
        )?;
    }
    c.execute(
        "INSERT INTO device_credentials (credential_hash, user_id, created_at, last_used)
         VALUES ($1, $2, $3, $3)",
        &[&credential_hash, &user, &now],
    )?;
    c.execute(
        "DELETE FROM device_credentials
         WHERE user_id = $1 AND credential_hash != $3 AND credential_hash NOT IN (
             SELECT credential_hash FROM device_credentials
             WHERE user_id = $1 AND credential_hash != $3
             ORDER BY last_used DESC LIMIT $2)",
        &[
            &user,
            &(max_per_user.saturating_sub(1) as i64),
            &credential_hash,
        ],
    )?;
    Ok(())
}

/// Record an invite code (its hash) good for `uses` registrations.
pub fn create_invite(c: &mut impl Sql, code_hash: &[u8], uses: u32, now: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO invites (code_hash, uses_left, created_at) VALUES ($1, $2, $3)",
        &[&code_hash, &(uses as i32), &now],
    )?;
    Ok(())
}

/// Whether an invite code has uses left.
pub fn invite_usable(c: &mut impl Sql, code_hash: &[u8]) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM invites WHERE code_hash = $1 AND uses_left > 0",
        &[&code_hash],
    )?
    .is_some())
}

/// Use an invite code once; `invalid_invite` if it is unknown or used up.
pub fn use_invite(c: &mut impl Sql, code_hash: &[u8]) -> Result<()> {
    let used = c.execute(
        "UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = $1 AND uses_left > 0",
        &[&code_hash],
    )?;
    if used == 0 {
        return Err(invalid_invite());
    }
    Ok(())
}

/// Ids of the given usernames, in order, each user once; `not_found` naming the first unknown
/// one.
pub fn resolve_usernames(c: &mut impl Sql, names: &[String]) -> Result<Vec<(UserId, String)>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let row = c.query_opt(
            "SELECT id, username FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL",
            &[name],
        )?;
        match row {
            Some(r) => {
                let id: UserId = r.get(0);
                if !out.iter().any(|(seen, _)| *seen == id) {
                    out.push((id, r.get(1)));
                }
            }
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

/// A login session, unless the user has `max_active` live ones.
#[allow(clippy::too_many_arguments)]
pub fn create_session(
    c: &mut impl Sql,
    user: UserId,
    password_hash: &str,
    token_hash: &[u8],
    device_name: &str,
    now: Timestamp,
    expires_at: Timestamp,
    max_active: usize,
) -> Result<SessionId> {
    // Serialize logins of one user, so the count below cannot race another relay's; the lock
    // also waits out a password change or deletion under way, whose result is then read.
    let unchanged = c
        .query_opt(
            "SELECT 1 FROM users WHERE id = $1 AND password_hash = $2 AND deleted_at IS NULL FOR UPDATE",
            &[&user, &password_hash],
        )?
        .is_some();
    if !unchanged {
        return Err(crate::store::changed_meanwhile());
    }
    let active: i64 = c
        .query_one(
            "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
            &[&user, &now],
        )?
        .get(0);
    if active as usize >= max_active {
        return Err(Error::refused(
            ErrorCode::SessionLimit,
            format!(
                "this account already has {active} active sessions; log out on another device first"
            ),
        ));
    }
    Ok(c.query_one(
        "INSERT INTO sessions (user_id, token_hash, device_name, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[&user, &token_hash, &device_name, &now, &expires_at],
    )?
    .get(0))
}

/// The session a token hash belongs to, refusing unknown, expired and revoked tokens.
pub fn authenticate(c: &mut impl Sql, token_hash: &[u8], now: Timestamp) -> Result<AuthSession> {
    let row = c.query_opt(
        "SELECT s.id, s.user_id, u.username, s.expires_at, s.revoked_at
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        &[&token_hash],
    )?;
    let Some(r) = row else {
        return Err(Error::refused(
            ErrorCode::InvalidToken,
            "the token is not valid",
        ));
    };
    let (expires_at, revoked_at): (Timestamp, Option<Timestamp>) = (r.get(3), r.get(4));
    if revoked_at.is_some() {
        return Err(Error::refused(
            ErrorCode::TokenRevoked,
            "the token was revoked; log in again",
        ));
    }
    if expires_at <= now {
        return Err(Error::refused(
            ErrorCode::TokenExpired,
            "the token has expired; log in again",
        ));
    }
    Ok(AuthSession {
        session_id: r.get(0),
        user_id: r.get(1),
        username: r.get(2),
        expires_at,
    })
}

/// Whether a session is still usable.
pub fn session_active(c: &mut impl Sql, session: SessionId, now: Timestamp) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT revoked_at IS NULL AND expires_at > $2 FROM sessions WHERE id = $1",
        &[&session, &now],
    )?
    .map(|r| r.get(0))
    .unwrap_or(false))
}

/// Revoke one session.
pub fn revoke_session(c: &mut impl Sql, session: SessionId, now: Timestamp) -> Result<()> {
    c.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&session, &now],
    )?;
    Ok(())
}

/// Record when a user's last device disconnected.
pub fn set_last_seen(c: &mut impl Sql, user: UserId, at: Timestamp) -> Result<()> {
    c.execute(
        "UPDATE users SET last_seen = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[&user, &at],
    )?;
    Ok(())
}

/// Everyone sharing a conversation with `user`, with their last-seen time.
///
/// Run at every connect, disconnect and sync. The other members are looked up per
/// conversation by the primary key; `OFFSET 0` keeps the planner from turning that into a
/// hash join over every membership, which it otherwise picks whenever its statistics lag the
/// table (a fresh or freshly grown database: one reconnect storm measured 14,514 full scans
/// of `members`, 9,000 rows each).
pub fn contacts(c: &mut impl Sql, user: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>> {
    Ok(c.query(
        "SELECT DISTINCT u.id, u.last_seen FROM members mine
             CROSS JOIN LATERAL (
                 SELECT other.user_id FROM members other
                 WHERE other.conversation_id = mine.conversation_id
                   AND other.active AND other.accepted AND other.user_id != $1
                 OFFSET 0) other
             JOIN users u ON u.id = other.user_id
             WHERE mine.user_id = $1 AND mine.active AND mine.accepted",
        &[&user],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

/// Last-seen times of the given users.
pub fn last_seen(c: &mut impl Sql, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>> {
    let mut out = Vec::with_capacity(users.len());
    for &id in users {
        let seen = c
            .query_opt("SELECT last_seen FROM users WHERE id = $1", &[&id])?
            .and_then(|r| r.get(0));
        out.push((id, seen));
    }
    Ok(out)
}

/// Set or clear a user's display name; every conversation of theirs gets a new version.
pub fn set_display_name(
    c: &mut impl Sql,
    user: UserId,
    name: Option<&str>,
) -> Result<Vec<ConversationId>> {
    c.execute(
        "UPDATE users SET display_name = $2 WHERE id = $1",
        &[&user, &name],
    )?;
    touch_conversations_of(c, user)
}

/// Set or clear a user's picture; every conversation of theirs gets a new version.
pub fn set_avatar(
    c: &mut impl Sql,
    user: UserId,
    avatar: Option<&Picture>,
) -> Result<Vec<ConversationId>> {
    let (json, blob) = crate::store::picture_columns(avatar);
    c.execute(
        "UPDATE users SET avatar = $2, avatar_blob = $3 WHERE id = $1",
        &[&user, &json, &blob],
    )?;
    touch_conversations_of(c, user)
}

/// Give every conversation `user` is in a new version; their ids.
fn touch_conversations_of(c: &mut impl Sql, user: UserId) -> Result<Vec<ConversationId>> {
    let version = next_version(c)? as i64;
    Ok(c.query(
        "UPDATE conversations SET version = $2
             WHERE id IN (SELECT conversation_id FROM members WHERE user_id = $1 AND active)
             RETURNING id",
        &[&user, &version],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Contacts by username prefix or display name, anyone by exact username; never `me`.
pub fn find_people(c: &mut impl Sql, me: UserId, query: &str) -> Result<Vec<Person>> {
    let q = crate::store::tx::fold_case(query);
    let person = |r: &postgres::Row| Person {
        user_id: r.get(0),
        username: r.get(1),
        display_name: r.get(2),
    };
    let mut people: Vec<Person> = c
        .query(
            "SELECT DISTINCT u.id, u.username, u.display_name, lower(u.username) FROM members mine
             JOIN members other ON other.conversation_id = mine.conversation_id AND other.active
             JOIN users u ON u.id = other.user_id
             WHERE mine.user_id = $1 AND mine.active AND u.id != $1
               AND (starts_with(lower(u.username), $2)
                    OR strpos(translate(lower(coalesce(u.display_name, '') COLLATE \"und-x-icu\"), 'ς', 'σ'), $2) > 0)
             ORDER BY lower(u.username) LIMIT $3",
            &[
                &me,
                &q,
                &(crate::store::sqlite::accounts::MAX_PEOPLE as i64),
            ],
        )?
        .iter()
        .map(person)
        .collect();
    let exact = c.query_opt(
        "SELECT id, username, display_name FROM users
         WHERE lower(username) = lower($1) AND id != $2 AND deleted_at IS NULL",
        &[&query, &me],
    )?;
    if let Some(p) = exact.as_ref().map(person) {
        if !people.iter().any(|x| x.user_id == p.user_id) {
            people.insert(0, p);
            people.truncate(crate::store::sqlite::accounts::MAX_PEOPLE);
        }
    }
    Ok(people)
}
