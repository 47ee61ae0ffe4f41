//! Privacy operations: block and unblock, presence and read-receipt settings, accepting a
//! message request, and deleting an account. What these change for other users is decided by
//! [`super::visibility::Rules`].
//!
//! The rules, as docs/protocol.md states them:
//! - presence passes only between users who share a conversation both accepted, neither
//!   blocking the other, and only if its subject shows presence to contacts;
//! - typing and receipt markers pass only between accepted members, neither blocking the
//!   other; read markers only if both the subject and the viewer have read receipts on;
//! - a direct message from a user the receiver blocks is stored (the sender sees it as sent)
//!   but withheld from the receiver: they get an empty placeholder at its place in the log.

use tern_proto::{
    AcceptRequest, Block, ConversationKind, ErrorCode, NoticeAction, Presence, PresenceVisibility,
    Privacy, ReceiptState, Seq, ServerFrame, SetPrivacy, Unblock, UserId, DELETED_ACCOUNT,
};

use super::presence::{introduce, presence_of};
use super::visibility::{
    conversation_reply, publish_conversation, publish_each, publish_receipt, Rules,
};
use super::{queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::{Publish, Tag, NO_CONN};
use crate::hub::Hub;
use crate::store::{ReadTx, Tx};

/// A user's settings and block list, as their devices receive them.
pub fn privacy_state(txn: &dyn ReadTx, user: UserId) -> Result<Privacy> {
    let row = Rules::new(txn).settings(user)?;
    Ok(Privacy {
        presence: row.presence,
        read_receipts: row.read_receipts,
        blocked: txn.blocked_by(user)?,
    })
}

/// Presence as shown to someone who may not see it: offline, never seen.
fn hidden(user_id: UserId) -> Presence {
    Presence {
        user_id,
        online: false,
        last_seen: None,
    }
}

/// Tell every device of `user` their privacy state now.
fn push_privacy(txn: &dyn Tx, user: UserId, out: &mut Vec<Publish>) -> Result<()> {
    let privacy = privacy_state(txn, user)?;
    out.push(Publish::new(vec![user], &ServerFrame::Privacy { privacy }));
    Ok(())
}

/// Publish `subject`'s presence to each contact as the rules let them see it.
pub(super) fn republish_presence(
    txn: &dyn Tx,
    hub: &Hub,
    subject: UserId,
    out: &mut Vec<Publish>,
) -> Result<()> {
    let rules = Rules::new(txn);
    let real = presence_of(txn, hub, &[subject])?.remove(0);
    let contacts = txn.contacts(subject)?.into_iter().map(|c| c.0);
    publish_each(
        contacts,
        out,
        |viewer| {
            let presence = if rules.sees_presence(viewer, subject)? {
                real.clone()
            } else {
                hidden(subject)
            };
            Ok(Some((ServerFrame::Presence { presence }, Tag::Other)))
        },
        None,
    )
}

/// Block a user.
pub async fn block(ctx: Ctx<'_>, req: Block) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let other = txn.resolve_usernames(&[req.username])?[0].0;
        if other == me {
            return Err(Error::refused(
                ErrorCode::BadRequest,
                "you cannot block yourself",
            ));
        }
        // Who saw whose presence until now: only they are told it is hidden. Anyone else
        // (a stranger whose request is blocked, a contact who never saw it) hears nothing,
        // or the frame itself would tell them they were blocked.
        let (they_saw, i_saw) = {
            let contact = txn.contacts(me)?.iter().any(|c| c.0 == other);
            let rules = Rules::new(txn);
            (
                contact && rules.sees_presence(other, me)?,
                contact && rules.sees_presence(me, other)?,
            )
        };
        txn.block(me, other, tern_proto::now_ms())?;
        push_privacy(txn, me, out)?;
        if they_saw {
            out.push(Publish::new(
                vec![other],
                &ServerFrame::Presence {
                    presence: hidden(me),
                },
            ));
        }
        if i_saw {
            out.push(Publish::new(
                vec![me],
                &ServerFrame::Presence {
                    presence: hidden(other),
                },
            ));
        }
        Ok(())
    };
    queue(ctx.state, job, move |()| {
        Some(ServerFrame::Ok { id: req.id })
    })
    .await
}

/// Lift a block.
pub async fn unblock(ctx: Ctx<'_>, req: Unblock) -> Result<Pending> {
    let (me, hub) = (ctx.caller.user_id, ctx.state.hub.clone());
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let other = txn.resolve_usernames(&[req.username])?[0].0;
        txn.unblock(me, other)?;
        push_privacy(txn, me, out)?;
        if txn.contacts(me)?.iter().any(|c| c.0 == other) {
            introduce(txn, &hub, &[me, other], out)?;
        }
        Ok(())
    };
    queue(ctx.state, job, move |()| {
        Some(ServerFrame::Ok { id: req.id })
    })
    .await
}

/// Change privacy settings.
pub async fn set(ctx: Ctx<'_>, req: SetPrivacy) -> Result<Pending> {
    if req.presence == Some(PresenceVisibility::Other) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "presence must be \"contacts\" or \"nobody\"",
        ));
    }
    let (me, hub) = (ctx.caller.user_id, ctx.state.hub.clone());
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let before = Rules::new(txn).settings(me)?;
        txn.set_privacy(me, req.presence, req.read_receipts)?;
        push_privacy(txn, me, out)?;
        if req.presence.is_some_and(|p| p != before.presence) {
            republish_presence(txn, &hub, me, out)?;
        }
        Ok(())
    };
    queue(ctx.state, job, move |()| {
        Some(ServerFrame::Ok { id: req.id })
    })
    .await
}

/// Accept a message request.
pub async fn accept(ctx: Ctx<'_>, req: AcceptRequest) -> Result<Pending> {
    let (me, conn, hub) = (
        ctx.caller.user_id,
        ctx.caller.conn_id,
        ctx.state.hub.clone(),
    );
    let conv = req.conversation_id;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let roster = txn.roster(conv)?;
        if !roster.contains(me) {
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ));
        }
        if !roster.accepted(me) {
            accept_membership(txn, &hub, conv, me, conn, out)?;
        }
        Rules::new(txn).view_info(me, &txn.info(conv)?)
    };
    queue(ctx.state, job, conversation_reply(req.id)).await
}

/// Mark `me`'s membership accepted, tell the members, and introduce presence.
pub(super) fn accept_membership(
    txn: &dyn Tx,
    hub: &Hub,
    conv: tern_proto::ConversationId,
    me: UserId,
    conn: crate::fanout::ConnId,
    out: &mut Vec<Publish>,
) -> Result<()> {
    txn.set_accepted(conv, me, true)?;
    let info = txn.info(conv)?;
    publish_conversation(txn, &info, conn, out)?;
    let members: Vec<UserId> = info.members.iter().map(|m| m.user_id).collect();
    // Markers held back while it was a request now pass, as receipts like any other.
    let roster = txn.roster(conv)?;
    let rules = Rules::new(txn);
    for m in &info.members {
        let receipt = ReceiptState {
            conversation_id: conv,
            user_id: m.user_id,
            delivered_seq: m.delivered_seq,
            read_seq: m.read_seq,
        };
        if receipt.delivered_seq == Seq::ZERO && receipt.read_seq == Seq::ZERO {
            continue;
        }
        let others = members.iter().copied().filter(|u| *u != m.user_id);
        publish_receipt(&rules, &roster, receipt, others, None, out)?;
    }
    introduce(txn, hub, &members, out)
}

/// After `adder` put `added` into conversation `conv`: each added user who shares no
/// accepted conversation with the adder gets it as a message request.
pub(super) fn mark_requests(
    txn: &dyn Tx,
    conv: tern_proto::ConversationId,
    adder: UserId,
    added: &[UserId],
) -> Result<()> {
    for &user in added {
        if user != adder && !txn.shares_accepted(adder, user, conv)? {
            txn.set_accepted(conv, user, false)?;
        }
    }
    Ok(())
}

/// Delete `user`'s account inside a store job: their contacts see them go offline (hidden),
/// the conversations they were in get their new shape, and each group a "left" notice (from
/// "Deleted account", as its history shows them); returns the sessions to close.
pub fn delete_account(
    txn: &dyn Tx,
    user: UserId,
    now: tern_proto::Timestamp,
    out: &mut Vec<Publish>,
) -> Result<Vec<tern_proto::SessionId>> {
    let contacts: Vec<UserId> = txn.contacts(user)?.into_iter().map(|c| c.0).collect();
    if !contacts.is_empty() {
        out.push(Publish::new(
            contacts,
            &ServerFrame::Presence {
                presence: hidden(user),
            },
        ));
    }
    let (sessions, convs) = txn.delete_account(user, now)?;
    for conv in convs {
        let info = txn.info(conv)?;
        // No connection asked: every member gets the new shape.
        publish_conversation(txn, &info, NO_CONN, out)?;
        if info.kind == ConversationKind::Group {
            let actor = (user, DELETED_ACCOUNT);
            super::notices::write(txn, conv, actor, NoticeAction::Left, Vec::new(), None, out)?;
        }
    }
    Ok(sessions)
}
