//! How a user's conversations behave on their devices: muted (for good or until a time),
//! pinned, marked unread, archived. The relay keeps it for the user alone, so that every device of
//! theirs shows the same list and raises the same notifications; nobody else is told. It
//! checks only what keeps the store bounded and honest: the caller is in the conversation
//! (clearing is allowed anywhere), times are after 1970, and at most [`MAX_PINNED`]
//! conversations they are in are pinned.

use tern_proto::{ChatPrefs, ErrorCode, ServerFrame, SetChatPrefs, MAX_PINNED};

use super::{queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::Publish;
use crate::store::Tx;

/// Change how one of the caller's conversations behaves; every device of theirs is told.
/// The change applies to the row as the writer has it when the job runs, so changes of
/// different fields from two devices both hold.
pub async fn set(ctx: Ctx<'_>, req: SetChatPrefs) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let (conv, change) = (req.conversation_id, req.change);
    // The edit's time: the device's, never ahead of the relay's (a clock set ahead must not
    // outrank every later change for good); the relay's when the device gave none.
    let now = tern_proto::now_ms();
    let edited_at = req.edited_at.map(|t| t.min(now));
    let mute_end = change.mute.and_then(|m| m.until.filter(|_| m.muted));
    let pin_time = change.pin.and_then(|p| p.at);
    if mute_end.is_some_and(|end| end <= 0) || pin_time.is_some_and(|t| t <= 0) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "times are milliseconds since 1970 and after it",
        ));
    }
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let edits = txn.pref_edits(me, conv)?;
        // A change that reaches the relay after a later change of the same setting (a device
        // that was offline, or sends again a change whose answer it lost) is not applied.
        if edited_at.is_some_and(|at| edits.newer_than(&change, at)) {
            return Err(Error::refused(
                ErrorCode::Superseded,
                "a later change of this setting was made on another device",
            ));
        }
        let before = txn
            .chat_prefs_in(me, conv)?
            .unwrap_or(ChatPrefs::none(conv));
        let prefs = change.on(&before);
        // Clearing is allowed in a conversation one left: it only removes the caller's row.
        if !prefs.is_empty() && !txn.roster(conv).is_ok_and(|r| r.contains(me)) {
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ));
        }
        // Only a new pin is held to the limit: a pin that came back with a rejoined group
        // may take the count past it, and must not stop the user muting or archiving chats.
        let pins = prefs.pinned_at.is_some() && before.pinned_at.is_none();
        if pins && txn.pinned_elsewhere(me, conv)? >= MAX_PINNED {
            return Err(Error::refused(
                ErrorCode::BadRequest,
                format!("at most {MAX_PINNED} chats can be pinned"),
            ));
        }
        let prefs = txn.set_chat_prefs(me, &prefs, now)?;
        txn.set_pref_edits(me, conv, &edits.stamped(&change, edited_at.unwrap_or(now)))?;
        out.push(Publish::new(vec![me], &ServerFrame::ChatPrefs { prefs }));
        Ok(())
    };
    queue(ctx.state, job, move |()| {
        Some(ServerFrame::Ok { id: req.id })
    })
    .await
}
