//! Read receipts tell the truth in the real desktop app (Xvfb, WebDriver) against a real
//! relay: opening a chat with many unread messages shows a "New messages" divider and marks
//! read only what is on screen; a message arriving while the user reads older ones is not
//! marked read and is counted on the jump-to-bottom button, which then brings it into view.

mod common;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;
use tern_client::{Client, Event};
use tern_proto::{ConversationId, Seq};

/// The highest read marker of `reader` that `client` has heard of in `conv`, waiting for
/// events until `pred` holds for it (up to 30 s).
async fn read_marker_until(
    client: &Client,
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    conv: ConversationId,
    pred: impl Fn(u64) -> bool,
) -> u64 {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut best = 0;
    loop {
        if let Some(info) = client.conversation(conv).await.unwrap() {
            for m in info
                .members
                .iter()
                .filter(|m| m.user_id != client.user_id())
            {
                best = best.max(m.read_seq.0);
            }
        }
        if pred(best) {
            return best;
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(_) => {}
            Err(_) => panic!("read marker stayed at {best}"),
        }
    }
}

#[tokio::test]
async fn only_messages_on_screen_are_marked_read_and_new_ones_wait_below() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let mut bob_events = bob.subscribe();
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // Alice accepts bob's chat on her phone (so it is an ordinary chat in the app), and reads
    // his first message there; then he writes 80 more.
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "hello").await.unwrap();
    let (phone, _phone_dir) = device(&relay, "alice").await;
    eventually("the phone has it", || async {
        phone.stored_messages(conv).await.unwrap().len() == 1
    })
    .await;
    phone.accept_request(conv).await.unwrap();
    phone.mark_read(conv, Seq(1)).await.unwrap();
    for i in 2..=81 {
        bob.send(conv, &format!("line {i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    read_marker_until(&bob, &mut bob_events, conv, |r| r >= 1).await;
    app.wait_until(
        "document.querySelector('#conversations .conv .badge')?.textContent === '80'",
        "80 unread",
    )
    .await;

    // Opening it: a divider before the first unread message, on screen; only what shows is
    // marked read.
    app.click("#conversations .conv").await;
    app.wait_until(
        "document.querySelector('#messages li.new-divider')?.nextElementSibling?.dataset.seq === '2'",
        "the divider before message 2",
    )
    .await;
    let seen = read_marker_until(&bob, &mut bob_events, conv, |r| r >= 2).await;
    assert!(
        seen < 81,
        "only the messages on screen were read, not all: {seen}"
    );
    app.wait_until(
        "!document.getElementById('jump-to-bottom').hidden && !document.getElementById('jump-count').hidden",
        "a jump button with the unread count",
    )
    .await;

    // Reading on to the bottom marks the rest.
    app.click("#jump-to-bottom").await;
    read_marker_until(&bob, &mut bob_events, conv, |r| r == 81).await;

    // Scrolled up, a new message is not marked read and waits below, counted.
    app.js("const l = document.getElementById('messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));").await;
    app.wait_until(
        "!document.getElementById('jump-to-bottom').hidden",
        "scrolled up",
    )
    .await;
    let top = app
        .js("return document.getElementById('messages').scrollTop")
        .await;
    bob.send(conv, "are you there?").await.unwrap();
    app.wait_until(
        "document.getElementById('jump-count').textContent === '1'",
        "one unread below",
    )
    .await;
    let still = app
        .js("return document.getElementById('messages').scrollTop")
        .await;
    assert_eq!(top, still, "the view did not move");
    // (A wrong read would have reached bob by now: give it time to arrive.)
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let marker = read_marker_until(&bob, &mut bob_events, conv, |_| true).await;
    assert_eq!(
        marker, 81,
        "the new message is not marked read while out of view"
    );
    app.click("#jump-to-bottom").await;
    read_marker_until(&bob, &mut bob_events, conv, |r| r == 82).await;

    app.quit().await;
    drop(xvfb);
}
