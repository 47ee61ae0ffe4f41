//! The outbox: messages written here and not yet acknowledged by the relay.
//!
//! A message is inserted before anything is sent, so it survives a crash or a closed app; it
//! leaves the outbox only when the relay's ack (or the message itself, arriving by sync) proves
//! it is stored. A permanent refusal marks it failed with the reason; the user may retry it
//! (back to queued, same client id, so a late success is still deduplicated) or delete it.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, OptionalExtension, ToSql, Transaction};
use tern_proto::{Attachment, ConversationId, MessageKind, Seq, Timestamp, UserId};

use crate::error::{Error, Result};
use crate::events::{ChatMessage, MessageStatus, Quote};

/// Where an outbox entry stands; stored as `'queued'` / `'failed'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent (or resent).
    Queued,
    /// Refused for good; waits for the user to retry or delete it.
    Failed,
}

impl ToSql for OutboxState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(match self {
            OutboxState::Queued => "queued",
            OutboxState::Failed => "failed",
        }))
    }
}

impl FromSql for OutboxState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "queued" => Ok(OutboxState::Queued),
            "failed" => Ok(OutboxState::Failed),
            other => Err(FromSqlError::Other(
                format!("unknown outbox state {other:?}").into(),
            )),
        }
    }
}

/// One outbox entry: a message, or an event about one (edit, delete, reaction), which goes
/// out the same way and is deduplicated the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxItem {
    /// The client id (sent to the relay; dedup key).
    pub client_id: String,
    /// Target conversation.
    pub conversation_id: ConversationId,
    /// Text, emoji or empty, by kind.
    pub body: String,
    /// When written.
    pub created_at: Timestamp,
    /// What it is.
    pub kind: MessageKind,
    /// For events: the message changed.
    pub target_seq: Option<Seq>,
    /// For text: the message replied to.
    pub reply_to: Option<Seq>,
    /// For text: an attached file (its `blob_id` is empty until the upload completes).
    pub attachment: Option<Attachment>,
}

const ITEM_COLUMNS: &str =
    "client_id, conversation_id, body, created_at, kind, target_seq, reply_to, attachment";

fn row_to_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        client_id: r.get(0)?,
        conversation_id: r.get(1)?,
        body: r.get(2)?,
        created_at: r.get(3)?,
        kind: super::enum_column(r, 4)?,
        target_seq: r.get::<_, Option<Seq>>(5)?,
        reply_to: r.get::<_, Option<Seq>>(6)?,
        attachment: r
            .get::<_, Option<String>>(7)?
            .and_then(|j| serde_json::from_str(&j).ok()),
    })
}

/// Queue a message or event.
pub fn enqueue(txn: &Transaction<'_>, item: &OutboxItem) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO outbox (client_id, conversation_id, body, created_at, state, kind, target_seq, reply_to, attachment)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        item.client_id,
        item.conversation_id,
        item.body,
        item.created_at,
        item.kind.as_str(),
        item.target_seq,
        item.reply_to,
        item.attachment
            .as_ref()
            .map(|a| serde_json::to_string(a).expect("serializable")),
    ])?;
    Ok(())
}

/// Queued (not failed) entries ready to go, in the order they were written: a message whose
/// file is still uploading waits (and so does everything written after it in its conversation,
/// so messages keep the order they were written in).
pub fn queued(txn: &Transaction<'_>) -> Result<Vec<OutboxItem>> {
    queued_first(txn, usize::MAX)
}

/// The first `limit` of [`queued`]. The sender reads only what it can have in flight: reading
/// the whole outbox on every acknowledgement made draining thousands of messages quadratic.
pub fn queued_first(txn: &Transaction<'_>, limit: usize) -> Result<Vec<OutboxItem>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox o WHERE state = 'queued'
             AND NOT EXISTS (SELECT 1 FROM outbox w JOIN uploads_out u ON u.client_id = w.client_id
                             WHERE u.done = 0 AND w.state = 'queued'
                               AND w.conversation_id = o.conversation_id AND w.local_id <= o.local_id)
             ORDER BY local_id LIMIT ?1"
        ))?
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], row_to_item)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Queued events (not text) of one conversation in the order written: what the chat shows
/// on top of the stored messages until the relay has them.
pub fn pending_events(txn: &Transaction<'_>, conv: ConversationId) -> Result<Vec<OutboxItem>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE conversation_id = ?1 AND kind != 'text' AND state = 'queued' ORDER BY local_id"
        ))?
        .query_map([conv], row_to_item)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Mark an entry failed.
pub fn fail(
    txn: &Transaction<'_>,
    client_id: &str,
    reason: &str,
) -> Result<Option<ConversationId>> {
    txn.prepare_cached("UPDATE outbox SET state = 'failed', error = ?2 WHERE client_id = ?1")?
        .execute(params![client_id, reason])?;
    conversation_of(txn, client_id)
}

/// Put a failed entry back in the queue.
pub fn retry(txn: &Transaction<'_>, client_id: &str) -> Result<ConversationId> {
    let n = txn
        .prepare_cached("UPDATE outbox SET state = 'queued', error = NULL WHERE client_id = ?1 AND state = 'failed'")?
        .execute([client_id])?;
    if n == 0 {
        return Err(Error::Invalid("no failed message with that id".into()));
    }
    conversation_of(txn, client_id)?.ok_or_else(|| Error::Invalid("no such message".into()))
}

/// What went with a deleted unsent entry.
#[derive(Debug)]
pub struct Unsent {
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The staged copy of its file, to remove.
    pub staged: Option<String>,
    /// The relay's upload of its file, to give up.
    pub upload_id: Option<String>,
}

/// Delete an entry the relay does not have and is not being sent: a failed one, or a message
/// whose file is still uploading (the user cancelled it). Queued entries may be on their way
/// to the relay and are not deleted; a database error is reported as such.
pub fn delete_unsent(txn: &Transaction<'_>, client_id: &str) -> Result<Unsent> {
    let staged: Option<(String, bool, Option<String>)> = txn
        .prepare_cached("SELECT path, done, upload_id FROM uploads_out WHERE client_id = ?1")?
        .query_row([client_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let uploading = staged.as_ref().is_some_and(|(_, done, _)| !done);
    let conv: Option<ConversationId> = txn
        .prepare_cached(
            "DELETE FROM outbox WHERE client_id = ?1 AND (state = ?2 OR ?3) RETURNING conversation_id",
        )?
        .query_row(params![client_id, OutboxState::Failed, uploading], |r| r.get(0))
        .optional()?;
    let conv = conv.ok_or_else(|| {
        Error::Invalid("only failed messages or files still uploading can be deleted".into())
    })?;
    txn.prepare_cached("DELETE FROM uploads_out WHERE client_id = ?1")?
        .execute([client_id])?;
    let (staged, upload_id) = match staged {
        Some((path, _, upload)) => (Some(path), upload),
        None => (None, None),
    };
    Ok(Unsent {
        conversation_id: conv,
        staged,
        upload_id,
    })
}

/// Delete a failed entry (see [`delete_unsent`]); its conversation.
pub fn delete_failed(txn: &Transaction<'_>, client_id: &str) -> Result<ConversationId> {
    delete_unsent(txn, client_id).map(|u| u.conversation_id)
}

/// An entry, if it is still in the outbox.
pub fn entry(txn: &Transaction<'_>, client_id: &str) -> Result<Option<OutboxItem>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE client_id = ?1"
        ))?
        .query_row([client_id], row_to_item)
        .optional()?)
}

/// Delete an entry that has not been stored by the relay.
pub fn delete(txn: &Transaction<'_>, client_id: &str) -> Result<ConversationId> {
    let conv = conversation_of(txn, client_id)?
        .ok_or_else(|| Error::Invalid("no unsent message with that id".into()))?;
    txn.prepare_cached("DELETE FROM outbox WHERE client_id = ?1")?
        .execute([client_id])?;
    Ok(conv)
}

fn conversation_of(txn: &Transaction<'_>, client_id: &str) -> Result<Option<ConversationId>> {
    Ok(txn
        .prepare_cached("SELECT conversation_id FROM outbox WHERE client_id = ?1")?
        .query_row([client_id], |r| r.get(0))
        .optional()?)
}

/// Outbox entries of one conversation as chat messages (queued or failed).
pub fn for_conversation(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
) -> Result<Vec<ChatMessage>> {
    let username = super::meta_get(txn, "username")?.unwrap_or_default();
    Ok(txn
        .prepare_cached("SELECT client_id, body, created_at, state, error, reply_to, attachment FROM outbox WHERE conversation_id = ?1 AND kind = 'text' ORDER BY local_id")?
        .query_map([conv], |r| {
            let failed = r.get::<_, OutboxState>(3)? == OutboxState::Failed;
            Ok(ChatMessage {
                conversation_id: conv,
                seq: None,
                client_id: r.get(0)?,
                sender_id: me,
                sender: username.clone(),
                body: r.get(1)?,
                sent_at: r.get(2)?,
                written_at: None,
                mine: true,
                status: if failed {
                    MessageStatus::Failed { reason: r.get::<_, Option<String>>(4)?.unwrap_or_default() }
                } else {
                    MessageStatus::Queued
                },
                reply_to: r.get::<_, Option<Seq>>(5)?.map(Quote::pending),
                attachment: r
                    .get::<_, Option<String>>(6)?
                    .and_then(|j| serde_json::from_str(&j).ok()),
                ..ChatMessage::default()
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn item(client_id: &str) -> OutboxItem {
        OutboxItem {
            client_id: client_id.into(),
            conversation_id: ConversationId(7),
            body: "hello".into(),
            created_at: 1,
            ..OutboxItem::default()
        }
    }

    #[test]
    fn only_failed_entries_can_be_deleted_and_their_state_round_trips() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        enqueue(&txn, &item("a")).unwrap();
        assert!(matches!(delete_failed(&txn, "a"), Err(Error::Invalid(_))));
        fail(&txn, "a", "refused").unwrap();
        assert_eq!(delete_failed(&txn, "a").unwrap(), ConversationId(7));
        assert_eq!(entry(&txn, "a").unwrap(), None);
    }

    #[test]
    fn a_file_still_uploading_can_be_cancelled_but_a_queued_text_cannot() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        enqueue(&txn, &item("text")).unwrap();
        enqueue(&txn, &item("file")).unwrap();
        txn.execute(
            "INSERT INTO uploads_out (client_id, path, upload_id) VALUES ('file', '/tmp/staged', 'u1')",
            [],
        )
        .unwrap();
        assert!(matches!(
            delete_unsent(&txn, "text"),
            Err(Error::Invalid(_))
        ));
        let gone = delete_unsent(&txn, "file").unwrap();
        assert_eq!(
            (gone.conversation_id, gone.staged, gone.upload_id),
            (
                ConversationId(7),
                Some("/tmp/staged".to_owned()),
                Some("u1".to_owned())
            )
        );
        assert_eq!(entry(&txn, "file").unwrap(), None);
        // Once uploaded it is on its way as a message: no longer cancellable.
        enqueue(&txn, &item("sent")).unwrap();
        txn.execute(
            "INSERT INTO uploads_out (client_id, path, done) VALUES ('sent', '/tmp/s', 1)",
            [],
        )
        .unwrap();
        assert!(delete_unsent(&txn, "sent").is_err());
    }

    #[test]
    fn a_failed_file_does_not_hold_up_the_messages_after_it() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        enqueue(&txn, &item("file")).unwrap();
        txn.execute(
            "INSERT INTO uploads_out (client_id, path) VALUES ('file', '/tmp/f')",
            [],
        )
        .unwrap();
        enqueue(&txn, &item("after")).unwrap();
        assert!(
            queued(&txn).unwrap().is_empty(),
            "waits behind the uploading file"
        );
        fail(&txn, "file", "too large").unwrap();
        let ready: Vec<String> = queued(&txn)
            .unwrap()
            .into_iter()
            .map(|i| i.client_id)
            .collect();
        assert_eq!(ready, ["after"]);
    }

    #[test]
    fn a_database_failure_is_reported_as_one_not_as_a_wrong_state() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        txn.execute_batch("DROP TABLE outbox").unwrap();
        assert!(matches!(delete_failed(&txn, "a"), Err(Error::Cache(_))));
    }
}
