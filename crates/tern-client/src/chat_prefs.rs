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
    /// Every conversation muted or pinned, this device's changes not yet sent included.
    pub async fn chat_prefs(&self) -> Result<Vec<ChatPrefs>> {
        self.shared.cache.call(prefs::all).await
    }

    /// Set how one conversation behaves on all the user's devices (the whole of it:
    /// [`ChatPrefs::none`] unmutes and unpins). At most [`MAX_PINNED`] are pinned at once
    /// ([`Error::Invalid`] otherwise).
    pub async fn set_chat_prefs(&self, mut p: ChatPrefs) -> Result<()> {
        if !p.muted {
            p.muted_until = None;
        }
        let conv: ConversationId = p.conversation_id;
        let all = self
            .shared
            .cache
            .call(move |txn| {
                if p.pinned_at.is_some() && prefs::pinned_elsewhere(txn, conv)? >= MAX_PINNED {
                    return Ok(Err(Error::Invalid(format!(
                        "at most {MAX_PINNED} chats can be pinned"
                    ))));
                }
                prefs::set_here(txn, &p)?;
                Ok(Ok(prefs::all(txn)?))
            })
            .await??;
        self.shared.emit(Event::ChatPrefs { all });
        // Offline the command is dropped; the next connection's flush sends the change.
        let _ = self.cmds.try_send(Cmd::Flush);
        Ok(())
    }
}
