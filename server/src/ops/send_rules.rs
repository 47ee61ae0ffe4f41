//! What a send may be: fields within bounds and fitting its kind (checked before it costs a
//! store job), an attachment the sender uploaded, an edit, delete or reaction the sender may
//! make on its target, and a direct chat neither side blocks.

use tern_proto::{
    Attachment, ConversationKind, ErrorCode, MemberRole, MessageKind, Picture, SendMessage, UserId,
    MAX_CLIENT_ID_LEN,
};

use super::visibility::Rules;
use super::{is_bidi_control, Ctx};
use crate::error::{Error, Result};
use crate::store::{Roster, Tx};

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
pub(super) fn validate(ctx: Ctx<'_>, req: &SendMessage) -> Result<()> {
    let max = ctx.state.config.limits.max_message_bytes;
    match req.kind {
        MessageKind::Notice => return Err(bad("notices are written by the relay, not sent")),
        MessageKind::Unknown => return Err(bad("this relay does not know that kind of entry")),
        _ => {}
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
    match req.written_at {
        Some(_) if !req.kind.is_text() => return Err(bad("only a text message has written_at")),
        Some(t) if t <= 0 => return Err(bad("written_at is a time in ms since 1970")),
        _ => {}
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

/// The caller may attach blob `a`: it exists, is complete, matches the descriptor, and is the
/// caller's own upload. Not one they can merely read: uploads count against their uploader's
/// quota and stay while a message refers to them, so a reference from someone else's message
/// would keep the uploader's file (and its cost) for as long as that stranger liked, after the
/// uploader deleted their message. Forwarding uploads the file afresh (Tern clients do).
pub(super) fn authorize_attachment(txn: &dyn Tx, me: UserId, a: &Attachment) -> Result<()> {
    authorize_blob(txn, me, &a.blob_id, a.size, &a.sha256)
}

/// The caller may make blob `p` a picture (theirs or a group's): it exists, is complete,
/// matches the descriptor, and is the caller's own upload. Not one they can merely read: a
/// picture is shown to everyone who shares a conversation with its user, for as long as it
/// stays, so someone else's file received in a chat would reach people its sender never sent
/// it to, and outlive the message. (Tern clients upload every picture afresh.)
pub(super) fn authorize_picture(txn: &dyn Tx, me: UserId, p: &Picture) -> Result<()> {
    authorize_blob(txn, me, &p.blob_id, p.size, &p.sha256)
}

/// The caller may refer to blob `blob_id`: it is a complete upload of theirs of `size` bytes
/// hashing to `sha256`. Anyone else's is "not found", as one that does not exist.
fn authorize_blob(txn: &dyn Tx, me: UserId, blob_id: &str, size: u64, sha256: &str) -> Result<()> {
    let missing = || Error::refused(ErrorCode::NotFound, "no such attachment upload");
    let upload = txn
        .upload(blob_id)?
        .filter(|u| u.complete && u.user_id == me)
        .ok_or_else(missing)?;
    if upload.size != size || !upload.sha256.eq_ignore_ascii_case(sha256) {
        return Err(bad(
            "the attachment's size or sha256 differs from its upload",
        ));
    }
    Ok(())
}

/// Whether the caller may store `req` in a conversation where they have `role`: a reply must
/// name an existing, undeleted text message of the same conversation; an event's target must
/// be one too, an edit must be the caller's own within the edit window, and a delete the
/// caller's own or, in a group, any message if the caller is an admin.
pub(super) fn authorize(
    txn: &dyn Tx,
    req: &SendMessage,
    me: UserId,
    kind: ConversationKind,
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
        MessageKind::Delete
            if !own
                && (kind != ConversationKind::Group
                    || txn.require_member(conv, me)? != MemberRole::Admin) =>
        {
            Err(Error::refused(
                ErrorCode::Forbidden,
                "only its author or a group admin can delete a message for everyone",
            ))
        }
        _ => Ok(()),
    }
}

/// In a direct conversation: the other member if they block the sender (the entry is then
/// withheld from them); refused if the sender blocks the other (unblock first). A delete is
/// neither: it carries nothing, and erasing a message from every device is its author's right
/// whoever blocks whom (the blocker's copy of a blocked user's deleted message goes, and the
/// blocker can take back what they sent before blocking).
pub(super) fn withheld_from(
    txn: &dyn Tx,
    roster: &Roster,
    me: UserId,
    kind: MessageKind,
) -> Result<Option<UserId>> {
    if roster.kind != ConversationKind::Direct || kind == MessageKind::Delete {
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
