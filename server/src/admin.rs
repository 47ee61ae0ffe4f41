//! Administration on the relay's database from the command line (`tern-server admin …`),
//! safe while relays run: the database serialises the writes, and relays read invite codes
//! from it on every registration. Works on the SQLite file or the PostgreSQL database.
//!
//! It touches invites, passwords and sessions only. A running SQLite relay keeps
//! conversations' members, blocks and sequence numbers in memory (`store::sqlite::hot`), so a
//! command that changed those under it would have to go through the relay instead.

use std::path::Path;

use rusqlite::Connection;

use crate::auth::{self, Token};
use crate::error::Result;
use crate::store::{schema, Tx};

/// Run `job` in one transaction on the SQLite file `db`, or on the PostgreSQL database
/// `postgres` when given (migrating first, as a relay would).
fn with_store<T>(
    db: &Path,
    postgres: Option<&str>,
    job: impl FnOnce(&dyn Tx) -> Result<T>,
) -> Result<T> {
    if let Some(url) = postgres {
        let mut client = ::postgres::Client::connect(url, ::postgres::NoTls)?;
        crate::store::postgres::schema::migrate(&mut client)?;
        let txn = crate::store::postgres::PgTx::new(client.transaction()?);
        let out = job(&txn)?;
        txn.commit()?;
        return Ok(out);
    }
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(&mut conn)?;
    let txn = crate::store::sqlite::SqliteTx::new(conn.transaction()?, None);
    let out = job(&txn)?;
    txn.commit()?;
    Ok(out)
}

/// Create an invite code good for `uses` registrations in the SQLite file `db`, or in the
/// PostgreSQL database `postgres` when given; returns the code, which is shown once (only its
/// hash is stored). Not for use on an async runtime (the database clients block).
pub fn create_invite(db: &Path, postgres: Option<&str>, uses: u32) -> Result<Token> {
    let (code, hash) = auth::new_invite_code();
    with_store(db, postgres, |txn| {
        txn.create_invite(&hash, uses, tern_proto::now_ms())
    })?;
    Ok(code)
}

/// Set a user's password (an operator helping a user who lost theirs) and sign out every
/// device of the account: the relay closes their connections within a heartbeat. `password`
/// follows the registration rules; `None` makes a random one, returned to be passed on.
pub fn reset_password(
    db: &Path,
    postgres: Option<&str>,
    username: &str,
    password: Option<String>,
    cost: auth::Argon2Cost,
) -> Result<(String, usize)> {
    let password = match password {
        Some(p) if crate::register::PASSWORD_CHARS.contains(&p.chars().count()) => p,
        Some(_) => {
            return Err(crate::error::Error::refused(
                tern_proto::ErrorCode::BadRequest,
                "passwords have 8 to 1024 characters",
            ))
        }
        None => auth::new_invite_code().0.expose()["terninv_".len()..].to_owned(),
    };
    let hash = auth::hash_password_with(&password, &mut Vec::new(), cost)?;
    let revoked = with_store(db, postgres, |txn| {
        let user = txn.find_user(username)?.ok_or_else(|| {
            crate::error::Error::refused(
                tern_proto::ErrorCode::NotFound,
                format!("no user {username:?}"),
            )
        })?;
        txn.set_password_hash(user.id, &hash, None)?;
        txn.revoke_all(user.id, tern_proto::now_ms())
    })?;
    Ok((password, revoked.len()))
}
