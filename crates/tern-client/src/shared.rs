//! The state a [`crate::Client`] handle shares with its connection task: configuration, the
//! cache, who is signed in, the token, and the event channel with the last link state.
//!
//! It lives apart from `client.rs` so the connection task depends on it alone, not on the
//! handle that starts the task.

use std::sync::Mutex;

use tern_proto::UserId;
use tokio::sync::broadcast;

use crate::cache::Cache;
use crate::config::ClientConfig;
use crate::events::{ConnectionState, Event};
use crate::keychain::Token;

/// State shared by the handle and the connection task.
pub(crate) struct Shared {
    pub(crate) config: ClientConfig,
    pub(crate) cache: Cache,
    pub(crate) user_id: UserId,
    pub(crate) username: String,
    pub(crate) token: Token,
    events: broadcast::Sender<Event>,
    /// Last published link state, for callers that subscribe late.
    state: Mutex<ConnectionState>,
}

impl Shared {
    pub(crate) fn new(
        config: ClientConfig,
        cache: Cache,
        user_id: UserId,
        username: String,
        token: Token,
        events: broadcast::Sender<Event>,
    ) -> Self {
        Shared {
            config,
            cache,
            user_id,
            username,
            token,
            events,
            state: Mutex::new(ConnectionState::Connecting),
        }
    }

    /// A new receiver of every event from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The last published link state.
    pub(crate) fn state(&self) -> ConnectionState {
        self.state.lock().unwrap().clone()
    }

    pub(crate) fn emit(&self, event: Event) {
        // No subscriber is fine: the cache already holds the truth.
        let _ = self.events.send(event);
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        *self.state.lock().unwrap() = state.clone();
        self.emit(Event::Connection { state });
    }
}
