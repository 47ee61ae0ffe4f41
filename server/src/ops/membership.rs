//! Who may change a conversation's membership, written once for every storage backend.
//!
//! The backends keep only the statements (find or create a direct pair, insert a group, set a
//! name, add members, take one out); the rules live here and run inside the same job, so they
//! see the transaction's own view:
//! - a direct conversation has exactly its two users: it has no name, cannot be left, and
//!   nobody is added to or removed from it;
//! - any member may rename a group; only an admin adds or removes members;
//! - a group never grows past the configured size, and nobody is in it twice;
//! - an admin leaves with `leave_group`, not by removing themselves; a group that loses its
//!   last admin gets one from the backend's `deactivate` (the longest-standing member).

use tern_proto::{ConversationId, ConversationInfo, ConversationKind, ErrorCode, MemberRole};
use tern_proto::{Timestamp, UserId};

use crate::error::{Error, Result};
use crate::store::Tx;

/// Find or create the direct conversation of `me` and `other`; whether it was created.
pub fn start_direct(
    txn: &dyn Tx,
    me: UserId,
    other: UserId,
    now: Timestamp,
) -> Result<(ConversationInfo, bool)> {
    if me == other {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "a direct conversation needs another user",
        ));
    }
    let (conv, created) = txn.direct_between(me.min(other), me.max(other), now)?;
    Ok((txn.info(conv)?, created))
}

/// Create a group of `me` (its admin) and `others`, each once.
pub fn create_group(
    txn: &dyn Tx,
    me: UserId,
    name: &str,
    others: &[UserId],
    max_size: usize,
    now: Timestamp,
) -> Result<ConversationInfo> {
    let mut members = vec![(me, MemberRole::Admin)];
    for &user in others {
        if !members.iter().any(|(m, _)| *m == user) {
            members.push((user, MemberRole::Member));
        }
    }
    check_size(members.len(), max_size)?;
    let conv = txn.insert_group(name, &members, now)?;
    txn.info(conv)
}

/// Rename a group; any member may.
pub fn rename(
    txn: &dyn Tx,
    conv: ConversationId,
    me: UserId,
    name: &str,
) -> Result<ConversationInfo> {
    txn.require_member(conv, me)?;
    require_group(txn, conv, "direct conversations have no name")?;
    txn.set_group_name(conv, name)?;
    txn.info(conv)
}

/// Add users to a group (admins only): the new shape and who was actually added (users
/// already in it, or named twice, are added once).
pub fn add_members(
    txn: &dyn Tx,
    conv: ConversationId,
    me: UserId,
    users: &[UserId],
    max_size: usize,
    now: Timestamp,
) -> Result<(ConversationInfo, Vec<UserId>)> {
    require_admin(txn, conv, me)?;
    let current = txn.member_ids(conv)?;
    let mut added: Vec<UserId> = Vec::new();
    for &user in users {
        if !current.contains(&user) && !added.contains(&user) {
            added.push(user);
        }
    }
    check_size(current.len() + added.len(), max_size)?;
    txn.insert_members(conv, &added, now)?;
    Ok((txn.info(conv)?, added))
}

/// Remove a member from a group (admins only; not themselves).
pub fn remove_member(
    txn: &dyn Tx,
    conv: ConversationId,
    me: UserId,
    target: UserId,
) -> Result<ConversationInfo> {
    require_admin(txn, conv, me)?;
    if target == me {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "use leave_group to leave",
        ));
    }
    txn.require_member(conv, target).map_err(|_| {
        Error::refused(
            ErrorCode::NotFound,
            "that user is not a member of this group",
        )
    })?;
    txn.deactivate(conv, target)?;
    txn.info(conv)
}

/// Leave a group.
pub fn leave(txn: &dyn Tx, conv: ConversationId, me: UserId) -> Result<ConversationInfo> {
    txn.require_member(conv, me)?;
    require_group(txn, conv, "direct conversations cannot be left")?;
    txn.deactivate(conv, me)?;
    txn.info(conv)
}

fn require_group(txn: &dyn Tx, conv: ConversationId, otherwise: &'static str) -> Result<()> {
    if txn.kind(conv)? != ConversationKind::Group {
        return Err(Error::refused(ErrorCode::Forbidden, otherwise));
    }
    Ok(())
}

fn require_admin(txn: &dyn Tx, conv: ConversationId, user: UserId) -> Result<()> {
    let role = txn.require_member(conv, user)?;
    require_group(txn, conv, "direct conversations have fixed members")?;
    if role != MemberRole::Admin {
        return Err(Error::refused(
            ErrorCode::Forbidden,
            "only a group admin may do that",
        ));
    }
    Ok(())
}

/// `group_too_large` past `max_size` members.
pub(super) fn check_size(members: usize, max_size: usize) -> Result<()> {
    if members > max_size {
        return Err(Error::refused(
            ErrorCode::GroupTooLarge,
            format!("a group may have at most {max_size} members"),
        ));
    }
    Ok(())
}
