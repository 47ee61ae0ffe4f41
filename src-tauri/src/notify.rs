//! Native notifications for new messages (notify-rust over D-Bus on Linux).
//!
//! Whether to notify is a pure decision ([`should_notify`]) so it can be tested without a
//! desktop: only messages from others, never while do-not-disturb is on or the conversation is
//! muted (a message that mentions the user still notifies in a muted conversation unless the
//! user also muted mentions), and not when the user is already looking at that conversation in
//! a focused window. A message request (a stranger's chat or group invitation) never raises
//! one: its count shows quietly in the list until the user accepts.
//!
//! A burst is one notification per conversation, updated in place at most once a second
//! ([`crate::coalesce`]); clicking it shows the window with that conversation open, and its
//! "Mark as read" button marks read what it shows without opening anything.
//!
//! Title and body are other people's text (usernames, group names, message bodies), and the
//! freedesktop notification spec reads the body as markup (`<b>`, `<a href>`, `<img>`). Both
//! are escaped ([`escape_markup`]) so a message shows literally and cannot inject links or
//! images into the notification.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tauri::{AppHandle, Emitter, Manager};
use tern_client::{ChatMessage, Client};
use tern_proto::{ConversationId, Seq, Timestamp};

use crate::coalesce::{Coalescer, Step};
use crate::event_names::EVENT;
use crate::settings::Settings;

/// What the UI is showing right now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attention {
    /// The main window has keyboard focus.
    pub focused: bool,
    /// The conversation open in the chat pane.
    pub open_conversation: Option<ConversationId>,
}

/// Whether a new message of `account` ([`crate::settings::account_key`]) deserves a
/// notification at `now` (ms since the epoch: a mute for a while ends); `request` says its
/// conversation is a message request the user has not accepted.
pub fn should_notify(
    message: &ChatMessage,
    settings: &Settings,
    account: &str,
    attention: Attention,
    request: bool,
    now: Timestamp,
) -> bool {
    let muted = settings.is_muted(account, message.conversation_id, now)
        && (settings.mute_mentions || !message.mentions_me);
    // A group notice (someone joined, left, renamed it…) is shown in the chat, never raised;
    // so is an entry this version cannot show.
    let line = message.notice.is_some() || message.unsupported;
    if message.mine || line || settings.do_not_disturb || muted || request {
        return false;
    }
    !(attention.focused && attention.open_conversation == Some(message.conversation_id))
}

/// How often one conversation's notification may be updated.
const UPDATE_EVERY: Duration = Duration::from_secs(1);

/// Shows notifications, one per conversation, coalesced by [`Coalescer`]; a click on one
/// brings the window up with that conversation open.
///
/// Notifications belong to the signed-in account ([`Notifier::switch_to`]): a message of any
/// other client (a forwarder still running while its session ends) raises none, and when the
/// account changes ([`Notifier::forget_all`]) its notifications are withdrawn and every step
/// still on its way (an update waiting, a notification being shown, a click on one that
/// lingers) does nothing, by its generation.
pub struct Notifier {
    coalescer: Mutex<Coalescer>,
    /// The conversations of the notifications shown lately, newest last. Kept past their
    /// closing: a server that takes a reply emits `NotificationReplied` and then
    /// `NotificationClosed`, heard on different connections, so the reply may be handled after
    /// the close.
    shown: Mutex<std::collections::VecDeque<Shown>>,
    /// The signed-in account's client and key, whose messages notify.
    current: Mutex<Option<(Client, String)>>,
    /// Bumped at every change of account: work begun under an older one is dropped.
    generation: AtomicU64,
}

/// A notification on screen (or lately): its id, its conversation and the newest message it
/// showed, which is what a reply typed into it has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// The id the notification server gave it.
    pub id: u32,
    /// Its conversation.
    pub conv: ConversationId,
    /// The newest message it stood for, if stored.
    pub upto: Option<Seq>,
    /// The account generation it was shown under.
    generation: u64,
}

/// Notifications remembered for replies.
const REMEMBERED: usize = 64;

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            coalescer: Mutex::new(Coalescer::new(UPDATE_EVERY)),
            shown: Mutex::new(std::collections::VecDeque::new()),
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }
}

impl Notifier {
    /// Notifications are for `client`'s account from now on; the previous account's go.
    pub fn switch_to(&self, client: &Client) {
        self.forget_all();
        let key = crate::settings::account_of(client);
        *self.current.lock().unwrap() = Some((client.clone(), key));
    }

    /// A message to notify about (the policy already said yes), for `account`
    /// ([`crate::settings::account_key`]): nothing unless that is the signed-in one.
    pub fn message(
        self: &Arc<Self>,
        app: &AppHandle,
        account: &str,
        conv: ConversationId,
        seq: Option<Seq>,
        title: &str,
        body: &str,
    ) {
        let current = self
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|(_, k)| k == account);
        if current != Some(true) {
            return;
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let step = self
            .coalescer
            .lock()
            .unwrap()
            .message(conv, seq, title, body, Instant::now());
        self.run(app, generation, conv, step);
    }

    /// Notification `id`, if it was one of ours lately (closed or not).
    pub fn shown(&self, id: u32) -> Option<Shown> {
        let now = self.generation.load(Ordering::SeqCst);
        self.shown
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.id == id && s.generation == now)
            .copied()
    }

    /// The account's session ended (signed out, or another account signed in): its
    /// notifications go from the screen (they show its messages) and are forgotten, so a click,
    /// a reply or "Mark as read" on one that lingers does nothing to the next account.
    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.current.lock().unwrap() = None;
        let ids = self.coalescer.lock().unwrap().clear();
        self.shown.lock().unwrap().clear();
        if !ids.is_empty() {
            // D-Bus round trips: off the caller's thread.
            std::thread::spawn(move || ids.into_iter().for_each(withdraw));
        }
    }

    /// The user opened the conversation: its notification goes from the screen (as a message
    /// app's does once read there) and later messages count afresh.
    pub fn seen(&self, conv: ConversationId) {
        if let Some(id) = self.coalescer.lock().unwrap().seen(conv) {
            // A D-Bus round trip: off the caller's thread.
            std::thread::spawn(move || withdraw(id));
        }
    }

    /// The user's read marker in `conv` moved to `seq` (read here or on another device): a
    /// notification standing only for messages read by now goes from the screen.
    pub fn read_upto(&self, conv: ConversationId, seq: Seq) {
        if let Some(id) = self.coalescer.lock().unwrap().read_upto(conv, seq) {
            // A D-Bus round trip: off the caller's thread.
            std::thread::spawn(move || withdraw(id));
        }
    }

    fn run(self: &Arc<Self>, app: &AppHandle, generation: u64, conv: ConversationId, step: Step) {
        match step {
            Step::Show {
                replaces,
                title,
                body,
                upto,
            } => {
                let (me, app) = (self.clone(), app.clone());
                // The D-Bus calls block, and a new notification's thread then waits for its
                // click; keep both off the async runtime.
                std::thread::spawn(move || {
                    me.display(&app, generation, conv, upto, replaces, &title, &body)
                });
            }
            Step::Later(after) => {
                let (me, app) = (self.clone(), app.clone());
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(after).await;
                    if me.generation.load(Ordering::SeqCst) != generation {
                        return;
                    }
                    let step = me.coalescer.lock().unwrap().flush(conv, Instant::now());
                    me.run(&app, generation, conv, step);
                });
            }
            Step::Nothing => {}
        }
    }

    /// Show or update one conversation's notification; failures (no notification daemon)
    /// are logged, never fatal. A new notification's thread stays to hear its click.
    #[allow(clippy::too_many_arguments)]
    fn display(
        &self,
        app: &AppHandle,
        generation: u64,
        conv: ConversationId,
        upto: Option<Seq>,
        replaces: Option<u32>,
        title: &str,
        body: &str,
    ) {
        let mut n = notify_rust::Notification::new();
        n.appname("Tern")
            .summary(&escape_markup(title))
            .body(&escape_markup(&preview(body)))
            .icon(app_icon(app))
            .hint(notify_rust::Hint::DesktopEntry(DESKTOP_ENTRY.into()))
            .action("default", "Open")
            // A button on servers that show actions (GNOME, KDE): read without opening.
            .action(MARK_READ, "Mark as read");
        // Where the server takes a reply typed into the notification (KDE Plasma's protocol;
        // heard by [`crate::replies`]).
        if inline_reply_supported() {
            n.action("inline-reply", "Reply")
                .hint(notify_rust::Hint::Custom(
                    "x-kde-reply-placeholder-text".into(),
                    "Reply…".into(),
                ));
        }
        if let Some(id) = replaces {
            n.id(id);
        }
        let handle = match n.show() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "could not show a notification");
                self.coalescer.lock().unwrap().not_shown(conv);
                return;
            }
        };
        let id = handle.id();
        if self.generation.load(Ordering::SeqCst) != generation {
            // The account changed while it was being shown: it goes at once.
            withdraw(id);
            return;
        }
        {
            let mut coalescer = self.coalescer.lock().unwrap();
            if coalescer.shown(conv, id) {
                // The chat was opened meanwhile: what it says is read.
                withdraw(id);
            } else if replaces.is_some() && !coalescer.tracks(conv, id) {
                // An update whose notification was closed (or its chat opened) while it was
                // on its way: nothing would replace, withdraw or hear it, so it goes.
                drop(coalescer);
                withdraw(id);
                return;
            }
        }
        {
            let mut shown = self.shown.lock().unwrap();
            shown.retain(|s| s.id != id);
            shown.push_back(Shown {
                id,
                conv,
                upto,
                generation,
            });
            if shown.len() > REMEMBERED {
                shown.pop_front();
            }
        }
        if replaces.is_some() {
            return;
        }
        let app = app.clone();
        let current = || self.generation.load(Ordering::SeqCst) == generation;
        handle.wait_for_action(|action| match action {
            // Shown for an account since signed out: nothing to open or mark.
            _ if !current() => {}
            "default" => {
                crate::window::show_window(&app);
                let _ = app.emit(
                    EVENT,
                    serde_json::json!({"event": "open_conversation", "conversation_id": conv}),
                );
            }
            MARK_READ => {
                self.mark_read(id);
                // Servers mostly close it themselves; one that keeps it shows nothing stale.
                withdraw(id);
            }
            _ => {}
        });
        self.coalescer.lock().unwrap().closed(conv, id);
    }
}

impl Notifier {
    /// The user chose "Mark as read" on notification `id`: what it shows now (its latest
    /// update) is read, and only that, as when answering it ([`crate::replies`]), through the
    /// signed-in account's client (the notification is that account's: see `display`).
    fn mark_read(&self, id: u32) {
        let Some(Shown {
            conv,
            upto: Some(upto),
            ..
        }) = self.shown(id)
        else {
            tracing::info!("Mark as read on a notification with nothing stored to mark; ignored");
            return;
        };
        let Some(client) = self
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|(c, _)| c.clone())
        else {
            return;
        };
        tauri::async_runtime::spawn(async move {
            if let Err(e) = client.mark_read(conv, upto).await {
                tracing::warn!(error = %e, "could not mark read from a notification");
            }
        });
    }
}

/// The notification action that marks its messages read.
const MARK_READ: &str = "mark-read";

/// The installed desktop entry (`Tern.desktop`): servers take the app's name and icon from it.
const DESKTOP_ENTRY: &str = "Tern";
/// The app's icon in the icon theme, under its binary's name, where a package installed it.
const THEMED_ICON: &str = "tern-desktop";
/// The app's icon, for a build that was not installed.
const ICON_PNG: &[u8] = include_bytes!("../icons/128x128.png");

/// The icon notifications show: the app's own. Installed from a package, the icon theme has
/// it; otherwise (a build run from its folder) the app writes it to its cache folder once per
/// run and names the file. Decided once per run.
fn app_icon(app: &AppHandle) -> &'static str {
    static ICON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ICON.get_or_init(|| {
        let themed = ["/usr/share/icons", "/usr/local/share/icons"]
            .iter()
            .any(|root| {
                std::path::Path::new(root)
                    .join("hicolor/128x128/apps")
                    .join(format!("{THEMED_ICON}.png"))
                    .is_file()
            });
        if themed {
            return THEMED_ICON.to_owned();
        }
        let written = app.path().app_cache_dir().ok().and_then(|dir| {
            std::fs::create_dir_all(&dir).ok()?;
            let file = dir.join("notification-icon.png");
            std::fs::write(&file, ICON_PNG).ok()?;
            Some(file.to_string_lossy().into_owned())
        });
        written.unwrap_or_else(|| {
            tracing::info!("no icon for notifications; the theme's message icon stands in");
            "mail-message-new".to_owned()
        })
    })
}

/// Take notification `id` off the screen (`CloseNotification`); failures are logged.
fn withdraw(id: u32) {
    #[cfg(target_os = "linux")]
    {
        let closed = dbus::blocking::Connection::new_session().and_then(|bus| {
            bus.with_proxy(
                "org.freedesktop.Notifications",
                "/org/freedesktop/Notifications",
                Duration::from_secs(5),
            )
            .method_call::<(), _, _, _>(
                "org.freedesktop.Notifications",
                "CloseNotification",
                (id,),
            )
        });
        if let Err(e) = closed {
            tracing::info!(error = %e, "could not withdraw a notification");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = id;
}

/// Whether the notification server takes inline replies (asked once per run).
pub fn inline_reply_supported() -> bool {
    #[cfg(target_os = "linux")]
    {
        static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *SUPPORTED.get_or_init(|| {
            notify_rust::get_capabilities()
                .map(|caps| caps.iter().any(|c| c == "inline-reply"))
                .unwrap_or(false)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Escape text for the freedesktop notification markup: `&`, `<`, `>`, `"` and `'`.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// What a notification says of `m`: its text, or for a photo or file without a caption what
/// the conversation list says ("🖼 Photo", "📎 report.pdf"), the caption after the icon if
/// it has one.
pub fn message_text(m: &ChatMessage) -> String {
    let body = m.body.trim();
    let Some(a) = &m.attachment else {
        return m.body.clone();
    };
    let image = a.content_type.to_ascii_lowercase().starts_with("image/");
    let icon = if image { "🖼" } else { "📎" };
    match (body.is_empty(), image) {
        (false, _) => format!("{icon} {body}"),
        (true, true) => format!("{icon} Photo"),
        (true, false) => format!("{icon} {}", a.name),
    }
}

fn preview(body: &str) -> String {
    let mut s: String = body.chars().take(140).collect();
    if s.len() < body.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_client::MessageStatus;
    use tern_proto::{Seq, UserId};

    /// The account the tests' messages are for.
    const ACCOUNT: &str = "1@http://relay";

    /// The policy for [`ACCOUNT`]'s messages.
    fn notifies(
        m: &ChatMessage,
        s: &Settings,
        attention: Attention,
        request: bool,
        now: Timestamp,
    ) -> bool {
        should_notify(m, s, ACCOUNT, attention, request, now)
    }

    /// 12 March 2024.
    const NOW: Timestamp = 1_710_252_180_000;

    fn msg(conv: i64, mine: bool) -> ChatMessage {
        ChatMessage {
            conversation_id: ConversationId(conv),
            seq: Some(Seq(1)),
            client_id: "c".into(),
            sender_id: UserId(2),
            sender: "bob".into(),
            body: "hi".into(),
            sent_at: 0,
            mine,
            status: MessageStatus::Received,
            ..ChatMessage::default()
        }
    }

    #[test]
    fn a_mention_notifies_in_a_muted_conversation_unless_mentions_are_muted_too() {
        let mut s = Settings::default();
        s.set_mute(ACCOUNT, ConversationId(1), true, None);
        let away = Attention {
            focused: false,
            open_conversation: None,
        };
        let plain = msg(1, false);
        let mention = ChatMessage {
            mentions_me: true,
            ..msg(1, false)
        };
        assert!(!notifies(&plain, &s, away, false, NOW));
        assert!(notifies(&mention, &s, away, false, NOW));
        s.mute_mentions = true;
        assert!(!notifies(&mention, &s, away, false, NOW));
    }

    #[test]
    fn a_group_notice_never_notifies() {
        let away = Attention::default();
        let notice = ChatMessage {
            notice: Some(tern_proto::Notice {
                action: tern_proto::NoticeAction::Left,
                users: Vec::new(),
                name: None,
            }),
            ..msg(1, false)
        };
        assert!(notifies(
            &msg(1, false),
            &Settings::default(),
            away,
            false,
            NOW
        ));
        assert!(!notifies(&notice, &Settings::default(), away, false, NOW));
        let unsupported = ChatMessage {
            unsupported: true,
            ..msg(1, false)
        };
        assert!(!notifies(
            &unsupported,
            &Settings::default(),
            away,
            false,
            NOW
        ));
    }

    #[test]
    fn notifies_for_others_messages_unless_looking_at_them_muted_or_do_not_disturb() {
        let s = Settings::default();
        let away = Attention {
            focused: false,
            open_conversation: Some(ConversationId(1)),
        };
        let looking = Attention {
            focused: true,
            open_conversation: Some(ConversationId(1)),
        };
        let elsewhere = Attention {
            focused: true,
            open_conversation: Some(ConversationId(2)),
        };
        assert!(notifies(&msg(1, false), &s, away, false, NOW));
        assert!(!notifies(&msg(1, false), &s, looking, false, NOW));
        assert!(notifies(&msg(1, false), &s, elsewhere, false, NOW));
        // A message request stays quiet.
        assert!(!notifies(&msg(1, false), &s, away, true, NOW));
        assert!(
            !notifies(&msg(1, true), &s, away, false, NOW),
            "never for one's own messages"
        );
        let mut muted = Settings::default();
        muted.set_mute(ACCOUNT, ConversationId(1), true, None);
        assert!(!notifies(&msg(1, false), &muted, away, false, NOW));
        assert!(notifies(&msg(2, false), &muted, away, false, NOW));
        let dnd = Settings {
            do_not_disturb: true,
            ..Settings::default()
        };
        assert!(!notifies(&msg(1, false), &dnd, away, false, NOW));
    }

    #[test]
    fn a_mute_for_a_while_silences_until_its_end_and_not_after() {
        let away = Attention::default();
        let mut s = Settings::default();
        s.set_mute(ACCOUNT, ConversationId(1), true, Some(NOW + 3_600_000));
        s.set_mute(ACCOUNT, ConversationId(2), true, None);
        assert!(!notifies(&msg(1, false), &s, away, false, NOW));
        assert!(!notifies(&msg(1, false), &s, away, false, NOW + 3_599_999));
        assert!(notifies(&msg(1, false), &s, away, false, NOW + 3_600_000));
        let a_year = 3_600_000 * 24 * 365;
        assert!(
            !notifies(&msg(2, false), &s, away, false, NOW + a_year),
            "muted until unmuted"
        );
    }

    #[test]
    fn message_text_shows_literally_and_cannot_inject_markup() {
        assert_eq!(
            escape_markup(r#"<a href="https://evil.example">win</a> & <img src='x'/>"#),
            "&lt;a href=&quot;https://evil.example&quot;&gt;win&lt;/a&gt; &amp; \
             &lt;img src=&apos;x&apos;/&gt;"
        );
        assert_eq!(
            escape_markup("plain text, ünïcode ✓"),
            "plain text, ünïcode ✓"
        );
        // Already-escaped text is escaped again: what was typed is what is shown.
        assert_eq!(escape_markup("&lt;"), "&amp;lt;");
    }

    #[test]
    fn long_bodies_are_shortened() {
        assert_eq!(preview("short"), "short");
        let file = |name: &str, content_type: &str| tern_proto::Attachment {
            blob_id: "b".repeat(32),
            name: name.into(),
            content_type: content_type.into(),
            size: 1,
            sha256: "0".repeat(64),
            width: None,
            height: None,
            thumbnail: None,
        };
        let mut m = msg(1, false);
        m.body = String::new();
        m.attachment = Some(file("IMG_1.jpg", "image/jpeg"));
        assert_eq!(message_text(&m), "🖼 Photo");
        m.attachment = Some(file("report.pdf", "application/pdf"));
        assert_eq!(message_text(&m), "📎 report.pdf");
        m.body = " see page 3 ".into();
        assert_eq!(message_text(&m), "📎 see page 3");
        m.attachment = None;
        assert_eq!(message_text(&m), " see page 3 ");
        assert_eq!(preview(&"x".repeat(500)).chars().count(), 141);
    }
}
