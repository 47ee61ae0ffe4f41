//! The tray icon: unread indicator and a menu (show/hide, do not disturb, quit).
//!
//! Some desktops have no tray host or lack the indicator library; building the icon can then
//! fail or even panic inside the platform layer. The app logs a warning and carries on without
//! a tray (closing the window then quits instead of hiding).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

use crate::state::AppState;

const TRAY_ID: &str = "main";
const ICON: &[u8] = include_bytes!("../icons/tray.png");
const ICON_UNREAD: &[u8] = include_bytes!("../icons/tray-unread.png");

/// Create the tray icon if the platform allows.
pub fn install(app: &AppHandle) {
    // The indicator library panics when it cannot be loaded; keep that out of the user's
    // terminal (the warning below says what happened) and restore the hook afterwards.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| build(app)));
    std::panic::set_hook(previous_hook);
    match outcome {
        Ok(Ok(())) => app.state::<AppState>().tray.store(true, Ordering::SeqCst),
        Ok(Err(e)) => tracing::warn!(error = %e, "no tray icon; continuing without one"),
        Err(_) => tracing::warn!("the tray library is missing (libayatana-appindicator3); continuing without a tray icon"),
    }
}

fn build(app: &AppHandle) -> tauri::Result<()> {
    let dnd_on = app
        .state::<AppState>()
        .settings
        .lock()
        .unwrap()
        .do_not_disturb;
    let show = MenuItem::with_id(app, "show", "Show / hide Tern", true, None::<&str>)?;
    let dnd = CheckMenuItem::with_id(app, "dnd", "Do not disturb", true, dnd_on, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Tern", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &dnd, &quit])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(ICON)?)
        .tooltip("Tern")
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "show" => toggle_window(app),
            "dnd" => {
                let state = app.state::<AppState>();
                let on = state
                    .update_settings(|s| s.do_not_disturb = !s.do_not_disturb)
                    .map(|s| s.do_not_disturb)
                    .unwrap_or(false);
                let _ = dnd.set_checked(on);
                let _ = tauri::Emitter::emit(
                    app,
                    crate::event_names::EVENT,
                    serde_json::json!({"event": "settings"}),
                );
            }
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_window(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(())
}

/// Bring the main window to the front.
pub fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

fn toggle_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        if w.is_visible().unwrap_or(false) {
            let _ = w.hide();
        } else {
            show_window(app);
        }
    }
}

/// Show the unread count on the tray icon (badge and tooltip).
pub fn set_unread(app: &AppHandle, unread: u64) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let icon = if unread > 0 { ICON_UNREAD } else { ICON };
    if let Ok(img) = Image::from_bytes(icon) {
        let _ = tray.set_icon(Some(img));
    }
    let tip = if unread > 0 {
        format!("Tern — {unread} unread")
    } else {
        "Tern".to_owned()
    };
    let _ = tray.set_tooltip(Some(tip));
}
