//! Tauri commands: each parses its arguments, calls one engine function, maps the error.
//! Behaviour lives in `tern-client`; nothing here decides anything a test would care about.

use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tern_client::{
    ChatMessage, ClearText, Client, ClientConfig, ConnectionState, ConversationView, RelayAddress,
};
use tern_proto::{ChatPrefs, ConversationId, ConversationInfo, Seq};

use crate::error::CmdError;
use crate::events;
use crate::settings::{account_key, account_of};
use crate::state::{AppState, Session};

type Res<T> = Result<T, CmdError>;

/// What the UI needs to draw its first screen.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    relay: String,
    username: Option<String>,
    user_id: Option<tern_proto::UserId>,
    /// The account's key (its user id at its relay): what the UI keeps for it on this device
    /// is kept under it, so the same id on two relays is two accounts.
    account: Option<String>,
    signed_in: bool,
    connection: Option<ConnectionState>,
    /// Signed in over clear-text `http://` to another machine: the UI warns persistently.
    unencrypted: bool,
    allow_insecure_relay: bool,
    do_not_disturb: bool,
    muted: Vec<Mute>,
    /// Mentions stay silent in muted conversations too.
    mute_mentions: bool,
    /// Conversations pinned to the top of the list, first shown first.
    pinned: Vec<ConversationId>,
    /// Conversations the user marked unread.
    marked_unread: Vec<ConversationId>,
    /// Conversations the user archived.
    archived: Vec<ConversationId>,
}

/// A conversation muted now, and until when (ms since the epoch; `None`: until unmuted).
#[derive(Debug, Serialize)]
pub struct Mute {
    conversation_id: ConversationId,
    until: Option<tern_proto::Timestamp>,
}

/// The engine configuration for a relay address as typed, under the clear-text rule.
pub fn engine_config(state: &AppState, relay: &str, clear_text: ClearText) -> Res<ClientConfig> {
    let relay = RelayAddress::parse(relay, clear_text)?;
    let mut c = ClientConfig::new(relay, &state.data_dir);
    c.device_name = format!("Tern desktop ({})", std::env::consts::OS);
    c.timing = desktop_timing();
    Ok(c)
}

/// The engine's timing for a desktop: reconnect waits at most 10 s (someone is looking at the
/// window; the engine's 30 s suits unattended clients), and a connection that stayed up resets
/// the wait (the engine's rule). Focusing the window retries at once (see `lib.rs`).
pub fn desktop_timing() -> tern_client::Timing {
    tern_client::Timing {
        backoff_max: std::time::Duration::from_secs(10),
        ..tern_client::Timing::default()
    }
}

/// Start forwarding and remember the signed-in account.
pub fn adopt(app: &AppHandle, state: &AppState, client: Client) -> Res<()> {
    let (relay, name) = (
        client.config().relay.as_str().to_owned(),
        client.username().to_owned(),
    );
    let account = account_key(&relay, client.user_id());
    let mut unsynced = Vec::new();
    state.update_settings(|s| {
        // Mutes kept before they were per account applied to whoever signed in: they are the
        // first account's to sign in since.
        s.take_unclaimed_mutes(&account);
        unsynced = s.unsynced(&account, tern_proto::now_ms());
        s.relay = Some(relay);
        s.username = Some(name);
    })?;
    // Notifications are this account's from now on (the previous one's are withdrawn), before
    // its first event can raise one.
    state.notifier.switch_to(&client);
    let forwarder = events::spawn_forwarder(app.clone(), client.clone());
    // Started once this client is the session's: the merge stops when it no longer is.
    let merging = (!unsynced.is_empty()).then(|| client.clone());
    if let Some(old) = state.set_session(Some(Session::new(client, forwarder))) {
        tauri::async_runtime::spawn(old.end());
    }
    if let Some(client) = merging {
        tauri::async_runtime::spawn(merge_kept_here(app.clone(), client, account, unsynced));
    }
    Ok(())
}

/// Merge the mutes and pins this device kept before the relay kept them into the account's,
/// once the first sync brought the account's (so a newer choice made on another device is not
/// overwritten): a chat muted or pinned here becomes so unless it already is. Marked done only
/// when it ran; a run that never got online (or signed out first) tries at the next sign-in.
async fn merge_kept_here(app: AppHandle, client: Client, account: String, kept: Vec<ChatPrefs>) {
    let state = app.state::<AppState>();
    let still_signed_in = || {
        state
            .try_client()
            .is_some_and(|c| account_of(&c) == account)
    };
    while client.connection_state() != ConnectionState::Online {
        if !still_signed_in() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    for here in kept {
        let merged = client
            .update_chat_prefs(here.conversation_id, move |p| {
                if here.muted && !p.muted {
                    p.muted = true;
                    p.muted_until = here.muted_until;
                }
                if p.pinned_at.is_none() {
                    p.pinned_at = here.pinned_at;
                }
            })
            .await;
        if let Err(e) = merged {
            // A sixth pin, for one: the account's choices stand.
            tracing::info!(error = %e, "a mute or pin kept here was not merged");
        }
    }
    if let Err(e) = state.update_settings(|s| s.mark_synced(&account)) {
        tracing::warn!(error = %e.message, "could not note the merge");
    }
}

/// What the UI needs to draw its first screen.
#[tauri::command]
pub fn app_state(state: State<'_, AppState>) -> Snapshot {
    let s = state.settings.lock().unwrap().clone();
    let client = state.try_client();
    let account = client.as_ref().map(account_of);
    let (mutes, pinned_now, marked_unread, archived) = match &account {
        Some(a) => (
            s.mutes_of(a, tern_proto::now_ms()),
            s.pinned_by(a),
            s.unread_marks_of(a),
            s.archived_by(a),
        ),
        None => Default::default(),
    };
    Snapshot {
        relay: s
            .relay
            .clone()
            .unwrap_or_else(|| state.default_relay.clone()),
        username: client
            .as_ref()
            .map(|c| c.username().to_owned())
            .or(s.username),
        user_id: client.as_ref().map(|c| c.user_id()),
        account: account.clone(),
        signed_in: client.is_some(),
        unencrypted: client
            .as_ref()
            .is_some_and(|c| c.config().relay.is_clear_text_remote()),
        connection: client.map(|c| c.connection_state()),
        allow_insecure_relay: s.allow_insecure_relay,
        do_not_disturb: s.do_not_disturb,
        muted: mutes
            .into_iter()
            .map(|(conversation_id, until)| Mute {
                conversation_id,
                until,
            })
            .collect(),
        mute_mentions: s.mute_mentions,
        pinned: pinned_now,
        marked_unread,
        archived,
    }
}

/// Sign in (creating the account first when `register`), keep the token in the keychain.
/// `allow_insecure_relay` is the user's explicit consent to clear text to another machine;
/// it is remembered for silent sign-in.
#[tauri::command]
pub async fn sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    relay: String,
    username: String,
    password: String,
    register: bool,
    allow_insecure_relay: Option<bool>,
) -> Res<()> {
    let allow = allow_insecure_relay.unwrap_or(false);
    let clear_text = if allow {
        ClearText::Allow
    } else {
        ClearText::LoopbackOnly
    };
    let config = engine_config(&state, relay.trim(), clear_text)?;
    state.update_settings(|s| s.allow_insecure_relay = allow)?;
    if register {
        Client::register(&config, username.trim(), &password).await?;
    }
    let client = Client::login(config, username.trim(), &password).await?;
    adopt(&app, &state, client)
}

/// Sign out of this device (or everywhere) and forget the token.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>, everywhere: bool, wipe: Option<bool>) -> Res<()> {
    let client = state.client()?;
    let (config, user_id) = (client.config().clone(), client.user_id());
    // This device first, the relay last: a relay that does not answer must not keep the
    // session (and its data) here, nor have a late answer undo a sign-in made meanwhile.
    let session = state.sign_out_here();
    if let Some(session) = session {
        session.end().await;
    }
    // "Also remove this device's copy": the messages and files cached here, and what the
    // shell kept for the account (its mutes and pins). The engine has let go of its files.
    let wiped = if wipe.unwrap_or(false) {
        let account = account_key(config.relay.as_str(), user_id);
        tern_client::accounts::remove_account_data(&config, user_id)
            .map_err(CmdError::from)
            .and(
                state
                    .update_settings(|s| s.forget_account(&account))
                    .map(drop),
            )
    } else {
        Ok(())
    };
    // Deletes the token from the keychain, then revokes it (waiting a few seconds at most).
    let result = client.logout(everywhere).await;
    wiped?;
    Ok(result?)
}

/// Messages written here that have not reached the relay yet (what removing this device's
/// copy at sign-out would lose).
#[tauri::command]
pub async fn unsent_count(state: State<'_, AppState>) -> Res<usize> {
    Ok(state.client()?.unsent().await?)
}

/// What the relay takes (longest message, how long a message stays editable) and its clock's
/// offset, as it last said; the composer and the message actions follow them.
#[tauri::command]
pub async fn relay_limits(
    state: State<'_, AppState>,
) -> Res<tern_client::cache::prefs::RelayLimits> {
    Ok(state.client()?.relay_limits().await?)
}

/// Conversations from the cache, most recent first.
#[tauri::command]
pub async fn conversations(state: State<'_, AppState>) -> Res<Vec<ConversationView>> {
    Ok(state.client()?.conversations().await?)
}

/// One conversation as listed (`null` if unknown or left): the UI refreshes a single row
/// with it when an event does not carry everything the row shows.
#[tauri::command]
pub async fn conversation_view(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Res<Option<ConversationView>> {
    Ok(state.client()?.conversation_view(conversation_id).await?)
}

/// Messages after `after_seq`, ascending, up to `limit` (the newer part of a long chat the
/// view had let go of).
#[tauri::command]
pub async fn messages_after(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    after_seq: Seq,
    limit: usize,
) -> Res<Vec<ChatMessage>> {
    Ok(state
        .client()?
        .messages_after(conversation_id, after_seq, limit.clamp(1, 200))
        .await?)
}

/// A page of messages from the cache (older ones fetched when missing).
#[tauri::command]
pub async fn messages(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    before_seq: Option<Seq>,
    limit: usize,
) -> Res<Vec<ChatMessage>> {
    Ok(state
        .client()?
        .messages(conversation_id, before_seq, limit.clamp(1, 200))
        .await?)
}

/// Queue a message (optionally a reply); returns its local echo.
#[tauri::command]
pub async fn send(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    body: String,
    reply_to: Option<Seq>,
) -> Res<ChatMessage> {
    Ok(state
        .client()?
        .send_text(conversation_id, &body, reply_to)
        .await?)
}

/// Forward the message at `seq` of conversation `from` to conversation `to` (the same text
/// and file, not uploaded again); returns its local echo.
#[tauri::command]
pub async fn forward(
    state: State<'_, AppState>,
    to: ConversationId,
    from: ConversationId,
    seq: Seq,
) -> Res<ChatMessage> {
    Ok(state.client()?.forward(to, from, seq).await?)
}

/// Replace the text of one of the user's messages; returns it as it now shows.
#[tauri::command]
pub async fn edit_message(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    seq: Seq,
    body: String,
) -> Res<ChatMessage> {
    Ok(state.client()?.edit(conversation_id, seq, &body).await?)
}

/// Delete a message for everyone, or for this user only.
#[tauri::command]
pub async fn delete_message(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    seq: Seq,
    for_everyone: bool,
) -> Res<()> {
    let client = state.client()?;
    if for_everyone {
        client.delete_for_everyone(conversation_id, seq).await?;
    } else {
        client.delete_for_me(conversation_id, seq).await?;
    }
    Ok(())
}

/// Toggle the user's reaction; returns the message as it now shows.
#[tauri::command]
pub async fn react(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    seq: Seq,
    emoji: String,
) -> Res<ChatMessage> {
    Ok(state.client()?.react(conversation_id, seq, &emoji).await?)
}

/// Set (or with a blank name clear) the user's display name.
#[tauri::command]
pub async fn set_display_name(state: State<'_, AppState>, name: String) -> Res<()> {
    Ok(state.client()?.set_display_name(Some(&name)).await?)
}

/// People to start a chat with: contacts by prefix or display name, anyone by exact username.
#[tauri::command]
pub async fn find_people(
    state: State<'_, AppState>,
    query: String,
) -> Res<Vec<tern_proto::Person>> {
    Ok(state.client()?.find_people(&query).await?)
}

/// Open an `http`, `https` or `mailto` link in the system's handler (never in the window).
#[tauri::command]
pub fn open_link(url: String) -> Res<()> {
    crate::links::open(&url).map_err(|message| crate::error::CmdError::new("bad_link", message))
}

/// Retry a failed message.
#[tauri::command]
pub async fn retry(state: State<'_, AppState>, client_id: String) -> Res<()> {
    Ok(state.client()?.retry(&client_id).await?)
}

/// Delete a failed message.
#[tauri::command]
pub async fn delete_failed(state: State<'_, AppState>, client_id: String) -> Res<()> {
    Ok(state.client()?.delete_failed(&client_id).await?)
}

/// Mark a conversation read up to a sequence.
#[tauri::command]
pub async fn mark_read(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    seq: Seq,
) -> Res<()> {
    Ok(state.client()?.mark_read(conversation_id, seq).await?)
}

/// The conversation list's unread total changed: the tray shows it.
#[tauri::command]
pub fn set_unread_total(app: tauri::AppHandle, total: u64) {
    crate::tray::set_unread(&app, total);
}

/// Report typing started or stopped.
#[tauri::command]
pub async fn typing(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    active: bool,
) -> Res<()> {
    state.client()?.typing(conversation_id, active).await;
    Ok(())
}

/// Start or find a direct conversation.
#[tauri::command]
pub async fn start_direct(state: State<'_, AppState>, username: String) -> Res<ConversationInfo> {
    Ok(state.client()?.start_direct(username.trim()).await?)
}

/// Create a group.
#[tauri::command]
pub async fn create_group(
    state: State<'_, AppState>,
    name: String,
    members: Vec<String>,
) -> Res<ConversationInfo> {
    let members: Vec<&str> = members
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect();
    Ok(state.client()?.create_group(&name, &members).await?)
}

/// Rename a group.
#[tauri::command]
pub async fn rename_group(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    name: String,
) -> Res<ConversationInfo> {
    Ok(state.client()?.rename_group(conversation_id, &name).await?)
}

/// Add members to a group.
#[tauri::command]
pub async fn add_members(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    usernames: Vec<String>,
) -> Res<ConversationInfo> {
    let names: Vec<&str> = usernames
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect();
    Ok(state.client()?.add_members(conversation_id, &names).await?)
}

/// Remove a member from a group.
#[tauri::command]
pub async fn remove_member(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    username: String,
) -> Res<ConversationInfo> {
    Ok(state
        .client()?
        .remove_member(conversation_id, &username)
        .await?)
}

/// Leave a group.
#[tauri::command]
pub async fn leave_group(state: State<'_, AppState>, conversation_id: ConversationId) -> Res<()> {
    Ok(state.client()?.leave_group(conversation_id).await?)
}

/// Search cached messages: a page of `limit` (at most 100) results after the first `offset`.
#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    offset: Option<usize>,
    limit: Option<usize>,
) -> Res<Vec<ChatMessage>> {
    let limit = limit.unwrap_or(50).clamp(1, 100);
    Ok(state
        .client()?
        .search_from(&query, offset.unwrap_or(0), limit)
        .await?)
}

/// Cache transactions the engine ran so far (measurements: what one event costs).
#[tauri::command]
pub fn cache_jobs(state: State<'_, AppState>) -> Res<u64> {
    Ok(state.client()?.cache_jobs())
}

/// Reconnect now instead of waiting for the backoff.
#[tauri::command]
pub fn retry_now(state: State<'_, AppState>) -> Res<()> {
    state.client()?.retry_now();
    Ok(())
}

/// Turn do-not-disturb on or off.
#[tauri::command]
pub fn set_do_not_disturb(state: State<'_, AppState>, on: bool) -> Res<()> {
    state.update_settings(|s| s.do_not_disturb = on)?;
    crate::tray::show_do_not_disturb(on);
    Ok(())
}

/// Keep mentions silent in muted conversations too (by default a mention still notifies).
#[tauri::command]
pub fn set_mute_mentions(state: State<'_, AppState>, on: bool) -> Res<()> {
    state.update_settings(|s| s.mute_mentions = on).map(|_| ())
}

/// Mute a conversation until `until` (ms since the epoch; absent: until unmuted), or unmute
/// it, on all the account's devices. Mutes that have ended are forgotten on the way.
#[tauri::command]
pub async fn set_muted(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    muted: bool,
    until: Option<tern_proto::Timestamp>,
) -> Res<()> {
    if until.is_some_and(|end| end <= tern_proto::now_ms()) && muted {
        return Err(CmdError::new("invalid", "That time has already passed."));
    }
    let client = state.client()?;
    let account = account_of(&client);
    client
        .update_chat_prefs(conversation_id, move |p| {
            p.muted = muted;
            p.muted_until = until.filter(|_| muted);
        })
        .await?;
    // The engine's event brings the same; the notification policy has it at once.
    state
        .update_settings(|s| {
            s.drop_ended_mutes(tern_proto::now_ms());
            s.set_mute(&account, conversation_id, muted, until);
        })
        .map(|_| ())
}

/// Mark a conversation unread (`on`) or take the mark away, on all the account's devices.
#[tauri::command]
pub async fn set_marked_unread(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    on: bool,
) -> Res<()> {
    // The engine's event updates the shell's copy.
    state
        .client()?
        .update_chat_prefs(conversation_id, move |p| p.marked_unread = on)
        .await?;
    Ok(())
}

/// Archive a conversation (`on`: out of the list, unpinned) or bring it back, on all the
/// account's devices. A message from someone else brings it back by itself unless it is
/// muted (the engine's rule).
#[tauri::command]
pub async fn set_archived(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    on: bool,
) -> Res<()> {
    state
        .client()?
        .update_chat_prefs(conversation_id, move |p| {
            p.archived = on;
            if on {
                p.pinned_at = None;
            }
        })
        .await?;
    Ok(())
}

/// Pin a conversation to the top of the account's list (`on`; the latest pin first, at most
/// five) or unpin it, on all the account's devices.
#[tauri::command]
pub async fn set_pin(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    on: bool,
) -> Res<()> {
    let now = tern_proto::now_ms();
    let pinned = state
        .client()?
        .update_chat_prefs(conversation_id, move |p| {
            p.pinned_at = if on { p.pinned_at.or(Some(now)) } else { None };
        })
        .await;
    match pinned {
        Err(tern_client::Error::Invalid(_)) => Err(CmdError::new(
            "invalid",
            format!("You can pin up to {} chats.", tern_client::MAX_PINNED),
        )),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Tell the shell which conversation is on screen (notification policy).
#[tauri::command]
pub fn set_open_conversation(state: State<'_, AppState>, conversation_id: Option<ConversationId>) {
    state.attention.lock().unwrap().open_conversation = conversation_id;
    if let Some(conv) = conversation_id {
        state.notifier.seen(conv);
    }
}
