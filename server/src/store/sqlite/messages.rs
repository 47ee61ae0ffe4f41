//! Queries on `messages`: storing with per-conversation sequence numbers and client-id
//! deduplication, history pages, and sync ranges.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tern_proto::{
    ClientId, ConversationId, MessageId, MessageKind, MessageRecord, Reaction, Seq, Timestamp,
    UserId,
};

use super::enum_column;
use crate::error::Result;
use crate::store::tx::{cut_to_page, sender_name, NewEntry, Target};

/// The sender's name is NULL for a deleted account: [`sender_name`] names it.
const COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id,
     CASE WHEN u.deleted_at IS NULL THEN u.username END, m.client_id, m.body, m.sent_at,
     m.kind, m.target_seq, m.reply_to, m.edited_at, m.deleted, m.state_seq, m.attachment, m.withheld_from, m.written_at";

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        message_id: r.get(0)?,
        conversation_id: r.get(1)?,
        seq: r.get::<_, Seq>(2)?,
        sender_id: r.get(3)?,
        sender: sender_name(r.get::<_, Option<String>>(4)?),
        client_id: r.get(5)?,
        body: r.get(6)?,
        sent_at: r.get(7)?,
        kind: enum_column(r, 8)?,
        target_seq: r.get::<_, Option<Seq>>(9)?,
        reply_to: r.get::<_, Option<Seq>>(10)?,
        edited_at: r.get(11)?,
        deleted: r.get(12)?,
        reactions: Vec::new(),
        state_seq: r.get::<_, Seq>(13)?,
        attachment: r
            .get::<_, Option<String>>(14)?
            .and_then(|j| serde_json::from_str(&j).ok()),
        withheld_from: r.get(15)?,
        written_at: r.get(16)?,
        withheld: false,
    })
}

/// A message this sender already stored under `client_id`, if any.
pub fn find_by_client_id(
    txn: &Transaction<'_>,
    sender: UserId,
    client_id: &str,
) -> Result<Option<MessageRecord>> {
    let mut found = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.sender_id = ?1 AND m.client_id = ?2"
        ))?
        .query_row(params![sender, client_id], row_to_record)
        .optional()?;
    if let Some(m) = found.as_mut() {
        attach_reactions(txn, std::slice::from_mut(m))?;
    }
    Ok(found)
}

/// Whether `sender` stored an entry with `client_id`.
pub fn client_id_stored(txn: &Transaction<'_>, sender: UserId, client_id: &str) -> Result<bool> {
    Ok(txn
        .prepare_cached("SELECT 1 FROM messages WHERE sender_id = ?1 AND client_id = ?2")?
        .query_row(params![sender, client_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The conversation's last sequence number.
pub fn last_seq(txn: &Transaction<'_>, conv: ConversationId) -> Result<Seq> {
    Ok(txn
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get(0))?)
}

/// Store a new entry at the sequence number after `last` (the conversation's last, which the
/// caller knows) and move the conversation's head to it, unless this sender already stored
/// one with `client_id` (then nothing changes and `None` is returned).
pub fn insert_new(
    txn: &Transaction<'_>,
    e: &NewEntry<'_>,
    last: Seq,
) -> Result<Option<MessageRecord>> {
    let Some(record) = insert_entry(txn, e, last)? else {
        return Ok(None);
    };
    move_head(
        txn,
        e.conv,
        last,
        record.seq,
        e.kind.is_text().then_some(e.now),
    )?;
    Ok(Some(record))
}

/// Insert the entry row at the sequence number after `last`, leaving the conversation's head
/// (`last_seq`, `last_activity`) to [`move_head`]: the relay's writer moves each head once per
/// batch. One index lookup serves both the duplicate check and the insert; a `last` behind
/// the conversation cannot write a second entry at one position (`UNIQUE (conversation_id,
/// seq)` refuses it), and one ahead of it is refused by [`move_head`]'s check.
pub fn insert_entry(
    txn: &Transaction<'_>,
    e: &NewEntry<'_>,
    last: Seq,
) -> Result<Option<MessageRecord>> {
    let seq = last.next();
    let inserted = txn
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind, target_seq, reply_to, attachment, withheld_from, written_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (sender_id, client_id) DO NOTHING",
        )?
        .execute(params![
            e.conv,
            seq,
            e.sender,
            e.client_id,
            e.body,
            e.now,
            e.kind.as_str(),
            e.target_seq,
            e.reply_to,
            e.attachment.map(|a| serde_json::to_string(a).expect("serializable")),
            e.withheld_from,
            e.written_at,
        ])?;
    if inserted == 0 {
        return Ok(None);
    }
    Ok(Some(MessageRecord {
        message_id: MessageId(txn.last_insert_rowid()),
        conversation_id: e.conv,
        seq,
        sender_id: e.sender,
        sender: e.sender_name.to_owned(),
        client_id: ClientId::from(e.client_id),
        body: e.body.to_owned(),
        sent_at: e.now,
        kind: e.kind,
        target_seq: e.target_seq,
        reply_to: e.reply_to,
        attachment: e.attachment.cloned(),
        withheld_from: e.withheld_from,
        written_at: e.written_at,
        ..MessageRecord::default()
    }))
}

/// Move a conversation's head from `from` to `to`, and its last activity to `activity` if
/// given (the time of its newest text). `WHERE last_seq = from` makes a head that is not where
/// the caller believes fail loudly instead of moving the counter back or leaving a gap.
pub fn move_head(
    txn: &Transaction<'_>,
    conv: ConversationId,
    from: Seq,
    to: Seq,
    activity: Option<Timestamp>,
) -> Result<()> {
    let moved = txn
        .prepare_cached(
            "UPDATE conversations SET last_seq = ?2, last_activity = coalesce(?3, last_activity)
             WHERE id = ?1 AND last_seq = ?4",
        )?
        .execute(params![conv, to, activity, from])?;
    if moved != 1 {
        return Err(crate::error::Error::Internal(format!(
            "conversation {conv} is not at seq {from}"
        )));
    }
    Ok(())
}

/// The entry at `seq` of a conversation, as far as a reference to it needs.
pub fn target(txn: &Transaction<'_>, conv: ConversationId, seq: Seq) -> Result<Option<Target>> {
    Ok(txn
        .prepare_cached(
            "SELECT sender_id, kind, deleted, sent_at FROM messages WHERE conversation_id = ?1 AND seq = ?2",
        )?
        .query_row(params![conv, seq.min(Seq::MAX)], |r| {
            Ok(Target {
                sender_id: r.get(0)?,
                kind: enum_column(r, 1)?,
                deleted: r.get(2)?,
                sent_at: r.get(3)?,
            })
        })
        .optional()?)
}

/// How many different reactions `user` has on the message at (`conv`, `seq`).
pub fn reaction_count(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
    user: UserId,
) -> Result<usize> {
    let n: i64 = txn
        .prepare_cached(
            "SELECT count(*) FROM reactions WHERE conversation_id = ?1 AND seq = ?2 AND user_id = ?3",
        )?
        .query_row(params![conv, seq.min(Seq::MAX), user], |r| r.get(0))?;
    Ok(n as usize)
}

/// Fold a just-stored event into the text message it targets: the new text, the erasure of
/// a delete (the body, every edit's body, the reactions and the emoji of every reaction
/// event are gone, not hidden), or the reaction set. The target's `state_seq` becomes the event's `seq`.
pub fn fold(txn: &Transaction<'_>, event: &MessageRecord) -> Result<()> {
    let Some(target) = event.target_seq else {
        return Ok(());
    };
    let (conv, target, seq) = (event.conversation_id, target, event.seq);
    match event.kind {
        // Never stored: the relay refuses a kind it does not know.
        MessageKind::Text | MessageKind::Notice | MessageKind::Unknown => return Ok(()),
        MessageKind::Edit => {
            txn.prepare_cached(
                "UPDATE messages SET body = ?3, edited_at = ?4 WHERE conversation_id = ?1 AND seq = ?2",
            )?
            .execute(params![conv, target, event.body, event.sent_at])?;
        }
        MessageKind::Delete => {
            txn.prepare_cached(
                "UPDATE messages SET body = '', deleted = 1, edited_at = NULL, written_at = NULL, attachment = NULL WHERE conversation_id = ?1 AND seq = ?2",
            )?
            .execute(params![conv, target])?;
            super::uploads::unlink_message(txn, conv, target)?;
            txn.prepare_cached(
                "UPDATE messages SET body = '' WHERE conversation_id = ?1 AND target_seq = ?2 AND kind IN ('edit', 'react', 'unreact')",
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
    Ok(())
}

/// Fill in the reactions of text messages that have any events folded in.
fn attach_reactions(txn: &Connection, records: &mut [MessageRecord]) -> Result<()> {
    let mut query = txn.prepare_cached(
        "SELECT user_id, emoji FROM reactions WHERE conversation_id = ?1 AND seq = ?2 ORDER BY user_id, emoji",
    )?;
    for m in records
        .iter_mut()
        .filter(|m| m.kind.is_text() && m.state_seq > Seq::ZERO && !m.deleted)
    {
        m.reactions = query
            .query_map(params![m.conversation_id, m.seq], |r| {
                Ok(Reaction {
                    user_id: r.get(0)?,
                    emoji: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(())
}

/// The newest text message of a conversation (what a conversation list previews).
pub fn latest_text(txn: &Connection, conv: ConversationId) -> Result<Option<MessageRecord>> {
    let mut found = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = ?1 AND m.kind = 'text' ORDER BY m.seq DESC LIMIT 1"
        ))?
        .query_row([conv], row_to_record)
        .optional()?;
    if let Some(m) = found.as_mut() {
        attach_reactions(txn, std::slice::from_mut(m))?;
    }
    Ok(found)
}

/// The message at one sequence number.
pub fn by_seq(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<MessageRecord>> {
    let mut found = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.conversation_id = ?1 AND m.seq = ?2"
        ))?
        .query_row(params![conv, seq], row_to_record)
        .optional()?;
    if let Some(m) = found.as_mut() {
        attach_reactions(txn, std::slice::from_mut(m))?;
    }
    Ok(found)
}

/// Up to `limit` messages with `after < seq <= upto`, ascending.
pub fn range(
    txn: &Connection,
    conv: ConversationId,
    after: Seq,
    upto: Seq,
    limit: usize,
) -> Result<Vec<MessageRecord>> {
    let mut rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = ?1 AND m.seq > ?2 AND m.seq <= ?3 ORDER BY m.seq LIMIT ?4"
        ))?
        .query_map(params![conv, after, upto, limit as i64], row_to_record)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_reactions(txn, &mut rows)?;
    Ok(rows)
}

/// Up to `limit` messages before `before`, ascending, and whether older ones exist; at most
/// about [`MAX_PAGE_BYTES`](crate::store::MAX_PAGE_BYTES) of text.
pub fn page_before(
    txn: &Connection,
    conv: ConversationId,
    before: Seq,
    limit: usize,
) -> Result<(Vec<MessageRecord>, bool)> {
    let mut rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
        ))?
        .query_map(params![conv, before, limit as i64 + 1], row_to_record)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut has_more = rows.len() > limit;
    rows.truncate(limit);
    attach_reactions(txn, &mut rows)?;
    // Bounded in bytes (text and reactions) too, so one reply cannot be 200 messages of the largest size.
    has_more |= cut_to_page(&mut rows);
    rows.reverse();
    Ok((rows, has_more))
}
