//! Answering a `sync` request: shape and receipt changes first, then every missed message in
//! per-conversation order, in pages, then `sync_done`.
//!
//! The sync reads on the store's read connections, beside the writer ([`Store::snapshot`]).
//! The set of conversations and their newest sequence numbers ("heads") is read in the same
//! snapshot as the change version, so the sync has a fixed end; anything committed later reaches
//! the connection as a live push, which the connection filters against the returned heads.
//! Messages this connection already received as pushes are left out of the pages. The receipt
//! markers the pages carry are returned too, so older receipt pushes that waited during the
//! sync are not delivered after them.
//!
//! Pages go out through the connection's [`OutQueue`] in order; a peer that does not take a
//! page within the heartbeat timeout is too slow and the sync ends.

use std::collections::HashMap;
use std::time::Duration;

use tern_proto::{
    ChatPrefs, ConversationId, ConversationInfo, MessageRecord, Presence, Privacy, ReceiptState,
    RequestId, Seq, ServerFrame, SyncCursors, UserId,
};

use super::outbound::Outbound;
use super::outq::OutQueue;
use crate::error::Error;
use crate::ops::visibility::Rules;
use crate::ops::{privacy_state, visible_presence};
use crate::state::AppState;
use crate::store::{page_weight, Changes, ReadTx, MAX_PAGE_BYTES};

/// Messages read from the store at a time.
const CHUNK: usize = 64;

/// Messages per `sync_page` frame.
pub const PAGE: usize = 500;

/// A `sync` request, as the connection received it.
pub struct Request {
    /// The caller.
    pub user: UserId,
    /// Request id, echoed in every page.
    pub id: RequestId,
    /// The newest sequence the client holds per conversation.
    pub cursors: SyncCursors,
    /// The change version the client last saw.
    pub since: u64,
}

/// What a finished sync sent, for filtering the pushes that waited behind it.
pub struct Done {
    /// Each conversation's head as of the sync.
    pub heads: HashMap<ConversationId, Seq>,
    /// The receipt markers the pages carried.
    pub receipts: Vec<ReceiptState>,
    /// The change version the sync brought the client to.
    pub version: u64,
}

/// Why a sync did not finish.
pub enum SyncError {
    /// The peer did not take the pages in time.
    TooSlow,
    /// The store failed or refused.
    Failed(Error),
}

impl From<Error> for SyncError {
    fn from(e: Error) -> Self {
        SyncError::Failed(e)
    }
}

/// Send a whole sync reply; returns the heads and receipts it sent.
pub async fn run(
    state: &AppState,
    request: Request,
    pushed: &HashMap<ConversationId, (Seq, Seq)>,
    out: &mut OutQueue,
    patience: Duration,
) -> Result<Done, SyncError> {
    let Request {
        user,
        id,
        cursors,
        since,
    } = request;
    let hub = state.hub.clone();
    let (changes, version, presence, privacy) = state
        .store
        .snapshot(move |txn| {
            let (changes, version) = visible_changes(txn, user, since)?;
            let presence = visible_presence(txn, &hub, user)?;
            Ok((changes, version, presence, privacy_state(txn, user)?))
        })
        .await?;
    let receipts = changes.receipts.clone();
    let cursors = tern_proto::cursor_map(&cursors);
    let mut pages = Pager {
        id,
        header: None,
        page: Vec::new(),
        bytes: 0,
        out,
        patience,
    };
    pages
        .header(changes.conversations, changes.removed, changes.receipts)
        .await?;
    let mut heads = HashMap::with_capacity(changes.heads.len());
    for (conv, head) in changes.heads {
        heads.insert(conv, head);
        let mut after = cursors.get(&conv).copied().unwrap_or(Seq::ZERO);
        while after < head {
            // Small chunks: a page closes once it holds about MAX_PAGE_BYTES of text.
            let room = (PAGE - pages.page.len()).min(CHUNK);
            let batch = state
                .store
                .snapshot(move |txn| {
                    Ok(txn
                        .range(conv, after, head, room)?
                        .into_iter()
                        .map(|m| m.view_for(user))
                        .collect::<Vec<_>>())
                })
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            // What this connection already received live is left out.
            let skip = pushed.get(&conv).copied();
            pages
                .add(
                    batch
                        .into_iter()
                        .filter(|m| skip.is_none_or(|(first, last)| m.seq < first || m.seq > last)),
                )
                .await?;
        }
    }
    // Read last, so that a change made while the pages went out is not undone by an older
    // copy arriving after its push.
    let chat_prefs = state
        .store
        .snapshot(move |txn| txn.chat_prefs(user))
        .await?;
    pages.finish(version, presence, privacy, chat_prefs).await?;
    Ok(Done {
        heads,
        receipts,
        version,
    })
}

/// What changed for `user` since change version `since`, as the privacy rules let them see
/// it, and the version it brings them to. Read in one job, so the heads and the version agree.
pub fn visible_changes(
    txn: &dyn ReadTx,
    user: UserId,
    since: u64,
) -> Result<(Changes, u64), Error> {
    let mut changes = txn.changes_since(user, since)?;
    let version = txn.current_version()?;
    let rules = Rules::new(txn);
    for info in &mut changes.conversations {
        *info = rules.view_info(user, info)?;
    }
    let mut rosters = HashMap::new();
    let mut receipts = Vec::with_capacity(changes.receipts.len());
    for r in changes.receipts.drain(..) {
        let roster = match rosters.entry(r.conversation_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(txn.roster(r.conversation_id)?)
            }
        };
        receipts.extend(rules.view_receipt(user, r, roster)?);
    }
    changes.receipts = receipts;
    Ok((changes, version))
}

/// The sync reply being written: the first page carries the shape and receipt changes, every
/// page at most [`PAGE`] messages, then `sync_done`.
struct Pager<'a> {
    id: RequestId,
    header: Option<(
        Vec<ConversationInfo>,
        Vec<ConversationId>,
        Vec<ReceiptState>,
    )>,
    page: Vec<MessageRecord>,
    /// What the messages in `page` weigh ([`page_weight`]).
    bytes: usize,
    out: &'a mut OutQueue,
    patience: Duration,
}

/// One item of a sync's header.
enum Part {
    Shape(ConversationInfo),
    Removed(ConversationId),
    Receipt(ReceiptState),
}

/// What a removal and a receipt marker weigh in a page, as JSON, about.
const REMOVED_WEIGHT: usize = 24;
const RECEIPT_WEIGHT: usize = 96;

impl Pager<'_> {
    /// Start with the shape and receipt changes: as many pages of them as keep each about
    /// [`MAX_PAGE_BYTES`] (a large group's shape alone can weigh hundreds of KiB, and a frame
    /// over the connection's queue limit would end the sync every time); the last of them
    /// takes the first messages too.
    async fn header(
        &mut self,
        conversations: Vec<ConversationInfo>,
        removed: Vec<ConversationId>,
        receipts: Vec<ReceiptState>,
    ) -> Result<(), SyncError> {
        let mut current: (
            Vec<ConversationInfo>,
            Vec<ConversationId>,
            Vec<ReceiptState>,
        ) = Default::default();
        let mut bytes = 0;
        let weights = conversations
            .into_iter()
            .map(|c| {
                (
                    serde_json::to_vec(&c).map_or(0, |v| v.len()),
                    Part::Shape(c),
                )
            })
            .chain(
                removed
                    .into_iter()
                    .map(|c| (REMOVED_WEIGHT, Part::Removed(c))),
            )
            .chain(
                receipts
                    .into_iter()
                    .map(|r| (RECEIPT_WEIGHT, Part::Receipt(r))),
            );
        for (weight, part) in weights {
            if bytes + weight > MAX_PAGE_BYTES && bytes > 0 {
                self.header = Some(std::mem::take(&mut current));
                self.send_page().await?;
                bytes = 0;
            }
            bytes += weight;
            match part {
                Part::Shape(c) => current.0.push(c),
                Part::Removed(c) => current.1.push(c),
                Part::Receipt(r) => current.2.push(r),
            }
        }
        self.header = Some(current);
        self.bytes = bytes;
        Ok(())
    }

    /// Add messages; sends a page whenever one is full.
    async fn add(
        &mut self,
        messages: impl Iterator<Item = MessageRecord>,
    ) -> Result<(), SyncError> {
        // Checked after each message: a page holds at most one message past the bound.
        for m in messages {
            self.bytes += page_weight(&m);
            self.page.push(m);
            if self.page.len() >= PAGE || self.bytes >= MAX_PAGE_BYTES {
                self.send_page().await?;
            }
        }
        Ok(())
    }

    async fn send_page(&mut self) -> Result<(), SyncError> {
        let (conversations, removed, receipts) = self.header.take().unwrap_or_default();
        let frame = ServerFrame::SyncPage {
            id: self.id,
            conversations,
            removed,
            receipts,
            messages: std::mem::take(&mut self.page),
        };
        self.bytes = 0;
        emit(self.out, self.patience, frame).await
    }

    /// Send what is left (always at least one page, for the header) and `sync_done`.
    async fn finish(
        mut self,
        version: u64,
        presence: Vec<Presence>,
        privacy: Privacy,
        chat_prefs: Vec<ChatPrefs>,
    ) -> Result<(), SyncError> {
        if !self.page.is_empty() || self.header.is_some() {
            self.send_page().await?;
        }
        let done = ServerFrame::SyncDone {
            id: self.id,
            changes_version: version,
            presence,
            privacy,
            chat_prefs: Some(chat_prefs),
        };
        emit(self.out, self.patience, done).await
    }
}

async fn emit(out: &mut OutQueue, patience: Duration, frame: ServerFrame) -> Result<(), SyncError> {
    out.send(Outbound::own(frame), patience)
        .await
        .map_err(|_| SyncError::TooSlow)
}
