//! How a user's conversations behave on their devices: muted (for good or until a time),
//! pinned, marked unread. The relay keeps it for the user alone, so that every device of
//! theirs shows the same list and raises the same notifications; nobody else is told. It
//! checks only what keeps the store bounded and honest: the caller is in the conversation
//! (clearing is allowed anywhere), times are after 1970, and at most [`MAX_PINNED`]
//! conversations they are in are pinned.

use tern_proto::{ErrorCode, ServerFrame, SetChatPrefs, MAX_PINNED};

use super::{queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::Publish;
use crate::store::Tx;

/// Set how one of the caller's conversations behaves; every device of theirs is told.
pub async fn set(ctx: Ctx<'_>, req: SetChatPrefs) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let mut prefs = req.prefs;
    if !prefs.muted {
        // An end without a mute means nothing; kept, it would come back with the next mute.
        prefs.muted_until = None;
    }
    if prefs.muted_until.is_some_and(|end| end <= 0) || prefs.pinned_at.is_some_and(|t| t <= 0) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "times are milliseconds since 1970 and after it",
        ));
    }
    let conv = prefs.conversation_id;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        // Clearing is allowed in a conversation one left: it only removes the caller's row.
        if !prefs.is_empty() && !txn.roster(conv).is_ok_and(|r| r.contains(me)) {
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ));
        }
        if prefs.pinned_at.is_some() && txn.pinned_elsewhere(me, conv)? >= MAX_PINNED {
            return Err(Error::refused(
                ErrorCode::BadRequest,
                format!("at most {MAX_PINNED} chats can be pinned"),
            ));
        }
        let prefs = txn.set_chat_prefs(me, &prefs, tern_proto::now_ms())?;
        out.push(Publish::new(vec![me], &ServerFrame::ChatPrefs { prefs }));
        Ok(())
    };
    queue(ctx.state, job, move |()| {
        Some(ServerFrame::Ok { id: req.id })
    })
    .await
}
