//! Stored messages as the chat shows them: ticks from the other members' receipt markers,
//! the quoted message of a reply, reactions grouped by emoji with who reacted, and — on top of
//! what the relay confirmed — the user's own edits, deletes and reactions still in the outbox,
//! so an action taken offline shows at once.

use std::collections::hash_map::{Entry, HashMap};

use rusqlite::{params, OptionalExtension, Transaction};
use tern_proto::{ConversationId, MessageKind, MessageRecord, Seq, UserId};

use super::{messages, outbox};
use crate::error::Result;
use crate::events::{ChatMessage, MessageStatus, Quote, ReactionView};

/// Longest quoted snippet shown above a reply (characters).
const SNIPPET_CHARS: usize = 200;

/// The other members' lowest receipt markers in one conversation: what the user's ticks show.
#[derive(Debug, Clone, Copy)]
struct ReceiptFloor {
    delivered: Seq,
    read: Seq,
    others: i64,
}

impl ReceiptFloor {
    fn of(txn: &Transaction<'_>, me: UserId, conv: ConversationId) -> Result<Self> {
        let (delivered, read, others): (Option<Seq>, Option<Seq>, i64) = txn
            .prepare_cached(
                "SELECT min(delivered_seq), min(read_seq), count(*) FROM members WHERE conversation_id = ?1 AND user_id != ?2",
            )?
            .query_row(params![conv, me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(ReceiptFloor {
            delivered: delivered.unwrap_or(Seq::ZERO),
            read: read.unwrap_or(Seq::ZERO),
            others,
        })
    }

    /// Ticks of the user's message at `seq`.
    fn status(self, seq: Seq) -> MessageStatus {
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
        reply_to: m.reply_to.map(Quote::pending),
        edited: m.edited_at.is_some(),
        deleted: m.deleted,
        reactions: Vec::new(),
        mentions_me: false,
        attachment: m.attachment.clone(),
        local_file: None,
        notice: m.notice(),
        unsupported: m.kind == MessageKind::Unknown,
        sender_name: m.sender.clone(),
        conversation_id: m.conversation_id,
        seq: Some(m.seq),
        client_id: m.client_id.to_string(),
        sender_id: m.sender_id,
        sender: m.sender.clone(),
        body: m.body.clone(),
        sent_at: m.sent_at,
        written_at: messages::written_offline(m),
        mine: m.sender_id == me,
        status: match floor {
            Some(f) if m.sender_id == me => f.status(m.seq),
            _ => MessageStatus::Received,
        },
    }
}

/// The cached text message at `seq` as the chat shows it now.
pub fn chat_at(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    seq: Seq,
) -> Result<Option<ChatMessage>> {
    let Some(record) = messages::text_at(txn, conv, seq)? else {
        return Ok(None);
    };
    Ok(to_chats(txn, me, std::slice::from_ref(&record))?.pop())
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
    decorate(txn, me, records, &mut out)?;
    Ok(out)
}

/// Fill in what the rows alone do not hold: reactions, quotes, and pending own actions.
/// `records[i]` is the record `chats[i]` was made from.
fn decorate(
    txn: &Transaction<'_>,
    me: UserId,
    records: &[MessageRecord],
    chats: &mut [ChatMessage],
) -> Result<()> {
    let mut reactions = txn.prepare_cached(
        "SELECT r.user_id, r.emoji, coalesce(m.display_name, m.username, '') FROM reactions r
         LEFT JOIN members m ON m.conversation_id = r.conversation_id AND m.user_id = r.user_id
         WHERE r.conversation_id = ?1 AND r.seq = ?2 ORDER BY r.emoji, r.user_id",
    )?;
    for (m, chat) in records.iter().zip(chats.iter_mut()) {
        // This device's own knowledge of when it wrote a message the relay did not say of (a
        // relay from before it passed the time on).
        if chat.mine && chat.written_at.is_none() && m.kind.is_text() {
            chat.written_at = messages::written_at(txn, m.conversation_id, m.seq)?;
        }
        if m.state_seq > Seq::ZERO && !m.deleted {
            let rows = reactions
                .query_map(params![m.conversation_id, m.seq], |r| {
                    Ok((
                        r.get::<_, UserId>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (user, emoji, name) in rows {
                add_reaction(chat, &emoji, user == me, name);
            }
        }
    }
    let my_name = super::meta_get(txn, "username")?.unwrap_or_default();
    resolve_quotes(txn, chats)?;
    overlay_pending(txn, &my_name, chats)?;
    name_senders(txn, chats)?;
    locate_files(txn, chats)?;
    for chat in chats.iter_mut() {
        chat.mentions_me = !chat.mine && crate::mentions::mentions(&chat.body, &my_name);
    }
    Ok(())
}

/// The name a member is shown by in a conversation: display name, else username.
fn shown_name(
    stmt: &mut rusqlite::CachedStatement<'_>,
    conv: ConversationId,
    user: UserId,
) -> Result<Option<String>> {
    Ok(stmt
        .query_row(params![conv, user], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// Show senders (and quoted senders) by their display names where the cache knows them.
fn name_senders(txn: &Transaction<'_>, chats: &mut [ChatMessage]) -> Result<()> {
    let mut by_id = txn.prepare_cached(
        "SELECT display_name FROM members WHERE conversation_id = ?1 AND user_id = ?2",
    )?;
    let mut by_name = txn.prepare_cached(
        "SELECT display_name FROM members WHERE conversation_id = ?1 AND username = ?2",
    )?;
    for chat in chats.iter_mut() {
        chat.sender_name = shown_name(&mut by_id, chat.conversation_id, chat.sender_id)?
            .unwrap_or_else(|| chat.sender.clone());
        if let Some(q) = chat.reply_to.as_mut().filter(|q| q.known) {
            q.sender_name = by_name
                .query_row(params![chat.conversation_id, q.sender], |r| {
                    r.get::<_, Option<String>>(0)
                })
                .optional()?
                .flatten()
                .unwrap_or_else(|| q.sender.clone());
        }
    }
    Ok(())
}

/// Where attached files are on this device: downloaded into the cache, or (the user's own)
/// the staged copy that was uploaded.
pub fn locate_files(txn: &Transaction<'_>, chats: &mut [ChatMessage]) -> Result<()> {
    let mut downloaded = txn.prepare_cached("SELECT path FROM downloads WHERE blob_id = ?1")?;
    let mut sent = txn.prepare_cached("SELECT path FROM uploads_out WHERE client_id = ?1")?;
    for chat in chats.iter_mut() {
        let Some(a) = &chat.attachment else { continue };
        let mut found: Option<String> = None;
        if !a.blob_id.is_empty() {
            found = downloaded
                .query_row([&a.blob_id], |r| r.get(0))
                .optional()?;
        }
        if found.is_none() && chat.mine {
            found = sent.query_row([&chat.client_id], |r| r.get(0)).optional()?;
        }
        chat.local_file = found.filter(|p: &String| std::path::Path::new(p).is_file());
    }
    Ok(())
}

/// Count one user's `emoji` on a message (no-op if already counted for them).
fn add_reaction(chat: &mut ChatMessage, emoji: &str, mine: bool, name: String) {
    let i = match chat.reactions.iter().position(|r| r.emoji == emoji) {
        Some(i) => i,
        None => {
            chat.reactions.push(ReactionView {
                emoji: emoji.to_owned(),
                count: 0,
                mine: false,
                users: Vec::new(),
            });
            chat.reactions.len() - 1
        }
    };
    let r = &mut chat.reactions[i];
    if (mine && r.mine) || (!mine && r.users.contains(&name) && !name.is_empty()) {
        return;
    }
    r.count += 1;
    r.mine |= mine;
    r.users.push(name);
}

/// Take the user's `emoji` off a message.
fn remove_reaction(chat: &mut ChatMessage, emoji: &str, my_name: &str) {
    if let Some(i) = chat
        .reactions
        .iter()
        .position(|r| r.emoji == emoji && r.mine)
    {
        let r = &mut chat.reactions[i];
        r.mine = false;
        r.count -= 1;
        if let Some(u) = r.users.iter().position(|u| u == my_name) {
            r.users.remove(u);
        }
        if r.count == 0 {
            chat.reactions.remove(i);
        }
    }
}

/// Fill each reply's quote from the cache, with the user's own queued edit or delete of the
/// quoted message applied (as the message itself shows them).
pub fn resolve_quotes(txn: &Transaction<'_>, chats: &mut [ChatMessage]) -> Result<()> {
    let mut quoted = txn.prepare_cached(
        "SELECT sender, body, deleted FROM messages WHERE conversation_id = ?1 AND seq = ?2 AND kind = 'text'",
    )?;
    let mut pending: HashMap<ConversationId, Vec<outbox::OutboxItem>> = HashMap::new();
    for chat in chats.iter_mut() {
        let conv = chat.conversation_id;
        let Some(quote) = chat.reply_to.as_mut() else {
            continue;
        };
        let row = quoted
            .query_row(params![conv, quote.seq], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .optional()?;
        let Some((sender, mut body, mut deleted)) = row else {
            continue;
        };
        let queued = match pending.entry(conv) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(outbox::pending_events(txn, conv)?),
        };
        for item in queued.iter().filter(|i| i.target_seq == Some(quote.seq)) {
            match item.kind {
                MessageKind::Edit if !deleted => body.clone_from(&item.body),
                MessageKind::Delete => deleted = true,
                _ => {}
            }
        }
        if deleted {
            body.clear();
        }
        quote.sender = sender;
        quote.snippet = body.chars().take(SNIPPET_CHARS).collect();
        quote.deleted = deleted;
        quote.known = true;
    }
    Ok(())
}

/// Show the user's queued edits, deletes and reactions on the messages they target.
fn overlay_pending(txn: &Transaction<'_>, my_name: &str, chats: &mut [ChatMessage]) -> Result<()> {
    let mut by_conv: HashMap<ConversationId, Vec<outbox::OutboxItem>> = HashMap::new();
    for chat in chats.iter_mut() {
        let Some(seq) = chat.seq else { continue };
        let pending = match by_conv.entry(chat.conversation_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(outbox::pending_events(txn, chat.conversation_id)?),
        };
        for item in pending.iter().filter(|i| i.target_seq == Some(seq)) {
            apply_pending(chat, item, my_name);
        }
    }
    Ok(())
}

fn apply_pending(chat: &mut ChatMessage, item: &outbox::OutboxItem, my_name: &str) {
    if chat.deleted {
        return;
    }
    match item.kind {
        MessageKind::Text | MessageKind::Notice | MessageKind::Unknown => {}
        MessageKind::Edit => {
            chat.body = item.body.clone();
            chat.edited = true;
        }
        MessageKind::Delete => {
            chat.body.clear();
            chat.deleted = true;
            chat.edited = false;
            chat.reactions.clear();
        }
        MessageKind::React => add_reaction(chat, &item.body, true, my_name.to_owned()),
        MessageKind::Unreact => remove_reaction(chat, &item.body, my_name),
    }
}

/// Whether the user's reaction `emoji` is on the message at `seq`, counting queued actions
/// (what a toggle should do next).
pub fn my_reaction(
    txn: &Transaction<'_>,
    me: UserId,
    conv: ConversationId,
    seq: Seq,
    emoji: &str,
) -> Result<bool> {
    Ok(chat_at(txn, me, conv, seq)?
        .map(|c| c.reactions.iter().any(|r| r.emoji == emoji && r.mine))
        .unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::outbox::{enqueue, OutboxItem};
    use tern_proto::ClientId;

    const ME: UserId = UserId(1);
    const CONV: ConversationId = ConversationId(7);

    /// The user's message `client_id`, written at `written` and stored by the relay at
    /// `stored` as `seq`: what the chat shows for it.
    fn sent(
        txn: &Transaction<'_>,
        client_id: &str,
        seq: i64,
        written: i64,
        stored: i64,
    ) -> ChatMessage {
        enqueue(
            txn,
            &OutboxItem {
                client_id: client_id.into(),
                conversation_id: CONV,
                body: "hello".into(),
                created_at: written,
                ..OutboxItem::default()
            },
        )
        .unwrap();
        let record = MessageRecord {
            conversation_id: CONV,
            seq: Seq(seq as u64),
            message_id: tern_proto::MessageId(seq),
            sender_id: ME,
            sender: "me".into(),
            client_id: ClientId::from(client_id),
            body: "hello".into(),
            sent_at: stored,
            ..MessageRecord::default()
        };
        messages::acked(txn, ME, &record).unwrap();
        chat_at(txn, ME, CONV, Seq(seq as u64)).unwrap().unwrap()
    }

    /// A message written offline shows when it was written beside the relay's time; one sent
    /// at once does not.
    #[test]
    fn a_message_stored_a_minute_or_more_after_it_was_written_says_when_it_was_written() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        let now = tern_proto::now_ms();
        let written = now - messages::WRITTEN_EARLIER_MS - 1_000;
        let late = sent(&txn, "late", 1, written, now);
        assert_eq!(late.written_at, Some(written));
        assert_eq!(late.sent_at, now);
        // The relay's clock does not count: only how long it waited on this device.
        let prompt = sent(
            &txn,
            "prompt",
            2,
            now,
            now + 10 * messages::WRITTEN_EARLIER_MS,
        );
        assert_eq!(prompt.written_at, None);
    }

    /// What a relay passes on of when a message was written: shown for another member's text
    /// written offline, on the relay's clock, whether it came pushed or read back from the
    /// cache; nothing for a prompt send, a withheld entry, or an author's time after the
    /// relay's.
    #[test]
    fn another_members_message_written_offline_says_when_it_was_written() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let txn = conn.transaction().unwrap();
        let stored = 1_800_000_000_000;
        let earlier = stored - messages::WRITTEN_EARLIER_MS;
        let record = |seq: u64, written_at: Option<i64>, withheld: bool| MessageRecord {
            conversation_id: CONV,
            seq: Seq(seq),
            message_id: tern_proto::MessageId(seq as i64),
            sender_id: UserId(2),
            sender: "ann".into(),
            client_id: ClientId::from(format!("ann-{seq}").as_str()),
            body: if withheld { String::new() } else { "hi".into() },
            sent_at: stored,
            written_at,
            withheld,
            ..MessageRecord::default()
        };
        let records = [
            record(1, Some(earlier - 5_000), false),
            record(2, Some(stored - 5_000), false),
            record(3, Some(earlier), true),
            record(4, Some(stored + 60_000), false),
            record(5, None, false),
        ];
        let pushed = to_chats(&txn, ME, &records).unwrap();
        let said: Vec<Option<i64>> = pushed.iter().map(|c| c.written_at).collect();
        let expected = vec![Some(earlier - 5_000), None, None, None, None];
        assert_eq!(said, expected, "as pushed");
        messages::store(&txn, ME, &records).unwrap();
        let cached: Vec<Option<i64>> = (1..=5)
            .map(|seq| messages::written_at(&txn, CONV, Seq(seq)).unwrap())
            .collect();
        assert_eq!(cached, expected, "as kept");
        let shown = chat_at(&txn, ME, CONV, Seq(1)).unwrap().unwrap();
        assert_eq!(shown.written_at, Some(earlier - 5_000), "as read back");
    }
}
