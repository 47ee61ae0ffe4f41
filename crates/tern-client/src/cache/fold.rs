//! Folding events into the messages they change, the same way the relay does: an edit
//! replaces the text, a delete erases it (and every edit's text, and the reactions), a
//! reaction adds or removes one user's emoji.
//!
//! Each text message remembers the newest event folded into it (`state_seq`); an event at or
//! below that is already reflected, so the same events applied twice, or a page of history
//! that arrives already folded by the relay, change nothing. An event whose target is not in
//! the cache is stored and left: when the target arrives (history), the relay sends it folded.
//! A delete also removes the message's file from this device (downloaded or sent from here).

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{ConversationId, MessageKind, MessageRecord, Seq};

use crate::error::Result;

/// Apply one stored event to its target. Returns whether a cached message changed.
pub fn apply(txn: &Transaction<'_>, event: &MessageRecord) -> Result<bool> {
    let Some(target) = event.target_seq else {
        return Ok(false);
    };
    let (conv, target, seq) = (event.conversation_id, target, event.seq);
    if event.kind == MessageKind::Delete {
        // Erase the edits' text and the reactions' emoji even when the target itself is not
        // cached.
        txn.prepare_cached(
            "UPDATE messages SET body = '' WHERE conversation_id = ?1 AND target_seq = ?2 AND kind IN ('edit', 'react', 'unreact')",
        )?
        .execute(params![conv, target])?;
    }
    let state: Option<Seq> = txn
        .prepare_cached(
            "SELECT state_seq FROM messages WHERE conversation_id = ?1 AND seq = ?2 AND kind = 'text'",
        )?
        .query_row(params![conv, target], |r| r.get(0))
        .optional()?;
    match state {
        Some(state) if state < seq => {}
        _ => return Ok(false),
    }
    match event.kind {
        // An unknown kind changes nothing this version knows how to show.
        MessageKind::Text | MessageKind::Notice | MessageKind::Unknown => return Ok(false),
        MessageKind::Edit => {
            txn.prepare_cached(
                "UPDATE messages SET body = ?3, edited_at = ?4 WHERE conversation_id = ?1 AND seq = ?2 AND deleted = 0",
            )?
            .execute(params![conv, target, event.body, event.sent_at])?;
        }
        MessageKind::Delete => {
            forget_files(txn, conv, target)?;
            txn.prepare_cached(
                "UPDATE messages SET body = '', deleted = 1, edited_at = NULL, written_at = NULL, attachment = NULL WHERE conversation_id = ?1 AND seq = ?2",
            )?
            .execute(params![conv, target])?;
            txn.prepare_cached("DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2")?
                .execute(params![conv, target])?;
        }
        MessageKind::React => {
            txn.prepare_cached(
                "INSERT OR IGNORE INTO reactions (conversation_id, seq, user_id, emoji) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![conv, target, event.sender_id, event.body])?;
        }
        MessageKind::Unreact => {
            txn.prepare_cached(
                "DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2 AND user_id = ?3 AND emoji = ?4",
            )?
            .execute(params![conv, target, event.sender_id, event.body])?;
        }
    }
    txn.prepare_cached(
        "UPDATE messages SET state_seq = ?3 WHERE conversation_id = ?1 AND seq = ?2",
    )?
    .execute(params![conv, target, seq])?;
    Ok(true)
}

/// A message deleted for everyone takes its file off this device too: the downloaded copy
/// and, for the user's own message, the copy that was uploaded.
fn forget_files(txn: &Transaction<'_>, conv: ConversationId, seq: Seq) -> Result<()> {
    let row: Option<(String, Option<String>)> = txn
        .prepare_cached(
            "SELECT client_id, attachment FROM messages WHERE conversation_id = ?1 AND seq = ?2 AND kind = 'text'",
        )?
        .query_row(params![conv, seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((client_id, attachment)) = row else {
        return Ok(());
    };
    let blob = attachment
        .and_then(|j| serde_json::from_str::<tern_proto::Attachment>(&j).ok())
        .map(|a| a.blob_id);
    let mut paths: Vec<String> = Vec::new();
    if let Some(blob) = &blob {
        paths.extend(
            txn.prepare_cached("DELETE FROM downloads WHERE blob_id = ?1 RETURNING path")?
                .query_map([blob], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?,
        );
    }
    paths.extend(
        txn.prepare_cached("DELETE FROM uploads_out WHERE client_id = ?1 RETURNING path")?
            .query_map([&client_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?,
    );
    // A download begun and not finished (stopped, broken off) is no row: its partial file
    // is named by the blob, beside the cache.
    if let Some(blob) = blob.filter(|b| tern_proto::is_blob_id(b)) {
        if let Some(dir) = txn
            .path()
            .map(std::path::Path::new)
            .and_then(|p| p.parent())
        {
            let partial = dir.join("downloads").join(format!("{blob}.part"));
            paths.push(partial.display().to_string());
        }
    }
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Take a text message's folded state from the relay (a history page can be newer than what
/// the cache folded). Returns whether anything changed.
pub fn refresh(txn: &Transaction<'_>, m: &MessageRecord) -> Result<bool> {
    // Deleted for everyone, learnt from the folded copy before (or instead of) the delete
    // entry: its files go as the entry would have taken them.
    if m.deleted {
        let newer_delete: Option<bool> = txn
            .prepare_cached(
                "SELECT deleted FROM messages
                 WHERE conversation_id = ?1 AND seq = ?2 AND kind = 'text' AND state_seq < ?3",
            )?
            .query_row(params![m.conversation_id, m.seq, m.state_seq], |r| r.get(0))
            .optional()?;
        if newer_delete == Some(false) {
            forget_files(txn, m.conversation_id, m.seq)?;
        }
    }
    let updated = txn
        .prepare_cached(
            "UPDATE messages SET body = ?3, edited_at = ?4, deleted = ?5, state_seq = ?6,
                    attachment = CASE WHEN ?5 THEN NULL ELSE attachment END,
                    written_at = CASE WHEN ?5 THEN NULL ELSE written_at END
             WHERE conversation_id = ?1 AND seq = ?2 AND kind = 'text' AND state_seq < ?6",
        )?
        .execute(params![
            m.conversation_id,
            m.seq,
            m.body,
            m.edited_at,
            m.deleted,
            m.state_seq
        ])?;
    if updated == 0 {
        return Ok(false);
    }
    store_reactions(txn, m)?;
    Ok(true)
}

/// Replace a text message's reactions with the record's.
pub fn store_reactions(txn: &Transaction<'_>, m: &MessageRecord) -> Result<()> {
    let (conv, seq) = (m.conversation_id, m.seq);
    txn.prepare_cached("DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2")?
        .execute(params![conv, seq])?;
    let mut insert = txn.prepare_cached(
        "INSERT OR IGNORE INTO reactions (conversation_id, seq, user_id, emoji) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for r in &m.reactions {
        insert.execute(params![conv, seq, r.user_id, r.emoji])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{messages, schema, transfers};
    use tern_proto::{Attachment, ClientId, ConversationId, MessageId, MessageRecord, Seq, UserId};

    /// A message deleted for everyone that the cache first learns of from its folded copy (a
    /// sync or history page read before the delete entry came) loses its downloaded file and
    /// its written time, as the delete entry would have taken them.
    #[test]
    fn a_deletion_learnt_from_a_folded_copy_removes_the_downloaded_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = rusqlite::Connection::open(dir.path().join("cache.db")).unwrap();
        schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        let blob = "0123456789abcdef0123456789abcdef";
        let text = MessageRecord {
            conversation_id: ConversationId(7),
            seq: Seq(1),
            message_id: MessageId(1),
            sender_id: UserId(2),
            sender: "ann".into(),
            client_id: ClientId::from("a1"),
            body: "the plan".into(),
            sent_at: 1_800_000_000_000,
            written_at: Some(1_799_999_000_000),
            attachment: Some(Attachment {
                blob_id: blob.into(),
                name: "plan.pdf".into(),
                content_type: "application/pdf".into(),
                size: 4,
                sha256: "00".repeat(32),
                ..Attachment::default()
            }),
            ..MessageRecord::default()
        };
        messages::store(&txn, UserId(1), std::slice::from_ref(&text)).unwrap();
        let file = dir
            .path()
            .join("downloads")
            .join(format!("{blob}-plan.pdf"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"plan").unwrap();
        transfers::downloaded(&txn, blob, &file.display().to_string(), 4, 1 << 30).unwrap();
        assert_eq!(
            messages::written_at(&txn, ConversationId(7), Seq(1)).unwrap(),
            Some(1_799_999_000_000)
        );

        let folded = MessageRecord {
            body: String::new(),
            deleted: true,
            state_seq: Seq(2),
            attachment: None,
            written_at: None,
            ..text
        };
        messages::store(&txn, UserId(1), &[folded]).unwrap();
        assert!(!file.exists(), "the downloaded copy is gone");
        assert_eq!(
            messages::written_at(&txn, ConversationId(7), Seq(1)).unwrap(),
            None
        );
    }
}
