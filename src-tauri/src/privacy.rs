//! Tauri commands for privacy and account security: settings, blocking, message requests,
//! hiding a chat, the password and the account's devices. Thin glue, like [`crate::commands`].

use tauri::State;
use tern_client::{Privacy, SessionInfo};
use tern_proto::{ConversationId, ConversationInfo, PresenceVisibility, SessionId};

use crate::error::CmdError;
use crate::state::AppState;

type Res<T> = Result<T, CmdError>;

/// The privacy settings and block list, as last synced.
#[tauri::command]
pub async fn privacy(state: State<'_, AppState>) -> Res<Privacy> {
    Ok(state.client()?.privacy().await?)
}

/// Block a user.
#[tauri::command]
pub async fn block(state: State<'_, AppState>, username: String) -> Res<()> {
    Ok(state.client()?.block(&username).await?)
}

/// Lift a block.
#[tauri::command]
pub async fn unblock(state: State<'_, AppState>, username: String) -> Res<()> {
    Ok(state.client()?.unblock(&username).await?)
}

/// Change presence visibility and/or read receipts (`None` leaves one as it is).
#[tauri::command]
pub async fn set_privacy(
    state: State<'_, AppState>,
    presence: Option<String>,
    read_receipts: Option<bool>,
) -> Res<()> {
    let presence = presence
        .map(|p| p.parse::<PresenceVisibility>())
        .transpose()
        .map_err(|e| CmdError::new("invalid", e))?;
    Ok(state.client()?.set_privacy(presence, read_receipts).await?)
}

/// Whether photos sent from this device keep their location (off by default).
#[tauri::command]
pub async fn keeps_photo_location(state: State<'_, AppState>) -> Res<bool> {
    Ok(state.client()?.keeps_photo_location().await?)
}

/// Keep or remove the location of photos sent from this device.
#[tauri::command]
pub async fn set_keeps_photo_location(state: State<'_, AppState>, keep: bool) -> Res<()> {
    Ok(state.client()?.set_keeps_photo_location(keep).await?)
}

/// Accept a message request.
#[tauri::command]
pub async fn accept_request(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Res<ConversationInfo> {
    Ok(state.client()?.accept_request(conversation_id).await?)
}

/// Hide a conversation until a new message arrives (declining a request, or tidying up).
#[tauri::command]
pub async fn hide_conversation(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Res<()> {
    Ok(state.client()?.hide_conversation(conversation_id).await?)
}

/// Delete a chat on this device (its messages for the user, and the list entry until a new
/// message arrives): declining a message request.
#[tauri::command]
pub async fn delete_chat(state: State<'_, AppState>, conversation_id: ConversationId) -> Res<()> {
    Ok(state.client()?.delete_chat(conversation_id).await?)
}

/// Change the password; the account's other devices are signed out.
#[tauri::command]
pub async fn change_password(
    state: State<'_, AppState>,
    old_password: String,
    new_password: String,
) -> Res<()> {
    Ok(state
        .client()?
        .change_password(&old_password, &new_password)
        .await?)
}

/// Delete the account (the password proves it is the owner). On success every device is
/// signed out, this device's copy is removed, and the shell has no session any more.
#[tauri::command]
pub async fn delete_account(state: State<'_, AppState>, password: String) -> Res<()> {
    let client = state.client()?;
    let account = crate::settings::account_of(&client);
    // Refused by the relay (a wrong password, offline): nothing changed. Deleted there but
    // not all removed here (`left_behind`): the account is gone all the same.
    let deleted = match client.delete_account(&password).await {
        Ok(()) => Ok(()),
        Err(e @ tern_client::Error::LeftBehind(_)) => Err(CmdError::from(e)),
        Err(e) => return Err(e.into()),
    };
    // The account is gone whatever the settings file allows: the session ends, and memory
    // forgets it even if the file cannot be written (which is then reported).
    let session = state.set_session(None);
    if let Some(session) = session {
        session.end().await;
    }
    state.update_settings_if(|s| {
        s.username = None;
        s.forget_account(&account);
        true
    })?;
    deleted
}

/// The account's signed-in devices.
#[tauri::command]
pub async fn sessions(state: State<'_, AppState>) -> Res<Vec<SessionInfo>> {
    Ok(state.client()?.sessions().await?)
}

/// Sign out one of the account's devices.
#[tauri::command]
pub async fn revoke_session(state: State<'_, AppState>, session_id: SessionId) -> Res<()> {
    Ok(state.client()?.revoke_session(session_id).await?)
}
