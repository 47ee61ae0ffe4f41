//! Delivered and read markers (cumulative, forward only) and typing indications.

use tern_proto::{
    ConversationId, MarkDelivered, MarkRead, RequestId, Seq, ServerFrame, SetTyping, UserId,
};

use super::visibility::{publish_receipt, Rules};
use super::{queue_checked, Ctx, Pending};
use crate::error::Result;
use crate::fanout::Publish;
use crate::store::Tx;

/// Which marker a request moves. Reading implies delivery.
#[derive(Debug, Clone, Copy)]
enum Marker {
    Delivered(Seq),
    Read(Seq),
}

impl Marker {
    /// The (delivered, read) sequences to advance to; 0 leaves a marker where it is.
    fn targets(self) -> (Seq, Seq) {
        match self {
            Marker::Delivered(seq) => (seq, Seq::ZERO),
            Marker::Read(seq) => (seq, seq),
        }
    }
}

/// This device holds everything up to `seq`; no reply on success.
pub async fn delivered(ctx: Ctx<'_>, req: MarkDelivered) -> Result<Pending> {
    advance(ctx, req.conversation_id, Marker::Delivered(req.seq), None).await
}

/// The user read everything up to `seq`; answered with `ok`.
pub async fn read(ctx: Ctx<'_>, req: MarkRead) -> Result<Pending> {
    advance(
        ctx,
        req.conversation_id,
        Marker::Read(req.seq),
        Some(req.id),
    )
    .await
}

/// Move the caller's markers forward and tell the conversation's members; answer `ok` to
/// `reply_to` when set.
async fn advance(
    ctx: Ctx<'_>,
    conv: ConversationId,
    marker: Marker,
    reply_to: Option<RequestId>,
) -> Result<Pending> {
    let (me, conn) = (ctx.caller.user_id, ctx.caller.conn_id);
    let (delivered, read) = marker.targets();
    // The only refusal (not a member) comes before the markers are written.
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        if let Some(receipt) = txn.advance_receipt(conv, me, delivered, read)? {
            // Each member gets the markers the privacy rules let them see (the caller's other
            // devices all of them; the connection that moved them already knows).
            let roster = txn.roster(conv)?;
            let rules = Rules::new(txn);
            publish_receipt(&rules, &roster, receipt, roster.ids(), Some(conn), out)?;
        }
        Ok(())
    };
    queue_checked(ctx.state, job, move |()| {
        reply_to.map(|id| ServerFrame::Ok { id })
    })
    .await
}

/// Forward a typing indication to the other members; nothing is stored.
pub async fn typing(ctx: Ctx<'_>, req: SetTyping) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let expires_in_ms = ctx.state.config.limits.typing_expiry.as_millis() as u64;
    let SetTyping {
        conversation_id: conv,
        active,
        ..
    } = req;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        txn.require_member(conv, me)?;
        let roster = txn.roster(conv)?;
        let rules = Rules::new(txn);
        let mut others: Vec<UserId> = Vec::new();
        for user in roster.ids() {
            if user != me && rules.typing_passes(&roster, me, user)? {
                others.push(user);
            }
        }
        if others.is_empty() {
            return Ok(());
        }
        out.push(Publish::new(
            others,
            &ServerFrame::Typing {
                conversation_id: conv,
                user_id: me,
                active,
                expires_in_ms,
            },
        ));
        Ok(())
    };
    // Nothing is written.
    queue_checked(ctx.state, job, |()| None).await
}
