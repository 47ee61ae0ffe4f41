//! The relay's SQLite schema as an ordered list of migrations, applied atomically on open.
//!
//! `PRAGMA user_version` records how many migrations ran. Each migration runs in the same
//! transaction as the version bump, so a crash mid-upgrade leaves the previous version intact.
//! Pragmas that are per-connection (WAL, foreign keys, synchronous) are set in `open`, not here.

use rusqlite::Connection;

/// Every migration, in order. Never edit a released entry; append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: accounts, sessions, conversations, members, messages, change counter.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_seen     INTEGER
    );
    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        token_hash  BLOB NOT NULL UNIQUE,
        device_name TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        revoked_at  INTEGER
    );
    CREATE INDEX sessions_by_user ON sessions(user_id);
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY,
        kind          TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
        name          TEXT,
        direct_key    TEXT UNIQUE,
        last_seq      INTEGER NOT NULL DEFAULT 0,
        last_activity INTEGER NOT NULL,
        version       INTEGER NOT NULL,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE members (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        user_id         INTEGER NOT NULL REFERENCES users(id),
        role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        active          INTEGER NOT NULL DEFAULT 1,
        joined_at       INTEGER NOT NULL,
        delivered_seq   INTEGER NOT NULL DEFAULT 0,
        read_seq        INTEGER NOT NULL DEFAULT 0,
        version         INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX members_by_user ON members(user_id, active);
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        seq             INTEGER NOT NULL,
        sender_id       INTEGER NOT NULL REFERENCES users(id),
        client_id       TEXT NOT NULL,
        body            TEXT NOT NULL,
        sent_at         INTEGER NOT NULL,
        UNIQUE (conversation_id, seq),
        UNIQUE (sender_id, client_id)
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('change_version', 0);
    "#,
    // 2: device credentials (a device that logged in before skips the account-wide login
    // ceiling) and invite codes; both stored only as SHA-256 hashes.
    r#"
    CREATE TABLE device_credentials (
        credential_hash BLOB PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id),
        created_at      INTEGER NOT NULL,
        last_used       INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX device_credentials_by_user ON device_credentials(user_id, last_used);
    CREATE TABLE invites (
        code_hash  BLOB PRIMARY KEY,
        uses_left  INTEGER NOT NULL CHECK (uses_left >= 0),
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: rich messaging. Edits, deletes and reactions are entries of the same log (`kind`,
    // `target_seq`); a text message keeps its folded state (current body, `edited_at`,
    // `deleted`, `state_seq` = newest event folded in) and its reactions, so history pages
    // are complete without replaying events.
    r#"
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
        CHECK (kind IN ('text', 'edit', 'delete', 'react', 'unreact'));
    ALTER TABLE messages ADD COLUMN target_seq INTEGER;
    ALTER TABLE messages ADD COLUMN reply_to INTEGER;
    ALTER TABLE messages ADD COLUMN edited_at INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_by_target ON messages(conversation_id, target_seq)
        WHERE target_seq IS NOT NULL;
    CREATE TABLE reactions (
        conversation_id INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        user_id         INTEGER NOT NULL,
        emoji           TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq, user_id, emoji)
    ) WITHOUT ROWID;
    "#,
    // 4: display names.
    r#"
    ALTER TABLE users ADD COLUMN display_name TEXT;
    "#,
    // 5: attachments: uploads (the bytes are files under the blob folder) and which messages
    // refer to which blob (who may download it); a message's descriptor as JSON.
    r#"
    CREATE TABLE uploads (
        id           TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        size         INTEGER NOT NULL,
        sha256       TEXT NOT NULL,
        content_type TEXT NOT NULL,
        complete     INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX uploads_by_user ON uploads(user_id);
    CREATE TABLE blob_refs (
        blob_id         TEXT NOT NULL,
        conversation_id INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        PRIMARY KEY (blob_id, conversation_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX blob_refs_by_message ON blob_refs(conversation_id, seq);
    ALTER TABLE messages ADD COLUMN attachment TEXT;
    "#,
    // 6: privacy. Message requests (a membership not yet accepted), per-user presence and
    // read-receipt settings, blocks, entries withheld from a blocking user, and when each
    // session was last connected (to the hour).
    r#"
    ALTER TABLE members ADD COLUMN accepted INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE users ADD COLUMN presence_visibility TEXT NOT NULL DEFAULT 'contacts'
        CHECK (presence_visibility IN ('contacts', 'nobody'));
    ALTER TABLE users ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE blocks (
        blocker_id INTEGER NOT NULL REFERENCES users(id),
        blocked_id INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
    ) WITHOUT ROWID;
    CREATE INDEX blocks_by_blocked ON blocks(blocked_id);
    ALTER TABLE messages ADD COLUMN withheld_from INTEGER;
    ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
    ALTER TABLE users ADD COLUMN deleted_at INTEGER;
    "#,
    // 7: profile and group pictures: the descriptor as JSON, and its blob id apart (who may
    // download it; the sweeper keeps it).
    r#"
    ALTER TABLE users ADD COLUMN avatar TEXT;
    ALTER TABLE users ADD COLUMN avatar_blob TEXT;
    ALTER TABLE conversations ADD COLUMN avatar TEXT;
    ALTER TABLE conversations ADD COLUMN avatar_blob TEXT;
    CREATE INDEX users_by_avatar ON users(avatar_blob) WHERE avatar_blob IS NOT NULL;
    CREATE INDEX conversations_by_avatar ON conversations(avatar_blob)
        WHERE avatar_blob IS NOT NULL;
    "#,
    // 8: group notices, entries of kind 'notice' written by the relay. SQLite cannot alter a
    // column's CHECK, and rebuilding the messages table would copy every message: the CHECK
    // is widened in the stored schema instead (SQLite's documented procedure for loosening a
    // constraint; every existing row satisfies the new one); `migrate` bumps the schema
    // version after it, so connections reread it.
    r#"
    PRAGMA writable_schema = ON;
    UPDATE sqlite_schema
       SET sql = replace(sql, '''react'', ''unreact'')', '''react'', ''unreact'', ''notice'')')
     WHERE type = 'table' AND name = 'messages';
    PRAGMA writable_schema = OFF;
    "#,
    // 9: the same CHECK written as equalities. SQLite evaluates `kind IN (six values)` by
    // building a temporary index of the six values on every insert (a pager opened and
    // closed per message); equalities cost a few comparisons. Same procedure as 8: it
    // accepts exactly the same values.
    r#"
    PRAGMA writable_schema = ON;
    UPDATE sqlite_schema
       SET sql = replace(sql,
           'kind IN (''text'', ''edit'', ''delete'', ''react'', ''unreact'', ''notice'')',
           'kind = ''text'' OR kind = ''edit'' OR kind = ''delete'' OR kind = ''react'' OR kind = ''unreact'' OR kind = ''notice''')
     WHERE type = 'table' AND name = 'messages';
    PRAGMA writable_schema = OFF;
    "#,
    // 10: how each user's conversations behave on their devices (muted, pinned), kept for
    // the user alone and synced to all their devices.
    r#"
    CREATE TABLE chat_prefs (
        user_id         INTEGER NOT NULL REFERENCES users(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        muted           INTEGER NOT NULL DEFAULT 0,
        muted_until     INTEGER,
        pinned_at       INTEGER,
        marked_unread   INTEGER NOT NULL DEFAULT 0,
        archived        INTEGER NOT NULL DEFAULT 0,
        archived_at     INTEGER,
        PRIMARY KEY (user_id, conversation_id)
    ) WITHOUT ROWID;
    "#,
    // 11: when each of those settings was last changed (ms), so that of two changes of one
    // setting the later edit holds, whichever reaches the relay last. Kept when nothing is
    // set any more: an unmute must still outrank an older mute arriving after it.
    r#"
    CREATE TABLE pref_edits (
        user_id         INTEGER NOT NULL REFERENCES users(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        mute            INTEGER,
        pin             INTEGER,
        marked_unread   INTEGER,
        archived        INTEGER,
        PRIMARY KEY (user_id, conversation_id)
    ) WITHOUT ROWID;
    "#,
    // 12: deleting a message for everyone erases the emoji of the reaction entries about it
    // too; those of a message deleted before are erased here.
    r#"
    UPDATE messages SET body = ''
    WHERE kind IN ('react', 'unreact') AND body <> ''
      AND EXISTS (SELECT 1 FROM messages t
                  WHERE t.conversation_id = messages.conversation_id
                    AND t.seq = messages.target_seq AND t.deleted = 1);
    "#,
    // 13: when a text message's author wrote it, when that was well before it reached the
    // relay (written offline); the author's word, passed on to the other members.
    r#"
    ALTER TABLE messages ADD COLUMN written_at INTEGER;
    "#,
];

/// Apply every migration the database has not seen yet.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // Every connection rereads the schema after a migration, also one that edited the
        // stored schema text directly (8), which SQLite does not count as a change itself.
        let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
        tx.pragma_update(None, "schema_version", version + 1)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_applies_to_an_empty_database_and_reapplying_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        migrate(&mut conn).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 14);
    }

    /// A database from before deleting erased reactions' emoji: those about a message deleted
    /// already are erased on upgrade; those about a message still there stay.
    #[test]
    fn upgrading_erases_the_emoji_of_reactions_on_messages_deleted_before() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..11] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 11).unwrap();
        tx.commit().unwrap();
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        conn.execute_batch(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind, target_seq, deleted) VALUES
                 (1, 1, 1, 'gone', '', 0, 'text', NULL, 1),
                 (1, 2, 2, 'r-gone', '😮', 0, 'react', 1, 0),
                 (1, 3, 1, 'kept', 'hi', 0, 'text', NULL, 0),
                 (1, 4, 2, 'r-kept', '👍', 0, 'react', 3, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let bodies: Vec<String> = conn
            .prepare("SELECT body FROM messages WHERE kind = 'react' ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(bodies, ["", "👍"]);
    }

    #[test]
    fn the_kind_check_admits_every_kind_and_still_refuses_nonsense() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'messages'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            sql.contains("kind = 'unreact' OR kind = 'notice')"),
            "{sql}"
        );
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        let insert = |kind: &str| {
            conn.execute(
                "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind)
                 VALUES (1, (SELECT count(*) + 1 FROM messages), 1, ?1, '', 0, ?1)",
                [kind],
            )
        };
        for kind in ["text", "edit", "delete", "react", "unreact", "notice"] {
            insert(kind).unwrap();
        }
        assert!(insert("forged").is_err());
        assert!(insert("Text").is_err());
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
}
