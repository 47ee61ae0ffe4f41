//! The tray icon: the unread count on it ([`crate::badge`]) and in its tooltip, and a menu
//! (show/hide, do not disturb, quit).
//!
//! Some desktops have no tray host or lack the indicator library; building the icon can then
//! fail or even panic inside the platform layer. The app logs a warning and carries on without
//! a tray (closing the window then quits instead of hiding). A desktop can also accept the icon
//! and show nothing (no StatusNotifier host): closing then minimises, so the window is never
//! hidden where nobody can bring it back ([`close_action`], [`host_present`]).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

use crate::state::AppState;

const TRAY_ID: &str = "main";
const ICON: &[u8] = include_bytes!("../icons/tray.png");

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
    // Do not disturb is also switched in the window: the menu's check mark follows it there.
    *DND.lock().unwrap() = Some(dnd.clone());
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(ICON)?)
        .tooltip("Tern")
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "show" => toggle_window(app),
            "dnd" => {
                let state = app.state::<AppState>();
                // A change that could not be saved did not happen: the mark shows what is.
                let _ = state.update_settings(|s| s.do_not_disturb = !s.do_not_disturb);
                let on = state.settings.lock().unwrap().do_not_disturb;
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

pub use crate::window::show_window;

fn toggle_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        if w.is_visible().unwrap_or(false) {
            let _ = w.hide();
        } else {
            show_window(app);
        }
    }
}

/// What closing the window does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// Hide to the tray (it has an icon and a host shows it).
    Hide,
    /// Minimise: there is an icon but nothing shows it, so hiding would lose the window.
    Minimize,
    /// Quit: there is no tray icon at all.
    Quit,
}

/// What closing does, given whether the tray icon exists and a tray host shows it.
pub fn close_action(icon: bool, host: bool) -> CloseAction {
    match (icon, host) {
        (true, true) => CloseAction::Hide,
        (true, false) => CloseAction::Minimize,
        (false, _) => CloseAction::Quit,
    }
}

/// Whether something shows tray icons now. On Linux that is a StatusNotifier host registered
/// with the session bus's watcher (a desktop without one accepts the icon and shows nothing);
/// Windows and macOS always have one.
pub fn host_present() -> bool {
    #[cfg(target_os = "linux")]
    {
        use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
        let Ok(bus) = dbus::blocking::Connection::new_session() else {
            return false;
        };
        let watcher = bus.with_proxy(
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            std::time::Duration::from_millis(500),
        );
        watcher
            .get::<bool>(
                "org.kde.StatusNotifierWatcher",
                "IsStatusNotifierHostRegistered",
            )
            .unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// The menu's "Do not disturb" item, once the tray is built.
static DND: Mutex<Option<CheckMenuItem<tauri::Wry>>> = Mutex::new(None);

/// Show do-not-disturb as `on` in the tray's menu (it was switched in the window).
pub fn show_do_not_disturb(on: bool) {
    if let Some(item) = DND.lock().unwrap().as_ref() {
        if let Err(e) = item.set_checked(on) {
            tracing::warn!(error = %e, "the tray's do-not-disturb mark was not updated");
        }
    }
}

/// What the icon's badge says now (`None`: no badge); the icon is drawn again only when that
/// changes (each new icon is a file the indicator library writes).
static BADGE: Mutex<Option<Option<String>>> = Mutex::new(None);

/// Show the unread count on the tray icon (a badge: 1 to 9, then 9+) and in its tooltip.
pub fn set_unread(app: &AppHandle, unread: u64) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let label = crate::badge::label(unread);
    let mut shown = BADGE.lock().unwrap();
    if shown.as_ref() != Some(&label) {
        match icon_with(label.as_deref()) {
            Ok(img) => {
                if tray.set_icon(Some(img)).is_ok() {
                    *shown = Some(label);
                }
            }
            Err(e) => tracing::warn!(error = %e, "tray icon not drawn"),
        }
    }
    let tip = if unread > 0 {
        format!("Tern — {unread} unread")
    } else {
        "Tern".to_owned()
    };
    let _ = tray.set_tooltip(Some(tip));
}

/// The tray icon, with a badge saying `label` if any.
fn icon_with(label: Option<&str>) -> tauri::Result<Image<'static>> {
    let base = Image::from_bytes(ICON)?;
    let Some(text) = label else {
        return Ok(base.to_owned());
    };
    let (w, h) = (base.width(), base.height());
    if w != h {
        return Ok(base.to_owned());
    }
    Ok(Image::new_owned(
        crate::badge::draw(base.rgba(), w, text),
        w,
        h,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_hides_only_when_a_host_shows_the_icon() {
        assert_eq!(close_action(true, true), CloseAction::Hide);
        assert_eq!(close_action(true, false), CloseAction::Minimize);
        assert_eq!(close_action(false, true), CloseAction::Quit);
        assert_eq!(close_action(false, false), CloseAction::Quit);
    }

    /// Against the real session bus of the test run (scripts/with-keyring.sh starts one): no
    /// host at first; a StatusNotifier watcher with a registered host makes one.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_tray_host_is_found_on_the_session_bus_only_when_one_runs() {
        // Only the test run's private bus is known to have no host (a desktop session has one).
        if std::env::var_os("TERN_IN_KEYRING_SESSION").is_none() {
            eprintln!("needs the private session bus of scripts/with-keyring.sh");
            return;
        }
        assert!(!host_present(), "the test session has no tray host");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/snwatcher.py");
        // Debian's python3, with its D-Bus bindings (scripts/setup.sh installs them).
        let mut watcher = std::process::Command::new("/usr/bin/python3")
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("/usr/bin/python3 runs the watcher");
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(watcher.stdout.take().unwrap()),
            &mut ready,
        )
        .unwrap();
        assert_eq!(ready.trim(), "ready");
        // The watcher answers within the call's 500 ms on an idle machine; a loaded one gets a
        // few more tries.
        let found = (0..10).any(|_| {
            host_present() || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                false
            }
        });
        let _ = watcher.kill();
        let _ = watcher.wait();
        assert!(found, "a registered host is found");
    }
}
