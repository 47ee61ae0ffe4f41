//! Files on their way in and out: the staged copy of each file being sent (`uploads_out`,
//! with the relay's upload id once it has one) and the file cache (`downloads`): files
//! fetched from the relay and the user's own sent files, by blob id, the least recently
//! fetched or sent removed past a size budget (the relay still has them).

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{Attachment, ConversationId};

use crate::error::Result;

/// Bytes of files (downloaded and sent) kept on this device before the oldest are removed.
pub const FILE_CACHE_BYTES: u64 = 1024 * 1024 * 1024;

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
    evict(txn, budget)
}

/// The relay stored a message of this device's with a file (now `blob_id`): the staged copy
/// joins the file cache, found there as a download is and removed past the budget as one is,
/// so the copies of sent files do not pile up. Nothing to do for a message sent from another
/// of the user's devices (nothing is staged here).
pub fn sent(txn: &Transaction<'_>, client_id: &str, blob_id: &str, budget: u64) -> Result<()> {
    let staged: Option<String> = txn
        .prepare_cached("DELETE FROM uploads_out WHERE client_id = ?1 RETURNING path")?
        .query_row([client_id], |r| r.get(0))
        .optional()?;
    let Some(path) = staged else {
        return Ok(());
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let kept = txn
        .prepare_cached(
            "INSERT OR IGNORE INTO downloads (blob_id, path, size, fetched_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![blob_id, path, size as i64, tern_proto::now_ms()])?;
    if kept == 0 {
        // The same file is in the cache already (sent before, or downloaded).
        let _ = std::fs::remove_file(&path);
    }
    evict(txn, budget)
}

/// Remove the least recently fetched (or sent) files, rows and files, beyond `budget` bytes.
/// The newest stays whatever its size: a file larger than the budget is still there once
/// fetched or sent.
fn evict(txn: &Transaction<'_>, budget: u64) -> Result<()> {
    let rows: Vec<(String, String, i64)> = txn
        .prepare_cached(
            "SELECT blob_id, path, size FROM downloads ORDER BY fetched_at DESC, rowid DESC",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut kept = 0u64;
    for (i, (blob, path, size)) in rows.into_iter().enumerate() {
        kept += size as u64;
        if kept > budget && i > 0 {
            let _ = std::fs::remove_file(&path);
            txn.prepare_cached("DELETE FROM downloads WHERE blob_id = ?1")?
                .execute([&blob])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tern_proto::{ClientId, MessageId, MessageRecord, Seq, UserId};

    use super::*;
    use crate::cache::{chat, messages, outbox};

    const ME: UserId = UserId(1);
    const CONV: ConversationId = ConversationId(7);

    /// Queue a file message of `size` bytes staged in `dir`, then have the relay store it.
    fn send_file(txn: &Transaction<'_>, dir: &std::path::Path, n: u64, size: usize) -> String {
        let client_id = format!("c{n}");
        let path = dir.join(format!("{client_id}-file.bin"));
        std::fs::write(&path, vec![7u8; size]).unwrap();
        let path = path.display().to_string();
        let attachment = Attachment {
            name: "file.bin".into(),
            size: size as u64,
            ..Attachment::default()
        };
        outbox::enqueue(
            txn,
            &outbox::OutboxItem {
                client_id: client_id.clone(),
                conversation_id: CONV,
                created_at: 1,
                attachment: Some(attachment.clone()),
                ..outbox::OutboxItem::default()
            },
        )
        .unwrap();
        stage(txn, &client_id, &path).unwrap();
        let stored = Attachment {
            blob_id: format!("blob{n}"),
            ..attachment
        };
        uploaded(txn, &client_id, &stored).unwrap();
        let record = MessageRecord {
            conversation_id: CONV,
            seq: Seq(n),
            message_id: MessageId(n as i64),
            sender_id: ME,
            sender: "me".into(),
            client_id: ClientId::from(client_id.as_str()),
            sent_at: 1,
            attachment: Some(stored),
            ..MessageRecord::default()
        };
        messages::acked(txn, ME, &record).unwrap();
        path
    }

    fn shown_file(txn: &Transaction<'_>, seq: u64) -> Option<String> {
        chat::chat_at(txn, ME, CONV, Seq(seq))
            .unwrap()
            .unwrap()
            .local_file
    }

    /// The copies of files the user sent stay openable, and count against the file cache's
    /// budget as downloads do: past it the oldest are removed (the relay still has them).
    #[test]
    fn sent_files_stay_openable_and_are_removed_past_the_cache_budget() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::cache::schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        let first = send_file(&txn, dir.path(), 1, 600);
        assert_eq!(shown_file(&txn, 1).as_deref(), Some(first.as_str()));
        let staged: i64 = txn
            .query_row("SELECT count(*) FROM uploads_out", [], |r| r.get(0))
            .unwrap();
        assert_eq!(staged, 0, "a stored message's copy is no longer staged");

        // The cache's budget applies to sent files: a second one evicts the first.
        let second = send_file(&txn, dir.path(), 2, 600);
        txn.execute(
            "UPDATE downloads SET fetched_at = 1 WHERE blob_id = 'blob1'",
            [],
        )
        .unwrap();
        evict(&txn, 1000).unwrap();
        assert!(
            !std::path::Path::new(&first).exists(),
            "the oldest file went"
        );
        assert_eq!(shown_file(&txn, 1), None, "offered for download again");
        assert!(std::path::Path::new(&second).exists());
        assert_eq!(shown_file(&txn, 2).as_deref(), Some(second.as_str()));

        // A file larger than the whole budget stays once sent; the one before it goes.
        let big = send_file(&txn, dir.path(), 3, 2000);
        evict(&txn, 1000).unwrap();
        assert!(std::path::Path::new(&big).exists());
        assert_eq!(shown_file(&txn, 3).as_deref(), Some(big.as_str()));
        assert!(!std::path::Path::new(&second).exists());
    }
}
