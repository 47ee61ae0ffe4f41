//! The one place engine events become UI events and notifications (the tray's unread count
//! comes from the UI, see `commands::set_unread_total`).
//!
//! The UI listens to [`EVENT`] (every engine event, serialized as is) and [`RESYNC`] (it fell
//! behind and should reload from the cache); the names live in [`crate::event_names`].

use std::collections::{HashMap, VecDeque};

use tauri::{AppHandle, Emitter, Manager};
use tern_client::{ChatMessage, Client, ConnectionState, Event, MessageStatus};
use tern_proto::ConversationId;
use tokio::sync::broadcast::error::RecvError;

use crate::event_names::{EVENT, RESYNC};
use crate::notify;
use crate::state::AppState;

/// Forward a client's events until it stops or the returned task is aborted (its
/// [`crate::state::Session`] owns it). The tray's unread count comes from the UI
/// (`set_unread_total`), which keeps the list's counts from these same events.
pub fn spawn_forwarder(app: AppHandle, client: Client) -> tauri::async_runtime::JoinHandle<()> {
    let mut rx = client.subscribe();
    // Read after subscribing: a change since comes as an event.
    let mut catch_up = CatchUp::default();
    catch_up.connection(&client.connection_state());
    let account = crate::settings::account_of(&client);
    tauri::async_runtime::spawn(async move {
        // The engine started before this subscribed: what it learned meanwhile (a sync that
        // already finished) is read once here. Changes after the subscription come as events,
        // in order, so the last word is the engine's latest.
        match client.chat_prefs().await {
            Ok(all) => mirror_chat_prefs(&app, &account, &all),
            Err(e) => tracing::warn!(error = %e, "could not read the chats' mutes and pins"),
        }
        loop {
            match rx.recv().await {
                Ok(event) => {
                    match &event {
                        Event::Message { message } if catch_up.holding => catch_up.hold(message),
                        Event::Message { message } => {
                            maybe_notify(&app, &client, &account, message).await;
                        }
                        Event::Connection { state } => {
                            for message in catch_up.connection(state) {
                                maybe_notify(&app, &client, &account, &message).await;
                            }
                        }
                        // The shell's copy first: the UI rereads it when told (`app_state`).
                        Event::ChatPrefs { all } => mirror_chat_prefs(&app, &account, all),
                        // Read here or on another device: what was notified is seen.
                        Event::Receipt { receipt } if receipt.user_id == client.user_id() => {
                            app.state::<AppState>()
                                .notifier
                                .read_upto(receipt.conversation_id, receipt.read_seq);
                        }
                        _ => {}
                    }
                    let _ = app.emit(EVENT, &event);
                    if let Event::Connection {
                        state: ConnectionState::SignedOut { .. },
                    } = &event
                    {
                        // The relay no longer takes this device's token (revoked elsewhere,
                        // a password change, expired): the session ends here too.
                        end_revoked(&app, &account);
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let _ = app.emit(RESYNC, ());
                    // The sync's end may be among the events missed.
                    for message in catch_up.connection(&client.connection_state()) {
                        maybe_notify(&app, &client, &account, &message).await;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}

/// Keep the shell's copy of `account`'s mutes, pins, marks and archived chats (what the
/// notifications and the tray decide by) equal to the engine's list. Saved only when it
/// differs (a change made here is already in it).
fn mirror_chat_prefs(app: &AppHandle, account: &str, all: &[tern_client::ChatPrefs]) {
    let state = app.state::<AppState>();
    if let Err(e) = state.update_settings_if(|s| s.mirror_chat_prefs(account, all)) {
        tracing::warn!(error = %e.message, "could not keep the chats' mutes and pins");
    }
}

/// Messages that arrive while the engine catches up (a sync) wait to be considered for a
/// notification until it is online: the sync's last frame brings the account's mutes (a
/// brand-new device knows none before) and read markers, and a notification decided earlier
/// could not be taken back. A link lost mid-sync keeps them waiting for the next sync's end; a
/// sign-out drops them. A sync takes moments; a user offline for a day gets the day's
/// notifications, coalesced per chat, once it is done.
#[derive(Default)]
struct CatchUp {
    /// From a sync's start until the engine is online.
    holding: bool,
    /// The newest messages of each chat, in arrival order.
    held: HashMap<ConversationId, VecDeque<ChatMessage>>,
}

impl CatchUp {
    /// The newest this many of a chat are kept (a first sync brings a chat's whole history,
    /// read or not; the newest are what a notification shows and the read marker decides).
    const PER_CHAT: usize = 50;

    fn hold(&mut self, message: &ChatMessage) {
        if message.status != MessageStatus::Received {
            return;
        }
        let chat = self.held.entry(message.conversation_id).or_default();
        if chat.len() == Self::PER_CHAT {
            chat.pop_front();
        }
        chat.push_back(message.clone());
    }

    /// The connection's state changed: the messages to consider now (the sync ended).
    fn connection(&mut self, state: &ConnectionState) -> Vec<ChatMessage> {
        match state {
            ConnectionState::Syncing => self.holding = true,
            ConnectionState::Online => {
                self.holding = false;
                return self.held.drain().flat_map(|(_, chat)| chat).collect();
            }
            ConnectionState::SignedOut { .. } => {
                self.holding = false;
                self.held.clear();
            }
            ConnectionState::Connecting | ConnectionState::Offline { .. } => {}
        }
        Vec::new()
    }
}

/// The relay signed this device out of `account` (its token revoked or expired): the shell
/// lets go of the session as a sign-out does (the account's notifications go with it; a reply
/// typed into one would go nowhere), and the next start shows the sign-in screen instead of
/// resuming. The device's data stays. Ended on a task of its own: ending a session stops its
/// forwarder, which is the caller.
fn end_revoked(app: &AppHandle, account: &str) {
    let state = app.state::<AppState>();
    let current = state
        .try_client()
        .is_some_and(|c| crate::settings::account_of(&c) == account);
    if !current {
        return;
    }
    if let Some(session) = state.sign_out_here() {
        tauri::async_runtime::spawn(session.end());
    }
}

/// Raise a notification for `message` of `account` (`client`'s) if the policy says so.
async fn maybe_notify(
    app: &AppHandle,
    client: &Client,
    account: &str,
    message: &tern_client::ChatMessage,
) {
    if message.status != MessageStatus::Received {
        return;
    }
    let state = app.state::<AppState>();
    let attention = *state.attention.lock().unwrap();
    let now = tern_proto::now_ms();
    // Decided under the settings' lock, which is not held across the cache read below.
    let decide = |request| {
        let settings = state.settings.lock().unwrap();
        notify::should_notify(message, &settings, account, attention, request, now)
    };
    // The cheap checks first: most messages (the chat is open, muted, do not disturb) end
    // here without a trip to the cache. Being a message request only ever silences.
    if !decide(false) {
        return;
    }
    let info = client
        .conversation(message.conversation_id)
        .await
        .ok()
        .flatten();
    let me = info
        .as_ref()
        .and_then(|i| i.members.iter().find(|m| m.user_id == client.user_id()));
    let request = me.is_some_and(|m| !m.accepted);
    // Already read (on another device, before this one caught up with it in a sync): not news.
    let read = me.is_some_and(|m| message.seq.is_some_and(|seq| seq <= m.read_seq));
    if read || !decide(request) {
        return;
    }
    let title = match info.and_then(|i| i.name) {
        Some(name) => format!("{} in {name}", message.sender_name),
        None => message.sender_name.clone(),
    };
    state.notifier.message(
        app,
        account,
        message.conversation_id,
        message.seq,
        &title,
        &notify::message_text(message),
    );
}

#[cfg(test)]
mod tests {
    use tern_proto::Seq;

    use super::*;

    fn received(conv: i64, seq: u64) -> ChatMessage {
        ChatMessage {
            conversation_id: ConversationId(conv),
            seq: Some(Seq(seq)),
            status: MessageStatus::Received,
            ..ChatMessage::default()
        }
    }

    fn offline() -> ConnectionState {
        ConnectionState::Offline {
            retry_at: 0,
            reason: "lost".into(),
        }
    }

    /// Held from a sync's start until online, across a link lost mid-sync; the newest of each
    /// chat; none of them after a sign-out.
    #[test]
    fn messages_of_a_sync_wait_for_its_end_and_go_with_a_sign_out() {
        let mut c = CatchUp::default();
        assert!(c.connection(&ConnectionState::Connecting).is_empty());
        assert!(!c.holding, "a live message is considered at once");
        c.connection(&ConnectionState::Syncing);
        assert!(c.holding);
        for seq in 1..=60 {
            c.hold(&received(1, seq));
        }
        c.hold(&received(2, 7));
        c.hold(&ChatMessage {
            status: MessageStatus::Sent,
            ..received(3, 1)
        });
        // The link drops before the sync's end (and its mutes): still held.
        assert!(c.connection(&offline()).is_empty());
        assert!(c.connection(&ConnectionState::Connecting).is_empty());
        assert!(c.connection(&ConnectionState::Syncing).is_empty());
        let mut out: Vec<(i64, u64)> = c
            .connection(&ConnectionState::Online)
            .iter()
            .map(|m| (m.conversation_id.0, m.seq.unwrap().0))
            .collect();
        out.sort_unstable();
        let mut want: Vec<(i64, u64)> = (11..=60).map(|s| (1, s)).collect();
        want.push((2, 7));
        assert_eq!(
            out, want,
            "the newest 50 of a chat, and only what others sent"
        );
        assert!(!c.holding);
        assert!(c.connection(&ConnectionState::Online).is_empty());

        c.connection(&ConnectionState::Syncing);
        c.hold(&received(1, 61));
        c.connection(&ConnectionState::SignedOut {
            reason: "revoked".into(),
        });
        assert!(!c.holding);
        assert!(c.connection(&ConnectionState::Online).is_empty());
    }
}
