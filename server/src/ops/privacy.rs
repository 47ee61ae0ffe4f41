//! Privacy: blocks, presence and read-receipt settings, message requests, and [`Rules`], the
//! one place that decides what a user may see of another (presence, typing, receipt markers,
//! entries withheld from a blocker). Every other operation asks [`Rules`]; no query encodes
//! these rules, so both storage backends share them.
//!
//! The rules, as docs/protocol.md states them:
//! - presence passes only between users who share a conversation both accepted, neither
//!   blocking the other, and only if its subject shows presence to contacts;
//! - typing and receipt markers pass only between accepted members, neither blocking the
//!   other; read markers only if both the subject and the viewer have read receipts on;
//! - a direct message from a user the receiver blocks is stored (the sender sees it as sent)
//!   but withheld from the receiver: they get an empty placeholder at its place in the log.

use std::cell::RefCell;
use std::collections::HashMap;

use tern_proto::{
    AcceptRequest, Block, ConversationInfo, ErrorCode, Presence, PresenceVisibility, Privacy,
    ReceiptState, ServerFrame, SetPrivacy, Unblock, UserId,
};

use super::groups::{conversation_reply, publish_conversation};
use super::presence::{introduce, presence_of};
use super::{queue, Ctx, Pending};
use crate::error::{Error, Result};
use crate::fanout::{Publish, Tag};
use crate::hub::Hub;
use crate::store::{PrivacyRow, Roster, Tx};

/// What a viewer may see of a member's receipt markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerView {
    /// Both markers.
    All,
    /// Delivery only (one of them has read receipts off).
    DeliveredOnly,
    /// Neither (a request not yet accepted, or a block).
    Nothing,
}

/// The privacy rules over one store job, loading settings and blocks as they are needed.
pub struct Rules<'t> {
    txn: &'t dyn Tx,
    settings: RefCell<HashMap<UserId, PrivacyRow>>,
    blocks: RefCell<HashMap<UserId, Vec<(UserId, UserId)>>>,
}

impl<'t> Rules<'t> {
    /// Rules answered from `txn`.
    pub fn new(txn: &'t dyn Tx) -> Self {
        Rules {
            txn,
            settings: RefCell::default(),
            blocks: RefCell::default(),
        }
    }

    /// A user's settings (the defaults for an unknown id).
    pub fn settings(&self, user: UserId) -> Result<PrivacyRow> {
        if let Some(row) = self.settings.borrow().get(&user) {
            return Ok(*row);
        }
        let row = self
            .txn
            .privacy(&[user])?
            .pop()
            .map(|r| r.1)
            .unwrap_or(PrivacyRow {
                presence: PresenceVisibility::Contacts,
                read_receipts: true,
            });
        self.settings.borrow_mut().insert(user, row);
        Ok(row)
    }

    /// Whether `blocker` blocks `blocked`.
    pub fn blocks(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        if !self.blocks.borrow().contains_key(&blocker) {
            let pairs = self.txn.blocks_of(blocker)?;
            self.blocks.borrow_mut().insert(blocker, pairs);
        }
        Ok(self.blocks.borrow()[&blocker].contains(&(blocker, blocked)))
    }

    /// Whether either blocks the other.
    pub fn blocked_either(&self, a: UserId, b: UserId) -> Result<bool> {
        Ok(self.blocks(a, b)? || self.blocks(b, a)?)
    }

    /// Whether `viewer`, a contact of `subject` (they share an accepted conversation), may
    /// see `subject`'s presence.
    pub fn sees_presence(&self, viewer: UserId, subject: UserId) -> Result<bool> {
        Ok(viewer == subject
            || (self.settings(subject)?.presence == PresenceVisibility::Contacts
                && !self.blocked_either(viewer, subject)?))
    }

    /// Whether typing passes between two members of a conversation.
    pub fn typing_passes(&self, roster: &Roster, from: UserId, to: UserId) -> Result<bool> {
        Ok(roster.accepted(from) && roster.accepted(to) && !self.blocked_either(from, to)?)
    }

    /// What `viewer` may see of `subject`'s markers; `accepted` tells whether a member
    /// accepted the conversation.
    pub fn marker_view(
        &self,
        viewer: UserId,
        subject: UserId,
        accepted: impl Fn(UserId) -> bool,
    ) -> Result<MarkerView> {
        if viewer == subject {
            return Ok(MarkerView::All);
        }
        if !accepted(viewer) || !accepted(subject) || self.blocked_either(viewer, subject)? {
            return Ok(MarkerView::Nothing);
        }
        if !self.settings(viewer)?.read_receipts || !self.settings(subject)?.read_receipts {
            return Ok(MarkerView::DeliveredOnly);
        }
        Ok(MarkerView::All)
    }

    /// A receipt as `viewer` may receive it, or `None` if it must not.
    pub fn view_receipt(
        &self,
        viewer: UserId,
        receipt: ReceiptState,
        roster: &Roster,
    ) -> Result<Option<ReceiptState>> {
        Ok(
            match self.marker_view(viewer, receipt.user_id, |u| roster.accepted(u))? {
                MarkerView::All => Some(receipt),
                MarkerView::DeliveredOnly => Some(ReceiptState {
                    read_seq: 0,
                    ..receipt
                }),
                MarkerView::Nothing => None,
            },
        )
    }

    /// A conversation's shape as `viewer` may receive it: members' markers they may not see
    /// are zero.
    pub fn view_info(&self, viewer: UserId, info: &ConversationInfo) -> Result<ConversationInfo> {
        let accepted = |u: UserId| info.members.iter().any(|m| m.user_id == u && m.accepted);
        let mut out = info.clone();
        for m in &mut out.members {
            match self.marker_view(viewer, m.user_id, accepted)? {
                MarkerView::All => {}
                MarkerView::DeliveredOnly => m.read_seq = 0,
                MarkerView::Nothing => (m.delivered_seq, m.read_seq) = (0, 0),
            }
        }
        Ok(out)
    }
}

/// Publish a frame made per recipient; recipients whose frames are equal share one payload.
pub(super) fn publish_each(
    users: impl IntoIterator<Item = UserId>,
    out: &mut Vec<Publish>,
    mut frame_for: impl FnMut(UserId) -> Result<Option<(ServerFrame, Tag)>>,
    except: Option<crate::fanout::ConnId>,
) -> Result<()> {
    let mut groups: Vec<(ServerFrame, Tag, Vec<UserId>)> = Vec::new();
    for user in users {
        let Some((frame, tag)) = frame_for(user)? else {
            continue;
        };
        match groups.iter_mut().find(|g| g.0 == frame) {
            Some(g) => g.2.push(user),
            None => groups.push((frame, tag, vec![user])),
        }
    }
    for (frame, tag, users) in groups {
        let mut p = Publish::new(users, &frame);
        p.tag = tag;
        p.except = except;
        out.push(p);
    }
    Ok(())
}

/// Publish a member's receipt markers to `viewers`, each as the rules let them see it.
pub(super) fn publish_receipt(
    rules: &Rules<'_>,
    roster: &Roster,
    receipt: ReceiptState,
    viewers: impl IntoIterator<Item = UserId>,
    out: &mut Vec<Publish>,
) -> Result<()> {
    publish_each(
        viewers,
        out,
        |viewer| {
            Ok(rules
                .view_receipt(viewer, receipt, roster)?
                .map(|r| (ServerFrame::Receipt { receipt: r }, Tag::Receipt(r))))
        },
        None,
    )
}

/// A user's settings and block list, as their devices receive them.
pub fn privacy_state(txn: &dyn Tx, user: UserId) -> Result<Privacy> {
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
        txn.block(me, other, tern_proto::now_ms())?;
        push_privacy(txn, me, out)?;
        // Each stops seeing the other's presence from now on.
        out.push(Publish::new(
            vec![other],
            &ServerFrame::Presence {
                presence: hidden(me),
            },
        ));
        out.push(Publish::new(
            vec![me],
            &ServerFrame::Presence {
                presence: hidden(other),
            },
        ));
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
        if receipt.delivered_seq == 0 && receipt.read_seq == 0 {
            continue;
        }
        let others = members.iter().copied().filter(|u| *u != m.user_id);
        publish_receipt(&rules, &roster, receipt, others, out)?;
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
/// the conversations they were in get their new shape; returns the sessions to close.
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
        // No connection asked (0 is no connection's id): every member gets the new shape.
        publish_conversation(txn, &info, 0, out)?;
    }
    Ok(sessions)
}
