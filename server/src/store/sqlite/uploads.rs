//! Queries on `uploads` and `blob_refs`: reserving an upload within the user's quota, marking it
//! complete, who may read a blob (its uploader, current members of a conversation where a
//! message refers to it, and who may see it as a picture), and which uploads are left over (abandoned, or no longer referred to).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tern_proto::{ConversationId, ErrorCode, Seq, Timestamp, UserId};

use crate::error::{Error, Result};
use crate::store::tx::UploadRow;

/// Reserve an upload unless the user's uploads would pass `quota` bytes.
pub fn create_upload(txn: &Transaction<'_>, u: &UploadRow, quota: u64) -> Result<()> {
    let used: i64 = txn
        .prepare_cached("SELECT coalesce(sum(size), 0) FROM uploads WHERE user_id = ?1")?
        .query_row([u.user_id], |r| r.get(0))?;
    if used as u64 + u.size > quota {
        return Err(Error::refused(
            ErrorCode::QuotaExceeded,
            format!("your attachments would pass the relay's quota of {quota} bytes"),
        ));
    }
    txn.prepare_cached(
        "INSERT INTO uploads (id, user_id, size, sha256, content_type, complete, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    )?
    .execute(params![
        u.id,
        u.user_id,
        u.size as i64,
        u.sha256,
        u.content_type,
        u.created_at
    ])?;
    Ok(())
}

/// An upload by id.
pub fn upload(conn: &Connection, id: &str) -> Result<Option<UploadRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, user_id, size, sha256, content_type, complete, created_at FROM uploads WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(UploadRow {
                id: r.get(0)?,
                user_id: r.get(1)?,
                size: r.get::<_, i64>(2)? as u64,
                sha256: r.get(3)?,
                content_type: r.get(4)?,
                complete: r.get(5)?,
                created_at: r.get(6)?,
            })
        })
        .optional()?)
}

/// Of the uploads `ids`, those that exist: id, declared size, complete.
pub fn uploads_among(conn: &Connection, ids: &[String]) -> Result<Vec<(String, u64, bool)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = conn.prepare(&format!(
            "SELECT id, size, complete FROM uploads WHERE id IN ({marks})"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk), |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Mark an upload complete (its bytes are all there and match its hash).
pub fn complete_upload(txn: &Transaction<'_>, id: &str) -> Result<bool> {
    Ok(txn
        .prepare_cached("UPDATE uploads SET complete = 1 WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// Whether `user` may download blob `id`: its uploader; current members of a conversation
/// where a message refers to it or whose picture it is; and anyone who shares a conversation
/// with the user whose picture it is.
pub fn blob_readable(conn: &Connection, user: UserId, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM uploads WHERE id = ?1 AND user_id = ?2
             UNION ALL
             SELECT 1 FROM blob_refs r JOIN members m
               ON m.conversation_id = r.conversation_id AND m.user_id = ?2 AND m.active = 1
             WHERE r.blob_id = ?1
             UNION ALL
             SELECT 1 FROM conversations c JOIN members m
               ON m.conversation_id = c.id AND m.user_id = ?2 AND m.active = 1
             WHERE c.avatar_blob = ?1
             UNION ALL
             SELECT 1 FROM users u
               JOIN members o ON o.user_id = u.id AND o.active = 1
               JOIN members m ON m.conversation_id = o.conversation_id AND m.user_id = ?2 AND m.active = 1
             WHERE u.avatar_blob = ?1 LIMIT 1",
        )?
        .query_row(params![id, user], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Record that the message at (`conv`, `seq`) refers to blob `id`.
pub fn link_blob(txn: &Transaction<'_>, id: &str, conv: ConversationId, seq: Seq) -> Result<()> {
    txn.prepare_cached(
        "INSERT OR IGNORE INTO blob_refs (blob_id, conversation_id, seq) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id, conv, seq])?;
    Ok(())
}

/// Forget the references of the message at (`conv`, `seq`) (it was deleted for everyone).
pub fn unlink_message(txn: &Transaction<'_>, conv: ConversationId, seq: Seq) -> Result<()> {
    txn.prepare_cached("DELETE FROM blob_refs WHERE conversation_id = ?1 AND seq = ?2")?
        .execute(params![conv, seq])?;
    Ok(())
}

/// An upload nothing refers to: no message, no user's or group's picture (`uploads` in a
/// `WHERE`).
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = uploads.id)
     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_blob = uploads.id)
     AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.avatar_blob = uploads.id)";

/// Uploads created before `before` that no message refers to (abandoned mid-way, never sent,
/// or their messages deleted): removed from the table; their ids returned so their bytes go too.
pub fn sweep_uploads(txn: &Transaction<'_>, before: Timestamp) -> Result<Vec<String>> {
    Ok(txn
        .prepare_cached(&format!(
            "DELETE FROM uploads WHERE created_at < ?1 AND {UNREFERENCED} RETURNING id"
        ))?
        .query_map([before], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Remove `user`'s upload `id` if no message refers to it and it is no picture: whether it
/// was removed.
pub fn drop_upload(txn: &Transaction<'_>, user: UserId, id: &str) -> Result<bool> {
    Ok(txn
        .prepare_cached(&format!(
            "DELETE FROM uploads WHERE id = ?1 AND user_id = ?2 AND {UNREFERENCED}"
        ))?
        .execute(params![id, user])?
        > 0)
}
