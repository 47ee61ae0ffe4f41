//! Muted and pinned chats, the same on all the user's devices.
//!
//! The relay keeps them for the user alone ([`tern_proto::SetChatPrefs`]); the cache keeps
//! its word, so [`Client::chat_prefs`] answers offline. A change made here applies at once
//! (an [`Event::ChatPrefs`] says so) and reaches the relay when it can: now when online,
//! after the next sync otherwise, like a read marker.

use tern_proto::{ChatPrefs, ConversationId, MAX_PINNED};

use crate::cache::prefs;
use crate::client::Client;
use crate::connection::Cmd;
use crate::error::{Error, Result};
use crate::events::Event;

impl Client {
    /// Every conversation muted, pinned or marked unread, this device's changes not yet sent
    /// included.
    pub async fn chat_prefs(&self) -> Result<Vec<ChatPrefs>> {
        self.shared.cache.call(prefs::all).await
    }

    /// How many chats have a change made on this device that the relay has not yet stored
    /// and confirmed (0: every choice made here is the account's everywhere).
    pub async fn chat_prefs_unsettled(&self) -> Result<usize> {
        self.shared.cache.call(prefs::unsettled).await
    }

    /// Set how one conversation behaves on all the user's devices (the whole of it:
    /// [`ChatPrefs::none`] unmutes, unpins and takes the unread mark away). At most
    /// [`MAX_PINNED`] are pinned at once ([`Error::Invalid`] otherwise).
    pub async fn set_chat_prefs(&self, p: ChatPrefs) -> Result<()> {
        self.update_chat_prefs(p.conversation_id, move |now| *now = p)
            .await
            .map(|_| ())
    }

    /// Change part of how one conversation behaves (`change` gets what it shows now), on all
    /// the user's devices; what it shows after. Read and written in one cache transaction,
    /// so a change from another device arriving meanwhile is not overwritten with stale
    /// fields.
    pub async fn update_chat_prefs(
        &self,
        conv: ConversationId,
        change: impl FnOnce(&mut ChatPrefs) + Send + 'static,
    ) -> Result<ChatPrefs> {
        let (p, all) = self
            .shared
            .cache
            .call(move |txn| {
                let mut p = prefs::one(txn, conv)?;
                let was_pinned = p.pinned_at.is_some();
                change(&mut p);
                p.conversation_id = conv;
                if !p.muted {
                    p.muted_until = None;
                }
                if p.pinned_at.is_some()
                    && !was_pinned
                    && prefs::pinned_elsewhere(txn, conv)? >= MAX_PINNED
                {
                    return Ok(Err(Error::Invalid(format!(
                        "at most {MAX_PINNED} chats can be pinned"
                    ))));
                }
                prefs::set_here(txn, &p)?;
                Ok(Ok((p, prefs::all(txn)?)))
            })
            .await??;
        self.shared.emit(Event::ChatPrefs { all });
        // Offline the command is dropped; the next connection's flush sends the change.
        self.shared.ask(&self.cmds, Cmd::Flush);
        Ok(p)
    }
}
