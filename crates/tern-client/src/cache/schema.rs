//! The cache's schema as ordered migrations, applied atomically on open (`PRAGMA user_version`).
//! The session token is deliberately absent: it lives in the OS keychain only.

use rusqlite::Connection;

/// Every migration, in order. Append only.
pub const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE conversations (
        id             INTEGER PRIMARY KEY,
        kind           TEXT NOT NULL,
        name           TEXT,
        last_seq       INTEGER NOT NULL DEFAULT 0,
        -- highest seq held with no gap below it: the sync cursor
        synced_seq     INTEGER NOT NULL DEFAULT 0,
        -- highest read marker the relay has acknowledged from this device
        read_sent_seq  INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        last_activity  INTEGER NOT NULL DEFAULT 0,
        -- 0 once the user left or was removed; history stays readable
        active         INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE members (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id         INTEGER NOT NULL,
        username        TEXT NOT NULL,
        role            TEXT NOT NULL,
        delivered_seq   INTEGER NOT NULL DEFAULT 0,
        read_seq        INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (conversation_id, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL,
        message_id      INTEGER NOT NULL,
        sender_id       INTEGER NOT NULL,
        sender          TEXT NOT NULL,
        client_id       TEXT NOT NULL,
        body            TEXT NOT NULL,
        sent_at         INTEGER NOT NULL,
        UNIQUE (conversation_id, seq)
    );
    CREATE VIRTUAL TABLE messages_fts USING fts5(body, content = 'messages', content_rowid = 'id');
    CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END;
    CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END;
    CREATE TABLE outbox (
        local_id        INTEGER PRIMARY KEY,
        client_id       TEXT NOT NULL UNIQUE,
        conversation_id INTEGER NOT NULL,
        body            TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('queued', 'failed')),
        error           TEXT
    );
    CREATE TABLE presence (
        user_id   INTEGER PRIMARY KEY,
        online    INTEGER NOT NULL,
        last_seen INTEGER
    );
"#,
    // 2: rich messaging. Events (edit, delete, react, unreact) are rows of `messages` like
    // text, folded into their target as they arrive (`state_seq` = newest event folded in);
    // `hidden` is "deleted for me". Only text is indexed for search, and an edit re-indexes
    // the current text, so search finds what the message says now.
    r#"
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE messages ADD COLUMN target_seq INTEGER;
    ALTER TABLE messages ADD COLUMN reply_to INTEGER;
    ALTER TABLE messages ADD COLUMN edited_at INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE reactions (
        conversation_id INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        user_id         INTEGER NOT NULL,
        emoji           TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq, user_id, emoji)
    ) WITHOUT ROWID;
    DROP TRIGGER messages_ai;
    DROP TRIGGER messages_ad;
    CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.kind = 'text' BEGIN
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END;
    CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.kind = 'text' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END;
    CREATE TRIGGER messages_au AFTER UPDATE OF body ON messages WHEN new.kind = 'text' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END;
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE outbox ADD COLUMN target_seq INTEGER;
    ALTER TABLE outbox ADD COLUMN reply_to INTEGER;
"#,
    // 3: display names.
    r#"
    ALTER TABLE members ADD COLUMN display_name TEXT;
"#,
    // 4: attachments. A message's descriptor as JSON; an outbox message with a file waits in
    // `uploads_out` (the staged copy, the relay's upload id) until its bytes are on the relay;
    // `downloads` remembers files fetched into the cache.
    r#"
    ALTER TABLE messages ADD COLUMN attachment TEXT;
    ALTER TABLE outbox ADD COLUMN attachment TEXT;
    CREATE TABLE uploads_out (
        client_id TEXT PRIMARY KEY,
        path      TEXT NOT NULL,
        upload_id TEXT,
        done      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE downloads (
        blob_id TEXT PRIMARY KEY,
        path    TEXT NOT NULL,
        size    INTEGER NOT NULL,
        fetched_at INTEGER NOT NULL
    );
"#,
    // 5: privacy. A membership not yet accepted is a message request; a conversation the
    // user hid stays out of the list until a new message arrives; the privacy settings and
    // block list live in `meta` as JSON.
    r#"
    ALTER TABLE members ADD COLUMN accepted INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE conversations ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
"#,
    // 6: profile and group pictures, as their descriptors (JSON); the image files live in the
    // account's `avatars/` folder, named by their SHA-256.
    r#"
    ALTER TABLE members ADD COLUMN avatar TEXT;
    ALTER TABLE conversations ADD COLUMN avatar TEXT;
"#,
    // 7: when the user wrote a message of this device's that reached the relay a while later
    // (written offline); the relay's time stays in `sent_at`.
    r#"
    ALTER TABLE messages ADD COLUMN written_at INTEGER;
"#,
    // 8: how the user's conversations behave on their devices (muted, pinned, marked unread),
    // as the relay last said; `mine` holds this device's change (JSON) until the relay has it.
    r#"
    CREATE TABLE chat_prefs (
        conversation_id INTEGER PRIMARY KEY,
        muted           INTEGER NOT NULL DEFAULT 0,
        muted_until     INTEGER,
        pinned_at       INTEGER,
        marked_unread   INTEGER NOT NULL DEFAULT 0,
        archived        INTEGER NOT NULL DEFAULT 0,
        archived_at     INTEGER,
        mine            TEXT
    );
    -- Conversations a sync's messages from others arrived in (the latest one's time), until
    -- its sync_done says whether they bring an archived chat back.
    CREATE TABLE spoken (
        conversation_id INTEGER PRIMARY KEY,
        sent_at         INTEGER NOT NULL
    );
"#,
    // 9: the staged copies of files this device sent and the relay stored join the file
    // cache under their blob ids (kept within its budget from now on, as downloads are).
    r#"
    INSERT OR IGNORE INTO downloads (blob_id, path, size, fetched_at)
        SELECT json_extract(m.attachment, '$.blob_id'), u.path,
               coalesce(json_extract(m.attachment, '$.size'), 0), m.sent_at
        FROM uploads_out u JOIN messages m ON m.client_id = u.client_id
        WHERE u.done = 1 AND m.attachment IS NOT NULL
          AND coalesce(json_extract(m.attachment, '$.blob_id'), '') <> '';
    DELETE FROM uploads_out WHERE done = 1 AND path IN (SELECT path FROM downloads);
"#,
    // 10: deleting a message for everyone erases the emoji of the reaction entries about it
    // too; those of a message deleted before are erased here.
    r#"
    UPDATE messages SET body = ''
    WHERE kind IN ('react', 'unreact') AND body <> ''
      AND EXISTS (SELECT 1 FROM messages t
                  WHERE t.conversation_id = messages.conversation_id
                    AND t.seq = messages.target_seq AND t.deleted = 1);
"#,
];

/// Apply every migration the file has not seen yet.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // A cache from before this migration ignored what its columns hold in the
        // conversations the relay sent (and the relay sends a conversation again only when
        // it changes): the next sync reads every conversation afresh.
        if RESHAPE.contains(&(i + 1)) {
            tx.execute(
                "DELETE FROM meta WHERE key = ?1",
                [crate::connection::sync::CHANGES_VERSION],
            )?;
        }
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The migrations (by number) that add columns filled from the relay's conversations:
/// display names (3), requests (5), pictures (6). Add a number here with each such migration.
const RESHAPE: &[usize] = &[3, 5, 6];

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_applies_to_an_empty_cache() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::migrate(&mut conn).unwrap();
        super::migrate(&mut conn).unwrap();
        let v: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, super::MIGRATIONS.len());
    }

    /// A cache from before the relay's conversations carried requests, names and pictures
    /// reads every conversation again at its next sync (its changes version is forgotten);
    /// one past those migrations keeps its version.
    #[test]
    fn a_cache_that_ignored_fields_of_conversations_reads_them_all_again() {
        let at = |applied: usize| {
            let mut conn = rusqlite::Connection::open_in_memory().unwrap();
            for sql in &super::MIGRATIONS[..applied] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", applied).unwrap();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('changes_version', '500')",
                [],
            )
            .unwrap();
            super::migrate(&mut conn).unwrap();
            conn.query_row(
                "SELECT value FROM meta WHERE key = 'changes_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .ok()
        };
        assert_eq!(at(4), None, "before requests: read again");
        assert_eq!(at(6), Some("500".into()), "after pictures: kept");
    }

    /// A cache from before sent files joined the file cache: the copies of files the relay
    /// stored move there; one still waiting to upload stays staged.
    #[test]
    fn sent_files_staged_before_join_the_file_cache() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        for sql in &super::MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        conn.execute_batch(
            r#"INSERT INTO conversations (id, kind, created_at) VALUES (7, 'direct', 1);
               INSERT INTO messages (conversation_id, seq, message_id, sender_id, sender, client_id, body, sent_at, attachment)
                   VALUES (7, 1, 1, 1, 'me', 'sent', '', 5, '{"blob_id":"b1","name":"a","content_type":"","size":3,"sha256":""}');
               INSERT INTO uploads_out (client_id, path, done) VALUES ('sent', '/x/sent', 1), ('queued', '/x/queued', 0);"#,
        )
        .unwrap();
        super::migrate(&mut conn).unwrap();
        let cached: (String, String, i64) = conn
            .query_row("SELECT blob_id, path, size FROM downloads", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(cached, ("b1".into(), "/x/sent".into(), 3));
        let staged: Vec<String> = conn
            .prepare("SELECT client_id FROM uploads_out")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(staged, vec!["queued".to_owned()]);
    }
}
