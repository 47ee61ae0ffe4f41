//! Administration on the relay's database from the command line (`tern-server admin …`),
//! safe while relays run: the database serialises the writes, and relays read invite codes
//! from it on every registration. Works on the SQLite file or the PostgreSQL database.

use std::path::Path;

use rusqlite::Connection;

use crate::auth::{self, Token};
use crate::error::Result;
use crate::store::{schema, Tx};

/// Create an invite code good for `uses` registrations in the SQLite file `db`, or in the
/// PostgreSQL database `postgres` when given; returns the code, which is shown once (only its
/// hash is stored). Not for use on an async runtime (the database clients block).
pub fn create_invite(db: &Path, postgres: Option<&str>, uses: u32) -> Result<Token> {
    let (code, hash) = auth::new_invite_code();
    if let Some(url) = postgres {
        let mut client = ::postgres::Client::connect(url, ::postgres::NoTls)?;
        crate::store::postgres::schema::migrate(&mut client)?;
        crate::store::postgres::accounts::create_invite(
            &mut client,
            &hash,
            uses,
            tern_proto::now_ms(),
        )?;
        return Ok(code);
    }
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(&mut conn)?;
    let txn = conn.transaction()?;
    txn.create_invite(&hash, uses, tern_proto::now_ms())?;
    txn.commit()?;
    Ok(code)
}
