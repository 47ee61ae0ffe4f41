//! Relay operations: each validates its input, queues one store job, and describes the frames
//! to publish once that job commits. The WebSocket layer turns frames into calls here and the
//! returned futures into replies; nothing in this module knows about sockets.
//!
//! Every operation returns as soon as its job is *queued* (so a connection can pipeline many
//! requests while keeping their order) with a [`Pending`] future that resolves to the reply
//! once the job has committed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rusqlite::Transaction;
use tern_proto::{
    ConversationId, ConversationInfo, ErrorCode, Presence, RequestId, Seq, ServerFrame, SessionId,
    UserId, MAX_CLIENT_ID_LEN,
};

use crate::error::{Error, Result};
use crate::fanout::{ConnId, Publish, Tag};
use crate::hub::Hub;
use crate::state::AppState;
use crate::store::{accounts, conversations as convs, messages};

/// A reply that will be ready once its store job commits. `None` means "no reply on success".
pub type Pending = Pin<Box<dyn Future<Output = Result<Option<ServerFrame>>> + Send>>;

/// Who is asking: the authenticated user on one connection.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User id.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// Login session.
    pub session_id: SessionId,
    /// The connection the request came on.
    pub conn_id: ConnId,
}

async fn queue<T, F, R>(state: &AppState, job: F, reply: R) -> Result<Pending>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    R: FnOnce(T) -> Option<ServerFrame> + Send + 'static,
{
    let fut = state.store.enqueue(job).await?;
    Ok(Box::pin(async move { fut.await.map(reply) }))
}

fn check_name(state: &AppState, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > state.config.limits.max_name_chars {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!(
                "a name must have 1 to {} characters",
                state.config.limits.max_name_chars
            ),
        ));
    }
    Ok(name.to_owned())
}

/// Current presence of `users`, as this relay sees it.
pub fn presence_of(txn: &Transaction<'_>, hub: &Hub, users: &[UserId]) -> Result<Vec<Presence>> {
    Ok(accounts::last_seen(txn, users)?
        .into_iter()
        .map(|(user_id, last_seen)| Presence {
            user_id,
            online: hub.is_online(user_id),
            last_seen,
        })
        .collect())
}

/// Publish every member's presence to every other member (after they start sharing a
/// conversation, each may now see the other).
fn introduce(
    txn: &Transaction<'_>,
    hub: &Hub,
    members: &[UserId],
    out: &mut Vec<Publish>,
) -> Result<()> {
    for p in presence_of(txn, hub, members)? {
        let others: Vec<UserId> = members
            .iter()
            .copied()
            .filter(|u| *u != p.user_id)
            .collect();
        out.push(Publish::new(others, &ServerFrame::Presence { presence: p }));
    }
    Ok(())
}

fn publish_conversation(info: &ConversationInfo, except: ConnId, out: &mut Vec<Publish>) {
    let users = info.members.iter().map(|m| m.user_id).collect();
    let mut p = Publish::new(
        users,
        &ServerFrame::Conversation {
            id: None,
            conversation: info.clone(),
        },
    );
    p.except = Some(except);
    out.push(p);
}

/// Store a message (or find the earlier copy of this client id) and fan it out.
pub async fn send(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
    client_id: String,
    body: String,
) -> Result<Pending> {
    let limits = &state.config.limits;
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("client_id must have 1 to {MAX_CLIENT_ID_LEN} bytes"),
        ));
    }
    if body.len() > limits.max_message_bytes {
        return Err(Error::refused(
            ErrorCode::MessageTooLong,
            format!(
                "a message may have at most {} bytes; this one has {}",
                limits.max_message_bytes,
                body.len()
            ),
        ));
    }
    if body.trim().is_empty() {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "a message cannot be empty",
        ));
    }
    if !state.sends.take(&caller.user_id) {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "sending too fast; retry shortly",
        ));
    }
    let started = Instant::now();
    let metrics = state.metrics.clone();
    let (me, my_name, conn) = (caller.user_id, caller.username.clone(), caller.conn_id);
    let now = tern_proto::now_ms();
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let members = convs::member_ids(txn, conv)?;
        if !members.contains(&me) {
            // A resend of a message stored before the sender left still gets its ack.
            if let Some(existing) = messages::find_by_client_id(txn, me, &client_id)? {
                return Ok((existing, true));
            }
            return Err(Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {conv}"),
            ));
        }
        let Some(record) = messages::insert_new(txn, conv, me, &my_name, &client_id, &body, now)?
        else {
            let existing = messages::find_by_client_id(txn, me, &client_id)?
                .ok_or_else(|| Error::Internal("duplicate without an original".into()))?;
            return Ok((existing, true));
        };
        let mut p = Publish::new(
            members,
            &ServerFrame::Message {
                message: record.clone(),
            },
        );
        p.tag = Tag::Message(conv, record.seq);
        p.except = Some(conn);
        out.push(p);
        Ok((record, false))
    };
    queue(state, job, move |(m, duplicate)| {
        metrics.ack_latency(started.elapsed());
        let counter = if duplicate {
            &metrics.messages_duplicate
        } else {
            &metrics.messages_stored
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some(ServerFrame::Ack {
            id,
            client_id: m.client_id,
            message_id: m.message_id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            sent_at: m.sent_at,
            duplicate,
        })
    })
    .await
}

/// Move the caller's delivered/read markers forward and tell the conversation's members.
pub async fn receipt(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
    delivered: Seq,
    read: Seq,
    reply: bool,
) -> Result<Pending> {
    let me = caller.user_id;
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        if let Some(receipt) = convs::advance_receipt(txn, conv, me, delivered, read)? {
            let mut p = Publish::new(
                convs::member_ids(txn, conv)?,
                &ServerFrame::Receipt { receipt },
            );
            p.tag = Tag::Receipt(receipt);
            out.push(p);
        }
        Ok(())
    };
    queue(state, job, move |()| {
        reply.then_some(ServerFrame::Ok { id })
    })
    .await
}

/// Forward a typing indication to the other members; nothing is stored.
pub async fn typing(
    state: &AppState,
    caller: &Caller,
    conv: ConversationId,
    active: bool,
) -> Result<Pending> {
    let me = caller.user_id;
    let expires_in_ms = state.config.limits.typing_expiry.as_millis() as u64;
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        convs::require_member(txn, conv, me)?;
        let others: Vec<UserId> = convs::member_ids(txn, conv)?
            .into_iter()
            .filter(|u| *u != me)
            .collect();
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
    queue(state, job, |()| None).await
}

/// Find or create the direct conversation with `username`.
pub async fn start_direct(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    username: String,
) -> Result<Pending> {
    let (me, conn, hub) = (caller.user_id, caller.conn_id, state.hub.clone());
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let other = accounts::resolve_usernames(txn, &[username])?[0].0;
        let (info, created) = convs::start_direct(txn, me, other, tern_proto::now_ms())?;
        if created {
            publish_conversation(&info, conn, out);
            introduce(txn, &hub, &[me, other], out)?;
        }
        Ok(info)
    };
    queue(state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}

/// Create a group with the caller as admin.
pub async fn create_group(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    name: String,
    members: Vec<String>,
) -> Result<Pending> {
    let name = check_name(state, &name)?;
    if members.len() > state.config.limits.max_group_size {
        return Err(Error::refused(
            ErrorCode::GroupTooLarge,
            format!(
                "a group may have at most {} members",
                state.config.limits.max_group_size
            ),
        ));
    }
    let (me, conn, hub, max) = (
        caller.user_id,
        caller.conn_id,
        state.hub.clone(),
        state.config.limits.max_group_size,
    );
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let others: Vec<UserId> = accounts::resolve_usernames(txn, &members)?
            .into_iter()
            .map(|u| u.0)
            .collect();
        let info = convs::create_group(txn, me, &name, &others, max, tern_proto::now_ms())?;
        publish_conversation(&info, conn, out);
        let everyone: Vec<UserId> = info.members.iter().map(|m| m.user_id).collect();
        introduce(txn, &hub, &everyone, out)?;
        Ok(info)
    };
    queue(state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}

/// Rename a group.
pub async fn rename(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
    name: String,
) -> Result<Pending> {
    let name = check_name(state, &name)?;
    let (me, conn) = (caller.user_id, caller.conn_id);
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let info = convs::rename(txn, conv, me, &name)?;
        publish_conversation(&info, conn, out);
        Ok(info)
    };
    queue(state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}

/// Add members to a group.
pub async fn add_members(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
    usernames: Vec<String>,
) -> Result<Pending> {
    let (me, conn, hub, max) = (
        caller.user_id,
        caller.conn_id,
        state.hub.clone(),
        state.config.limits.max_group_size,
    );
    if usernames.len() > max {
        return Err(Error::refused(
            ErrorCode::GroupTooLarge,
            format!("a group may have at most {max} members"),
        ));
    }
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let users: Vec<UserId> = accounts::resolve_usernames(txn, &usernames)?
            .into_iter()
            .map(|u| u.0)
            .collect();
        let (info, added) = convs::add_members(txn, conv, me, &users, max, tern_proto::now_ms())?;
        if !added.is_empty() {
            publish_conversation(&info, conn, out);
            let everyone: Vec<UserId> = info.members.iter().map(|m| m.user_id).collect();
            introduce(txn, &hub, &everyone, out)?;
        }
        Ok(info)
    };
    queue(state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}

/// Remove a member from a group.
pub async fn remove_member(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
    username: String,
) -> Result<Pending> {
    let (me, conn) = (caller.user_id, caller.conn_id);
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let target = accounts::resolve_usernames(txn, &[username])?[0].0;
        let info = convs::remove_member(txn, conv, me, target)?;
        publish_conversation(&info, conn, out);
        out.push(Publish::new(
            vec![target],
            &ServerFrame::ConversationRemoved {
                conversation_id: conv,
            },
        ));
        Ok(info)
    };
    queue(state, job, move |conversation| {
        Some(ServerFrame::Conversation {
            id: Some(id),
            conversation,
        })
    })
    .await
}

/// Leave a group.
pub async fn leave(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
) -> Result<Pending> {
    let (me, conn) = (caller.user_id, caller.conn_id);
    let job = move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
        let info = convs::leave(txn, conv, me)?;
        publish_conversation(&info, conn, out);
        let mut gone = Publish::new(
            vec![me],
            &ServerFrame::ConversationRemoved {
                conversation_id: conv,
            },
        );
        gone.except = Some(conn);
        out.push(gone);
        Ok(())
    };
    queue(state, job, move |()| Some(ServerFrame::Ok { id })).await
}

/// List the caller's conversations.
pub async fn list(state: &AppState, caller: &Caller, id: RequestId) -> Result<Pending> {
    let me = caller.user_id;
    queue(
        state,
        move |txn: &Transaction<'_>, _: &mut Vec<Publish>| convs::list(txn, me),
        move |conversations| Some(ServerFrame::Conversations { id, conversations }),
    )
    .await
}

/// Page older messages of a conversation.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: RequestId,
    conv: ConversationId,
    before: Option<Seq>,
    limit: u32,
) -> Result<Pending> {
    let me = caller.user_id;
    let limit = limit.clamp(1, 200) as usize;
    let job = move |txn: &Transaction<'_>, _: &mut Vec<Publish>| {
        convs::require_member(txn, conv, me)?;
        messages::page_before(
            txn,
            conv,
            before.unwrap_or(Seq::MAX).min(i64::MAX as Seq),
            limit,
        )
    };
    queue(state, job, move |(messages, has_more)| {
        Some(ServerFrame::History {
            id,
            conversation_id: conv,
            messages,
            has_more,
        })
    })
    .await
}

/// Record that the user's last device went away and tell their contacts; or, on connect, that
/// they came online. The state published is read from the hub when the job runs, so a quick
/// disconnect-reconnect cannot leave contacts with a stale "offline".
pub async fn announce_presence(state: &AppState, user: UserId, went_offline: bool) -> Result<()> {
    let hub = state.hub.clone();
    state
        .store
        .call(move |txn: &Transaction<'_>, out: &mut Vec<Publish>| {
            if went_offline && !hub.is_online(user) {
                accounts::set_last_seen(txn, user, tern_proto::now_ms())?;
            }
            let contacts: Vec<UserId> = accounts::contacts(txn, user)?
                .into_iter()
                .map(|c| c.0)
                .collect();
            if !contacts.is_empty() {
                let presence = presence_of(txn, &hub, &[user])?.remove(0);
                out.push(Publish::new(contacts, &ServerFrame::Presence { presence }));
            }
            Ok(())
        })
        .await
}
