//! What the session does with each frame from the relay: one handler per frame kind.
//!
//! Every handler applies the frame to the cache first and only then emits the matching
//! [`Event`], so a subscriber never hears of something the cache does not hold yet. Answers to
//! something this connection asked for are handled in [`super::answers`] (acks, `ok`, errors)
//! or resolve their caller's request here (replies), through the
//! [`super::pending::PendingTable`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tern_proto::{
    ChatPrefs, ClientFrame, ConversationId, ConversationInfo, HistoryRequest, MessageRecord,
    Presence, Privacy, ReceiptState, RequestId, Seq, ServerFrame, Timestamp, UserId,
};
use tokio_tungstenite::tungstenite::{self, Message};

use super::answers::{changed_views, Ack};
use super::failure::SessionError;
use super::pending::Pending;
use super::session::{Session, Step, Ws};
use crate::cache::{chat, conversations as convs, messages, prefs};
use crate::error::Result;
use crate::events::Event;

/// Messages asked for at a time when filling a gap below pushed ones.
const FILL_PAGE: u32 = 200;

/// Where stored messages came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum From {
    /// Pushed live.
    Push,
    /// A sync's page.
    Sync,
    /// A page filling a gap below pushed ones.
    Fill,
}

/// Largest frame accepted after inflating a compressed one.
const MAX_INFLATED: usize = 64 << 20;

impl Session<'_> {
    /// Handle one read from the socket: a frame, a close, or the end of the link.
    pub(super) async fn on_message(
        &mut self,
        ws: &mut Ws,
        message: Option<Result<Message, tungstenite::Error>>,
    ) -> Step {
        match message {
            Some(Ok(Message::Text(text))) => self.on_text(ws, text.as_str()).await,
            Some(Ok(Message::Binary(bytes))) => {
                match tern_proto::compression::inflate(&bytes, MAX_INFLATED) {
                    Ok(text) => self.on_text(ws, &text).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "undecodable binary frame from the relay");
                        Ok(())
                    }
                }
            }
            Some(Ok(Message::Close(frame))) => Err(SessionError::closed(frame)),
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(SessionError::Read(e)),
            None => Err(SessionError::Ended),
        }
    }

    /// Parse one text frame; frames this client does not know are skipped.
    async fn on_text(&mut self, ws: &mut Ws, text: &str) -> Step {
        match serde_json::from_str(text) {
            Ok(frame) => self.on_frame(ws, frame).await,
            Err(e) => {
                // A newer relay may send frames this client does not know; skip them. One
                // that answers a request still ends what waits for it, where that is safe.
                let id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("id")?.as_u64())
                    .map(tern_proto::RequestId);
                match id.filter(|&id| self.pending.is_tracked(id)) {
                    Some(id) => {
                        tracing::warn!(error = %e, "an answer this version cannot read");
                        if let Some(conv) = self.pending.unreadable(id) {
                            tracing::debug!(%conv, "missing messages could not be read");
                        }
                    }
                    None => tracing::debug!(error = %e, "ignoring unknown frame"),
                }
                Ok(())
            }
        }
    }

    /// Route one relay frame to its handler.
    async fn on_frame(&mut self, ws: &mut Ws, frame: ServerFrame) -> Step {
        match frame {
            ServerFrame::Ack {
                id,
                client_id,
                message_id,
                conversation_id,
                seq,
                sent_at,
                ..
            } => {
                let ack = Ack {
                    id,
                    client_id,
                    message_id,
                    conversation_id,
                    seq,
                    sent_at,
                };
                self.on_ack(ws, ack).await
            }
            ServerFrame::Error { id, code, message } => self.on_error(id, code, message).await,
            ServerFrame::Message { message } => self.on_new_message(ws, message).await,
            ServerFrame::SyncPage {
                conversations,
                removed,
                receipts,
                messages,
                ..
            } => {
                self.on_sync_page(ws, conversations, removed, receipts, messages)
                    .await
            }
            ServerFrame::SyncDone {
                id,
                changes_version,
                presence,
                privacy,
                chat_prefs,
            } => {
                self.on_privacy(privacy).await?;
                if let Some(list) = chat_prefs {
                    self.on_chat_prefs(list, PrefsWord::Sync).await?;
                }
                self.on_sync_done(ws, id, changes_version, presence).await
            }
            ServerFrame::Privacy { privacy } => self.on_privacy(privacy).await,
            ServerFrame::ChatPrefs { prefs } => {
                self.on_chat_prefs(vec![prefs], PrefsWord::One).await
            }
            ServerFrame::ChatPrefsList { prefs } => {
                self.on_chat_prefs(prefs, PrefsWord::Live).await
            }
            ServerFrame::Receipt { receipt } => self.on_receipt(receipt).await,
            ServerFrame::Typing {
                conversation_id,
                user_id,
                active,
                expires_in_ms,
            } => {
                self.on_typing(conversation_id, user_id, active, expires_in_ms);
                Ok(())
            }
            ServerFrame::Presence { presence } => self.on_presence(presence).await,
            ServerFrame::Conversation { id, conversation } => {
                self.on_conversation(id, conversation).await
            }
            ServerFrame::ConversationRemoved { conversation_id } => {
                self.on_conversation_removed(conversation_id).await
            }
            ServerFrame::Ok { id } => self.on_ok(id).await,
            ServerFrame::History { id, messages, .. } if self.pending.take_fill(id).is_some() => {
                self.on_fill(ws, messages).await
            }
            f @ (ServerFrame::Pong { .. }
            | ServerFrame::Conversations { .. }
            | ServerFrame::People { .. }
            | ServerFrame::History { .. }) => {
                if let Some(id) = f.reply_id() {
                    self.pending.resolve(id, Ok(f));
                }
                Ok(())
            }
            ServerFrame::Welcome { .. } => Ok(()),
        }
    }

    /// A message arrived live: store it, then tell the relay it reached this device.
    async fn on_new_message(&mut self, ws: &mut Ws, message: MessageRecord) -> Step {
        let new = self.store(vec![message], From::Push).await?;
        self.ack_delivered(ws, new).await?;
        self.fill_gaps(ws).await?;
        if std::mem::take(&mut self.prefs_changed) {
            // An archived chat came back: the relay hears of it now.
            self.flush(ws).await?;
        }
        Ok(())
    }

    /// Ask for the messages missing right above `conv`'s gap-free cursor, if some are (the
    /// user was added to a conversation that had messages: the relay pushes only the new
    /// ones, and a sync runs only when a connection starts). Until they are here, the
    /// conversation's later edits, deletions and reactions cannot be applied (they apply in
    /// order) and no delivery is acknowledged past the gap. One page at a time.
    async fn fill_gaps(&mut self, ws: &mut Ws) -> Step {
        let gaps = std::mem::take(&mut self.gaps);
        // The sync under way brings what is missing below the cursors.
        if self.pending.is_syncing() {
            return Ok(());
        }
        for (conv, before) in gaps {
            if self.pending.is_filling(conv) {
                continue;
            }
            let id = self.pending.insert(Pending::Fill {
                conversation_id: conv,
            });
            let frame = ClientFrame::History(HistoryRequest {
                id,
                conversation_id: conv,
                before_seq: Some(before),
                limit: FILL_PAGE,
            });
            self.write(ws, frame).await?;
        }
        Ok(())
    }

    /// A page of the messages missing below the pushed ones: stored as a sync's are, then the
    /// next page if the gap is still open (a page that brings nothing ends it).
    async fn on_fill(&mut self, ws: &mut Ws, page: Vec<MessageRecord>) -> Step {
        if page.is_empty() {
            return Ok(());
        }
        let new = self.store(page, From::Fill).await?;
        self.ack_delivered(ws, new).await?;
        self.fill_gaps(ws).await
    }

    /// A member's receipt markers moved.
    async fn on_receipt(&mut self, receipt: ReceiptState) -> Step {
        self.shared
            .cache
            .call(move |txn| convs::apply_receipt(txn, &receipt))
            .await?;
        self.shared.emit(Event::Receipt { receipt });
        Ok(())
    }

    /// Someone started or stopped typing; an indication lapses unless refreshed.
    fn on_typing(
        &mut self,
        conversation_id: ConversationId,
        user_id: UserId,
        active: bool,
        expires_in_ms: u64,
    ) {
        let key = (conversation_id, user_id);
        if active {
            let ttl = if expires_in_ms > 0 {
                Duration::from_millis(expires_in_ms)
            } else {
                self.shared.config.timing.typing_expiry
            };
            self.typing.insert(key, Instant::now() + ttl);
        } else {
            self.typing.remove(&key);
        }
        self.shared.emit(Event::Typing {
            conversation_id,
            user_id,
            active,
        });
    }

    /// The user's privacy settings or block list, from a sync or changed on any device.
    async fn on_privacy(&mut self, privacy: Privacy) -> Step {
        let p = privacy.clone();
        self.shared
            .cache
            .call(move |txn| convs::set_privacy(txn, &p))
            .await?;
        self.shared.emit(Event::Privacy { privacy });
        Ok(())
    }

    /// How the user's conversations behave, from the relay: one conversation's (changed on
    /// any device) or the whole list (a sync's, or one sent mid-session). This device's changes
    /// on their way stay.
    async fn on_chat_prefs(&mut self, list: Vec<ChatPrefs>, word: PrefsWord) -> Step {
        let all = self
            .shared
            .cache
            .call(move |txn| {
                if word == PrefsWord::One {
                    let changed = prefs::apply(txn, &list[0])?;
                    return changed.then(|| prefs::all(txn)).transpose();
                }
                // The whole list comes with every sync and bus catch-up, mostly unchanged: the
                // app is told only of a difference.
                let before = prefs::all(txn)?;
                prefs::replace(txn, &list, word == PrefsWord::Sync)?;
                let after = prefs::all(txn)?;
                Ok((after != before).then_some(after))
            })
            .await?;
        if let Some(all) = all {
            self.shared.emit(Event::ChatPrefs { all });
        }
        Ok(())
    }

    /// Someone came online or went offline.
    async fn on_presence(&mut self, presence: Presence) -> Step {
        let p = presence.clone();
        self.shared
            .cache
            .call(move |txn| convs::set_presence(txn, &p))
            .await?;
        self.shared.emit(Event::Presence { presence });
        Ok(())
    }

    /// A conversation changed; with an id, it is also the answer to a caller's request.
    async fn on_conversation(
        &mut self,
        id: Option<RequestId>,
        conversation: ConversationInfo,
    ) -> Step {
        let c = conversation.clone();
        self.shared
            .cache
            .call(move |txn| convs::upsert(txn, &c))
            .await?;
        self.shared.emit(Event::Conversation {
            conversation: conversation.clone(),
        });
        if let Some(id) = id {
            let reply = ServerFrame::Conversation {
                id: Some(id),
                conversation,
            };
            self.pending.resolve(id, Ok(reply));
        }
        Ok(())
    }

    /// The user left or was removed from a conversation.
    async fn on_conversation_removed(&mut self, conversation_id: ConversationId) -> Step {
        let was_active = self
            .shared
            .cache
            .call(move |txn| convs::deactivate(txn, conversation_id))
            .await?;
        // Told once: a `leave_group` of this device deactivated it already.
        if was_active {
            self.shared
                .emit(Event::ConversationRemoved { conversation_id });
        }
        Ok(())
    }

    /// Store messages; emit events for new ones; return conversations with new messages from
    /// others and their new cursors (to acknowledge delivery). Pushed messages (and a page
    /// filling a gap below them) also note, in the same cache transaction, where a gap below
    /// them begins ([`Session::gaps`], for [`Session::fill_gaps`]).
    pub(super) async fn store(
        &mut self,
        records: Vec<MessageRecord>,
        from: From,
    ) -> Step<Vec<(ConversationId, Seq)>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let me = self.shared.user_id;
        let live = from == From::Push;
        let gaps_wanted = from != From::Sync;
        let (chats, changed, cursors, back, gaps) = self
            .shared
            .cache
            .call(move |txn| {
                let stored = messages::store(txn, me, &records)?;
                // A message from someone else may bring an archived chat back: at once when
                // it came live; a sync's only once its `sync_done` brought the relay's word.
                let mut spoken: HashMap<ConversationId, Timestamp> = HashMap::new();
                for m in stored.new_rows() {
                    if m.sender_id != me && m.kind.is_text() {
                        let at = spoken.entry(m.conversation_id).or_default();
                        *at = (*at).max(m.sent_at);
                    }
                }
                let spoken: Vec<_> = spoken.into_iter().collect();
                let back = if live {
                    prefs::bring_back(txn, &spoken)?
                        .then(|| prefs::all(txn))
                        .transpose()?
                } else {
                    prefs::note_spoken(txn, &spoken)?;
                    None
                };
                let chats = chat::to_chats(txn, me, &stored.new_rows())?;
                let changed = changed_views(txn, me, &stored.changed)?;
                let mut convs: Vec<ConversationId> = stored
                    .fresh
                    .iter()
                    .filter(|m| m.sender_id != me)
                    .map(|m| m.conversation_id)
                    .collect();
                convs.sort_unstable();
                convs.dedup();
                let cursors = convs
                    .into_iter()
                    .map(|c| Ok((c, messages::synced_seq(txn, c)?)))
                    .collect::<Result<Vec<_>>>()?;
                // (A sync's pages fill what lies below its own cursors.)
                let gaps = if gaps_wanted { stored.gaps } else { Vec::new() };
                Ok((chats, changed, cursors, back, gaps))
            })
            .await?;
        self.gaps.extend(gaps);
        if let Some(all) = back {
            self.prefs_changed = true;
            self.shared.emit(Event::ChatPrefs { all });
        }
        // Older messages filling a gap are not news: no event (a notification, a list row
        // moving) for them; a chat shows them as it pages back.
        if from != From::Fill {
            for chat in chats {
                self.shared.emit(Event::Message { message: chat });
            }
        }
        self.emit_changed(changed);
        Ok(cursors)
    }
}

/// What the relay's word on the user's chat preferences covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrefsWord {
    /// One conversation's, pushed.
    One,
    /// Every conversation's, at the end of a sync (no change of this device's is unanswered).
    Sync,
    /// Every conversation's, mid-session (changes of this device's may be on their way).
    Live,
}
