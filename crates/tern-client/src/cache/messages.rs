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

/// The other members' lowest receipt markers in one conversation: what the user's ticks show.
#[derive(Debug, Clone, Copy)]
struct ReceiptFloor {
    delivered: i64,
    read: i64,
    others: i64,
}

impl ReceiptFloor {
    fn of(txn: &Transaction<'_>, me: UserId, conv: ConversationId) -> Result<Self> {
        let (delivered, read, others): (Option<i64>, Option<i64>, i64) = txn
            .prepare_cached(
                "SELECT min(delivered_seq), min(read_seq), count(*) FROM members WHERE conversation_id = ?1 AND user_id != ?2",
            )?
            .query_row(params![conv, me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(ReceiptFloor {
            delivered: delivered.unwrap_or(0),
            read: read.unwrap_or(0),
            others,
        })
    }

    /// Ticks of the user's message at `seq`.
    fn status(self, seq: Seq) -> MessageStatus {
        let seq = seq as i64;
        if self.others > 0 && self.read >= seq {
            MessageStatus::Read
        } else if self.others > 0 && self.delivered >= seq {
            MessageStatus::Delivered
        } else {
            MessageStatus::Sent
        }
    }
}

fn chat_with(m: &MessageRecord, me: UserId, floor: Option<ReceiptFloor>) -> ChatMessage {
    ChatMessage {
        conversation_id: m.conversation_id,
        seq: Some(m.seq),
        client_id: m.client_id.clone(),
        sender_id: m.sender_id,
        sender: m.sender.clone(),
        body: m.body.clone(),
        sent_at: m.sent_at,
        mine: m.sender_id == me,
        status: match floor {
            Some(f) if m.sender_id == me => f.status(m.seq),
            _ => MessageStatus::Received,
        },
    }
}

/// A stored message as the chat shows it.
pub fn to_chat(txn: &Transaction<'_>, me: UserId, m: &MessageRecord) -> Result<ChatMessage> {
    let floor = if m.sender_id == me {
        Some(ReceiptFloor::of(txn, me, m.conversation_id)?)
    } else {
        None
    };
    Ok(chat_with(m, me, floor))
}

/// Stored messages as the chat shows them, reading each conversation's receipt markers once.
pub fn to_chats(
    txn: &Transaction<'_>,
    me: UserId,
    records: &[MessageRecord],
) -> Result<Vec<ChatMessage>> {
    use std::collections::hash_map::{Entry, HashMap};
    let mut floors: HashMap<ConversationId, ReceiptFloor> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for m in records {
        let floor = if m.sender_id != me {
            None
        } else {
            Some(match floors.entry(m.conversation_id) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => *e.insert(ReceiptFloor::of(txn, me, m.conversation_id)?),
            })
        };
        out.push(chat_with(m, me, floor));
    }
    Ok(out)
}

pub(super) fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
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
    to_chats(txn, me, &rows)
}

/// The relay stored it: move it from the outbox to the messages. Returns the chat view.
pub fn acked(txn: &Transaction<'_>, me: UserId, record: &MessageRecord) -> Result<ChatMessage> {
    // Storing the user's own message removes its outbox entry.
    store(txn, me, std::slice::from_ref(record))?;
    to_chat(txn, me, record)
}
