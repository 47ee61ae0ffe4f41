//! Read receipts tell the truth in the real desktop app (Xvfb, WebDriver) against a real
//! relay: opening a chat with many unread messages shows a "New messages" divider and marks
//! read only what is on screen; a message arriving while the user reads older ones is not
//! marked read and is counted on the jump-to-bottom button, which then brings it into view; a
//! list at its bottom stays there when the composer grows; and messages that come while the
//! user looks elsewhere (or at a dialog over the chat) wait under a divider, read only as far
//! as they showed once the user is back.

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

    // At the bottom, a composer grown by five lines shrinks the list: it stays at its bottom,
    // so the next message shows and is read.
    app.js("const b = document.getElementById('composer'); b.value = 'one\\ntwo\\nthree\\nfour\\nfive'; b.dispatchEvent(new Event('input', { bubbles: true }));").await;
    app.wait_until(
        "document.getElementById('composer').offsetHeight > 80",
        "the composer grew",
    )
    .await;
    bob.send(conv, "still there").await.unwrap();
    read_marker_until(&bob, &mut bob_events, conv, |r| r == 83).await;
    app.js("const b = document.getElementById('composer'); b.value = ''; b.dispatchEvent(new Event('input', { bubbles: true }));").await;

    // The user looks elsewhere (the window loses focus; a test machine has no other window to
    // give it to, so the page is told so) while 60 messages come: they come under a divider,
    // and the view follows them only until the divider reaches the top.
    app.js("document.hasFocus = () => false; window.dispatchEvent(new Event('blur'));")
        .await;
    for i in 84..=143 {
        bob.send(conv, &format!("while away {i}")).await.unwrap();
    }
    app.wait_until(
        "document.querySelector('#messages li.msg[data-seq=\"143\"]')",
        "all 60 arrived",
    )
    .await;
    app.wait_until(
        "document.querySelector('#messages li.new-divider')?.nextElementSibling?.dataset.seq === '84'",
        "a divider before the first that came while away",
    )
    .await;
    let in_view = app
        .js("const l = document.getElementById('messages').getBoundingClientRect(); const d = document.querySelector('#messages li.new-divider').getBoundingClientRect(); return d.top >= l.top - 1 && d.bottom <= l.bottom;")
        .await;
    assert_eq!(in_view, serde_json::json!(true), "the divider is on screen");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        read_marker_until(&bob, &mut bob_events, conv, |_| true).await,
        83,
        "nothing is read while the user looks elsewhere"
    );
    // Back: what is on screen is read, not what waits below.
    app.js("delete document.hasFocus; window.dispatchEvent(new Event('focus'));")
        .await;
    let seen = read_marker_until(&bob, &mut bob_events, conv, |r| r > 83).await;
    assert!(seen < 143, "only what showed was read: {seen}");
    app.wait_until(
        "!document.getElementById('jump-count').hidden",
        "the rest counted below",
    )
    .await;
    app.click("#jump-to-bottom").await;
    read_marker_until(&bob, &mut bob_events, conv, |r| r == 143).await;

    // A dialog over the chat (here the profile; a picture in the viewer alike): a message that
    // comes meanwhile is not read, though its row is at the bottom behind the dialog; it is
    // once the dialog closes.
    app.click("#profile-button").await;
    app.wait_until(
        "document.getElementById('profile-dialog').open",
        "the profile dialog",
    )
    .await;
    bob.send(conv, "behind the dialog").await.unwrap();
    app.wait_until(
        "document.querySelector('#messages li.msg[data-seq=\"144\"]')",
        "the message arrived behind the dialog",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        read_marker_until(&bob, &mut bob_events, conv, |_| true).await,
        143,
        "nothing is read behind a dialog"
    );
    app.js("document.getElementById('profile-dialog').close()")
        .await;
    read_marker_until(&bob, &mut bob_events, conv, |r| r == 144).await;

    // Scrolled to the middle, a message above the view that grows (a reaction) does not push
    // what is read down: the first row in view stays where it was.
    app.js("const l = document.getElementById('messages'); l.scrollTop = 700; l.dispatchEvent(new Event('scroll'));").await;
    let first_in_view = "(() => { const l = document.getElementById('messages').getBoundingClientRect(); const r = [...document.querySelectorAll('#messages li.msg')].find(li => li.getBoundingClientRect().bottom > l.top + 1); return [r.dataset.seq, Math.round(r.getBoundingClientRect().top)]; })()";
    let before = app.js(&format!("return {first_in_view}")).await;
    let above: u64 = before[0].as_str().unwrap().parse::<u64>().unwrap() - 3;
    bob.react(conv, Seq(above), "😮").await.unwrap();
    app.wait_until(
        &format!("!!document.querySelector('#messages li.msg[data-seq=\"{above}\"] .reaction')"),
        "the reaction on a message above the view",
    )
    .await;
    assert_eq!(
        app.js(&format!("return {first_in_view}")).await,
        before,
        "what was read stays in place"
    );

    app.quit().await;
    drop(xvfb);
}
