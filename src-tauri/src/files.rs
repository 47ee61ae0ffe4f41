//! Attachments in the desktop shell: picking files (the system file dialog), sending a file
//! or a pasted image, downloading one, reading an image for the in-app viewer, saving a copy,
//! and opening a downloaded file with the system. All transfer behaviour is the engine's.
//!
//! `TERN_TEST_PICK` (a `:`-separated list of paths) answers the file dialog without showing
//! it: a test machine cannot click in a native dialog.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tern_client::ChatMessage;
use tern_proto::{ConversationId, Seq};

use crate::error::CmdError;
use crate::state::AppState;

type Res<T> = Result<T, CmdError>;

/// Largest image the in-app viewer reads whole (bytes).
const MAX_VIEW_BYTES: u64 = 64 * 1024 * 1024;

/// Ask the user for files to send (`pictures`: a picture, offering only the kinds a profile
/// or group photo can be made from); the chosen paths (none when cancelled).
#[tauri::command]
pub async fn pick_files(app: AppHandle, pictures: Option<bool>) -> Res<Vec<String>> {
    if let Ok(list) = std::env::var("TERN_TEST_PICK") {
        return Ok(list
            .split(':')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file();
    if pictures == Some(true) {
        // GTK matches these patterns case by case: a camera's IMG_0001.JPG too.
        let kinds = [
            "jpg", "jpeg", "png", "gif", "webp", "JPG", "JPEG", "PNG", "GIF", "WEBP",
        ];
        dialog = dialog.add_filter("Pictures", &kinds);
    }
    dialog.pick_files(move |files| {
        let _ = tx.send(files.unwrap_or_default());
    });
    let files = rx.await.unwrap_or_default();
    Ok(files
        .into_iter()
        .filter_map(|f| f.into_path().ok())
        .map(|p| p.display().to_string())
        .collect())
}

/// Send the file at `path` (picked, or dropped on the window).
#[tauri::command]
pub async fn send_file(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    path: String,
    caption: Option<String>,
    reply_to: Option<Seq>,
) -> Res<ChatMessage> {
    Ok(state
        .client()?
        .send_file(
            conversation_id,
            Path::new(&path),
            caption.as_deref().unwrap_or(""),
            reply_to,
        )
        .await?)
}

/// Send image bytes pasted from the clipboard, as `name`.
#[tauri::command]
pub async fn send_pasted(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    name: String,
    bytes: Vec<u8>,
) -> Res<ChatMessage> {
    let client = state.client()?;
    let dir = state
        .data_dir
        .join("pasted")
        .join(tern_proto::now_ms().to_string());
    tern_client::private_fs::create_dir(&dir)
        .map_err(|e| CmdError::new("internal", e.to_string()))?;
    let safe: String = name
        .chars()
        .filter(|c| !c.is_control() && !"/\\:".contains(*c))
        .collect();
    let path = dir.join(if safe.is_empty() {
        "pasted.png".into()
    } else {
        safe
    });
    std::fs::write(&path, bytes).map_err(|e| CmdError::new("internal", e.to_string()))?;
    let sent = client.send_file(conversation_id, &path, "", None).await;
    // The engine staged its own copy; this one can go.
    let _ = std::fs::remove_dir_all(&dir);
    Ok(sent?)
}

/// Download the attachment of a message (resuming); where it is.
#[tauri::command]
pub async fn download(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    seq: Seq,
) -> Res<String> {
    Ok(state
        .client()?
        .download(conversation_id, seq)
        .await?
        .display()
        .to_string())
}

/// A file under the app's data folder (never anything else), for reading or opening.
fn own_file(state: &AppState, path: &str) -> Res<PathBuf> {
    let path = Path::new(path)
        .canonicalize()
        .map_err(|_| CmdError::new("invalid", "no such file"))?;
    let root = state
        .data_dir
        .canonicalize()
        .map_err(|e| CmdError::new("internal", e.to_string()))?;
    if !path.starts_with(&root) || !path.is_file() {
        return Err(CmdError::new("invalid", "not one of Tern's files"));
    }
    Ok(path)
}

/// The bytes of a downloaded (or sent) image, for the in-app viewer.
#[tauri::command]
pub fn read_file(state: State<'_, AppState>, path: String) -> Res<tauri::ipc::Response> {
    let path = own_file(&state, &path)?;
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_VIEW_BYTES {
        return Err(CmdError::new(
            "invalid",
            "too large to show here; open it instead",
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| CmdError::new("internal", e.to_string()))?;
    Ok(tauri::ipc::Response::new(bytes))
}

/// Extensions the system may open directly: documents and media, never programs or scripts
/// (a received `setup.exe`, `run.sh` or `x.desktop` must not run on a click).
const OPENABLE: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "bmp", "pdf", "txt", "md", "csv", "mp3", "m4a", "ogg",
    "oga", "opus", "wav", "flac", "mp4", "m4v", "webm", "mov", "mkv", "odt", "ods", "odp", "docx",
    "xlsx", "pptx",
];

/// Whether a file may be opened with the system's application (by its extension).
pub fn openable(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| OPENABLE.contains(&e.to_ascii_lowercase().as_str()))
}

/// Open a downloaded file with the system's application for it — documents and media only;
/// anything else is shown in its folder instead, so a received program never runs on a click.
#[tauri::command]
pub fn open_file(state: State<'_, AppState>, path: String) -> Res<()> {
    let path = own_file(&state, &path)?;
    let target = if openable(&path) {
        path
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or(path)
    };
    crate::links::open_path(&target).map_err(|m| CmdError::new("internal", m))
}

/// Save a copy of a downloaded attachment where the user chooses.
#[tauri::command]
pub async fn save_file_as(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    name: String,
) -> Res<bool> {
    let from = own_file(&state, &path)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(&name)
        .save_file(move |to| {
            let _ = tx.send(to);
        });
    let Some(to) = rx.await.ok().flatten().and_then(|f| f.into_path().ok()) else {
        return Ok(false);
    };
    std::fs::copy(&from, &to).map_err(|e| CmdError::new("internal", e.to_string()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_documents_and_media_open_directly() {
        use std::path::Path;
        for ok in ["a.pdf", "b.JPG", "c.mp4", "d.txt"] {
            assert!(super::openable(Path::new(ok)), "{ok}");
        }
        for no in [
            "setup.exe",
            "run.sh",
            "x.desktop",
            "y.bat",
            "z.js",
            "noext",
            "f.pdf.exe",
        ] {
            assert!(!super::openable(Path::new(no)), "{no}");
        }
    }
}
