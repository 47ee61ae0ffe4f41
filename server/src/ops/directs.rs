//! Direct (one-to-one) conversations: found or created by the other user's name.

use tern_proto::{ServerFrame, StartDirect};

use super::membership;
use super::presence::introduce;
use super::privacy::mark_requests;
use super::visibility::publish_conversation;
use super::visibility::Rules;
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
        let (mut info, created) = membership::start_direct(txn, me, other, tern_proto::now_ms())?;
        if created {
            // A stranger's first message is a request: until the other accepts, nothing
            // passes but the messages.
            mark_requests(txn, info.conversation_id, me, &[other])?;
            info = txn.info(info.conversation_id)?;
            publish_conversation(txn, &info, conn, out)?;
            introduce(txn, &hub, &[me, other], out)?;
        }
        Rules::new(txn).view_info(me, &info)
    };
    queue(ctx.state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}
