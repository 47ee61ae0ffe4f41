//! The desktop app's details, in the real app (Xvfb, WebDriver) against a real relay and a
//! recording notification daemon: history scrolls back past 200 messages to the first; a burst
//! of 150 messages is one notification updated in place, and clicking it opens its chat; a
//! 99+ badge in the row and the unread total in the window title; the composer counts bytes
//! and refuses a message over the relay's limit; right-click opens the app's own message menu
//! (never the browser's); a narrow window shows one column with a way back; signing out asks
//! first and can remove this device's copy; mutes, pins and unread marks are the account's on
//! every device.

mod common;

use std::time::Duration;

use common::webdriver::{app_env, notifications, notifyd, right_click, Driver, Xvfb};
use common::*;

/// The first notification whose body contains `text`, once the daemon has logged it.
async fn notification_saying(log: &std::path::Path, text: &str) -> serde_json::Value {
    for _ in 0..300 {
        let found = notifications(log)
            .into_iter()
            .find(|n| n["body"].as_str().is_some_and(|b| b.contains(text)));
        if let Some(n) = found {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no notification says {text:?}");
}

#[tokio::test]
async fn history_notifications_badges_limits_menus_layout_and_sign_out_behave_like_a_desktop_app() {
    let mut relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let (mut daemon, log) = notifyd(work.path());
    let data = work.path().join("app");
    let env = app_env(&xvfb, &data, &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // 390 messages in a direct chat (more than the 200 history once stopped at, fewer than the
    // 400 the chat holds): scrolling back reaches the very first one, and all of them show.
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    for i in 1..=390 {
        bob.send(conv, &format!("m{i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    app.accept_first_request().await;
    app.wait_until(
        "[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'm390')",
        "the newest message",
    )
    .await;
    // Page by page to the first (up to 30 s on a loaded machine).
    for _ in 0..120 {
        let first = app
            .js("const l = document.getElementById('messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); return [...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'm1');")
            .await;
        if first == serde_json::json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let shown = app
        .js("return document.querySelectorAll('#messages .msg').length")
        .await;
    assert_eq!(shown, serde_json::json!(390), "every message, in one chat");
    // The first message's action bar sits inside its bubble, not above the list's top edge;
    // the mark moved up with every older page.
    let first = app
        .js("const m = [...document.querySelectorAll('#messages .first-msg')]; return [m.length, m[0].querySelector('.body').textContent, getComputedStyle(m[0].querySelector('.msg-actions')).top];")
        .await;
    assert_eq!(
        first,
        serde_json::json!([1, "m1", "2px"]),
        "one first message, marked"
    );

    // A burst of 150 in a group alice is not looking at: one notification, updated in place;
    // a 99+ badge with the real number for screen readers; the total in the window title.
    let group = bob
        .create_group("Burst", &["alice"])
        .await
        .unwrap()
        .conversation_id;
    for i in 1..=150 {
        bob.send(group, &format!("b{i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    app.wait_until(
        "[...document.querySelectorAll('#conversations .conv')].some(r => r.querySelector('.title').textContent === 'Burst' && r.querySelector('.badge').textContent === '99+' && r.querySelector('.badge').getAttribute('aria-label').startsWith('150'))",
        "a 99+ badge on the group",
    )
    .await;
    app.wait_until("document.title === '(99+) Tern'", "the total in the title")
        .await;
    let mut burst = Vec::new();
    for _ in 0..100 {
        burst = notifications(&log)
            .into_iter()
            .filter(|n| n["summary"] == "bob in Burst")
            .collect();
        if burst.last().is_some_and(|n| {
            n["body"]
                .as_str()
                .unwrap_or("")
                .starts_with("150 new messages")
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !burst.is_empty() && burst.len() <= 10,
        "one notification updated a few times, not 150: {burst:?}"
    );
    let id = burst[0]["id"].as_u64().unwrap();
    // The app's own icon: by its name in the icon theme when installed, else its file.
    let icon = burst[0]["icon"].as_str().unwrap();
    assert!(
        icon == "tern-desktop" || (icon.ends_with(".png") && std::path::Path::new(icon).is_file()),
        "{icon}"
    );
    assert_eq!(burst[0]["desktop_entry"], "Tern");
    assert!(
        burst[1..]
            .iter()
            .all(|n| n["replaces"].as_u64() == Some(id)),
        "{burst:?}"
    );
    assert!(burst.last().unwrap()["body"]
        .as_str()
        .unwrap()
        .starts_with("150 new messages"));
    // Clicking it (the daemon emits ActionInvoked as a real server does) opens the group.
    let clicked = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.Notifications",
            "--type=method_call",
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications.Click",
            &format!("uint32:{id}"),
        ])
        .status()
        .unwrap();
    assert!(clicked.success());
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'Burst'",
        "the clicked notification's chat is open",
    )
    .await;

    // Replying from a notification (the server offers inline replies, as KDE Plasma does):
    // the text goes to that chat, which is then read.
    let asked = bob.send(conv, "lunch at noon?").await.unwrap();
    wait_settled(&bob).await;
    let question = notification_saying(&log, "lunch at noon?").await;
    assert!(
        question["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "inline-reply"),
        "a reply field is offered: {question}"
    );
    let replied = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.Notifications",
            "--type=method_call",
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications.Reply",
            &format!("uint32:{}", question["id"].as_u64().unwrap()),
            "string:yes, see you there",
        ])
        .status()
        .unwrap();
    assert!(replied.success());
    eventually("bob got the reply, and sees his question read", || async {
        let view = bob.messages(conv, None, 5).await.unwrap();
        let answered = view
            .iter()
            .any(|m| !m.mine && m.body == "yes, see you there");
        let read = view.iter().any(|m| {
            m.client_id == asked.client_id && matches!(m.status, tern_client::MessageStatus::Read)
        });
        answered && read
    })
    .await;

    // "Mark as read", a notification's button, reads what it showed without opening the chat.
    let aside = bob.send(conv, "no need to answer").await.unwrap();
    wait_settled(&bob).await;
    let note = notification_saying(&log, "no need to answer").await;
    assert!(
        note["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "mark-read"),
        "a Mark as read button: {note}"
    );
    // The button is pressed until the app hears it: the daemon logs a notification before the
    // app, having its id, listens for that notification's actions.
    let note_id = note["id"].as_u64().unwrap();
    eventually("bob sees it read", || async {
        let invoked = std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.Notifications",
                "--type=method_call",
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications.Invoke",
                &format!("uint32:{note_id}"),
                "string:mark-read",
            ])
            .status()
            .unwrap();
        assert!(invoked.success());
        tokio::time::sleep(Duration::from_millis(200)).await;
        bob.messages(conv, None, 5).await.unwrap().iter().any(|m| {
            m.client_id == aside.client_id && matches!(m.status, tern_client::MessageStatus::Read)
        })
    })
    .await;
    assert!(
        notifications(&log)
            .iter()
            .any(|n| n["closed"].as_u64() == Some(note_id)),
        "the notification is withdrawn"
    );
    assert_ne!(
        app.js("return document.getElementById('chat-title').textContent")
            .await,
        serde_json::json!("bob"),
        "bob's chat was not opened"
    );

    // Read on another device of alice's: the notification goes from this screen, and the
    // next message is not counted with the ones read there.
    let read_there = bob.send(conv, "read on the phone").await.unwrap();
    wait_settled(&bob).await;
    let phone_note = notification_saying(&log, "read on the phone").await["id"]
        .as_u64()
        .unwrap();
    let (phone, _phone_dir) = device(&relay, "alice").await;
    let mut read_seq = None;
    for _ in 0..600 {
        read_seq = phone
            .messages(conv, None, 5)
            .await
            .unwrap()
            .iter()
            .find(|m| m.client_id == read_there.client_id)
            .and_then(|m| m.seq);
        if read_seq.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    phone
        .mark_read(conv, read_seq.expect("the phone has it"))
        .await
        .unwrap();
    eventually(
        "the notification read on the phone is withdrawn",
        || async {
            notifications(&log)
                .iter()
                .any(|n| n["closed"].as_u64() == Some(phone_note))
        },
    )
    .await;
    phone.shutdown().await;

    // A notification goes from the screen once its chat is opened in the app.
    bob.send(conv, "still there?").await.unwrap();
    wait_settled(&bob).await;
    let pending = notification_saying(&log, "still there?").await["id"]
        .as_u64()
        .unwrap();
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'bob').click()").await;
    eventually("the notification is withdrawn", || async {
        notifications(&log)
            .iter()
            .any(|n| n["closed"].as_u64() == Some(pending))
    })
    .await;

    // A long message (folded behind "Read more") whose word is past its first lines.
    bob.send(conv, &format!("{}zanzibar", "word ".repeat(300)))
        .await
        .unwrap();
    wait_settled(&bob).await;

    // Search: an exact phrase finds one message in the other chat, marked, with its date;
    // choosing it opens that chat at the message, loading history as needed.
    app.js("const s = document.getElementById('search'); s.focus(); s.value = '\"m3\"'; s.dispatchEvent(new Event('input'));").await;
    app.wait_until(
        "document.querySelectorAll('#search-results li.search-result').length === 1 && document.querySelector('#search-results li.search-result').dataset.seq === '3' && document.querySelector('#search-results .result-snippet mark')?.textContent === 'm3' && !!document.querySelector('#search-results time.result-time').title",
        "one result, marked and dated",
    )
    .await;
    app.click("#search-results li.search-result").await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob' && document.querySelector('#messages li.msg[data-seq=\"3\"]')?.classList.contains('flash')",
        "the message shown in its chat",
    )
    .await;
    // A match inside a long message shows it whole.
    app.js("const s = document.getElementById('search'); s.focus(); s.value = 'zanzibar'; s.dispatchEvent(new Event('input'));").await;
    app.wait_until(
        "document.querySelectorAll('#search-results li.search-result').length === 1 && document.querySelector('#search-results .result-snippet mark')?.textContent === 'zanzibar'",
        "the long message found",
    )
    .await;
    app.click("#search-results li.search-result").await;
    app.wait_until(
        "(() => { const r = [...document.querySelectorAll('#messages li.msg.flash')].find(li => li.querySelector('.body')?.textContent.endsWith('zanzibar')); return !!r && !r.querySelector('.body.folded') && r.querySelector('.read-more')?.textContent === 'Show less'; })()",
        "the long message unfolded",
    )
    .await;
    app.js("const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input'));").await;
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'Burst').click()").await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'Burst'",
        "back in the group",
    )
    .await;

    // The composer measures bytes near the limit, says it in characters, and refuses a
    // message over it.
    app.js("const c = document.getElementById('composer'); c.value = 'é'.repeat(9000); c.dispatchEvent(new Event('input'));").await;
    app.wait_until(
        "document.getElementById('composer-count').textContent.startsWith('808 characters too many') && document.getElementById('send').disabled",
        "over the 16 KiB limit by 1616 bytes (808 of these characters), send disabled",
    )
    .await;
    app.js("const c = document.getElementById('composer'); c.value = 'short again'; c.dispatchEvent(new Event('input'));").await;
    app.wait_until("!document.getElementById('send').disabled", "send enabled")
        .await;
    app.clear("#composer").await;

    // Right-click on a message (a group notice has no menu): the app's menu, never the browser's.
    let prevented = app
        .js(&right_click(
            "document.querySelector('#messages .msg:not(.notice)')",
        ))
        .await;
    assert_eq!(
        prevented,
        serde_json::json!(true),
        "the browser's menu is suppressed"
    );
    app.wait_until(
        "!document.getElementById('context-menu').hidden && [...document.querySelectorAll('#context-menu .menu-item')].some(i => i.dataset.action === 'reply')",
        "the app's message menu",
    )
    .await;
    // The menu has focus (keyboard use); Escape there closes it.
    app.js("(document.activeElement || document.body).dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))")
        .await;
    app.wait_until(
        "document.getElementById('context-menu').hidden",
        "Escape closes the menu",
    )
    .await;
    // A reply begun stays with its chat, as its draft does: not in the next chat opened, there
    // again on coming back.
    app.js(&right_click(
        "document.querySelector('#messages .msg:not(.notice)')",
    ))
    .await;
    app.wait_until(
        "!document.getElementById('context-menu').hidden",
        "the menu again",
    )
    .await;
    app.js("[...document.querySelectorAll('#context-menu .menu-item')].find(i => i.dataset.action === 'reply').click()")
        .await;
    app.wait_until(
        "!document.getElementById('reply-banner').hidden",
        "replying",
    )
    .await;
    let open = |title: &str| {
        format!("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === '{title}').click()")
    };
    app.type_into("#composer", "half written").await;
    app.js(&open("bob")).await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob' && document.getElementById('reply-banner').hidden && document.getElementById('composer').value === ''",
        "no reply or draft in bob's chat",
    )
    .await;
    // The group's row shows what was being written there, marked as a draft.
    let burst_preview = "[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'Burst').querySelector('.preview')";
    app.wait_until(
        &format!("{burst_preview}.textContent === 'Draft: half written' && !!{burst_preview}.querySelector('.draft-mark')"),
        "the group's draft in its row",
    )
    .await;
    app.js(&open("Burst")).await;
    app.wait_until(
        &format!("document.getElementById('chat-title').textContent === 'Burst' && !document.getElementById('reply-banner').hidden && document.getElementById('composer').value === 'half written' && !{burst_preview}.querySelector('.draft-mark')"),
        "the reply and draft back with their chat, the row showing its last message",
    )
    .await;
    app.clear("#composer").await;
    app.click("#reply-cancel").await;
    app.wait_until(
        "document.getElementById('reply-banner').hidden",
        "reply cancelled",
    )
    .await;

    // Muting the open group for an hour (the header's button opens the app's menu) marks its
    // row, the button says until when and the shell keeps the end; unmuting takes the mark
    // away, muting for good brings it back with no end. Then the direct chat's header says bob
    // is online, then when he was last seen; message times carry the full date.
    let burst_muted = |muted: bool| {
        format!("[...document.querySelectorAll('#conversations .conv')].some(r => r.querySelector('.title').textContent === 'Burst' && !!r.querySelector('.muted-mark') && r.querySelector('.muted-mark').hidden === {})", !muted)
    };
    let settings_file = data.join("settings.json");
    // The group's mute as the shell keeps it for this account: absent when not muted, null
    // until unmuted, else when it ends.
    let mute_end = || {
        let text = std::fs::read_to_string(&settings_file).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["mutes"]
            .as_object()
            .and_then(|accounts| accounts.values().next().cloned())
            .and_then(|mutes| mutes.get(group.0.to_string()).cloned())
    };
    let driver = &app;
    let choose = |action: &'static str| async move {
        // Pressed from script, as the row menus here are opened: what is tested is the menu
        // (one run's WebDriver click, by position, opened nothing; the cause was not found).
        driver.js("document.getElementById('mute').click()").await;
        driver.wait_until(
            &format!("!document.getElementById('context-menu').hidden && !!document.querySelector('#context-menu .menu-item[data-action=\"{action}\"]')"),
            "the mute menu",
        )
        .await;
        driver
            .click(&format!(
                "#context-menu .menu-item[data-action=\"{action}\"]"
            ))
            .await;
    };
    let before = tern_proto::now_ms();
    choose("3600000").await;
    app.wait_until(&burst_muted(true), "the muted mark on the group")
        .await;
    app.wait_until(
        "document.getElementById('mute').textContent.startsWith('Muted until ')",
        "the button says until when",
    )
    .await;
    let end = mute_end()
        .and_then(|e| e.as_i64())
        .expect("the shell keeps the end");
    assert!(
        end >= before + 3_600_000 && end <= tern_proto::now_ms() + 3_600_000,
        "an hour from the choice: {end}"
    );
    choose("unmute").await;
    app.wait_until(&burst_muted(false), "unmuted").await;
    app.wait_until(
        "document.getElementById('mute').textContent === 'Mute'",
        "the button says Mute",
    )
    .await;
    assert_eq!(mute_end(), None, "no end kept once unmuted");
    choose("always").await;
    app.wait_until(
        &format!(
            "{} && document.getElementById('mute').textContent === 'Muted'",
            burst_muted(true)
        ),
        "muted until unmuted",
    )
    .await;
    assert_eq!(
        mute_end(),
        Some(serde_json::Value::Null),
        "muted for good: no end"
    );
    // The mute is the account's, not this device's: alice's other device has it too.
    let (phone, _phone_dir) = device(&relay, "alice").await;
    eventually("the other device has the group muted", || async {
        phone
            .chat_prefs()
            .await
            .unwrap()
            .iter()
            .any(|p| p.conversation_id == group && p.muted && p.muted_until.is_none())
    })
    .await;

    // A row's own menu (right-click) pins bob's chat to the top, marked, and keeps it there
    // when the group has newer news; the shell keeps the pin. The menu keys on a focused row
    // open it too, and unpinning gives the list back its order by activity.
    let rows = "[...document.querySelectorAll('#conversations .conv')]";
    app.js(&right_click(&format!(
        "{rows}.find(c => c.querySelector('.title').textContent === 'bob')"
    )))
    .await;
    app.wait_until(
        "!document.getElementById('context-menu').hidden && !!document.querySelector('#context-menu .menu-item[data-action=\"pin\"]')",
        "the row's menu",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"pin\"]")
        .await;
    let first_is =
        |title: &str| format!("{rows}[0].querySelector('.title').textContent === '{title}'");
    app.wait_until(
        &format!(
            "{} && !{rows}[0].querySelector('.pinned-mark').hidden",
            first_is("bob")
        ),
        "bob's chat pinned first",
    )
    .await;
    // The shell mirrors the engine's chat prefs from its events, beside the page's own
    // drawing: the file follows shortly.
    let pins = || {
        let settings: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&settings_file).unwrap()).unwrap();
        settings["pinned"]
            .as_object()
            .map(|accounts| accounts.values().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    eventually("the shell keeps the pin, for this account", || async {
        pins() == vec![serde_json::json!([conv.0])]
    })
    .await;
    eventually("the other device has bob's chat pinned", || async {
        phone
            .chat_prefs()
            .await
            .unwrap()
            .iter()
            .any(|p| p.conversation_id == conv && p.pinned_at.is_some())
    })
    .await;
    bob.send(group, "newer news").await.unwrap();
    app.wait_until(
        &format!("{rows}.some(c => c.querySelector('.title').textContent === 'Burst' && c.querySelector('.preview').textContent.includes('newer news'))"),
        "the group's news",
    )
    .await;
    assert_eq!(
        app.js(&format!("return {}", first_is("bob"))).await,
        serde_json::json!(true),
        "the pinned chat stays first"
    );
    app.js(&format!("const li = {rows}[0]; li.focus(); li.dispatchEvent(new KeyboardEvent('keydown', {{key: 'F10', shiftKey: true, bubbles: true, cancelable: true}}));")).await;
    app.wait_until(
        "!!document.querySelector('#context-menu .menu-item[data-action=\"unpin\"]')",
        "the menu by keyboard, offering to unpin",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"unpin\"]")
        .await;
    app.wait_until(&first_is("Burst"), "by activity again")
        .await;
    // Pinned on alice's other device, bob's chat comes first here too, and goes back when
    // the other device unpins it.
    let bob_on_phone = tern_proto::ChatPrefs {
        pinned_at: Some(tern_proto::now_ms()),
        ..tern_proto::ChatPrefs::none(conv)
    };
    phone.set_chat_prefs(bob_on_phone).await.unwrap();
    app.wait_until(
        &format!(
            "{} && !{rows}[0].querySelector('.pinned-mark').hidden",
            first_is("bob")
        ),
        "bob's chat pinned from the other device",
    )
    .await;
    phone
        .set_chat_prefs(tern_proto::ChatPrefs::none(conv))
        .await
        .unwrap();
    app.wait_until(&first_is("Burst"), "unpinned from the other device")
        .await;
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'bob').click()").await;
    app.wait_until(
        "document.getElementById('chat-sub').textContent === 'online'",
        "bob online",
    )
    .await;
    // (The header can say "online" before the chat's rows are drawn: wait for them.)
    app.wait_until(
        "(() => { const t = document.querySelector('#messages li.msg time.msg-time'); return !!t && t.title.length > 8 && !!t.getAttribute('datetime'); })()",
        "a message's time with its full date",
    )
    .await;
    // With bob's chat open, news in the group waits unread; the group row's menu marks it read
    // without opening it, and bob sees it read.
    let read_news = bob.send(group, "read me later").await.unwrap().client_id;
    let burst_badge = format!("{rows}.find(c => c.querySelector('.title').textContent === 'Burst').querySelector('.badge')");
    app.wait_until(
        &format!("!{burst_badge}.hidden"),
        "unread news in the group",
    )
    .await;
    app.js(&right_click(&format!(
        "{rows}.find(c => c.querySelector('.title').textContent === 'Burst')"
    )))
    .await;
    app.wait_until(
        "!!document.querySelector('#context-menu .menu-item[data-action=\"read\"]')",
        "the row's menu offers to mark it read",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"read\"]")
        .await;
    app.wait_until(&format!("{burst_badge}.hidden"), "the group read")
        .await;
    assert_eq!(
        app.js("return document.getElementById('chat-title').textContent")
            .await,
        serde_json::json!("bob"),
        "still in bob's chat"
    );
    eventually("bob sees his group message read", || async {
        bob.messages(group, None, 5).await.unwrap().iter().any(|m| {
            m.client_id == read_news && matches!(m.status, tern_client::MessageStatus::Read)
        })
    })
    .await;
    // Read, it can be marked unread again: the row shows a badge with no number, the title
    // counts it, alice's other device has the mark; opening the chat takes it away everywhere.
    app.js(&right_click(&format!(
        "{rows}.find(c => c.querySelector('.title').textContent === 'Burst')"
    )))
    .await;
    app.wait_until(
        "!!document.querySelector('#context-menu .menu-item[data-action=\"unread\"]')",
        "the row's menu offers to mark it unread",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"unread\"]")
        .await;
    app.wait_until(
        &format!("!{burst_badge}.hidden && {burst_badge}.classList.contains('marked') && {burst_badge}.textContent === '' && document.title === '(1) Tern'"),
        "the group marked unread",
    )
    .await;
    let marked = |on: bool| {
        let phone = &phone;
        async move {
            phone
                .chat_prefs()
                .await
                .unwrap()
                .iter()
                .any(|p| p.conversation_id == group && p.marked_unread)
                == on
        }
    };
    eventually("the other device has the mark", || marked(true)).await;
    app.js(&open("Burst")).await;
    app.wait_until(
        &format!("{burst_badge}.hidden && document.title === 'Tern'"),
        "opened, no longer marked",
    )
    .await;
    eventually("the other device lost the mark", || marked(false)).await;
    app.js(&open("bob")).await;
    // Archived from its row's menu, the (muted) group leaves the list for "Archived chats",
    // folded at the foot, on alice's other device too; bob's news does not bring a muted chat
    // back. Unarchived from there, it is back in the list everywhere.
    app.js(&right_click(&format!(
        "{rows}.find(c => c.querySelector('.title').textContent === 'Burst')"
    )))
    .await;
    app.wait_until(
        "!!document.querySelector('#context-menu .menu-item[data-action=\"archive\"]')",
        "the row's menu offers to archive",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"archive\"]")
        .await;
    let archived_rows = "[...document.querySelectorAll('#archived .conv')]";
    app.wait_until(
        &format!("!document.getElementById('archived-section').hidden && document.getElementById('archived-toggle').textContent === 'Archived chats (1)' && document.getElementById('archived').hidden && {archived_rows}.length === 1 && !{rows}.some(c => c.querySelector('.title').textContent === 'Burst')"),
        "the group under Archived chats, folded",
    )
    .await;
    let archived_on_phone = |on: bool| {
        let phone = &phone;
        async move {
            phone
                .chat_prefs()
                .await
                .unwrap()
                .iter()
                .any(|p| p.conversation_id == group && p.archived)
                == on
        }
    };
    eventually("the other device has it archived", || {
        archived_on_phone(true)
    })
    .await;
    bob.send(group, "news while archived").await.unwrap();
    app.click("#archived-toggle").await;
    app.wait_until(
        &format!("!document.getElementById('archived').hidden && {archived_rows}[0].querySelector('.preview').textContent.includes('news while archived')"),
        "the news in the archived (and muted) group's row",
    )
    .await;
    // The event that would bring it back comes before the message's, but the list rereads the
    // shell's copy on its own time: give it that, then it must still be archived.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.js(&format!("return {archived_rows}.length === 1 && !{rows}.some(c => c.querySelector('.title').textContent === 'Burst')")).await,
        serde_json::json!(true),
        "a muted chat stays archived"
    );
    assert!(archived_on_phone(true).await, "on the other device too");
    app.js(&right_click(&format!("{archived_rows}[0]"))).await;
    app.wait_until(
        "!!document.querySelector('#context-menu .menu-item[data-action=\"unarchive\"]')",
        "the archived row's menu offers to unarchive",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"unarchive\"]")
        .await;
    app.wait_until(
        &format!("document.getElementById('archived-section').hidden && {rows}.some(c => c.querySelector('.title').textContent === 'Burst')"),
        "the group back in the list",
    )
    .await;
    eventually("the other device has it back", || archived_on_phone(false)).await;
    // A message of bob's chat forwarded to the group from its menu: the dialog lists the chats,
    // typing filters them, and the group gets it as alice's.
    app.js(&open("bob")).await;
    app.wait_until(
        "[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'm390')",
        "bob's newest message shown",
    )
    .await;
    app.js(&right_click(
        "[...document.querySelectorAll('#messages li.msg')].find(li => li.querySelector('.body')?.textContent === 'm390')",
    ))
    .await;
    app.wait_until(
        "!!document.querySelector('#context-menu .menu-item[data-action=\"forward\"]')",
        "the message's menu offers to forward",
    )
    .await;
    app.click("#context-menu .menu-item[data-action=\"forward\"]")
        .await;
    app.wait_until(
        "document.getElementById('forward-dialog').open && document.querySelectorAll('#forward-chats button').length === 2",
        "the forward dialog with both chats",
    )
    .await;
    app.type_into("#forward-filter", "bur\u{E007}").await;
    app.wait_until(
        "document.querySelectorAll('#forward-chats button').length === 1 && document.querySelector('#forward-chats button').textContent === 'Burst' && document.querySelector('#forward-chats button').getAttribute('aria-pressed') === 'true' && document.getElementById('forward-send').textContent === 'Forward (1)'",
        "only the group left, chosen by Enter",
    )
    .await;
    // The choice survives the filter; a second chat is chosen by a click.
    app.clear("#forward-filter").await;
    app.js("document.getElementById('forward-filter').dispatchEvent(new Event('input'))")
        .await;
    app.click("#forward-chats button[aria-pressed=\"false\"]")
        .await;
    app.wait_until(
        "document.getElementById('forward-send').textContent === 'Forward (2)'",
        "two chats chosen",
    )
    .await;
    // The chosen chat's button keeps the keyboard's focus although the list is drawn anew.
    app.wait_until(
        "document.activeElement?.matches('#forward-chats button') && document.activeElement.getAttribute('aria-pressed') === 'true'",
        "the choice keeps the focus",
    )
    .await;
    app.click("#forward-send").await;
    app.wait_until(
        "!document.getElementById('forward-dialog').open",
        "the dialog closed",
    )
    .await;
    for (what, chat) in [("in the group", group), ("in their chat", conv)] {
        eventually(&format!("bob has it {what}, from alice"), || async {
            bob.messages(chat, None, 10)
                .await
                .unwrap()
                .iter()
                .any(|m| m.body == "m390" && m.sender == "alice")
        })
        .await;
    }
    // Removed from a group while a draft waits in it: the chat closes and the draft is
    // forgotten (it would come back if she were added again). Then bob's chat again.
    app.js(&open("Burst")).await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'Burst'",
        "the group is open",
    )
    .await;
    app.type_into("#composer", "never to be sent").await;
    let group_draft = format!(
        "Object.keys(localStorage).some(k => k.startsWith('tern.draft.') && k.endsWith('/{}'))",
        group.0
    );
    app.wait_until(&group_draft, "the group's draft is kept")
        .await;
    app.js(&open("bob")).await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob' && document.getElementById('composer').value === ''",
        "bob's chat, without the group's draft",
    )
    .await;
    bob.remove_member(group, "alice").await.unwrap();
    app.wait_until(
        &format!("!({group_draft})"),
        "the group's draft is forgotten",
    )
    .await;
    bob.shutdown().await;
    app.wait_until(
        "document.getElementById('chat-sub').textContent.startsWith('last seen')",
        "bob's last seen",
    )
    .await;

    // A narrow window: one column, the chat with a way back to the list.
    app.set_size(600, 700).await;
    app.wait_until(
        "getComputedStyle(document.getElementById('sidebar')).display === 'none' && getComputedStyle(document.getElementById('back-to-list')).display !== 'none'",
        "the chat alone, with a back button",
    )
    .await;
    // A reply begun there is kept when going back to the list, with its draft.
    app.js(&right_click(
        "[...document.querySelectorAll('#messages .msg:not(.notice)')].pop()",
    ))
    .await;
    app.wait_until(
        "!document.getElementById('context-menu').hidden",
        "the message menu",
    )
    .await;
    app.js("[...document.querySelectorAll('#context-menu .menu-item')].find(i => i.dataset.action === 'reply').click()")
        .await;
    app.type_into("#composer", "answer later").await;
    app.click("#back-to-list").await;
    app.wait_until(
        "getComputedStyle(document.getElementById('sidebar')).display !== 'none' && getComputedStyle(document.getElementById('chat')).display === 'none'",
        "the list alone",
    )
    .await;
    app.js(&open("bob")).await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob' && !document.getElementById('reply-banner').hidden && document.getElementById('composer').value === 'answer later'",
        "the reply and its draft back",
    )
    .await;
    app.clear("#composer").await;
    app.click("#reply-cancel").await;
    app.click("#back-to-list").await;
    app.wait_until(
        "getComputedStyle(document.getElementById('chat')).display === 'none'",
        "the list alone again",
    )
    .await;
    app.set_size(1000, 700).await;

    // Signing out asks first; asked to, it removes this device's copy of the account: the
    // engine's cache, and the drafts and last open chat the UI kept (a draft is message text).
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'bob').click()").await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob'",
        "bob's chat is open",
    )
    .await;
    app.type_into("#composer", "a draft nobody should find")
        .await;
    // (Found below by its text: another account's drafts may be kept here too.)
    app.wait_until(
        "Object.keys(localStorage).some(k => k.startsWith('tern.draft.'))",
        "the draft is kept",
    )
    .await;
    // The account's key, from its draft's (`tern.draft.<account>/<conversation>`, the account
    // being its user id at its relay, encoded).
    let me = app
        .js("return Object.keys(localStorage).find(k => k.startsWith('tern.draft.') && localStorage.getItem(k) === 'a draft nobody should find').slice(11).split('/')[0]")
        .await;
    let me = me.as_str().unwrap().to_owned();
    assert!(me.contains("%40http"), "keyed by user and relay: {me}");
    // Its drafts and last open chat; other accounts signed in on this device keep theirs.
    let kept = format!("Object.keys(localStorage).filter(k => k.startsWith('tern.draft.{me}/') || k === 'tern.open.{me}').length");
    app.wait_until(
        &format!("{kept} >= 2"),
        "a draft and the open chat are kept",
    )
    .await;
    let total = app.js("return Object.keys(localStorage).length").await;
    let mine = app.js(&format!("return {kept}")).await;
    let others = total.as_u64().unwrap() - mine.as_u64().unwrap();
    let caches: Vec<_> = files_under(&data)
        .into_iter()
        .filter(|p| p.ends_with("cache.db"))
        .collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
    // A message written with the relay gone is waiting: the dialog says so, and what
    // removing this device's copy does to it.
    relay.kill9();
    app.js("const c = document.getElementById('composer'); c.value = 'written offline'; c.dispatchEvent(new Event('input'));").await;
    app.click("#send").await;
    app.click("#signout").await;
    app.wait_until(
        "document.getElementById('signout-dialog').open",
        "sign-out asks first",
    )
    .await;
    app.wait_until(
        "!document.getElementById('signout-unsent').hidden && document.getElementById('signout-unsent').textContent.includes('out when you sign in here again')",
        "the unsent message is mentioned",
    )
    .await;
    app.click("#signout-wipe").await;
    app.wait_until(
        "document.getElementById('signout-unsent').textContent.includes('will be deleted')",
        "and that removing the copy deletes it",
    )
    .await;
    app.click("#signout-confirm").await;
    app.wait_until("!document.getElementById('signin').hidden", "signed out")
        .await;
    eventually("this device's copy is gone", || async {
        !caches[0].exists()
    })
    .await;
    app.wait_until(&format!("{kept} === 0"), "the UI's drafts are gone too")
        .await;
    // And what the shell kept for the account: the group was muted, a chat pinned before.
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings_file).unwrap()).unwrap();
    assert!(
        settings["mutes"].as_object().is_none_or(|m| m.is_empty())
            && settings["pinned"].as_object().is_none_or(|p| p.is_empty()),
        "the account's mutes and pins are forgotten: {settings}"
    );
    assert_eq!(
        app.js("return Object.keys(localStorage).length")
            .await
            .as_u64(),
        Some(others),
        "other accounts' entries stay"
    );

    app.quit().await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    drop(xvfb);
}
