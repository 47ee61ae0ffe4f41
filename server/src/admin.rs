//! Administration on the relay's database from the command line (`tern-server admin …`),
//! safe while the relay runs: SQLite serialises the writes, and the relay reads invite codes
//! from the database on every registration.

use std::path::Path;

use rusqlite::Connection;

use crate::auth::{self, Token};
use crate::error::Result;
use crate::store::{schema, Tx};

/// Create an invite code good for `uses` registrations; returns the code, which is shown once
/// (only its hash is stored).
pub fn create_invite(db: &Path, uses: u32) -> Result<Token> {
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(&mut conn)?;
    let (code, hash) = auth::new_invite_code();
    let txn = conn.transaction()?;
    txn.create_invite(&hash, uses, tern_proto::now_ms())?;
    txn.commit()?;
    Ok(code)
}
