//! The real desktop app in a real (virtual) window, driven through WebDriver, against a real
//! relay, with a second participant on the same engine the CLI uses, and a D-Bus notification
//! daemon recording what the app shows.
//!
//! One test walks through the whole story: the app is single-instance and the notification
//! daemon owns a bus name, so app sessions must not run side by side.

mod common;

use std::path::PathBuf;
use std::time::Duration;
use tern_proto::Seq;

use common::webdriver::{app_env, notifications, notifyd, Driver, Xvfb};
use common::*;
use tern_client::{Client, Event};

fn app_binary() -> PathBuf {
    bin("tern-desktop")
}

async fn wait_event(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) {
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => panic!("event stream closed"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "timed out waiting for {what}");
}

#[tokio::test]
async fn a_user_signs_in_chats_sees_ticks_typing_offline_banner_and_notifications() {
    let mut relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let mut bob_events = bob.subscribe();
    let xvfb = Xvfb::start();
    let (mut daemon, log) = notifyd(work.path());
    let shots = std::env::var_os("TERN_SCREENSHOTS").map(PathBuf::from);

    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&app_binary(), &env).await;

    // First run: the sign-in screen offers the configured relay; create an account.
    app.wait_until(
        "!document.getElementById('signin').hidden",
        "sign-in screen",
    )
    .await;
    let relay_field = app
        .js("return document.getElementById('relay').value")
        .await;
    assert_eq!(relay_field, serde_json::json!(relay.url()));
    app.type_into("#username", "alice").await;
    app.type_into("#password", PASSWORD).await;
    if let Some(dir) = &shots {
        app.screenshot(&dir.join("signin.png")).await;
    }
    app.click("#register-button").await;
    app.wait_until(
        "!document.getElementById('app').hidden",
        "main screen after sign-in",
    )
    .await;
    app.wait_until("document.getElementById('banner').hidden || document.getElementById('banner').dataset.state === 'online'", "online").await;

    // Bob, a stranger, writes first: a quiet message request, listed apart, no notification.
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "hello alice").await.unwrap();
    app.wait_until(
        "!document.getElementById('requests-section').hidden && document.getElementById('requests-toggle').textContent.includes('(1)')",
        "a message request",
    )
    .await;
    let title = app
        .js("return document.querySelector('#requests .conv .title').textContent")
        .await;
    assert_eq!(title, "bob");
    let main_rows = app
        .js("return document.querySelectorAll('#conversations .conv').length")
        .await;
    assert_eq!(main_rows, 0, "a request is not in the main list");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(notifications(&log).is_empty(), "a request does not notify");

    // Opening it shows the message and the request bar instead of the composer; the read
    // is not told to bob until alice accepts.
    app.click("#requests .conv").await;
    app.wait_until("[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'hello alice')", "bob's message").await;
    app.wait_until(
        "!document.getElementById('request-bar').hidden && document.getElementById('composer-form').hidden",
        "request bar",
    )
    .await;
    if let Some(dir) = &shots {
        app.screenshot(&dir.join("request.png")).await;
    }
    app.click("#request-accept").await;
    app.wait_until(
        "!document.getElementById('composer-form').hidden && document.getElementById('requests-section').hidden",
        "accepted: composer shown, no requests left",
    )
    .await;
    app.wait_until(
        "[...document.querySelectorAll('#conversations .conv .title')].some(t => t.textContent === 'bob')",
        "bob in the main list",
    )
    .await;
    wait_event(&mut bob_events, "alice's read receipt", |e| matches!(e, Event::Receipt { receipt } if receipt.user_id != bob.user_id() && receipt.read_seq >= Seq(1))).await;
    app.wait_until(
        "!document.querySelector('#conversations .conv .badge:not([hidden])')",
        "badge cleared",
    )
    .await;

    // Typing reaches bob.
    app.type_into("#composer", "typing").await;
    wait_event(&mut bob_events, "typing from alice", |e| {
        matches!(e, Event::Typing { active: true, .. })
    })
    .await;
    app.clear("#composer").await;

    // Bob's typing shows in the app.
    bob.typing(conv, true).await;
    app.wait_until(
        "document.getElementById('typing').textContent.includes('bob is typing')",
        "typing indicator",
    )
    .await;
    if let Some(dir) = &shots {
        app.screenshot(&dir.join("chat.png")).await;
    }

    // An HTML payload is shown literally, never interpreted. Enter sends.
    let payload = "<img src=x onerror=alert(1)>";
    app.type_into("#composer", &format!("{payload}\u{E007}"))
        .await;
    app.wait_until(
        "[...document.querySelectorAll('#messages .msg.mine .body')].some(e => e.textContent === '<img src=x onerror=alert(1)>')",
        "payload shown as text",
    )
    .await;
    let injected = app
        .js("return document.querySelectorAll('#messages img').length")
        .await;
    assert_eq!(injected, 0, "no element was created from message text");
    wait_event(
        &mut bob_events,
        "bob receives the payload",
        |e| matches!(e, Event::Message { message } if message.body == payload),
    )
    .await;

    // Ticks: bob's device stored it (delivered), then bob reads it (read).
    app.wait_until("document.querySelector('#messages .msg.mine:last-of-type .ticks')?.dataset.status === 'delivered'", "delivered tick").await;
    let last = bob.stored_messages(conv).await.unwrap().last().unwrap().seq;
    bob.mark_read(conv, last).await.unwrap();
    app.wait_until("document.querySelector('#messages .msg.mine:last-of-type .ticks')?.dataset.status === 'read'", "read tick").await;

    // The relay dies: the banner says offline and offers a retry; a message written now is queued.
    relay.kill9();
    app.wait_until(
        "document.getElementById('banner').dataset.state === 'offline'",
        "offline banner",
    )
    .await;
    let banner = app
        .js("return document.getElementById('banner-text').textContent")
        .await;
    assert!(banner.as_str().unwrap().starts_with("Offline."), "{banner}");
    // The countdown ticks beside the announced text, not inside a live region.
    app.wait_until(
        "document.getElementById('banner-countdown').textContent.startsWith('Reconnecting in') && !document.getElementById('banner-countdown').closest('[aria-live]')",
        "a countdown out of the live region",
    )
    .await;
    app.type_into("#composer", "written while offline\u{E007}")
        .await;
    app.wait_until("document.querySelector('#messages .msg.mine:last-of-type .ticks')?.dataset.status === 'queued'", "queued tick").await;
    if let Some(dir) = &shots {
        app.screenshot(&dir.join("offline.png")).await;
    }
    relay.restart();
    // "Retry now", unless the backoff's own attempt already reconnected (the button is then
    // gone: a click on it would fail the test for nothing).
    app.js("const b = document.getElementById('retry-now'); if (b && !b.hidden && b.offsetParent) b.click();")
        .await;
    app.wait_until("['sent','delivered','read'].includes(document.querySelector('#messages .msg.mine:last-of-type .ticks')?.dataset.status)", "queued message sent").await;
    eventually("bob got the offline message", || async {
        bob.stored_messages(conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "written while offline")
    })
    .await;

    // Search across conversations (Ctrl+K focuses the box).
    app.type_into("#search", "offline").await;
    app.wait_until("[...document.querySelectorAll('#search-results .preview')].some(e => e.textContent.includes('written while offline'))", "search result").await;

    // A new group from the UI: it opens at once and bob is told about it.
    app.js("document.getElementById('search').value = ''; document.getElementById('search').dispatchEvent(new Event('input'));").await;
    app.click("#new-group").await;
    app.type_into("#new-group-name", "Weekend plans").await;
    app.type_into("#new-group-members", "bob").await;
    app.click("#new-group-form button[type=submit]").await;
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'Weekend plans'",
        "new group open",
    )
    .await;
    wait_event(&mut bob_events, "bob learns about the group", |e| matches!(e, Event::Conversation { conversation } if conversation.name.as_deref() == Some("Weekend plans"))).await;
    app.click("#members-button").await;
    app.wait_until("[...document.querySelectorAll('#member-list li')].map(l => l.textContent).join('|').includes('alice (admin)')", "member list with admin").await;
    app.wait_until("[...document.querySelectorAll('#member-list li')].some(l => l.textContent.startsWith('bob'))", "bob in the member list").await;
    app.js("document.getElementById('members-dialog').close()")
        .await;

    // A contact's message in a chat alice is not looking at raises a notification.
    let group = bob
        .conversations()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.info.name.as_deref() == Some("Weekend plans"))
        .unwrap()
        .info
        .conversation_id;
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'bob').click()").await;
    bob.send(group, "see you saturday").await.unwrap();
    for _ in 0..300 {
        if notifications(&log)
            .iter()
            .any(|n| n["summary"] == "bob in Weekend plans")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = notifications(&log);
    assert!(
        shown.iter().any(|n| n["summary"] == "bob in Weekend plans"
            && n["body"] == "see you saturday"
            && n["app"] == "Tern"),
        "{shown:?}"
    );
    app.wait_until(
        "document.querySelector('#conversations .conv .badge:not([hidden])')?.textContent === '1'",
        "unread badge 1 on the group",
    )
    .await;

    app.quit().await;

    // A later start signs in silently from the keychain and shows the cached conversations at
    // once, even with the relay down.
    relay.kill9();
    let app = Driver::launch(&app_binary(), &env).await;
    app.wait_until(
        "!document.getElementById('app').hidden",
        "main screen without signing in",
    )
    .await;
    // The chat open when the app quit is open again.
    app.wait_until(
        "document.getElementById('chat-title').textContent === 'bob'",
        "the last open chat restored",
    )
    .await;
    app.wait_until(
        "[...document.querySelectorAll('#conversations .conv .title')].map(t => t.textContent).join('|') === 'Weekend plans|bob'",
        "cached conversations, most recent first",
    )
    .await;
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'bob').click()").await;
    app.wait_until("[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'written while offline')", "cached history").await;
    app.quit().await;

    let _ = daemon.kill();
    let _ = daemon.wait();
    drop(bob);
    drop(xvfb);
    let _: Option<Client> = None;
}
