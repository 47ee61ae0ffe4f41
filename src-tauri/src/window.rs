//! The main window, as the tray and notifications bring it back.

use tauri::{AppHandle, Manager};

/// Bring the main window to the front.
pub fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
