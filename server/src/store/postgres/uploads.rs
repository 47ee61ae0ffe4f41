//! PostgreSQL queries on `uploads` and `blob_refs`; the same contracts as
//! [`crate::store::sqlite::uploads`].

use super::sql::Sql;
use tern_proto::{ConversationId, ErrorCode, Seq, Timestamp, UserId};

use crate::error::{Error, Result};
use crate::store::tx::UploadRow;

/// Reserve an upload unless the user's uploads would pass `quota` bytes.
pub fn create_upload(c: &mut impl Sql, u: &UploadRow, quota: u64) -> Result<()> {
    // Serialize one user's reservations so two relays cannot both pass the quota.
    c.execute(
        "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
        &[&u.user_id],
    )?;
    let used: i64 = c
        .query_one(
            "SELECT coalesce(sum(size), 0)::BIGINT FROM uploads WHERE user_id = $1",
            &[&u.user_id],
        )?
        .get(0);
    if used as u64 + u.size > quota {
        return Err(Error::refused(
            ErrorCode::QuotaExceeded,
            format!("your attachments would pass the relay's quota of {quota} bytes"),
        ));
    }
    c.execute(
        "INSERT INTO uploads (id, user_id, size, sha256, content_type, complete, created_at)
         VALUES ($1, $2, $3, $4, $5, FALSE, $6)",
        &[
            &u.id,
            &u.user_id,
            &(u.size as i64),
            &u.sha256,
            &u.content_type,
            &u.created_at,
        ],
    )?;
    Ok(())
}

/// An upload by id.
pub fn upload(c: &mut impl Sql, id: &str) -> Result<Option<UploadRow>> {
    Ok(c
        .query_opt(
            "SELECT id, user_id, size, sha256, content_type, complete, created_at FROM uploads WHERE id = $1",
            &[&id],
        )?
        .map(|r| UploadRow {
            id: r.get(0),
            user_id: r.get(1),
            size: r.get::<_, i64>(2) as u64,
            sha256: r.get(3),
            content_type: r.get(4),
            complete: r.get(5),
            created_at: r.get(6),
        }))
}

/// Of the uploads `ids`, those that exist: id, declared size, complete.
pub fn uploads_among(c: &mut impl Sql, ids: &[String]) -> Result<Vec<(String, u64, bool)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let chunk = chunk.to_vec();
        for r in c.query(
            "SELECT id, size, complete FROM uploads WHERE id = ANY($1)",
            &[&chunk],
        )? {
            out.push((r.get(0), r.get::<_, i64>(1) as u64, r.get(2)));
        }
    }
    Ok(out)
}

/// Mark an upload complete; false when it is gone.
pub fn complete_upload(c: &mut impl Sql, id: &str) -> Result<bool> {
    Ok(c.execute("UPDATE uploads SET complete = TRUE WHERE id = $1", &[&id])? > 0)
}

/// Whether `user` may download blob `id`: its uploader; current members of a conversation
/// where a message refers to it or whose picture it is; and anyone who shares a conversation
/// with the user whose picture it is.
pub fn blob_readable(c: &mut impl Sql, user: UserId, id: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM uploads WHERE id = $1 AND user_id = $2
             UNION ALL
             SELECT 1 FROM blob_refs r JOIN members m
               ON m.conversation_id = r.conversation_id AND m.user_id = $2 AND m.active
             WHERE r.blob_id = $1
             UNION ALL
             SELECT 1 FROM conversations c JOIN members m
               ON m.conversation_id = c.id AND m.user_id = $2 AND m.active
             WHERE c.avatar_blob = $1
             UNION ALL
             SELECT 1 FROM users u
               JOIN members o ON o.user_id = u.id AND o.active
               JOIN members m ON m.conversation_id = o.conversation_id AND m.user_id = $2 AND m.active
             WHERE u.avatar_blob = $1 LIMIT 1",
        &[&id, &user],
    )?
    .is_some())
}

/// Record that the message at (`conv`, `seq`) refers to blob `id`.
pub fn link_blob(c: &mut impl Sql, id: &str, conv: ConversationId, seq: Seq) -> Result<()> {
    c.execute(
        "INSERT INTO blob_refs (blob_id, conversation_id, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&id, &conv, &seq],
    )?;
    Ok(())
}

/// Forget the references of a message deleted for everyone.
pub fn unlink_message(c: &mut impl Sql, conv: ConversationId, seq: Seq) -> Result<()> {
    c.execute(
        "DELETE FROM blob_refs WHERE conversation_id = $1 AND seq = $2",
        &[&conv, &seq],
    )?;
    Ok(())
}

/// An upload nothing refers to: no message, no user's or group's picture (`uploads` in a
/// `WHERE`).
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = uploads.id)
     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_blob = uploads.id)
     AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.avatar_blob = uploads.id)";

/// Unreferenced uploads created before `before`: removed; their ids returned.
pub fn sweep_uploads(c: &mut impl Sql, before: Timestamp) -> Result<Vec<String>> {
    Ok(c.query(
        &format!("DELETE FROM uploads WHERE created_at < $1 AND {UNREFERENCED} RETURNING id"),
        &[&before],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Remove `user`'s upload `id` if no message refers to it and it is no picture: whether it
/// was removed.
pub fn drop_upload(c: &mut impl Sql, user: UserId, id: &str) -> Result<bool> {
    Ok(c.execute(
        &format!("DELETE FROM uploads WHERE id = $1 AND user_id = $2 AND {UNREFERENCED}"),
        &[&id, &user],
    )? > 0)
}
