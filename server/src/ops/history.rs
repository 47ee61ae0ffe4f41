//! Paging back through a conversation's history: the members' view of each entry, newest
//! page first.

use tern_proto::{HistoryRequest, Seq, ServerFrame};

use super::{queue, Ctx, Pending};
use crate::error::Result;
use crate::fanout::Publish;
use crate::store::Tx;

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
