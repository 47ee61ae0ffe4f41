//! Direct (one-to-one) conversations: found or created by the other user's name.

use tern_proto::{ServerFrame, StartDirect};

use super::groups::publish_conversation;
use super::presence::introduce;
use super::{queue, Ctx, Pending};
use crate::error::Result;
use crate::fanout::Publish;
use crate::store::Tx;

/// Find or create the direct conversation with `username`.
pub async fn start(ctx: Ctx<'_>, req: StartDirect) -> Result<Pending> {
    let (me, conn, hub) = (
        ctx.caller.user_id,
        ctx.caller.conn_id,
        ctx.state.hub.clone(),
    );
    let StartDirect { id, username } = req;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let other = txn.resolve_usernames(&[username])?[0].0;
        let (info, created) = txn.start_direct(me, other, tern_proto::now_ms())?;
        if created {
            publish_conversation(&info, conn, out);
            introduce(txn, &hub, &[me, other], out)?;
        }
        Ok(info)
    };
    queue(ctx.state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}
