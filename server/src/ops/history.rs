//! Paging back through a conversation's history: the members' view of each entry, newest
//! page first.

use tern_proto::{ErrorCode, HistoryRequest, Seq, ServerFrame};

use super::{Ctx, Pending};
use crate::error::{Error, Result};

/// Most messages one history page returns.
const MAX_HISTORY_PAGE: u32 = 200;

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
    // Read on a read connection, in one snapshot, like a sync: a page of 200 messages with
    // their reactions is no work for the writer that every send waits on (a member added to a
    // long group reads it back page by page).
    let store = ctx.state.store.clone();
    Ok(Box::pin(async move {
        let (messages, has_more) = store
            .snapshot(move |txn| {
                if !txn.roster(conv)?.contains(me) {
                    return Err(Error::refused(
                        ErrorCode::NotMember,
                        format!("you are not a member of conversation {conv}"),
                    ));
                }
                let (messages, has_more) = txn.page_before(conv, before, limit)?;
                let messages = messages.into_iter().map(|m| m.view_for(me)).collect();
                Ok((messages, has_more))
            })
            .await?;
        Ok(Some(ServerFrame::History {
            id,
            conversation_id: conv,
            messages,
            has_more,
        }))
    }))
}
