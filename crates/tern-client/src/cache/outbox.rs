//! The outbox: messages written here and not yet acknowledged by the relay.
//!
//! A message is inserted before anything is sent, so it survives a crash or a closed app; it
//! leaves the outbox only when the relay's ack (or the message itself, arriving by sync) proves
//! it is stored. A permanent refusal marks it failed with the reason; the user may retry it
//! (back to queued, same client id, so a late success is still deduplicated) or delete it.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, OptionalExtension, ToSql, Transaction};
use tern_proto::{ConversationId, Timestamp, UserId};

use crate::error::{Error, Result};
use crate::events::{ChatMessage, MessageStatus};

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

/// One outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The client id (sent to the relay; dedup key).
    pub client_id: String,
    /// Target conversation.
    pub conversation_id: ConversationId,
    /// Text.
    pub body: String,
    /// When written.
    pub created_at: Timestamp,
}

/// Queue a message.
pub fn enqueue(txn: &Transaction<'_>, item: &OutboxItem) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO outbox (client_id, conversation_id, body, created_at, state) VALUES (?1, ?2, ?3, ?4, 'queued')",
    )?
    .execute(params![item.client_id, item.conversation_id, item.body, item.created_at])?;
    Ok(())
}

/// Queued (not failed) entries in the order they were written.
pub fn queued(txn: &Transaction<'_>) -> Result<Vec<OutboxItem>> {
    Ok(txn
        .prepare_cached("SELECT client_id, conversation_id, body, created_at FROM outbox WHERE state = 'queued' ORDER BY local_id")?
        .query_map([], |r| Ok(OutboxItem { client_id: r.get(0)?, conversation_id: r.get(1)?, body: r.get(2)?, created_at: r.get(3)? }))?
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

/// Delete a failed entry (the user gave up on it). Queued entries may be on their way to the
/// relay and are not deleted; a database error is reported as such.
pub fn delete_failed(txn: &Transaction<'_>, client_id: &str) -> Result<ConversationId> {
    txn.prepare_cached(
        "DELETE FROM outbox WHERE client_id = ?1 AND state = ?2 RETURNING conversation_id",
    )?
    .query_row(params![client_id, OutboxState::Failed], |r| r.get(0))
    .optional()?
    .ok_or_else(|| Error::Invalid("only failed messages can be deleted".into()))
}

/// The text of an entry, if it is still in the outbox.
pub fn body(txn: &Transaction<'_>, client_id: &str) -> Result<Option<String>> {
    Ok(txn
        .prepare_cached("SELECT body FROM outbox WHERE client_id = ?1")?
        .query_row([client_id], |r| r.get(0))
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
        .prepare_cached("SELECT client_id, body, created_at, state, error FROM outbox WHERE conversation_id = ?1 ORDER BY local_id")?
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
                mine: true,
                status: if failed {
                    MessageStatus::Failed { reason: r.get::<_, Option<String>>(4)?.unwrap_or_default() }
                } else {
                    MessageStatus::Queued
                },
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
            conversation_id: 7,
            body: "hello".into(),
            created_at: 1,
        }
    }

    #[test]
    fn only_failed_entries_can_be_deleted_and_their_state_round_trips() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        enqueue(&txn, &item("a")).unwrap();
        assert!(matches!(delete_failed(&txn, "a"), Err(Error::Invalid(_))));
        fail(&txn, "a", "refused").unwrap();
        assert_eq!(delete_failed(&txn, "a").unwrap(), 7);
        assert_eq!(body(&txn, "a").unwrap(), None);
    }

    #[test]
    fn a_database_failure_is_reported_as_one_not_as_a_wrong_state() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        txn.execute_batch("DROP TABLE outbox").unwrap();
        assert!(matches!(delete_failed(&txn, "a"), Err(Error::Cache(_))));
    }
}
