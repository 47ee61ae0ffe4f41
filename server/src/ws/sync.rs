//! Answering a `sync` request: shape and receipt changes first, then every missed message in
//! per-conversation order, in pages, then `sync_done`.
//!
//! The set of conversations and their newest sequence numbers ("heads") is read in the same
//! job as the change version, so the sync has a fixed end; anything committed later reaches
//! the connection as a live push, which the connection filters against the returned heads.
//! Messages this connection already received as pushes are left out of the pages.

use std::collections::HashMap;

use tern_proto::{ConversationId, RequestId, Seq, ServerFrame, SyncCursors, UserId};
use tokio::sync::mpsc;

use super::writer::Outbound;
use crate::error::{Error, Result};
use crate::ops::presence_of;
use crate::state::AppState;
use crate::store::{accounts, conversations as convs, current_version, messages};

/// Messages per `sync_page` frame.
pub const PAGE: usize = 500;

/// Send a whole sync reply; returns each conversation's head as of the sync.
pub async fn run(
    state: &AppState,
    user: UserId,
    id: RequestId,
    cursors: SyncCursors,
    since: u64,
    pushed: &HashMap<ConversationId, (Seq, Seq)>,
    out: &mpsc::Sender<Outbound>,
) -> Result<HashMap<ConversationId, Seq>> {
    let hub = state.hub.clone();
    let (changes, version, presence) = state
        .store
        .call(move |txn, _| {
            let changes = convs::changes_since(txn, user, since)?;
            let version = current_version(txn)?;
            let contacts: Vec<UserId> = accounts::contacts(txn, user)?
                .into_iter()
                .map(|c| c.0)
                .collect();
            Ok((changes, version, presence_of(txn, &hub, &contacts)?))
        })
        .await?;
    let send = |frame: ServerFrame| async move {
        out.send(Outbound::own(frame))
            .await
            .map_err(|_| Error::Internal("connection closed during sync".into()))
    };
    let cursors = tern_proto::cursor_map(&cursors);
    let mut header = Some((changes.conversations, changes.removed, changes.receipts));
    let mut page = Vec::new();
    let mut heads = HashMap::with_capacity(changes.heads.len());
    for (conv, head) in changes.heads {
        heads.insert(conv, head);
        let mut after = cursors.get(&conv).copied().unwrap_or(0);
        while after < head {
            let room = PAGE - page.len();
            let batch = state
                .store
                .call(move |txn, _| messages::range(txn, conv, after, head, room))
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            match pushed.get(&conv) {
                Some(&(first, last)) => {
                    page.extend(batch.into_iter().filter(|m| m.seq < first || m.seq > last))
                }
                None => page.extend(batch),
            }
            if page.len() >= PAGE {
                let (conversations, removed, receipts) = header.take().unwrap_or_default();
                send(ServerFrame::SyncPage {
                    id,
                    conversations,
                    removed,
                    receipts,
                    messages: std::mem::take(&mut page),
                })
                .await?;
            }
        }
    }
    if !page.is_empty() || header.is_some() {
        let (conversations, removed, receipts) = header.take().unwrap_or_default();
        send(ServerFrame::SyncPage {
            id,
            conversations,
            removed,
            receipts,
            messages: page,
        })
        .await?;
    }
    send(ServerFrame::SyncDone {
        id,
        changes_version: version,
        presence,
    })
    .await?;
    Ok(heads)
}
