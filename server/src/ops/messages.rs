//! Sending a message (stored once per client id, fanned out after commit) and paging history.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tern_proto::{
    Attachment, ConversationKind, ErrorCode, HistoryRequest, MemberRole, MessageKind,
    MessageRecord, SendMessage, Seq, ServerFrame, Timestamp, UserId, MAX_CLIENT_ID_LEN,
};

use super::privacy::accept_membership;
use super::visibility::Rules;
use super::{is_bidi_control, queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::{Publish, Tag};
use crate::store::{NewEntry, Roster, Tx};

/// Most messages one history page returns.
const MAX_HISTORY_PAGE: u32 = 200;

/// Different reactions one user may put on one message (so a member cannot grow a message's
/// reactions without bound).
const MAX_REACTIONS_PER_USER: usize = 20;

/// Longest reaction accepted (bytes): one emoji, including skin tones and ZWJ sequences.
const MAX_REACTION_BYTES: usize = 64;

fn bad(text: impl Into<String>) -> Error {
    Error::refused(ErrorCode::BadRequest, text)
}

/// Refuse a send whose fields are out of bounds or do not fit its kind, before it costs a
/// store job.
fn validate(ctx: Ctx<'_>, req: &SendMessage) -> Result<()> {
    let max = ctx.state.config.limits.max_message_bytes;
    if req.kind == MessageKind::Notice {
        return Err(bad("notices are written by the relay, not sent"));
    }
    if req.client_id.as_str().is_empty() || req.client_id.as_str().len() > MAX_CLIENT_ID_LEN {
        return Err(bad(format!(
            "client_id must have 1 to {MAX_CLIENT_ID_LEN} bytes"
        )));
    }
    if req.body.len() > max {
        return Err(Error::refused(
            ErrorCode::MessageTooLong,
            format!(
                "a message may have at most {max} bytes; this one has {}",
                req.body.len()
            ),
        ));
    }
    match (req.kind, req.target_seq) {
        (MessageKind::Text, Some(_)) => return Err(bad("a text message has no target_seq")),
        (MessageKind::Text, None) => {}
        (kind, None) => return Err(bad(format!("a {} needs a target_seq", kind.as_str()))),
        (_, Some(_)) if req.reply_to.is_some() => {
            return Err(bad("only a text message can reply"));
        }
        (_, Some(_)) => {}
    }
    if let Some(a) = &req.attachment {
        check_attachment(ctx, req.kind, a)?;
    }
    match req.kind {
        MessageKind::Text if req.body.trim().is_empty() && req.attachment.is_none() => {
            Err(bad("a message cannot be empty"))
        }
        MessageKind::Edit if req.body.trim().is_empty() => Err(bad("a message cannot be empty")),
        MessageKind::Delete if !req.body.is_empty() => Err(bad("a delete has no body")),
        MessageKind::React | MessageKind::Unreact
            if req.body.is_empty()
                || req.body.len() > MAX_REACTION_BYTES
                || req
                    .body
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Err(bad(format!(
                "a reaction is one emoji of 1 to {MAX_REACTION_BYTES} bytes"
            )))
        }
        _ => Ok(()),
    }
}

/// Longest attachment file name (characters) and thumbnail (bytes of base64).
const MAX_FILE_NAME_CHARS: usize = 255;
const MAX_THUMBNAIL_BYTES: usize = 16 * 1024;

/// An attachment descriptor within bounds: on a text message, a plain file name (no folders,
/// no control characters), a size the relay accepts, a SHA-256, a small thumbnail.
fn check_attachment(ctx: Ctx<'_>, kind: MessageKind, a: &Attachment) -> Result<()> {
    if !kind.is_text() {
        return Err(bad("only a text message carries an attachment"));
    }
    let name_ok = !a.name.trim().is_empty()
        && a.name.chars().count() <= MAX_FILE_NAME_CHARS
        && !a
            .name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\' || is_bidi_control(c))
        && a.name != "."
        && a.name != "..";
    if !name_ok {
        return Err(bad(format!(
            "a file name has 1 to {MAX_FILE_NAME_CHARS} characters and no folders"
        )));
    }
    let max = ctx.state.config.limits.max_attachment_bytes;
    if a.size == 0 || a.size > max {
        return Err(Error::refused(
            ErrorCode::AttachmentTooLarge,
            format!("an attachment has 1 to {max} bytes"),
        ));
    }
    if !tern_proto::is_sha256_hex(&a.sha256) {
        return Err(bad("sha256 is 64 hex digits"));
    }
    if a.content_type.len() > 100
        || a.thumbnail
            .as_ref()
            .is_some_and(|t| t.len() > MAX_THUMBNAIL_BYTES)
    {
        return Err(bad(format!(
            "a content type has at most 100 bytes and a thumbnail at most {MAX_THUMBNAIL_BYTES}"
        )));
    }
    Ok(())
}

/// The caller may attach blob `a`: it exists, is complete, matches the descriptor, and is
/// theirs or one they can already read (forwarding).
fn authorize_attachment(txn: &dyn Tx, me: UserId, a: &Attachment) -> Result<()> {
    authorize_blob(txn, me, &a.blob_id, a.size, &a.sha256)
}

/// The caller may refer to blob `blob_id` (in a message or as a picture): it is a complete
/// upload of `size` bytes hashing to `sha256`, and theirs or one they can already read.
pub(super) fn authorize_blob(
    txn: &dyn Tx,
    me: UserId,
    blob_id: &str,
    size: u64,
    sha256: &str,
) -> Result<()> {
    let missing = || Error::refused(ErrorCode::NotFound, "no such attachment upload");
    let upload = txn
        .upload(blob_id)?
        .filter(|u| u.complete)
        .ok_or_else(missing)?;
    if upload.size != size || !upload.sha256.eq_ignore_ascii_case(sha256) {
        return Err(bad(
            "the attachment's size or sha256 differs from its upload",
        ));
    }
    if upload.user_id != me && !txn.blob_readable(me, blob_id)? {
        return Err(missing());
    }
    Ok(())
}

/// Whether the caller may store `req` in a conversation where they have `role`: a reply must
/// name an existing, undeleted text message of the same conversation; an event's target must
/// be one too, an edit must be the caller's own within the edit window, and a delete the
/// caller's own or, in a group, any message if the caller is an admin.
fn authorize(
    txn: &dyn Tx,
    req: &SendMessage,
    me: UserId,
    edit_window_ms: i64,
    now: i64,
) -> Result<()> {
    let (conv, referenced) = (req.conversation_id, req.target_seq.or(req.reply_to));
    let Some(seq) = referenced else {
        return Ok(());
    };
    let target = txn.target(conv, seq)?.ok_or_else(|| {
        Error::refused(
            ErrorCode::NotFound,
            format!("conversation {conv} has no message {seq}"),
        )
    })?;
    if !target.kind.is_text() {
        return Err(bad(format!(
            "{seq} is a {}, not a message",
            target.kind.as_str()
        )));
    }
    if target.deleted {
        return Err(Error::refused(
            ErrorCode::MessageDeleted,
            format!("message {seq} was deleted"),
        ));
    }
    let own = target.sender_id == me;
    match req.kind {
        MessageKind::Edit if !own => Err(Error::refused(
            ErrorCode::Forbidden,
            "only its author can edit a message",
        )),
        MessageKind::Edit if now - target.sent_at > edit_window_ms => Err(Error::refused(
            ErrorCode::EditWindowClosed,
            "this message is too old to edit",
        )),
        MessageKind::React if txn.reaction_count(conv, seq, me)? >= MAX_REACTIONS_PER_USER => {
            Err(bad(format!(
                "at most {MAX_REACTIONS_PER_USER} different reactions per message"
            )))
        }
        MessageKind::Delete if !own && txn.require_member(conv, me)? != MemberRole::Admin => {
            Err(Error::refused(
                ErrorCode::Forbidden,
                "only its author or a group admin can delete a message for everyone",
            ))
        }
        _ => Ok(()),
    }
}

/// In a direct conversation: the other member if they block the sender (the entry is then
/// withheld from them); refused if the sender blocks the other (unblock first).
fn withheld_from(txn: &dyn Tx, roster: &Roster, me: UserId) -> Result<Option<UserId>> {
    if roster.kind != ConversationKind::Direct {
        return Ok(None);
    }
    let Some(other) = roster.ids().into_iter().find(|u| *u != me) else {
        return Ok(None);
    };
    let rules = Rules::new(txn);
    if rules.blocks(me, other)? {
        return Err(Error::refused(
            ErrorCode::Forbidden,
            "you blocked this user; unblock them to send",
        ));
    }
    Ok(rules.blocks(other, me)?.then_some(other))
}

/// Who is sending, as the store job needs it.
struct Sender {
    me: UserId,
    name: String,
    conn: u64,
    hub: crate::hub::Hub,
    now: Timestamp,
    edit_window_ms: i64,
}

/// Check and store one entry: the stored record and whether it was a duplicate. Refusals come
/// before anything is written, so the caller may still answer a resend of an entry stored
/// earlier with its ack.
fn store_entry(
    txn: &dyn Tx,
    req: &SendMessage,
    who: &Sender,
    out: &mut Vec<Publish>,
) -> Result<(MessageRecord, bool)> {
    let (conv, me) = (req.conversation_id, who.me);
    let roster = match txn.roster(conv) {
        Ok(r) if r.contains(me) => r,
        Ok(_) | Err(_) => {
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ))
        }
    };
    let withheld_from = withheld_from(txn, &roster, me)?;
    authorize(txn, req, me, who.edit_window_ms, who.now)?;
    if let Some(a) = &req.attachment {
        authorize_attachment(txn, me, a)?;
    }
    let entry = NewEntry {
        conv,
        sender: me,
        sender_name: &who.name,
        client_id: req.client_id.as_str(),
        body: &req.body,
        kind: req.kind,
        target_seq: req.target_seq,
        reply_to: req.reply_to,
        attachment: req.attachment.as_ref(),
        withheld_from,
        now: who.now,
    };
    let Some(record) = txn.insert_new(&entry)? else {
        let existing = txn
            .find_by_client_id(me, req.client_id.as_str())?
            .ok_or_else(|| Error::Internal("duplicate without an original".into()))?;
        return Ok((existing, true));
    };
    txn.fold(&record)?;
    if let Some(a) = &record.attachment {
        txn.link_blob(&a.blob_id, conv, record.seq)?;
    }
    // Replying to a message request accepts it.
    if req.kind.is_text() && !roster.accepted(me) {
        accept_membership(txn, &who.hub, conv, me, who.conn, out)?;
    }
    publish_entry(out, &roster, &record, withheld_from, who.conn);
    Ok((record, false))
}

/// The new entry to every member but the sending connection; a member who blocks the sender
/// gets the entry's withheld view instead.
fn publish_entry(
    out: &mut Vec<Publish>,
    roster: &Roster,
    record: &MessageRecord,
    withheld_from: Option<UserId>,
    conn: u64,
) {
    let tag = Tag::Message(record.conversation_id, record.seq);
    let members = roster
        .ids()
        .into_iter()
        .filter(|u| Some(*u) != withheld_from)
        .collect();
    let message = record.clone();
    let mut p = Publish::new(members, &ServerFrame::Message { message });
    p.tag = tag;
    p.except = Some(conn);
    out.push(p);
    if let Some(blocker) = withheld_from {
        let message = record.clone().view_for(blocker);
        let mut p = Publish::new(vec![blocker], &ServerFrame::Message { message });
        p.tag = tag;
        out.push(p);
    }
}

/// Store a message or event (or find the earlier copy of this client id) and fan it out.
pub async fn send(ctx: Ctx<'_>, req: SendMessage) -> Result<Pending> {
    validate(ctx, &req)?;
    let state = ctx.state;
    if !state.sends.take(&ctx.caller.user_id) {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "sending too fast; retry shortly",
        ));
    }
    let started = Instant::now();
    let metrics = state.metrics.clone();
    let sender = Sender {
        me: ctx.caller.user_id,
        name: ctx.caller.username.clone(),
        conn: ctx.caller.conn_id,
        hub: state.hub.clone(),
        now: tern_proto::now_ms(),
        edit_window_ms: state.config.limits.edit_window.as_millis() as i64,
    };
    let id = req.id;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        // A resend of an entry already stored gets its ack even when the rules would now
        // refuse it (the sender left, the target was deleted since).
        match store_entry(txn, &req, &sender, out) {
            Err(refusal @ Error::Refused(..)) => {
                match txn.find_by_client_id(sender.me, req.client_id.as_str())? {
                    Some(existing) => Ok((existing, true)),
                    None => Err(refusal),
                }
            }
            stored => stored,
        }
    };
    queue(state, job, move |(m, duplicate)| {
        metrics.ack_latency(started.elapsed());
        let counter = if duplicate {
            &metrics.messages_duplicate
        } else {
            &metrics.messages_stored
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some(ServerFrame::Ack {
            id,
            client_id: m.client_id,
            message_id: m.message_id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            sent_at: m.sent_at,
            duplicate,
        })
    })
    .await
}

/// Page older messages of a conversation.
pub async fn history(ctx: Ctx<'_>, req: HistoryRequest) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let HistoryRequest {
        id,
        conversation_id: conv,
        before_seq,
        limit,
    } = req;
    let limit = limit.clamp(1, MAX_HISTORY_PAGE) as usize;
    // Sequences are stored as SQLite integers (i64): anything above is "after the newest".
    let before = before_seq.unwrap_or(Seq::MAX).min(Seq::MAX);
    let job = move |txn: &dyn Tx, _: &mut Vec<Publish>| {
        txn.require_member(conv, me)?;
        let (messages, has_more) = txn.page_before(conv, before, limit)?;
        let messages = messages.into_iter().map(|m| m.view_for(me)).collect();
        Ok((messages, has_more))
    };
    queue(ctx.state, job, move |(messages, has_more)| {
        Some(ServerFrame::History {
            id,
            conversation_id: conv,
            messages,
            has_more,
        })
    })
    .await
}
