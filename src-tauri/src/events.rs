//! The one place engine events become UI events, notifications and tray updates.
//!
//! The UI listens to [`EVENT`] (every engine event, serialized as is) and [`RESYNC`] (it fell
//! behind and should reload from the cache); the names live in [`crate::event_names`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};
use tern_client::{Client, Event, MessageStatus};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Notify;

use crate::event_names::{EVENT, RESYNC};
use crate::state::AppState;
use crate::{notify, tray};

/// How long the unread total waits for more changes before it is counted again: a message
/// and the read marker that follows it when the chat is open cost one count, and a burst of
/// thousands a handful.
const UNREAD_SETTLE: Duration = Duration::from_millis(250);

/// Forward a client's events until it stops or the returned task is aborted (its
/// [`crate::state::Session`] owns it).
pub fn spawn_forwarder(app: AppHandle, client: Client) -> tauri::async_runtime::JoinHandle<()> {
    let mut rx = client.subscribe();
    tauri::async_runtime::spawn(async move {
        let recount = Recount::default();
        let forward = async {
            recount.ask();
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        if let Event::Message { message } = &event {
                            maybe_notify(&app, &client, message).await;
                        }
                        let _ = app.emit(EVENT, &event);
                        if changes_unread(&event) {
                            recount.ask();
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let _ = app.emit(RESYNC, ());
                        recount.ask();
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        };
        // Both end together: when the client's events end, or when the session aborts this.
        tokio::select! {
            () = forward => {}
            () = recount.run(&app, &client) => {}
        }
    })
}

/// Whether `event` may change the number of unread messages.
fn changes_unread(event: &Event) -> bool {
    matches!(
        event,
        Event::Message { .. }
            | Event::Receipt { .. }
            | Event::SyncProgress { done: true, .. }
            | Event::ConversationRemoved { .. }
            | Event::MessageChanged { hidden: true, .. }
            | Event::Conversation { .. }
    )
}

/// Coalesces requests to count the unread messages again.
#[derive(Default)]
struct Recount {
    asked: AtomicBool,
    wake: Notify,
}

impl Recount {
    /// The total may have changed.
    fn ask(&self) {
        if !self.asked.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Count whenever asked, once per [`UNREAD_SETTLE`] at most; never returns.
    async fn run(&self, app: &AppHandle, client: &Client) {
        loop {
            self.wake.notified().await;
            tokio::time::sleep(UNREAD_SETTLE).await;
            // Asked again from here on: counted again after this.
            self.asked.store(false, Ordering::Release);
            if let Ok(total) = client.unread_total().await {
                tray::set_unread(app, total);
            }
        }
    }
}

async fn maybe_notify(app: &AppHandle, client: &Client, message: &tern_client::ChatMessage) {
    if message.status != MessageStatus::Received {
        return;
    }
    let state = app.state::<AppState>();
    let settings = state.settings.lock().unwrap().clone();
    let attention = *state.attention.lock().unwrap();
    // The cheap checks first: most messages (the chat is open, muted, do not disturb) end
    // here without a trip to the cache. Being a message request only ever silences.
    if !notify::should_notify(message, &settings, attention, false) {
        return;
    }
    let info = client
        .conversation(message.conversation_id)
        .await
        .ok()
        .flatten();
    let request = info.as_ref().is_some_and(|i| {
        i.members
            .iter()
            .any(|m| m.user_id == client.user_id() && !m.accepted)
    });
    if !notify::should_notify(message, &settings, attention, request) {
        return;
    }
    let title = match info.and_then(|i| i.name) {
        Some(name) => format!("{} in {name}", message.sender),
        None => message.sender.clone(),
    };
    state
        .notifier
        .message(app, message.conversation_id, &title, &message.body);
}
