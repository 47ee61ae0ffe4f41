//! Tern desktop: a Tauri 2 shell over the `tern-client` engine.
//!
//! Module map: [`commands`] and [`privacy`] (thin IPC glue), [`events`] (engine events to UI events,
//! notifications and tray), [`tray`], [`notify`] (notification policy), [`links`] (links open
//! in the system browser; the window never navigates away), [`settings`] (persisted
//! preferences), [`web_env`] (the web view's environment, set at start: [`rendering`], compositing
//! or not, and [`jit`], when page code is compiled), [`webext`] (where the web process's extension
//! is), [`state`]. All messaging behaviour is in `tern-client`.
//!
//! Environment: `TERN_DATA_DIR` puts settings and caches in one folder (tests, portable use);
//! `TERN_RELAY` sets the relay offered on first run.

pub mod avatars;
pub mod badge;
pub mod coalesce;
pub mod commands;
pub mod error;
pub mod event_names;
pub mod events;
pub mod files;
pub mod jit;
pub mod links;
pub mod network;
pub mod notify;
pub mod privacy;
pub mod rendering;
pub mod replies;
pub mod settings;
pub mod state;
pub mod tray;
pub mod web_env;
pub mod webext;
pub mod window;

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use tauri::{Manager, WindowEvent};
use tern_client::Client;
use tern_client::ConnectionState;

use crate::state::AppState;

fn dirs(app: &tauri::App) -> (PathBuf, PathBuf) {
    if let Some(dir) = std::env::var_os("TERN_DATA_DIR") {
        let dir = PathBuf::from(dir);
        return (dir.join("settings.json"), dir.join("data"));
    }
    let config = app
        .path()
        .app_config_dir()
        .unwrap_or_else(|_| PathBuf::from("."));
    let data = app
        .path()
        .app_data_dir()
        .unwrap_or_else(|_| PathBuf::from("."));
    (settings::path_in(&config), data)
}

/// Sign in silently from the keychain if the last account is known. Cached conversations
/// are readable before the relay answers.
fn resume_last(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    let s = state.settings.lock().unwrap().clone();
    let clear_text = s.clear_text();
    let (Some(relay), Some(username)) = (s.relay, s.username) else {
        return;
    };
    let config = match commands::engine_config(&state, &relay, clear_text) {
        Ok(config) => config,
        Err(e) => {
            tracing::warn!(message = %e.message, "the saved relay address is refused");
            return;
        }
    };
    match tauri::async_runtime::block_on(Client::resume(config, &username)) {
        Ok(client) => {
            if let Err(e) = commands::adopt(app, &state, client) {
                tracing::warn!(message = %e.message, "could not restore the session");
            }
        }
        Err(e) => tracing::warn!(error = %e, "silent sign-in failed; showing the sign-in screen"),
    }
}

/// Open the main window as tauri.conf.json describes it (`create: false` there), with the
/// web-process extension on Linux.
fn open_main_window(app: &tauri::App, data_dir: &std::path::Path) -> tauri::Result<()> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .unwrap_or_default();
    // The page's title ("(3) Tern" with three unread) is the window's: the title bar, the
    // taskbar and the window switcher show the count.
    let builder = tauri::WebviewWindowBuilder::from_config(app.handle(), &config)?
        .on_document_title_changed(|window, title| {
            let _ = window.set_title(&title);
        });
    #[cfg(target_os = "linux")]
    let builder = match std::env::current_exe()
        .ok()
        .and_then(|exe| webext::folder(&exe, data_dir))
    {
        Some(dir) => builder.extensions_path(dir),
        None => {
            tracing::warn!(
                "the web-process extension ({}) was not found; the web process keeps the memory it frees",
                webext::FILE
            );
            builder
        }
    };
    #[cfg(not(target_os = "linux"))]
    let _ = data_dir;
    builder.build()?;
    Ok(())
}

/// Run the app.
pub fn run() {
    tern_client::logging::init("info");
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tray::show_window(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(links::navigation_guard())
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let (settings_path, data_dir) = dirs(app);
            open_main_window(app, &data_dir)?;
            let default_relay =
                std::env::var("TERN_RELAY").unwrap_or_else(|_| "http://127.0.0.1:7878".into());
            app.manage(AppState::new(settings_path, data_dir, default_relay));
            tray::install(app.handle());
            resume_last(app.handle());
            network::watch(app.handle());
            replies::listen(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| match event {
            // Closing hides to the tray when something shows it, minimises when the icon
            // exists but nothing shows it, and quits without an icon.
            WindowEvent::CloseRequested { api, .. } => {
                let icon = window
                    .app_handle()
                    .state::<AppState>()
                    .tray
                    .load(Ordering::SeqCst);
                match tray::close_action(icon, icon && tray::host_present()) {
                    tray::CloseAction::Hide => {
                        api.prevent_close();
                        let _ = window.hide();
                    }
                    tray::CloseAction::Minimize => {
                        api.prevent_close();
                        let _ = window.minimize();
                    }
                    tray::CloseAction::Quit => {}
                }
            }
            WindowEvent::Focused(focused) => {
                let state = window.app_handle().state::<AppState>();
                state.attention.lock().unwrap().focused = *focused;
                // Coming back to the window while offline: try the relay now, not at the
                // end of the backoff.
                if let Some(client) = state.try_client().filter(|_| *focused) {
                    if matches!(client.connection_state(), ConnectionState::Offline { .. }) {
                        client.retry_now();
                    }
                }
            }
            _ => {}
        })
        .invoke_handler(account_gate(tauri::generate_handler![
            commands::app_state,
            commands::set_unread_total,
            commands::sign_in,
            commands::sign_out,
            commands::unsent_count,
            commands::relay_limits,
            commands::conversations,
            commands::conversation_view,
            commands::messages,
            commands::send,
            commands::forward,
            commands::edit_message,
            commands::delete_message,
            commands::react,
            commands::open_link,
            commands::set_display_name,
            files::pick_files,
            files::send_file,
            files::send_pasted,
            files::download,
            files::read_file,
            avatars::set_avatar,
            avatars::set_group_avatar,
            avatars::avatar_image,
            files::open_file,
            files::save_file_as,
            commands::find_people,
            commands::retry,
            commands::delete_failed,
            commands::mark_read,
            commands::typing,
            commands::start_direct,
            commands::create_group,
            commands::rename_group,
            commands::add_members,
            commands::remove_member,
            commands::leave_group,
            commands::search,
            commands::retry_now,
            commands::cache_jobs,
            commands::messages_after,
            commands::set_do_not_disturb,
            commands::set_mute_mentions,
            commands::set_muted,
            commands::set_pin,
            commands::set_archived,
            commands::set_marked_unread,
            commands::set_open_conversation,
            privacy::privacy,
            privacy::block,
            privacy::unblock,
            privacy::set_privacy,
            privacy::keeps_photo_location,
            privacy::set_keeps_photo_location,
            privacy::accept_request,
            privacy::hide_conversation,
            privacy::delete_chat,
            privacy::change_password,
            privacy::delete_account,
            privacy::sessions,
            privacy::revoke_session,
        ]))
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "Tern could not start");
        std::process::exit(1);
    }
}

/// Every command passes this gate first: one that says which account it acts for
/// (`account`, the key the UI had when the user acted) is refused unless that account is
/// still the one signed in. A loop of file sends that runs across a sign-out and the next
/// sign-in stops, instead of sending the rest as the next account.
fn account_gate<R: tauri::Runtime>(
    commands: impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static,
) -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    move |invoke| {
        let tauri::ipc::InvokeBody::Json(args) = invoke.message.payload() else {
            return commands(invoke);
        };
        let Some(account) = args.get("account").and_then(|a| a.as_str()) else {
            return commands(invoke);
        };
        let state = invoke.message.webview_ref().state::<AppState>();
        match state.refuse_unless_signed_in_as(account) {
            Ok(()) => commands(invoke),
            Err(refusal) => {
                invoke.resolver.reject(refusal);
                true
            }
        }
    }
}
