//! Groups: create (the caller becomes admin), rename, add and remove members, leave; and the
//! caller's conversation list. Every change is published to the members after it commits.

use tern_proto::{
    AddMembers, ConversationInfo, CreateGroup, LeaveGroup, ListConversations, NoticeAction,
    RemoveMember, RenameGroup, ServerFrame, UserId,
};

use super::notices::{self, named};

use super::membership;
use super::presence::introduce;
use super::privacy::mark_requests;
use super::visibility::{conversation_reply, publish_conversation, publish_removed, Rules};
use super::{check_name, queue, Ctx, Pending};
use crate::error::Result;
use crate::fanout::Publish;
use crate::store::Tx;

/// The users of `candidates` who do not block `adder` (a blocked user cannot add anyone who
/// blocked them to a group; they are left out without being told).
fn addable(txn: &dyn Tx, adder: UserId, candidates: Vec<UserId>) -> Result<Vec<UserId>> {
    let rules = Rules::new(txn);
    let mut out = Vec::with_capacity(candidates.len());
    for user in candidates {
        // The adder is in already.
        if user != adder && !rules.blocks(user, adder)? {
            out.push(user);
        }
    }
    Ok(out)
}

/// Refuse a request naming more members than a group may have before it costs a store job;
/// the configured maximum.
fn check_size(ctx: Ctx<'_>, members: usize) -> Result<usize> {
    let max = ctx.state.config.limits.max_group_size;
    membership::check_size(members, max)?;
    Ok(max)
}

fn member_ids(info: &ConversationInfo) -> Vec<UserId> {
    info.members.iter().map(|m| m.user_id).collect()
}

/// Create a group with the caller as admin.
pub async fn create(ctx: Ctx<'_>, req: CreateGroup) -> Result<Pending> {
    let name = check_name(ctx.state, &req.name)?;
    let max = check_size(ctx, req.members.len())?;
    let (me, my_name, conn, hub) = (
        ctx.caller.user_id,
        ctx.caller.username.clone(),
        ctx.caller.conn_id,
        ctx.state.hub.clone(),
    );
    let members = req.members;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let resolved = txn.resolve_usernames(&members)?;
        let others = addable(txn, me, resolved.iter().map(|u| u.0).collect())?;
        let info = membership::create_group(txn, me, &name, &others, max, tern_proto::now_ms())?;
        let conv = info.conversation_id;
        mark_requests(txn, conv, me, &others)?;
        let info = txn.info(conv)?;
        publish_conversation(txn, &info, conn, out)?;
        let actor = (me, my_name.as_str());
        notices::write(
            txn,
            conv,
            actor,
            NoticeAction::Created,
            Vec::new(),
            Some(&name),
            out,
        )?;
        if !others.is_empty() {
            let added = named(&resolved, &others);
            notices::write(txn, conv, actor, NoticeAction::Added, added, None, out)?;
        }
        introduce(txn, &hub, &member_ids(&info), out)?;
        Rules::new(txn).view_info(me, &info)
    };
    queue(ctx.state, job, conversation_reply(req.id)).await
}

/// Rename a group.
pub async fn rename(ctx: Ctx<'_>, req: RenameGroup) -> Result<Pending> {
    let name = check_name(ctx.state, &req.name)?;
    let (me, conn, conv) = (ctx.caller.user_id, ctx.caller.conn_id, req.conversation_id);
    let my_name = ctx.caller.username.clone();
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let before = txn.info(conv).ok().and_then(|i| i.name);
        let info = membership::rename(txn, conv, me, &name)?;
        publish_conversation(txn, &info, conn, out)?;
        if before.as_deref() != Some(name.as_str()) {
            let actor = (me, my_name.as_str());
            notices::write(
                txn,
                conv,
                actor,
                NoticeAction::Renamed,
                Vec::new(),
                Some(&name),
                out,
            )?;
        }
        Rules::new(txn).view_info(me, &info)
    };
    queue(ctx.state, job, conversation_reply(req.id)).await
}

/// Add members to a group.
pub async fn add_members(ctx: Ctx<'_>, req: AddMembers) -> Result<Pending> {
    let max = check_size(ctx, req.usernames.len())?;
    let (me, my_name, conn, hub) = (
        ctx.caller.user_id,
        ctx.caller.username.clone(),
        ctx.caller.conn_id,
        ctx.state.hub.clone(),
    );
    let AddMembers {
        id,
        conversation_id: conv,
        usernames,
    } = req;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let resolved = txn.resolve_usernames(&usernames)?;
        let users = addable(txn, me, resolved.iter().map(|u| u.0).collect())?;
        let (mut info, added) =
            membership::add_members(txn, conv, me, &users, max, tern_proto::now_ms())?;
        if !added.is_empty() {
            mark_requests(txn, conv, me, &added)?;
            info = txn.info(conv)?;
            publish_conversation(txn, &info, conn, out)?;
            introduce(txn, &hub, &member_ids(&info), out)?;
            let (actor, users) = ((me, my_name.as_str()), named(&resolved, &added));
            notices::write(txn, conv, actor, NoticeAction::Added, users, None, out)?;
        }
        Rules::new(txn).view_info(me, &info)
    };
    queue(ctx.state, job, conversation_reply(id)).await
}

/// Remove a member from a group.
pub async fn remove_member(ctx: Ctx<'_>, req: RemoveMember) -> Result<Pending> {
    let (me, my_name, conn) = (
        ctx.caller.user_id,
        ctx.caller.username.clone(),
        ctx.caller.conn_id,
    );
    let RemoveMember {
        id,
        conversation_id: conv,
        username,
    } = req;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        let resolved = txn.resolve_usernames(&[username])?;
        let target = resolved[0].0;
        let info = membership::remove_member(txn, conv, me, target)?;
        publish_conversation(txn, &info, conn, out)?;
        let (actor, users) = ((me, my_name.as_str()), named(&resolved, &[target]));
        notices::write(txn, conv, actor, NoticeAction::Removed, users, None, out)?;
        publish_removed(target, &info, None, out);
        Rules::new(txn).view_info(me, &info)
    };
    queue(ctx.state, job, conversation_reply(id)).await
}

/// Leave a group.
pub async fn leave(ctx: Ctx<'_>, req: LeaveGroup) -> Result<Pending> {
    let (me, my_name, conn) = (
        ctx.caller.user_id,
        ctx.caller.username.clone(),
        ctx.caller.conn_id,
    );
    let LeaveGroup {
        id,
        conversation_id: conv,
    } = req;
    let job = move |txn: &dyn Tx, out: &mut Vec<Publish>| {
        // A member leaving a request (a stranger's group they never accepted) leaves no
        // "left" line in its log: that would tell the stranger the account is read.
        let accepted = txn.roster(conv).is_ok_and(|r| r.accepted(me));
        let info = membership::leave(txn, conv, me)?;
        publish_conversation(txn, &info, conn, out)?;
        if accepted {
            let actor = (me, my_name.as_str());
            notices::write(txn, conv, actor, NoticeAction::Left, Vec::new(), None, out)?;
        }
        // To the connection that asked too, although its reply says so: the removal's version
        // keeps a shape from before it, late over the bus, from putting the group back.
        publish_removed(me, &info, None, out);
        Ok(())
    };
    queue(ctx.state, job, move |()| Some(ServerFrame::Ok { id })).await
}

/// List the caller's conversations.
pub async fn list(ctx: Ctx<'_>, req: ListConversations) -> Result<Pending> {
    let me = ctx.caller.user_id;
    let id = req.id;
    queue(
        ctx.state,
        move |txn: &dyn Tx, _: &mut Vec<Publish>| {
            let rules = Rules::new(txn);
            txn.list(me)?
                .into_iter()
                .map(|mut c| {
                    c.info = rules.view_info(me, &c.info)?;
                    c.last_message = c.last_message.map(|m| m.view_for(me));
                    Ok(c)
                })
                .collect::<Result<Vec<_>>>()
        },
        move |conversations| Some(ServerFrame::Conversations { id, conversations }),
    )
    .await
}
