//! Messages in the cache: storing what the relay sent (deduplicated by conversation and
//! sequence, events folded into their targets by [`super::fold`]), the gap-free sync cursor,
//! and delete-for-me.

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{
    ConversationId, MessageKind, MessageRecord, Seq, Timestamp, UserId, DELETED_ACCOUNT,
};

use super::{conversations, fold, transfers};
use crate::error::Result;

/// How long before the relay's copy came back a message of this device's must have been written
/// (both on this device's clock) for the chat to say when it was written (a message written
/// offline); a send that merely took its usual fraction of a second is not one.
pub const WRITTEN_EARLIER_MS: Timestamp = 60_000;

/// When the author of text message `m` wrote it, as they say, if that was
/// [`WRITTEN_EARLIER_MS`] or more before the relay stored it (both on the relay's clock): a
/// message written offline. A time no earlier than that says nothing worth showing.
pub fn written_offline(m: &MessageRecord) -> Option<Timestamp> {
    m.written_at.filter(|&w| {
        m.kind.is_text() && !m.withheld && m.sent_at.saturating_sub(w) >= WRITTEN_EARLIER_MS
    })
}

/// When the user wrote their message at `seq`, if it reached the relay
/// [`WRITTEN_EARLIER_MS`] or more later.
pub fn written_at(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<Timestamp>> {
    Ok(txn
        .prepare_cached("SELECT written_at FROM messages WHERE conversation_id = ?1 AND seq = ?2")?
        .query_row(params![conv, seq], |r| r.get(0))
        .optional()?
        .flatten())
}

/// `user` deleted their account: their cached messages name them as the relay now does
/// ([`DELETED_ACCOUNT`]), not by the username someone else may take later.
pub fn sender_deleted(txn: &Transaction<'_>, user: UserId) -> Result<()> {
    txn.prepare_cached("UPDATE messages SET sender = ?2 WHERE sender_id = ?1 AND sender != ?2")?
        .execute(params![user, DELETED_ACCOUNT])?;
    Ok(())
}

/// What storing a batch of log entries changed.
#[derive(Debug, Default)]
pub struct Stored {
    /// Entries that were new to the cache (text and events), in the order given.
    pub fresh: Vec<MessageRecord>,
    /// Cached text messages an event (or a newer folded copy) changed, in order, without
    /// repeats.
    pub changed: Vec<(ConversationId, Seq)>,
    /// Conversations with messages missing right above their gap-free cursor (the user was
    /// added to one that had messages, and was pushed only the new ones), each with the
    /// lowest cached seq past the gap: what to read history before.
    pub gaps: Vec<(ConversationId, Seq)>,
}

/// Whether entry `m` is a row of the chat: a text message, a group notice, or an entry of a
/// kind this version does not know that is not about an earlier message (shown as needing a
/// newer version; one about an earlier message changes nothing shown here).
pub fn shown_as_row(m: &MessageRecord) -> bool {
    match m.kind {
        MessageKind::Text | MessageKind::Notice => true,
        MessageKind::Unknown => m.target_seq.is_none(),
        MessageKind::Edit | MessageKind::Delete | MessageKind::React | MessageKind::Unreact => {
            false
        }
    }
}

impl Stored {
    /// The new entries the chat shows as rows: text messages (what the user is notified of)
    /// and group notices.
    pub fn new_rows(&self) -> Vec<MessageRecord> {
        self.fresh
            .iter()
            .filter(|m| shown_as_row(m) && !m.withheld)
            .cloned()
            .collect()
    }
}

/// Store log entries from the relay (deduplicated by conversation and sequence) and fold
/// events into their targets. An entry of the user's that is still in the outbox (its ack was
/// lost) leaves the outbox here, so it is never shown twice.
pub fn store(txn: &Transaction<'_>, me: UserId, records: &[MessageRecord]) -> Result<Stored> {
    let mut stored = Stored::default();
    let mut deleted: Vec<UserId> = Vec::new();
    for m in records {
        conversations::ensure(txn, m.conversation_id)?;
        let inserted = txn
            .prepare_cached(
                "INSERT OR IGNORE INTO messages (conversation_id, seq, message_id, sender_id, sender, client_id, body, sent_at,
                                                 kind, target_seq, reply_to, edited_at, deleted, state_seq, attachment, hidden,
                                                 written_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?
            .execute(params![
                m.conversation_id,
                m.seq,
                m.message_id,
                m.sender_id,
                m.sender,
                m.client_id,
                m.body,
                m.sent_at,
                m.kind.as_str(),
                m.target_seq,
                m.reply_to,
                m.edited_at,
                m.deleted,
                m.state_seq,
                m.attachment
                    .as_ref()
                    .map(|a| serde_json::to_string(a).expect("serializable")),
                // An entry withheld from this user (they blocked its sender) keeps its place
                // in the log and is never shown.
                m.withheld,
                written_offline(m),
            ])?;
        // A new entry of a deleted account (its "left" notice in a group, a page read
        // later): its other cached messages are renamed once per batch, below.
        if inserted == 1 && m.sender == DELETED_ACCOUNT && !deleted.contains(&m.sender_id) {
            deleted.push(m.sender_id);
        }
        if inserted == 0 {
            if m.kind.is_text() && m.state_seq > Seq::ZERO && fold::refresh(txn, m)? {
                stored.changed.push((m.conversation_id, m.seq));
            }
            continue;
        }
        if m.sender_id == me {
            let written: Option<Timestamp> = txn
                .prepare_cached("DELETE FROM outbox WHERE client_id = ?1 RETURNING created_at")?
                .query_row([&m.client_id], |r| r.get(0))
                .optional()?;
            // Both times on this device's clock: a clock behind the relay's is no delay. A
            // relay that passes the time on ([`written_offline`]) said it already; one from
            // before it did not, and this device still knows.
            let now = tern_proto::now_ms();
            let late = written.filter(|&w| now - w >= WRITTEN_EARLIER_MS);
            if let Some(written) = late.filter(|_| written_offline(m).is_none()) {
                txn.prepare_cached(
                    "UPDATE messages SET written_at = ?3 WHERE conversation_id = ?1 AND seq = ?2",
                )?
                .execute(params![m.conversation_id, m.seq, written])?;
            }
            if let Some(a) = m.attachment.as_ref().filter(|a| !a.blob_id.is_empty()) {
                transfers::sent(
                    txn,
                    m.client_id.as_str(),
                    &a.blob_id,
                    transfers::FILE_CACHE_BYTES,
                )?;
            }
        }
        if m.kind.is_text() {
            if !m.reactions.is_empty() {
                fold::store_reactions(txn, m)?;
            }
            // Only messages move a conversation up the list (and bring a hidden one back); a
            // reaction does not, nor does a withheld entry.
            if m.withheld {
                txn.prepare_cached(
                    "UPDATE conversations SET last_seq = max(last_seq, ?2) WHERE id = ?1",
                )?
                .execute(params![m.conversation_id, m.seq])?;
            } else {
                txn.prepare_cached(
                    "UPDATE conversations SET last_seq = max(last_seq, ?2), last_activity = max(last_activity, ?3), hidden = 0 WHERE id = ?1",
                )?
                .execute(params![m.conversation_id, m.seq, m.sent_at])?;
            }
        } else {
            txn.prepare_cached(
                "UPDATE conversations SET last_seq = max(last_seq, ?2) WHERE id = ?1",
            )?
            .execute(params![m.conversation_id, m.seq])?;
            // Folded below, in order, once no entry before it is missing.
        }
        stored.fresh.push(m.clone());
    }
    // Advance each touched conversation's gap-free cursor.
    let mut touched: Vec<ConversationId> = records.iter().map(|m| m.conversation_id).collect();
    touched.sort_unstable();
    touched.dedup();
    for conv in touched {
        if let Some(above) = advance_cursor(txn, conv)? {
            stored.gaps.push((conv, above));
        }
        fold_ready(txn, conv, &mut stored.changed)?;
    }
    for user in deleted {
        sender_deleted(txn, user)?;
    }
    Ok(stored)
}

/// Fold, in sequence order, the stored events of `conv` not folded yet that have no gap before
/// them. Events can arrive out of order (the user's own acknowledged reaction before someone's
/// earlier edit that a sync is still bringing); folding only the gap-free prefix, in order,
/// makes every device apply the same events in the same order. An event's own `state_seq`
/// marks it folded (it is otherwise unused for events).
fn fold_ready(
    txn: &Transaction<'_>,
    conv: ConversationId,
    changed: &mut Vec<(ConversationId, Seq)>,
) -> Result<()> {
    let ready: Vec<MessageRecord> = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m WHERE m.conversation_id = ?1 AND m.kind != 'text'
             AND m.state_seq = 0
             AND m.seq <= (SELECT synced_seq FROM conversations WHERE id = ?1) ORDER BY m.seq"
        ))?
        .query_map([conv], row_to_record)?
        .collect::<rusqlite::Result<_>>()?;
    for event in ready {
        if fold::apply(txn, &event)? {
            let target = (conv, event.target_seq.unwrap_or_default());
            if !changed.contains(&target) {
                changed.push(target);
            }
        }
        txn.prepare_cached(
            "UPDATE messages SET state_seq = seq WHERE conversation_id = ?1 AND seq = ?2",
        )?
        .execute(params![conv, event.seq])?;
    }
    Ok(())
}

/// Move `conv`'s gap-free cursor over the consecutive seqs cached above it; the lowest cached
/// seq past a gap that stops it, if one does.
fn advance_cursor(txn: &Transaction<'_>, conv: ConversationId) -> Result<Option<Seq>> {
    let mut cursor: i64 = txn
        .prepare_cached("SELECT synced_seq FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get(0))?;
    let mut next = txn.prepare_cached(
        "SELECT seq FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 512",
    )?;
    let gap = loop {
        let seqs: Vec<i64> = next
            .query_map(params![conv, cursor], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut above = None;
        for &s in &seqs {
            if s == cursor + 1 {
                cursor = s;
            } else {
                above = Some(s);
                break;
            }
        }
        if above.is_some() || seqs.len() < 512 {
            break above;
        }
    };
    txn.prepare_cached("UPDATE conversations SET synced_seq = ?2 WHERE id = ?1")?
        .execute(params![conv, cursor])?;
    Ok(gap.map(|s| Seq(s as u64)))
}

/// The `meta` key of the entry kinds the version that last opened this cache knew.
const KINDS_KEY: &str = "kinds_known";

/// The entry kinds this version knows, as kept under [`KINDS_KEY`].
fn kinds_known() -> String {
    MessageKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// After an update that knows more kinds of entry: the entries an earlier version kept as
/// `unknown` (it could not read them) are read again. They are removed, and each chat's cursor
/// goes back to just below the first of them, so the next sync brings them, and only what
/// follows them, as this version reads them. Nothing happens when the known kinds are those of
/// the version that last opened the cache. Returns how many chats are read again.
pub fn reread_unknown(txn: &Transaction<'_>) -> Result<usize> {
    let known = kinds_known();
    if crate::cache::meta_get(txn, KINDS_KEY)?.as_deref() == Some(known.as_str()) {
        return Ok(0);
    }
    let firsts: Vec<(ConversationId, i64)> = txn
        .prepare_cached(
            // Only chats the user is still in: a left one is synced no more, so what it
            // keeps as unknown stays (shown as needing a newer version) rather than be lost.
            "SELECT m.conversation_id, min(m.seq) FROM messages m
             JOIN conversations c ON c.id = m.conversation_id AND c.active = 1
             WHERE m.kind = 'unknown'
             GROUP BY m.conversation_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for &(conv, first) in &firsts {
        forget_unknown(txn, conv, first)?;
    }
    crate::cache::meta_set(txn, KINDS_KEY, &known)?;
    Ok(firsts.len())
}

/// A chat the user is back in (added again): entries kept as `unknown` while it was left
/// were not read again by an update meanwhile ([`reread_unknown`] leaves left chats alone), so
/// they are now, by the sync or gap fill that brings it up to date.
pub fn reread_unknown_of(txn: &Transaction<'_>, conv: ConversationId) -> Result<()> {
    let first: Option<i64> = txn
        .prepare_cached(
            "SELECT min(seq) FROM messages WHERE conversation_id = ?1 AND kind = 'unknown'",
        )?
        .query_row([conv], |r| r.get(0))?;
    match first {
        Some(first) => forget_unknown(txn, conv, first),
        None => Ok(()),
    }
}

/// Remove `conv`'s `unknown` entries and put its cursor below the `first` of them, so that
/// they are brought again.
fn forget_unknown(txn: &Transaction<'_>, conv: ConversationId, first: i64) -> Result<()> {
    txn.prepare_cached("DELETE FROM messages WHERE conversation_id = ?1 AND kind = 'unknown'")?
        .execute([conv])?;
    txn.prepare_cached("UPDATE conversations SET synced_seq = min(synced_seq, ?2) WHERE id = ?1")?
        .execute(params![conv, first - 1])?;
    Ok(())
}

/// The gap-free cursor of a conversation.
pub fn synced_seq(txn: &Transaction<'_>, conv: ConversationId) -> Result<Seq> {
    Ok(txn
        .prepare_cached("SELECT synced_seq FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| r.get::<_, Seq>(0))?)
}

/// The columns [`row_to_record`] reads, in order (`m` is `messages`).
pub(super) const COLUMNS: &str =
    "m.conversation_id, m.seq, m.message_id, m.sender_id, m.sender, m.client_id, m.body, m.sent_at,
     m.kind, m.target_seq, m.reply_to, m.edited_at, m.deleted, m.state_seq, m.attachment,
     m.written_at";

/// A cached row as the relay's record (reactions are read separately, for the view).
pub(super) fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        conversation_id: r.get(0)?,
        seq: r.get::<_, Seq>(1)?,
        message_id: r.get(2)?,
        sender_id: r.get(3)?,
        sender: r.get(4)?,
        client_id: r.get(5)?,
        body: r.get(6)?,
        sent_at: r.get(7)?,
        kind: super::enum_column(r, 8)?,
        target_seq: r.get::<_, Option<Seq>>(9)?,
        reply_to: r.get::<_, Option<Seq>>(10)?,
        edited_at: r.get(11)?,
        deleted: r.get(12)?,
        reactions: Vec::new(),
        state_seq: r.get::<_, Seq>(13)?,
        attachment: r
            .get::<_, Option<String>>(14)?
            .and_then(|j| serde_json::from_str(&j).ok()),
        written_at: r.get(15)?,
        ..MessageRecord::default()
    })
}

/// The cached text message at `seq`, if any.
pub fn text_at(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<MessageRecord>> {
    text_where(txn, conv, seq, "")
}

/// The cached text message at `seq` if it shows here (not deleted for me).
pub fn shown_text_at(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<MessageRecord>> {
    text_where(txn, conv, seq, " AND m.hidden = 0")
}

fn text_where(
    txn: &Transaction<'_>,
    conv: ConversationId,
    seq: Seq,
    and: &str,
) -> Result<Option<MessageRecord>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m
             WHERE m.conversation_id = ?1 AND m.seq = ?2 AND m.kind = 'text'{and}"
        ))?
        .query_row(params![conv, seq], row_to_record)
        .optional()?)
}

/// Stored messages of a conversation with `after < seq`, ascending (for cache comparisons).
pub fn all(txn: &Transaction<'_>, conv: ConversationId) -> Result<Vec<MessageRecord>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m WHERE m.conversation_id = ?1 ORDER BY m.seq"
        ))?
        .query_map([conv], row_to_record)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The relay stored it: move it from the outbox to the messages. Returns what changed.
pub fn acked(txn: &Transaction<'_>, me: UserId, record: &MessageRecord) -> Result<Stored> {
    // Storing the user's own entry removes it from the outbox.
    store(txn, me, std::slice::from_ref(record))
}

/// Delete a message for this user only: it disappears from the chat, the list and search on
/// this device; other devices and members keep it.
pub fn hide(txn: &Transaction<'_>, conv: ConversationId, seq: Seq) -> Result<bool> {
    Ok(txn
        .prepare_cached(
            "UPDATE messages SET hidden = 1 WHERE conversation_id = ?1 AND seq = ?2 AND kind IN ('text', 'unknown') AND hidden = 0",
        )?
        .execute(params![conv, seq])?
        > 0)
}

/// Delete every message of a conversation for this user only (as [`hide`] does one).
pub fn hide_all(txn: &Transaction<'_>, conv: ConversationId) -> Result<usize> {
    Ok(txn
        .prepare_cached(
            "UPDATE messages SET hidden = 1 WHERE conversation_id = ?1 AND kind IN ('text', 'unknown') AND hidden = 0",
        )?
        .execute([conv])?)
}
