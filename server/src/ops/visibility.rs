//! What one user may see of another, in one place: [`Rules`] decides presence, typing and
//! receipt markers from privacy settings, blocks and message requests (docs/protocol.md,
//! "Privacy"), and the `publish_*` functions send each recipient the frame the rules let them
//! see. No query encodes these rules, so both storage backends share them; every operation
//! that publishes something about a user goes through here.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use tern_proto::{
    ConversationInfo, PresenceVisibility, ReceiptState, RequestId, Seq, ServerFrame, UserId,
};

use crate::error::Result;
use crate::fanout::{ConnId, Publish, Tag};
use crate::store::{PrivacyRow, ReadTx, Roster, Tx};

/// What a viewer may see of a member's receipt markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    txn: &'t dyn ReadTx,
    settings: RefCell<HashMap<UserId, PrivacyRow>>,
    blocks: RefCell<HashMap<UserId, Vec<(UserId, UserId)>>>,
}

impl<'t> Rules<'t> {
    /// Rules answered from `txn`.
    pub fn new(txn: &'t dyn ReadTx) -> Self {
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
        self.preload(&[user])?;
        Ok(self.settings.borrow()[&user])
    }

    /// Read the settings of `users` not known yet, in one store call (a group's members
    /// before a receipt goes out to each of them).
    pub fn preload(&self, users: &[UserId]) -> Result<()> {
        let missing: Vec<UserId> = {
            let known = self.settings.borrow();
            users
                .iter()
                .copied()
                .filter(|u| !known.contains_key(u))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let found = self.txn.privacy(&missing)?;
        let mut known = self.settings.borrow_mut();
        for user in missing {
            let row = found.iter().find(|r| r.0 == user).map(|r| r.1);
            known.insert(
                user,
                row.unwrap_or(PrivacyRow {
                    presence: PresenceVisibility::Contacts,
                    read_receipts: true,
                }),
            );
        }
        Ok(())
    }

    /// Whether `blocker` blocks `blocked`. Each user's blocks are read once, both directions
    /// together, so asking about one user and many others costs one store call.
    pub fn blocks(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        {
            let known = self.blocks.borrow();
            if let Some(pairs) = known.get(&blocked).or_else(|| known.get(&blocker)) {
                return Ok(pairs.contains(&(blocker, blocked)));
            }
        }
        let pairs = self.txn.blocks_of(blocker)?;
        let answer = pairs.contains(&(blocker, blocked));
        self.blocks.borrow_mut().insert(blocker, pairs);
        Ok(answer)
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
        // The subject's blocks first: publishing one member's markers to a whole group
        // then reads blocks once.
        if !accepted(viewer) || !accepted(subject) || self.blocked_either(subject, viewer)? {
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
                    read_seq: Seq::ZERO,
                    ..receipt
                }),
                MarkerView::Nothing => None,
            },
        )
    }

    /// A conversation's shape as `viewer` may receive it: members' markers they may not see
    /// are zero.
    pub fn view_info(&self, viewer: UserId, info: &ConversationInfo) -> Result<ConversationInfo> {
        let accepted = accepted_members(info);
        Ok(with_markers(
            info,
            &self.marker_views(viewer, info, &accepted)?,
        ))
    }

    /// What `viewer` may see of each member's markers, in member order; `accepted` holds the
    /// members who accepted the conversation.
    fn marker_views(
        &self,
        viewer: UserId,
        info: &ConversationInfo,
        accepted: &HashSet<UserId>,
    ) -> Result<Vec<MarkerView>> {
        info.members
            .iter()
            .map(|m| self.marker_view(viewer, m.user_id, |u| accepted.contains(&u)))
            .collect()
    }
}

/// The members of `info` who accepted it.
fn accepted_members(info: &ConversationInfo) -> HashSet<UserId> {
    info.members
        .iter()
        .filter(|m| m.accepted)
        .map(|m| m.user_id)
        .collect()
}

/// `info` with each member's markers as `views` (in member order) lets them be seen.
fn with_markers(info: &ConversationInfo, views: &[MarkerView]) -> ConversationInfo {
    let mut out = info.clone();
    for (m, view) in out.members.iter_mut().zip(views) {
        match view {
            MarkerView::All => {}
            MarkerView::DeliveredOnly => m.read_seq = Seq::ZERO,
            MarkerView::Nothing => (m.delivered_seq, m.read_seq) = (Seq::ZERO, Seq::ZERO),
        }
    }
    out
}

/// Publish a frame made per recipient; recipients whose frames are equal share one payload.
pub fn publish_each(
    users: impl IntoIterator<Item = UserId>,
    out: &mut Vec<Publish>,
    mut frame_for: impl FnMut(UserId) -> Result<Option<(ServerFrame, Tag)>>,
    except: Option<ConnId>,
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

/// Publish a member's receipt markers to `viewers`, each as the rules let them see it, except
/// to the connection `except` (the one that moved them knows).
pub fn publish_receipt(
    rules: &Rules<'_>,
    roster: &Roster,
    receipt: ReceiptState,
    viewers: impl IntoIterator<Item = UserId>,
    except: Option<ConnId>,
    out: &mut Vec<Publish>,
) -> Result<()> {
    rules.preload(&roster.ids())?;
    publish_each(
        viewers,
        out,
        |viewer| {
            Ok(rules
                .view_receipt(viewer, receipt, roster)?
                .map(|r| (ServerFrame::Receipt { receipt: r }, Tag::Receipt(r))))
        },
        except,
    )
}

/// Tell every member about a conversation's new shape, each as the privacy rules let them
/// see it (except the connection that asked, which gets it as its reply), tagged with its
/// version so that a connection never follows a newer shape with an older one.
pub fn publish_conversation(
    txn: &dyn Tx,
    info: &ConversationInfo,
    except: ConnId,
    out: &mut Vec<Publish>,
) -> Result<()> {
    let rules = Rules::new(txn);
    let members: Vec<UserId> = info.members.iter().map(|m| m.user_id).collect();
    rules.preload(&members)?;
    // Viewers differ only in whose markers they may see: group them by that (a group of M
    // members costs M² lookups, not M² shapes built and compared), and build one shape per
    // group.
    let accepted = accepted_members(info);
    let mut index: HashMap<Vec<MarkerView>, usize> = HashMap::new();
    let mut groups: Vec<(Vec<MarkerView>, Vec<UserId>)> = Vec::new();
    for viewer in members {
        let views = rules.marker_views(viewer, info, &accepted)?;
        match index.get(&views) {
            Some(&i) => groups[i].1.push(viewer),
            None => {
                index.insert(views.clone(), groups.len());
                groups.push((views, vec![viewer]));
            }
        }
    }
    let tag = Tag::Shape(info.conversation_id, info.version);
    for (views, users) in groups {
        let conversation = with_markers(info, &views);
        let mut p = Publish::new(
            users,
            &ServerFrame::Conversation {
                id: None,
                conversation,
            },
        );
        p.tag = tag;
        p.except = Some(except);
        out.push(p);
    }
    Ok(())
}

/// The reply carrying a conversation's shape.
pub fn conversation_reply(id: RequestId) -> impl FnOnce(ConversationInfo) -> Option<ServerFrame> {
    move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    }
}

/// Tell `user`'s devices (but the connection `except`) that they are no longer in `info`'s
/// conversation, as of its version (see [`publish_conversation`]).
pub fn publish_removed(
    user: UserId,
    info: &ConversationInfo,
    except: Option<ConnId>,
    out: &mut Vec<Publish>,
) {
    let mut gone = Publish::new(
        vec![user],
        &ServerFrame::ConversationRemoved {
            conversation_id: info.conversation_id,
        },
    );
    gone.tag = Tag::Shape(info.conversation_id, info.version);
    gone.except = except;
    out.push(gone);
}
