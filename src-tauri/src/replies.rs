//! Replying from a notification, where the notification server lets the user type into it
//! (KDE Plasma, and servers that copy its protocol): the server advertises the
//! `inline-reply` capability, [`crate::notify`] then adds an `inline-reply` action, and the
//! server emits `NotificationReplied(id, text)` on the session bus when the user sends. This
//! module listens for that signal, sends the text to the notification's conversation as an
//! ordinary message (through the outbox: it survives going offline) and marks read what the
//! notification showed, as answering it does: messages that came after it (its update waits up
//! to a second) stay unread. Servers without the capability (GNOME) keep click-to-open.

use tauri::{AppHandle, Manager};

use crate::state::AppState;

/// Send `text`, typed into notification `id`, to that notification's conversation.
fn on_reply(app: &AppHandle, id: u32, text: String) {
    let state = app.state::<AppState>();
    // The id is recorded once the server's answer to showing it is read, which a very quick
    // reply can overtake (on a busy machine, by seconds): give it up to 10 s.
    let mut shown = state.notifier.shown(id);
    for _ in 0..200 {
        if shown.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        shown = state.notifier.shown(id);
    }
    let Some(crate::notify::Shown { conv, upto, .. }) = shown else {
        tracing::info!("a reply to a notification that is not ours; ignored");
        return;
    };
    let text = text.trim().to_owned();
    let Some(client) = state.try_client().filter(|_| !text.is_empty()) else {
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = client.send(conv, &text).await {
            tracing::warn!(error = %e, "could not send a reply from a notification");
            return;
        }
        // Answering a notification means having read what it showed, and only that.
        if let Some(upto) = upto {
            let _ = client.mark_read(conv, upto).await;
        }
    });
}

/// Listen for replies on the session bus for the app's lifetime (Linux; elsewhere nothing).
pub fn listen(app: &AppHandle) {
    #[cfg(target_os = "linux")]
    {
        let app = app.clone();
        std::thread::spawn(move || {
            use dbus::blocking::Connection;
            use dbus::message::MatchRule;
            let conn = match Connection::new_session() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "no session bus: replies from notifications are off");
                    return;
                }
            };
            let rule =
                MatchRule::new_signal("org.freedesktop.Notifications", "NotificationReplied");
            let added = conn.add_match(rule, move |(id, text): (u32, String), _, _| {
                on_reply(&app, id, text);
                true
            });
            if let Err(e) = added {
                tracing::warn!(error = %e, "cannot hear replies from notifications");
                return;
            }
            loop {
                if let Err(e) = conn.process(std::time::Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "the session bus went away: replies from notifications are off");
                    return;
                }
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}
