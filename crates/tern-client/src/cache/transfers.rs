//! Files on their way in and out: the staged copy of each file being sent (`uploads_out`,
//! with the relay's upload id once it has one) and the downloads kept on this device, the
//! least recently fetched removed past a size budget.

use rusqlite::{params, Transaction};
use tern_proto::{Attachment, ConversationId};

use crate::error::Result;

/// One queued message waiting for its file to reach the relay.
#[derive(Debug, Clone)]
pub struct PendingUpload {
    /// The message's client id.
    pub client_id: String,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The staged copy of the file.
    pub path: String,
    /// The relay's upload, once created.
    pub upload_id: Option<String>,
    /// What the message will say about the file (its blob id still empty).
    pub attachment: Attachment,
}

/// Remember the staged copy of a queued message's file.
pub fn stage(txn: &Transaction<'_>, client_id: &str, path: &str) -> Result<()> {
    txn.prepare_cached("INSERT INTO uploads_out (client_id, path) VALUES (?1, ?2)")?
        .execute([client_id, path])?;
    Ok(())
}

/// Files of queued messages not yet on the relay, oldest message first.
pub fn pending(txn: &Transaction<'_>) -> Result<Vec<PendingUpload>> {
    let mut stmt = txn.prepare_cached(
        "SELECT u.client_id, o.conversation_id, u.path, u.upload_id, o.attachment
         FROM uploads_out u JOIN outbox o ON o.client_id = u.client_id
         WHERE u.done = 0 AND o.state = 'queued' ORDER BY o.local_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let attachment: Option<String> = r.get(4)?;
        let Some(attachment) = attachment.and_then(|a| serde_json::from_str(&a).ok()) else {
            return Ok(None);
        };
        Ok(Some(PendingUpload {
            client_id: r.get(0)?,
            conversation_id: r.get(1)?,
            path: r.get(2)?,
            upload_id: r.get(3)?,
            attachment,
        }))
    })?;
    let mut out = Vec::new();
    for row in rows {
        // A row whose message has no readable descriptor cannot be uploaded: skip it.
        if let Some(p) = row? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Record (or forget, with `None`) the relay's upload id for a message's file.
pub fn set_upload_id(txn: &Transaction<'_>, client_id: &str, upload: Option<&str>) -> Result<()> {
    txn.prepare_cached("UPDATE uploads_out SET upload_id = ?2 WHERE client_id = ?1")?
        .execute(params![client_id, upload])?;
    Ok(())
}

/// The relay no longer has the uploaded file of a queued message (it sweeps uploads no message
/// refers to after a while: the message waited too long behind another): upload it again from
/// the staged copy; the message waits for it. Whether there was such a file.
pub fn upload_again(txn: &Transaction<'_>, client_id: &str) -> Result<bool> {
    Ok(txn
        .prepare_cached(
            "UPDATE uploads_out SET done = 0, upload_id = NULL WHERE client_id = ?1 AND done = 1",
        )?
        .execute([client_id])?
        > 0)
}

/// The file is on the relay: its message carries the blob id from now on.
pub fn uploaded(txn: &Transaction<'_>, client_id: &str, attachment: &Attachment) -> Result<()> {
    let json = serde_json::to_string(attachment).expect("serializable");
    txn.prepare_cached("UPDATE outbox SET attachment = ?2 WHERE client_id = ?1")?
        .execute([client_id, &json])?;
    txn.prepare_cached("UPDATE uploads_out SET done = 1 WHERE client_id = ?1")?
        .execute([client_id])?;
    Ok(())
}

/// Record a finished download, then remove the least recently fetched ones (rows and files)
/// beyond `budget` bytes.
pub fn downloaded(
    txn: &Transaction<'_>,
    blob_id: &str,
    path: &str,
    size: u64,
    budget: u64,
) -> Result<()> {
    txn.prepare_cached(
        "INSERT OR REPLACE INTO downloads (blob_id, path, size, fetched_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![blob_id, path, size as i64, tern_proto::now_ms()])?;
    let rows: Vec<(String, String, i64)> = txn
        .prepare_cached("SELECT blob_id, path, size FROM downloads ORDER BY fetched_at DESC")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut kept = 0u64;
    for (blob, path, size) in rows {
        kept += size as u64;
        if kept > budget {
            let _ = std::fs::remove_file(&path);
            txn.prepare_cached("DELETE FROM downloads WHERE blob_id = ?1")?
                .execute([&blob])?;
        }
    }
    Ok(())
}
