//! Relay operations: each takes the caller's context and one typed request, validates it,
//! queues one store job, and describes the frames to publish once that job commits. The
//! WebSocket layer hands requests to [`dispatch`]; nothing here knows about sockets.
//!
//! Every operation returns as soon as its job is *queued* (so a connection can pipeline many
//! requests while keeping their order) with a [`Pending`] future that resolves to the reply
//! once the job has committed.
//!
//! One file per subject: [`messages`] (send, with its checks in `send_rules`), [`history`], [`receipts`] (delivered/read markers,
//! typing), [`directs`], [`groups`] (create, rename, members, leave, list) over the rules in
//! [`membership`], [`presence`],
//! [`profile`] (display name, finding people), [`privacy`] (blocks, settings, message
//! requests, account deletion); [`visibility`] holds the rules every operation asks about what
//! one user may see of another.

pub mod directs;
pub mod groups;
pub mod history;
pub mod membership;
pub mod messages;
pub mod notices;
pub mod prefs;
pub mod presence;
pub mod privacy;
pub mod profile;
pub mod receipts;
mod send_rules;
pub mod visibility;

use std::future::Future;
use std::pin::Pin;

use tern_proto::{ClientFrame, ErrorCode, ServerFrame, SessionId, UserId};

use crate::error::{Error, Result};
use crate::fanout::{ConnId, Publish};
use crate::state::AppState;
use crate::store::Tx;

pub use presence::{announce_presence, announce_presence_retrying, presence_of, visible_presence};
pub use privacy::privacy_state;

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

/// What every operation gets besides its request: the relay and the caller.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The relay's shared state.
    pub state: &'a AppState,
    /// Who is asking.
    pub caller: &'a Caller,
}

/// Whether `request` changes conversations' shapes or what others see of the user: held to
/// [`crate::config::Limits::change_rate`]. Leaving a group is not (one can always leave).
fn changes_shapes(request: &ClientFrame) -> bool {
    matches!(
        request,
        ClientFrame::StartDirect(_)
            | ClientFrame::CreateGroup(_)
            | ClientFrame::RenameGroup(_)
            | ClientFrame::AddMembers(_)
            | ClientFrame::RemoveMember(_)
            | ClientFrame::SetProfile(_)
            | ClientFrame::SetAvatar(_)
            | ClientFrame::Block(_)
            | ClientFrame::Unblock(_)
            | ClientFrame::SetPrivacy(_)
    )
}

/// Run the operation a request names. `ping` and `sync` belong to the connection (they answer
/// on the socket directly) and are refused here.
pub async fn dispatch(ctx: Ctx<'_>, request: ClientFrame) -> Result<Pending> {
    if changes_shapes(&request) && !ctx.state.changes.take(&ctx.caller.user_id) {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "changing chats, groups or your profile too fast; retry shortly",
        ));
    }
    match request {
        ClientFrame::Send(r) => messages::send(ctx, r).await,
        ClientFrame::History(r) => history::history(ctx, r).await,
        ClientFrame::Delivered(r) => receipts::delivered(ctx, r).await,
        ClientFrame::Read(r) => receipts::read(ctx, r).await,
        ClientFrame::Typing(r) => receipts::typing(ctx, r).await,
        ClientFrame::StartDirect(r) => directs::start(ctx, r).await,
        ClientFrame::CreateGroup(r) => groups::create(ctx, r).await,
        ClientFrame::RenameGroup(r) => groups::rename(ctx, r).await,
        ClientFrame::AddMembers(r) => groups::add_members(ctx, r).await,
        ClientFrame::RemoveMember(r) => groups::remove_member(ctx, r).await,
        ClientFrame::LeaveGroup(r) => groups::leave(ctx, r).await,
        ClientFrame::ListConversations(r) => groups::list(ctx, r).await,
        ClientFrame::SetProfile(r) => profile::set(ctx, r).await,
        ClientFrame::SetAvatar(r) => profile::set_avatar(ctx, r).await,
        ClientFrame::FindPeople(r) => profile::find(ctx, r).await,
        ClientFrame::Block(r) => privacy::block(ctx, r).await,
        ClientFrame::Unblock(r) => privacy::unblock(ctx, r).await,
        ClientFrame::SetPrivacy(r) => privacy::set(ctx, r).await,
        ClientFrame::AcceptRequest(r) => privacy::accept(ctx, r).await,
        ClientFrame::SetChatPrefs(r) => prefs::set(ctx, r).await,
        ClientFrame::Ping(_) | ClientFrame::Sync(_) => Err(Error::Internal(
            "a connection-level request reached the operations".into(),
        )),
    }
}

/// Queue `job`; the returned future maps its committed result to the reply.
async fn queue<T, F, R>(state: &AppState, job: F, reply: R) -> Result<Pending>
where
    T: Send + 'static,
    F: FnOnce(&dyn Tx, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    R: FnOnce(T) -> Option<ServerFrame> + Send + 'static,
{
    Ok(reply_when(state.store.enqueue(job).await?, reply))
}

/// [`queue`] for a job that makes every refusal before its first write
/// ([`crate::store::Store::enqueue_checked`]: no savepoint).
async fn queue_checked<T, F, R>(state: &AppState, job: F, reply: R) -> Result<Pending>
where
    T: Send + 'static,
    F: FnOnce(&dyn Tx, &mut Vec<Publish>) -> Result<T> + Send + 'static,
    R: FnOnce(T) -> Option<ServerFrame> + Send + 'static,
{
    Ok(reply_when(state.store.enqueue_checked(job).await?, reply))
}

/// The reply to a queued job, made once its batch committed.
fn reply_when<T, R>(
    committed: impl Future<Output = Result<T>> + Send + 'static,
    reply: R,
) -> Pending
where
    R: FnOnce(T) -> Option<ServerFrame> + Send + 'static,
{
    Box::pin(async move { committed.await.map(reply) })
}

/// Direction marks, overrides and isolates: in a name they reorder the text around it, the
/// classic way to make one name read as another (`cod.exe` as `exe.doc`).
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A trimmed group name within the configured length, with no control characters (they
/// break lines) and no direction overrides (they make a name read as another), as display
/// names.
fn check_name(state: &AppState, name: &str) -> Result<String> {
    let name = name.trim();
    let max = state.config.limits.max_name_chars;
    if name.is_empty()
        || name.chars().count() > max
        || name.chars().any(|c| c.is_control() || is_bidi_control(c))
    {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!(
                "a name has 1 to {max} characters, no control characters and no direction overrides"
            ),
        ));
    }
    Ok(name.to_owned())
}
