//! The caller's profile (display name and picture), group pictures, and finding people to
//! chat with.
//!
//! A display name and a picture live on the account; conversations carry them in their
//! members, so a change is published to every conversation the caller is in and reaches
//! offline members by sync (each of those conversations gets a new version). A group's picture
//! is part of the group's shape in the same way.

use tern_proto::{
    ConversationKind, ErrorCode, FindPeople, NoticeAction, Picture, ServerFrame, SetAvatar,
    SetProfile, MAX_PICTURE_BYTES,
};

use super::visibility::publish_conversation;
use super::{queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::{Publish, NO_CONN};
use crate::store::{ReadTx, Tx};

/// Longest display name (characters).
const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// Whether `c` may not appear in a display name: control characters (they break lines) and
/// bidirectional overrides and isolates (they reorder the text around the name, the classic
/// way to make a name read as someone else's).
fn forbidden(c: char) -> bool {
    c.is_control() || super::is_bidi_control(c)
}

/// A display name as stored: trimmed, `None` when blank; refused when too long or when it
/// holds a [`forbidden`] character.
fn clean(name: Option<&str>) -> Result<Option<String>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS || name.chars().any(forbidden) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!(
                "a display name has at most {MAX_DISPLAY_NAME_CHARS} characters, no control characters and no direction overrides"
            ),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Set or clear the caller's display name and tell every conversation (the caller's own
/// connections too: the reply is a bare `ok`, so the new shapes arrive as pushes).
pub async fn set(ctx: Ctx<'_>, req: SetProfile) -> Result<Pending> {
    let name = clean(req.display_name.as_deref())?;
    let (me, id) = (ctx.caller.user_id, req.id);
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        for conv in txn.set_display_name(me, name.as_deref())? {
            let info = txn.info(conv)?;
            publish_conversation(txn, &info, NO_CONN, out)?;
        }
        Ok(())
    };
    queue(ctx.state, job, move |()| Some(ServerFrame::Ok { id })).await
}

/// Picture types a client may show (the relay sniffs a download against them too).
const PICTURE_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// A picture descriptor within bounds: a blob id, an image type, at most
/// [`MAX_PICTURE_BYTES`], a SHA-256.
fn check_picture(p: &Picture) -> Result<()> {
    let bad = |text: String| Err(Error::refused(ErrorCode::BadRequest, text));
    if !tern_proto::is_blob_id(&p.blob_id) {
        return bad("not an upload id".into());
    }
    if !PICTURE_TYPES.contains(&p.content_type.as_str()) {
        return bad(format!("a picture is one of {}", PICTURE_TYPES.join(", ")));
    }
    if p.size == 0 || p.size > MAX_PICTURE_BYTES {
        return Err(Error::refused(
            ErrorCode::AttachmentTooLarge,
            format!("a picture has 1 to {MAX_PICTURE_BYTES} bytes"),
        ));
    }
    if !tern_proto::is_sha256_hex(&p.sha256) {
        return bad("sha256 is 64 hex digits".into());
    }
    Ok(())
}

/// Set or remove the caller's picture, or a group's (any member may, as with renaming), and
/// tell every conversation that shows it, the caller's own connections included.
pub async fn set_avatar(ctx: Ctx<'_>, req: SetAvatar) -> Result<Pending> {
    if let Some(p) = &req.avatar {
        check_picture(p)?;
    }
    let (me, my_name, id) = (ctx.caller.user_id, ctx.caller.username.clone(), req.id);
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        if let Some(p) = &req.avatar {
            super::send_rules::authorize_picture(txn, me, p)?;
        }
        let changed = match req.conversation_id {
            None => txn.set_user_avatar(me, req.avatar.as_ref())?,
            Some(conv) => {
                let roster = txn.roster(conv)?;
                if !roster.members.iter().any(|&(user, _)| user == me) {
                    return Err(Error::refused(
                        ErrorCode::NotMember,
                        format!("you are not a member of conversation {conv}"),
                    ));
                }
                if roster.kind != ConversationKind::Group {
                    return Err(Error::refused(
                        ErrorCode::BadRequest,
                        "a direct conversation shows the other member's picture",
                    ));
                }
                txn.set_group_avatar(conv, req.avatar.as_ref())?;
                let action = if req.avatar.is_some() {
                    NoticeAction::PictureChanged
                } else {
                    NoticeAction::PictureRemoved
                };
                let actor = (me, my_name.as_str());
                super::notices::write(txn, conv, actor, action, Vec::new(), None, out)?;
                vec![conv]
            }
        };
        for conv in changed {
            let info = txn.info(conv)?;
            publish_conversation(txn, &info, NO_CONN, out)?;
        }
        Ok(())
    };
    queue(ctx.state, job, move |()| Some(ServerFrame::Ok { id })).await
}

/// Find people by username prefix or display name among contacts, or exact username.
pub async fn find(ctx: Ctx<'_>, req: FindPeople) -> Result<Pending> {
    let query = req.query.trim().to_owned();
    if query.is_empty() || query.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("a search has 1 to {MAX_DISPLAY_NAME_CHARS} characters"),
        ));
    }
    let (me, id) = (ctx.caller.user_id, req.id);
    // Read beside the writer, so a search never delays a commit; a conversation created by a
    // request just before it may not be seen yet, which a search can live with.
    let people = ctx
        .state
        .store
        .read(move |txn: &dyn ReadTx| txn.find_people(me, &query))
        .await;
    Ok(Box::pin(async move {
        people.map(|people| Some(ServerFrame::People { id, people }))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_name_is_trimmed_blank_clears_it_and_control_characters_are_refused() {
        assert_eq!(
            clean(Some("  Alice A.  ")).unwrap().as_deref(),
            Some("Alice A.")
        );
        assert_eq!(clean(Some("   ")).unwrap(), None);
        assert_eq!(clean(None).unwrap(), None);
        assert!(clean(Some("line\nbreak")).is_err());
        assert!(
            clean(Some("\u{202e}evilA")).is_err(),
            "no direction overrides"
        );
        assert!(clean(Some("Zoë 李")).is_ok());
        assert!(clean(Some(&"x".repeat(65))).is_err());
    }
}
