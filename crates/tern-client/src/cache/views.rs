//! What the UI shows, composed from the tables: the conversation list (each conversation with
//! its last message and unread count) and a page of one chat (stored messages followed by the
//! outbox's unsent ones). The table modules below it never import it, so they stay acyclic.

use rusqlite::{params, Transaction};
use tern_proto::{ConversationId, ConversationKind, MessageRecord, Seq, UserId};

use super::conversations::{info, presence_map};
use super::messages::{row_to_record, to_chats};
use super::outbox;
use crate::error::Result;
use crate::events::{ChatMessage, ConversationView};

/// Every active conversation, most recent activity first, with preview and unread count.
pub fn list(txn: &Transaction<'_>, me: UserId) -> Result<Vec<ConversationView>> {
    let ids: Vec<ConversationId> = txn
        .prepare_cached(
            "SELECT id FROM conversations WHERE active = 1 ORDER BY last_activity DESC, id DESC",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let online = presence_map(txn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(info) = info(txn, id)? else { continue };
        let my_read = info
            .members
            .iter()
            .find(|m| m.user_id == me)
            .map(|m| m.read_seq)
            .unwrap_or(0);
        let unread: i64 = txn
            .prepare_cached("SELECT count(*) FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND sender_id != ?3")?
            .query_row(params![id, my_read as i64, me], |r| r.get(0))?;
        let other = (info.kind == ConversationKind::Direct)
            .then(|| info.members.iter().find(|m| m.user_id != me))
            .flatten();
        let title = match (&info.name, other) {
            (Some(name), _) => name.clone(),
            (None, Some(o)) => o.username.clone(),
            (None, None) => format!("conversation {id}"),
        };
        let last_message = page(txn, me, id, None, 1)?.pop();
        out.push(ConversationView {
            online: other.map(|o| online.get(&o.user_id).map(|p| p.online).unwrap_or(false)),
            title,
            last_message,
            unread: unread as u64,
            info,
        });
    }
    Ok(out)
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
        out = outbox::for_conversation(txn, me, conv)?;
        // The newest `limit` items overall: unsent messages come last, so keep the latest.
        out.drain(..out.len().saturating_sub(limit));
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
    let mut chat = to_chats(txn, me, &stored)?;
    chat.extend(out);
    Ok(chat)
}
