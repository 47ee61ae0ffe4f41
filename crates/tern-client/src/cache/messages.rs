//! Messages in the cache: storing what the relay sent (deduplicated by conversation and
//! sequence), pages for the chat view with computed ticks, and full-text search.

use rusqlite::{params, Transaction};
use tern_proto::{ConversationId, MessageRecord, Seq, UserId};

use super::conversations;
use crate::error::Result;
use crate::events::{ChatMessage, MessageStatus};

/// Store messages from the relay. Returns those that were new. A message of the user's that is
/// still in the outbox (its ack was lost) leaves the outbox here, so it is never shown twice.
pub fn store(
    txn: &Transaction<'_>,
    me: UserId,
    records: &[MessageRecord],
) -> Result<Vec<MessageRecord>> {
    let mut fresh = Vec::new();
    for m in records {
        conversations::ensure(txn, m.conversation_id)?;
        let inserted = txn
            .prepare_cached(
                "INSERT OR IGNORE INTO messages (conversation_id, seq, message_id, sender_id, sender, client_id, body, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![m.conversation_id, m.seq as i64, m.message_id, m.sender_id, m.sender, m.client_id, m.body, m.sent_at])?;
        if inserted == 0 {
            continue;
        }
        if m.sender_id == me {
            txn.prepare_cached("DELETE FROM outbox WHERE client_id = ?1")?
                .execute([&m.client_id])?;
        }
        txn.prepare_cached(
            "UPDATE conversations SET last_seq = max(last_seq, ?2), last_activity = max(last_activity, ?3) WHERE id = ?1",
        )?
        .execute(params![m.conversation_id, m.seq as i64, m.sent_at])?;
        fresh.push(m.clone());
    }
    // Advance each touched conversation's gap-free cursor.
    let mut touched: Vec<ConversationId> = records.iter().map(|m| m.conversation_id).collect();
    touched.sort_unstable();
    touched.dedup();
    for conv in touched {
        advance_cursor(txn, conv)?;
    }
    Ok(fresh)
}

fn advance_cursor(txn: &Transaction<'_>, conv: ConversationId) -> Result<()> {
    let mut cursor: i64 = txn
        .prepare_cached("SELECT synced_seq FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get(0))?;
    let mut next = txn.prepare_cached(
        "SELECT seq FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 512",
    )?;
    loop {
        let seqs: Vec<i64> = next
            .query_map(params![conv, cursor], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let before = cursor;
        for s in &seqs {
            if *s == cursor + 1 {
                cursor = *s;
            } else {
                break;
            }
        }
        if cursor == before || seqs.len() < 512 {
            break;
        }
    }
    txn.prepare_cached("UPDATE conversations SET synced_seq = ?2 WHERE id = ?1")?
        .execute(params![conv, cursor])?;
    Ok(())
}

/// The gap-free cursor of a conversation.
pub fn synced_seq(txn: &Transaction<'_>, conv: ConversationId) -> Result<Seq> {
    Ok(txn
        .prepare_cached("SELECT synced_seq FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get::<_, i64>(0))? as Seq)
}

/// Tick state of the user's message at `seq`, from the other members' markers.
fn status_for(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    seq: Seq,
) -> Result<MessageStatus> {
    let (delivered, read, others): (Option<i64>, Option<i64>, i64) = txn
        .prepare_cached(
            "SELECT min(delivered_seq), min(read_seq), count(*) FROM members WHERE conversation_id = ?1 AND user_id != ?2",
        )?
        .query_row(params![conv, me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let seq = seq as i64;
    Ok(if others == 0 {
        MessageStatus::Sent
    } else if read.unwrap_or(0) >= seq {
        MessageStatus::Read
    } else if delivered.unwrap_or(0) >= seq {
        MessageStatus::Delivered
    } else {
        MessageStatus::Sent
    })
}

/// A stored message as the chat shows it.
pub fn to_chat(txn: &Transaction<'_>, me: UserId, m: &MessageRecord) -> Result<ChatMessage> {
    let mine = m.sender_id == me;
    Ok(ChatMessage {
        conversation_id: m.conversation_id,
        seq: Some(m.seq),
        client_id: m.client_id.clone(),
        sender_id: m.sender_id,
        sender: m.sender.clone(),
        body: m.body.clone(),
        sent_at: m.sent_at,
        mine,
        status: if mine {
            status_for(txn, me, m.conversation_id, m.seq)?
        } else {
            MessageStatus::Received
        },
    })
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        conversation_id: r.get(0)?,
        seq: r.get::<_, i64>(1)? as Seq,
        message_id: r.get(2)?,
        sender_id: r.get(3)?,
        sender: r.get(4)?,
        client_id: r.get(5)?,
        body: r.get(6)?,
        sent_at: r.get(7)?,
    })
}

/// Stored messages of a conversation with `after < seq`, ascending (for cache comparisons).
pub fn all(txn: &Transaction<'_>, conv: ConversationId) -> Result<Vec<MessageRecord>> {
    Ok(txn
        .prepare_cached(
            "SELECT conversation_id, seq, message_id, sender_id, sender, client_id, body, sent_at FROM messages
             WHERE conversation_id = ?1 ORDER BY seq",
        )?
        .query_map([conv], row_to_record)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` newest messages before `before` (or the newest), ascending; when `before` is
/// `None` the outbox's queued and failed messages follow, in the order written.
pub fn page(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    before: Option<Seq>,
    limit: usize,
) -> Result<Vec<ChatMessage>> {
    let mut out = Vec::new();
    if before.is_none() {
        out = super::outbox::for_conversation(txn, me, conv)?;
        out.truncate(limit);
    }
    let room = limit.saturating_sub(out.len());
    let mut stored: Vec<MessageRecord> = txn
        .prepare_cached(
            "SELECT conversation_id, seq, message_id, sender_id, sender, client_id, body, sent_at FROM messages
             WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )?
        .query_map(params![conv, before.map(|b| b as i64).unwrap_or(i64::MAX), room as i64], row_to_record)?
        .collect::<rusqlite::Result<_>>()?;
    stored.reverse();
    let mut chat = stored
        .iter()
        .map(|m| to_chat(txn, me, m))
        .collect::<Result<Vec<_>>>()?;
    chat.extend(out);
    Ok(chat)
}

/// Full-text search over every cached message, newest first.
pub fn search(
    txn: &Transaction<'_>,
    me: UserId,
    query: &str,
    limit: usize,
) -> Result<Vec<ChatMessage>> {
    // Quote each word so user input is never parsed as FTS5 syntax; match word prefixes.
    let fts: String = query
        .split_whitespace()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ");
    if fts.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<MessageRecord> = txn
        .prepare_cached(
            "SELECT m.conversation_id, m.seq, m.message_id, m.sender_id, m.sender, m.client_id, m.body, m.sent_at
             FROM messages_fts f JOIN messages m ON m.id = f.rowid
             WHERE messages_fts MATCH ?1 ORDER BY m.sent_at DESC, m.id DESC LIMIT ?2",
        )?
        .query_map(params![fts, limit as i64], row_to_record)?
        .collect::<rusqlite::Result<_>>()?;
    rows.iter().map(|m| to_chat(txn, me, m)).collect()
}
