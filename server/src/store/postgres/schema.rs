//! The relay's PostgreSQL schema as ordered migrations, applied on start.
//!
//! Several relays may start at once against one database: the migration runs under a
//! transaction-scoped advisory lock, so exactly one applies each step and the others wait and
//! then find nothing to do. The applied count lives in `schema_version`. Tables mirror the
//! SQLite schema ([`crate::store::sqlite::schema`]) at its latest version; usernames are unique
//! without case through an index on `lower(username)`.

use postgres::Client;

use crate::error::Result;

/// Lock key for migrations (any fixed number shared by every relay).
const MIGRATION_LOCK: i64 = 0x0074_6572_6e6d_6967; // "ternmig"

/// Every migration, in order. Never edit a released entry; append a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE users (
        id            BIGSERIAL PRIMARY KEY,
        username      TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    BIGINT NOT NULL,
        last_seen     BIGINT,
        display_name  TEXT
    );
    CREATE UNIQUE INDEX users_by_name ON users (lower(username));
    CREATE TABLE sessions (
        id          BIGSERIAL PRIMARY KEY,
        user_id     BIGINT NOT NULL REFERENCES users(id),
        token_hash  BYTEA NOT NULL UNIQUE,
        device_name TEXT NOT NULL,
        created_at  BIGINT NOT NULL,
        expires_at  BIGINT NOT NULL,
        revoked_at  BIGINT
    );
    CREATE INDEX sessions_by_user ON sessions(user_id);
    CREATE TABLE conversations (
        id            BIGSERIAL PRIMARY KEY,
        kind          TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
        name          TEXT,
        direct_key    TEXT UNIQUE,
        last_seq      BIGINT NOT NULL DEFAULT 0,
        last_activity BIGINT NOT NULL,
        version       BIGINT NOT NULL,
        created_at    BIGINT NOT NULL
    );
    CREATE TABLE members (
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        user_id         BIGINT NOT NULL REFERENCES users(id),
        role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        active          BOOLEAN NOT NULL DEFAULT TRUE,
        joined_at       BIGINT NOT NULL,
        delivered_seq   BIGINT NOT NULL DEFAULT 0,
        read_seq        BIGINT NOT NULL DEFAULT 0,
        version         BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
    );
    CREATE INDEX members_by_user ON members(user_id, active);
    CREATE TABLE messages (
        id              BIGSERIAL PRIMARY KEY,
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        seq             BIGINT NOT NULL,
        sender_id       BIGINT NOT NULL REFERENCES users(id),
        client_id       TEXT NOT NULL,
        body            TEXT NOT NULL,
        sent_at         BIGINT NOT NULL,
        kind            TEXT NOT NULL DEFAULT 'text'
            CHECK (kind IN ('text', 'edit', 'delete', 'react', 'unreact')),
        target_seq      BIGINT,
        reply_to        BIGINT,
        edited_at       BIGINT,
        deleted         BOOLEAN NOT NULL DEFAULT FALSE,
        state_seq       BIGINT NOT NULL DEFAULT 0,
        UNIQUE (conversation_id, seq),
        UNIQUE (sender_id, client_id)
    );
    CREATE INDEX messages_by_target ON messages(conversation_id, target_seq)
        WHERE target_seq IS NOT NULL;
    CREATE TABLE reactions (
        conversation_id BIGINT NOT NULL,
        seq             BIGINT NOT NULL,
        user_id         BIGINT NOT NULL,
        emoji           TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq, user_id, emoji)
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('change_version', 0);
    CREATE TABLE device_credentials (
        credential_hash BYTEA PRIMARY KEY,
        user_id         BIGINT NOT NULL REFERENCES users(id),
        created_at      BIGINT NOT NULL,
        last_used       BIGINT NOT NULL
    );
    CREATE INDEX device_credentials_by_user ON device_credentials(user_id, last_used);
    CREATE TABLE invites (
        code_hash  BYTEA PRIMARY KEY,
        uses_left  INTEGER NOT NULL CHECK (uses_left >= 0),
        created_at BIGINT NOT NULL
    );
"#,
    r#"
    CREATE TABLE uploads (
        id           TEXT PRIMARY KEY,
        user_id      BIGINT NOT NULL REFERENCES users(id),
        size         BIGINT NOT NULL,
        sha256       TEXT NOT NULL,
        content_type TEXT NOT NULL,
        complete     BOOLEAN NOT NULL DEFAULT FALSE,
        created_at   BIGINT NOT NULL
    );
    CREATE INDEX uploads_by_user ON uploads(user_id);
    CREATE TABLE blob_refs (
        blob_id         TEXT NOT NULL,
        conversation_id BIGINT NOT NULL,
        seq             BIGINT NOT NULL,
        PRIMARY KEY (blob_id, conversation_id, seq)
    );
    CREATE INDEX blob_refs_by_message ON blob_refs(conversation_id, seq);
    ALTER TABLE messages ADD COLUMN attachment TEXT;
"#,
    r#"
    ALTER TABLE members ADD COLUMN accepted BOOLEAN NOT NULL DEFAULT TRUE;
    ALTER TABLE users ADD COLUMN presence_visibility TEXT NOT NULL DEFAULT 'contacts'
        CHECK (presence_visibility IN ('contacts', 'nobody'));
    ALTER TABLE users ADD COLUMN read_receipts BOOLEAN NOT NULL DEFAULT TRUE;
    CREATE TABLE blocks (
        blocker_id BIGINT NOT NULL REFERENCES users(id),
        blocked_id BIGINT NOT NULL REFERENCES users(id),
        created_at BIGINT NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
    );
    CREATE INDEX blocks_by_blocked ON blocks(blocked_id);
    ALTER TABLE messages ADD COLUMN withheld_from BIGINT;
    ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
    ALTER TABLE users ADD COLUMN deleted_at BIGINT;
"#,
    r#"
    ALTER TABLE users ADD COLUMN avatar TEXT;
    ALTER TABLE users ADD COLUMN avatar_blob TEXT;
    ALTER TABLE conversations ADD COLUMN avatar TEXT;
    ALTER TABLE conversations ADD COLUMN avatar_blob TEXT;
    CREATE INDEX users_by_avatar ON users(avatar_blob) WHERE avatar_blob IS NOT NULL;
    CREATE INDEX conversations_by_avatar ON conversations(avatar_blob)
        WHERE avatar_blob IS NOT NULL;
"#,
    r#"
    ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
    ALTER TABLE messages ADD CONSTRAINT messages_kind_check
        CHECK (kind IN ('text', 'edit', 'delete', 'react', 'unreact', 'notice'));
"#,
    // Per-user send buckets shared by every relay of a cluster (SQLite has no counterpart: a
    // relay alone keeps them in memory).
    r#"
    CREATE TABLE send_buckets (
        user_id BIGINT PRIMARY KEY REFERENCES users(id),
        tokens  DOUBLE PRECISION NOT NULL,
        at      BIGINT NOT NULL
    );
"#,
    // How each user's conversations behave on their devices (muted, pinned).
    r#"
    CREATE TABLE chat_prefs (
        user_id         BIGINT NOT NULL REFERENCES users(id),
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        muted           BOOLEAN NOT NULL DEFAULT FALSE,
        muted_until     BIGINT,
        pinned_at       BIGINT,
        marked_unread   BOOLEAN NOT NULL DEFAULT FALSE,
        archived        BOOLEAN NOT NULL DEFAULT FALSE,
        archived_at     BIGINT,
        PRIMARY KEY (user_id, conversation_id)
    );
"#,
    // When each of those settings was last changed (as SQLite's migration 11).
    r#"
    CREATE TABLE pref_edits (
        user_id         BIGINT NOT NULL REFERENCES users(id),
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        mute            BIGINT,
        pin             BIGINT,
        marked_unread   BIGINT,
        archived        BIGINT,
        PRIMARY KEY (user_id, conversation_id)
    );
"#,
    // The emoji of reaction entries about a message deleted before deleting erased them too
    // (as SQLite's migration 12).
    r#"
    UPDATE messages SET body = ''
    WHERE kind IN ('react', 'unreact') AND body <> ''
      AND EXISTS (SELECT 1 FROM messages t
                  WHERE t.conversation_id = messages.conversation_id
                    AND t.seq = messages.target_seq AND t.deleted);
"#,
    // When a text message's author wrote it offline (as SQLite's migration 13).
    r#"
    ALTER TABLE messages ADD COLUMN written_at BIGINT;
"#,
];

/// Apply every migration the database has not seen yet, one relay at a time.
pub fn migrate(client: &mut Client) -> Result<()> {
    let mut txn = client.transaction()?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    txn.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i64 = txn
        .query_one("SELECT count(*) FROM schema_version", &[])?
        .get(0);
    let current = if current == 0 {
        txn.execute("INSERT INTO schema_version (version) VALUES (0)", &[])?;
        0
    } else {
        txn.query_one("SELECT version FROM schema_version", &[])?
            .get::<_, i32>(0) as usize
    };
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        txn.batch_execute(sql)?;
        txn.execute(
            "UPDATE schema_version SET version = $1",
            &[&((index + 1) as i32)],
        )?;
    }
    txn.commit()?;
    Ok(())
}
