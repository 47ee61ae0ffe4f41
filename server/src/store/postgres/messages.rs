//! PostgreSQL queries on `messages` and `reactions`; the same contracts as
//! [`crate::store::sqlite::messages`].

use super::sql::Sql;
use tern_proto::{
    ClientId, ConversationId, MessageId, MessageKind, MessageRecord, Reaction, Seq, Timestamp,
    UserId,
};

use super::parse;
use crate::error::Result;
use crate::limits::Rate;
use crate::store::tx::{cut_to_page, sender_name, NewEntry, Target};

/// The sender's name is NULL for a deleted account: [`sender_name`] names it.
const COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id,
     CASE WHEN u.deleted_at IS NULL THEN u.username END, m.client_id, m.body, m.sent_at,
     m.kind, m.target_seq, m.reply_to, m.edited_at, m.deleted, m.state_seq, m.attachment, m.withheld_from, m.written_at";

fn record(r: &postgres::Row) -> Result<MessageRecord> {
    Ok(MessageRecord {
        message_id: r.get(0),
        conversation_id: r.get(1),
        seq: r.get::<_, Seq>(2),
        sender_id: r.get(3),
        sender: sender_name(r.get::<_, Option<String>>(4)),
        client_id: r.get(5),
        body: r.get(6),
        sent_at: r.get(7),
        kind: parse(r.get::<_, &str>(8))?,
        target_seq: r.get::<_, Option<Seq>>(9),
        reply_to: r.get::<_, Option<Seq>>(10),
        edited_at: r.get(11),
        deleted: r.get(12),
        reactions: Vec::new(),
        state_seq: r.get::<_, Seq>(13),
        attachment: r
            .get::<_, Option<String>>(14)
            .and_then(|j| serde_json::from_str(&j).ok()),
        withheld_from: r.get(15),
        written_at: r.get(16),
        withheld: false,
    })
}

fn records(rows: &[postgres::Row]) -> Result<Vec<MessageRecord>> {
    rows.iter().map(record).collect()
}

/// Take one send from `user`'s token bucket in the shared table: refilled at `rate` for the
/// time since its last use (never backwards, whatever the relays' clocks say), capped at the
/// burst. One statement, which writes nothing when the bucket holds less than one (then it
/// returns false), so a send refused here leaves no write behind. The row stays locked to
/// the batch's commit, so relays taking from one bucket take turns.
pub fn take_send_token(c: &mut impl Sql, user: UserId, now: Timestamp, rate: Rate) -> Result<bool> {
    let taken = c.query_opt(
        "INSERT INTO send_buckets AS b (user_id, tokens, at)
             VALUES ($1, $3::float8 - 1, $2::bigint)
         ON CONFLICT (user_id) DO UPDATE SET
             tokens = LEAST($3::float8,
                 b.tokens + GREATEST($2::bigint - b.at, 0) / 1000.0 * $4::float8) - 1,
             at = GREATEST(b.at, $2::bigint)
         WHERE LEAST($3::float8,
                 b.tokens + GREATEST($2::bigint - b.at, 0) / 1000.0 * $4::float8) >= 1
         RETURNING tokens",
        &[&user, &now, &rate.burst, &rate.per_second],
    )?;
    Ok(taken.is_some())
}

/// Whether `sender` stored an entry with `client_id`.
pub fn client_id_stored(c: &mut impl Sql, sender: UserId, client_id: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM messages WHERE sender_id = $1 AND client_id = $2",
        &[&sender, &client_id],
    )?
    .is_some())
}

/// The entry this sender stored under `client_id`, if any.
pub fn find_by_client_id(
    c: &mut impl Sql,
    sender: UserId,
    client_id: &str,
) -> Result<Option<MessageRecord>> {
    let row = c.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.sender_id = $1 AND m.client_id = $2"
        ),
        &[&sender, &client_id],
    )?;
    let mut found = row.as_ref().map(record).transpose()?;
    if let Some(m) = found.as_mut() {
        attach_reactions(c, std::slice::from_mut(m))?;
    }
    Ok(found)
}

/// Store an entry at the next sequence number, or `None` if the sender already stored one
/// under its client id. The conversation row stays locked until commit, which is what keeps
/// the sequence gap-free and in commit order across relays.
pub fn insert_new(c: &mut impl Sql, e: &NewEntry<'_>) -> Result<Option<MessageRecord>> {
    // One round trip: the conversation's next sequence and the row that takes it. A resend
    // of a stored entry (its client id is taken) moves nothing: it is not new activity.
    let row = c.query_one(
        "WITH next AS (
             UPDATE conversations SET last_seq = last_seq + 1,
                    last_activity = CASE WHEN $3 THEN $2::bigint ELSE last_activity END
             WHERE id = $1
               AND NOT EXISTS (SELECT 1 FROM messages
                               WHERE sender_id = $4::bigint AND client_id = $5::text)
             RETURNING last_seq),
         ins AS (
             INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at,
                                   kind, target_seq, reply_to, attachment, withheld_from, written_at)
             SELECT $1::bigint, next.last_seq, $4::bigint, $5::text, $6::text, $2::bigint,
                    $7::text, $8::bigint, $9::bigint, $10::text, $11::bigint, $12::bigint
             FROM next
             ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq)
         SELECT EXISTS (SELECT 1 FROM next), (SELECT id FROM ins), (SELECT seq FROM ins)",
        &[
            &e.conv,
            &e.now,
            &e.kind.is_text(),
            &e.sender,
            &e.client_id,
            &e.body,
            &e.kind.as_str(),
            &e.target_seq,
            &e.reply_to,
            &e.attachment
                .map(|a| serde_json::to_string(a).expect("serializable")),
            &e.withheld_from,
            &e.written_at,
        ],
    )?;
    let (moved, id, seq): (bool, Option<MessageId>, Option<Seq>) =
        (row.get(0), row.get(1), row.get(2));
    let (Some(message_id), Some(seq)) = (id, seq) else {
        if moved {
            // Another relay's transaction stored it under this client id while this one ran
            // (the check above could not see it yet): the sequence taken goes back. Only in
            // this race does a resend leave `last_activity` moved.
            c.execute(
                "UPDATE conversations SET last_seq = last_seq - 1 WHERE id = $1",
                &[&e.conv],
            )?;
        }
        return Ok(None);
    };
    Ok(Some(MessageRecord {
        message_id,
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

/// The entry at `seq`, as far as a reference to it needs.
pub fn target(c: &mut impl Sql, conv: ConversationId, seq: Seq) -> Result<Option<Target>> {
    let row = c.query_opt(
        "SELECT sender_id, kind, deleted, sent_at FROM messages WHERE conversation_id = $1 AND seq = $2",
        &[&conv, &seq.min(Seq::MAX)],
    )?;
    row.map(|r| {
        Ok(Target {
            sender_id: r.get(0),
            kind: parse(r.get::<_, &str>(1))?,
            deleted: r.get(2),
            sent_at: r.get(3),
        })
    })
    .transpose()
}

/// How many different reactions `user` has on the message at (`conv`, `seq`).
pub fn reaction_count(
    c: &mut impl Sql,
    conv: ConversationId,
    seq: Seq,
    user: UserId,
) -> Result<usize> {
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM reactions WHERE conversation_id = $1 AND seq = $2 AND user_id = $3",
            &[&conv, &seq.min(Seq::MAX), &user],
        )?
        .get(0);
    Ok(n as usize)
}

/// Fold a just-stored event into its target.
pub fn fold(c: &mut impl Sql, event: &MessageRecord) -> Result<()> {
    let Some(target) = event.target_seq else {
        return Ok(());
    };
    let (conv, target, seq) = (event.conversation_id, target, event.seq);
    match event.kind {
        // Never stored: the relay refuses a kind it does not know.
        MessageKind::Text | MessageKind::Notice | MessageKind::Unknown => return Ok(()),
        MessageKind::Edit => {
            c.execute(
                "UPDATE messages SET body = $3, edited_at = $4 WHERE conversation_id = $1 AND seq = $2",
                &[&conv, &target, &event.body, &event.sent_at],
            )?;
        }
        MessageKind::Delete => {
            c.execute(
                "UPDATE messages SET body = '', deleted = TRUE, edited_at = NULL, written_at = NULL, attachment = NULL
                 WHERE conversation_id = $1 AND seq = $2",
                &[&conv, &target],
            )?;
            super::uploads::unlink_message(c, conv, target)?;
            c.execute(
                "UPDATE messages SET body = '' WHERE conversation_id = $1 AND target_seq = $2 AND kind IN ('edit', 'react', 'unreact')",
                &[&conv, &target],
            )?;
            c.execute(
                "DELETE FROM reactions WHERE conversation_id = $1 AND seq = $2",
                &[&conv, &target],
            )?;
        }
        MessageKind::React => {
            c.execute(
                "INSERT INTO reactions (conversation_id, seq, user_id, emoji) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&conv, &target, &event.sender_id, &event.body],
            )?;
        }
        MessageKind::Unreact => {
            c.execute(
                "DELETE FROM reactions WHERE conversation_id = $1 AND seq = $2 AND user_id = $3 AND emoji = $4",
                &[&conv, &target, &event.sender_id, &event.body],
            )?;
        }
    }
    c.execute(
        "UPDATE messages SET state_seq = $3 WHERE conversation_id = $1 AND seq = $2",
        &[&conv, &target, &seq],
    )?;
    Ok(())
}

/// Fill in the reactions of text messages that have any events folded in.
fn attach_reactions(c: &mut impl Sql, records: &mut [MessageRecord]) -> Result<()> {
    for m in records
        .iter_mut()
        .filter(|m| m.kind.is_text() && m.state_seq > Seq::ZERO && !m.deleted)
    {
        m.reactions = c
            .query(
                "SELECT user_id, emoji FROM reactions WHERE conversation_id = $1 AND seq = $2
                 ORDER BY user_id, emoji",
                &[&m.conversation_id, &m.seq],
            )?
            .iter()
            .map(|r| Reaction {
                user_id: r.get(0),
                emoji: r.get(1),
            })
            .collect();
    }
    Ok(())
}

/// The newest text message of a conversation.
pub fn latest_text(c: &mut impl Sql, conv: ConversationId) -> Result<Option<MessageRecord>> {
    let row = c.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = $1 AND m.kind = 'text' ORDER BY m.seq DESC LIMIT 1"
        ),
        &[&conv],
    )?;
    let mut found = row.as_ref().map(record).transpose()?;
    if let Some(m) = found.as_mut() {
        attach_reactions(c, std::slice::from_mut(m))?;
    }
    Ok(found)
}

/// Up to `limit` entries with `after < seq <= upto`, ascending.
pub fn range(
    c: &mut impl Sql,
    conv: ConversationId,
    after: Seq,
    upto: Seq,
    limit: usize,
) -> Result<Vec<MessageRecord>> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq LIMIT $4"
        ),
        &[
            &conv,
            &after.min(Seq::MAX),
            &upto.min(Seq::MAX),
            &(limit as i64),
        ],
    )?;
    let mut out = records(&rows)?;
    attach_reactions(c, &mut out)?;
    Ok(out)
}

/// Up to `limit` entries before `before`, ascending, and whether older ones exist.
pub fn page_before(
    c: &mut impl Sql,
    conv: ConversationId,
    before: Seq,
    limit: usize,
) -> Result<(Vec<MessageRecord>, bool)> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
             WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        ),
        &[&conv, &before.min(Seq::MAX), &(limit as i64 + 1)],
    )?;
    let mut rows = records(&rows)?;
    let mut has_more = rows.len() > limit;
    rows.truncate(limit);
    attach_reactions(c, &mut rows)?;
    // Bounded in bytes (text and reactions) too.
    has_more |= cut_to_page(&mut rows);
    rows.reverse();
    Ok((rows, has_more))
}
