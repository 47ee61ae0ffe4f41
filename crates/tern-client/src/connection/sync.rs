//! The catch-up at the start of every connection.
//!
//! The session sends one `sync` with its per-conversation cursors and the changes version it
//! last completed; the relay answers with `sync_page`s (conversations, removals, receipts,
//! missed messages) and one `sync_done`. Only `sync_done` advances the stored changes version,
//! so a link lost mid-sync asks again from the same point next time; storing a message the
//! cache already holds adds nothing, so a repeated page neither loses nor duplicates.

use tern_proto::{
    ClientFrame, ConversationId, ConversationInfo, MessageRecord, Presence, ReceiptState,
    RequestId, SyncRequest,
};

use super::pending::Pending;
use super::session::{Session, Step, Ws};
use crate::cache::{conversations as convs, meta_get, meta_set, prefs};
use crate::events::{ConnectionState, Event};

/// The `meta` key holding the changes version of the last completed sync.
pub(crate) const CHANGES_VERSION: &str = "changes_version";

impl Session<'_> {
    /// Ask the relay for everything missed since the last completed sync.
    pub(super) async fn start_sync(&mut self, ws: &mut Ws) -> Step {
        let (cursors, since) = self
            .shared
            .cache
            .call(|txn| {
                let since = meta_get(txn, CHANGES_VERSION)?
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok((convs::cursors(txn)?, since))
            })
            .await?;
        let id = self.pending.insert(Pending::Sync);
        self.synced_messages = 0;
        let request = SyncRequest {
            id,
            cursors,
            changes_since: since,
        };
        self.write(ws, ClientFrame::Sync(request)).await
    }

    /// One page of the sync: store it, tell subscribers, acknowledge delivery.
    pub(super) async fn on_sync_page(
        &mut self,
        ws: &mut Ws,
        conversations: Vec<ConversationInfo>,
        removed: Vec<ConversationId>,
        receipts: Vec<ReceiptState>,
        messages: Vec<MessageRecord>,
    ) -> Step {
        let (c2, r2, rc2) = (conversations.clone(), removed.clone(), receipts.clone());
        self.shared
            .cache
            .call(move |txn| {
                for c in &conversations {
                    convs::upsert(txn, c)?;
                }
                for c in &removed {
                    convs::deactivate(txn, *c)?;
                }
                for r in &receipts {
                    convs::apply_receipt(txn, r)?;
                }
                Ok(())
            })
            .await?;
        for conversation in c2 {
            self.shared.emit(Event::Conversation { conversation });
        }
        for conversation_id in r2 {
            self.shared
                .emit(Event::ConversationRemoved { conversation_id });
        }
        for receipt in rc2 {
            self.shared.emit(Event::Receipt { receipt });
        }
        self.synced_messages += messages.len();
        let new = self.store(messages, super::inbound::From::Sync).await?;
        self.shared.emit(Event::SyncProgress {
            messages: self.synced_messages,
            done: false,
        });
        self.ack_delivered(ws, new).await
    }

    /// The sync is complete: record how far it got, go online, send what is queued.
    pub(super) async fn on_sync_done(
        &mut self,
        ws: &mut Ws,
        id: RequestId,
        changes_version: u64,
        presence: Vec<Presence>,
    ) -> Step {
        if !self.pending.take_sync(id) {
            return Ok(());
        }
        // The relay's word on the account's chats is in the cache now (`sync_done` carried
        // it): the sync's messages may bring archived chats back (the flush below sends it).
        let back = self
            .shared
            .cache
            .call(|txn| {
                prefs::bring_back_noted(txn)?
                    .then(|| prefs::all(txn))
                    .transpose()
            })
            .await?;
        if let Some(all) = back {
            self.shared.emit(Event::ChatPrefs { all });
        }
        let p = presence.clone();
        let me = self.shared.user_id;
        let (lagging, hidden) = self
            .shared
            .cache
            .call(move |txn| {
                meta_set(txn, CHANGES_VERSION, &changes_version.to_string())?;
                for p in &p {
                    convs::set_presence(txn, p)?;
                }
                let hidden = convs::hide_unlisted(txn, &p)?;
                Ok((convs::delivered_behind(txn, me)?, hidden))
            })
            .await?;
        let mut presence = presence;
        presence.extend(hidden);
        // Stored here but not known to the relay as delivered (the marker was lost with a
        // link that dropped, or an app that stopped, right after the messages were stored):
        // said again, or the senders would see "sent" until the next message (not those this
        // sync's pages already said: `ack_delivered` skips them).
        self.ack_delivered(ws, lagging).await?;
        for p in presence {
            self.shared.emit(Event::Presence { presence: p });
        }
        self.shared.emit(Event::SyncProgress {
            messages: self.synced_messages,
            done: true,
        });
        self.shared.set_state(ConnectionState::Online);
        self.flush(ws).await
    }
}
