//! Queries on `messages`: storing with per-conversation sequence numbers and client-id
//! deduplication, history pages, and sync ranges.

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{ConversationId, MessageRecord, Seq, Timestamp, UserId};

use crate::error::Result;

const COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id, u.username, m.client_id, m.body, m.sent_at";

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        message_id: r.get(0)?,
        conversation_id: r.get(1)?,
        seq: r.get::<_, i64>(2)? as Seq,
        sender_id: r.get(3)?,
        sender: r.get(4)?,
        client_id: r.get(5)?,
        body: r.get(6)?,
        sent_at: r.get(7)?,
    })
}

/// A message this sender already stored under `client_id`, if any.
pub fn find_by_client_id(
    txn: &Transaction<'_>,
    sender: UserId,
    client_id: &str,
) -> Result<Option<MessageRecord>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.sender_id = ?1 AND m.client_id = ?2"
        ))?
        .query_row(params![sender, client_id], row_to_record)
        .optional()?)
}

/// Store a new message at the next sequence number, unless this sender already stored one
/// with `client_id` (then nothing changes and `None` is returned). One index lookup serves
/// both the duplicate check and the insert.
pub fn insert_new(
    txn: &Transaction<'_>,
    conv: ConversationId,
    sender: UserId,
    sender_name: &str,
    client_id: &str,
    body: &str,
    now: Timestamp,
) -> Result<Option<MessageRecord>> {
    let seq: i64 = txn
        .prepare_cached("UPDATE conversations SET last_seq = last_seq + 1, last_activity = ?2 WHERE id = ?1 RETURNING last_seq")?
        .query_row(params![conv, now], |r| r.get(0))?;
    let inserted = txn
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (sender_id, client_id) DO NOTHING",
        )?
        .execute(params![conv, seq, sender, client_id, body, now])?;
    if inserted == 0 {
        txn.prepare_cached("UPDATE conversations SET last_seq = last_seq - 1 WHERE id = ?1")?
            .execute([conv])?;
        return Ok(None);
    }
    Ok(Some(MessageRecord {
        message_id: txn.last_insert_rowid(),
        conversation_id: conv,
        seq: seq as Seq,
        sender_id: sender,
        sender: sender_name.to_owned(),
        client_id: client_id.to_owned(),
        body: body.to_owned(),
        sent_at: now,
    }))
}

/// The message at one sequence number.
pub fn by_seq(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<MessageRecord>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.conversation_id = ?1 AND m.seq = ?2"
        ))?
        .query_row(params![conv, seq as i64], row_to_record)
        .optional()?)
}

/// Up to `limit` messages with `after < seq <= upto`, ascending.
pub fn range(
    txn: &Transaction<'_>,
    conv: ConversationId,
    after: Seq,
    upto: Seq,
    limit: usize,
) -> Result<Vec<MessageRecord>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = ?1 AND m.seq > ?2 AND m.seq <= ?3 ORDER BY m.seq LIMIT ?4"
        ))?
        .query_map(
            params![conv, after as i64, upto as i64, limit as i64],
            row_to_record,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Message text per history page or sync chunk beyond which the page ends early (the
/// client asks again from where it stopped).
pub const MAX_PAGE_BYTES: usize = 256 * 1024;

/// Up to `limit` messages before `before`, ascending, and whether older ones exist; at most
/// about [`MAX_PAGE_BYTES`] of text.
pub fn page_before(
    txn: &Transaction<'_>,
    conv: ConversationId,
    before: Seq,
    limit: usize,
) -> Result<(Vec<MessageRecord>, bool)> {
    let mut rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
        ))?
        .query_map(
            params![conv, before as i64, limit as i64 + 1],
            row_to_record,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut has_more = rows.len() > limit;
    rows.truncate(limit);
    // Bounded in bytes too, so one reply cannot be 200 messages of the largest size.
    let mut bytes = 0;
    if let Some(cut) = rows.iter().position(|m| {
        bytes += m.body.len();
        bytes > MAX_PAGE_BYTES
    }) {
        rows.truncate(cut.max(1));
        has_more = true;
    }
    rows.reverse();
    Ok((rows, has_more))
}
