//! Tauri commands for profile and group pictures: set or remove one (from a file the user
//! picked), and read one for display (downloaded once by the engine, then served from its
//! `avatars/` folder). Thin glue, like [`crate::commands`].

use std::path::PathBuf;

use tauri::State;
use tern_proto::{ConversationId, Picture};

use crate::error::CmdError;
use crate::state::AppState;

type Res<T> = Result<T, CmdError>;

/// Set the user's picture from the image at `path`; `None` removes it.
#[tauri::command]
pub async fn set_avatar(state: State<'_, AppState>, path: Option<String>) -> Res<()> {
    let path = path.map(PathBuf::from);
    Ok(state.client()?.set_avatar(path.as_deref()).await?)
}

/// Set a group's picture from the image at `path`; `None` removes it.
#[tauri::command]
pub async fn set_group_avatar(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    path: Option<String>,
) -> Res<()> {
    let path = path.map(PathBuf::from);
    Ok(state
        .client()?
        .set_group_avatar(conversation_id, path.as_deref())
        .await?)
}

/// The bytes of a picture (a small JPEG, PNG or WebP), fetched from the relay the first time.
#[tauri::command]
pub async fn avatar_image(
    state: State<'_, AppState>,
    picture: Picture,
) -> Res<tauri::ipc::Response> {
    let path = state.client()?.avatar_file(&picture).await?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| CmdError::new("internal", e.to_string()))?;
    Ok(tauri::ipc::Response::new(bytes))
}
