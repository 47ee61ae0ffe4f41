//! Privacy and account security in the real desktop app (Xvfb, WebDriver) against a real
//! relay, with the other participants on the engine: a stranger's group invitation declined
//! from its request bar, blocking from the chat header (the blocked person's message never
//! shows), unblocking from the Privacy dialog, presence and read-receipt settings reaching the
//! user's other device, signing out another device from the device list, and changing the
//! password (a wrong current password is told plainly).

mod common;

use std::time::Duration;
use tern_proto::Seq;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;
use tern_client::{Client, ConnectionState, PresenceVisibility};

#[tokio::test]
async fn a_user_declines_a_request_blocks_unblocks_changes_settings_signs_out_a_device_and_changes_the_password(
) {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let (carol, _carol_dir) = signup(&relay, "carol").await;
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // Carol, a stranger, puts alice in a group: a request; Delete hides it.
    let group = carol
        .create_group("Free prizes", &["alice"])
        .await
        .unwrap()
        .conversation_id;
    carol.send(group, "click here").await.unwrap();
    app.wait_until(
        "[...document.querySelectorAll('#requests .conv .title')].some(t => t.textContent === 'Free prizes')",
        "the group request",
    )
    .await;
    app.click("#requests .conv").await;
    // (Deleting hides it until a new message: wait until carol's has arrived.)
    app.wait_until(
        "[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'click here')",
        "carol's message",
    )
    .await;
    app.wait_until(
        "!document.getElementById('request-bar').hidden && document.getElementById('request-block').hidden",
        "a group request's bar (no Block for a group)",
    )
    .await;
    app.click("#request-delete").await;
    app.wait_until(
        "document.getElementById('requests-section').hidden && !document.querySelector('#requests .conv')",
        "the request is gone",
    )
    .await;

    // Bob, accepted, then blocked from the chat header (asked first).
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "hi alice").await.unwrap();
    app.accept_first_request().await;
    app.wait_until(
        "document.getElementById('block-button').textContent === 'Block'",
        "an accepted direct chat with a Block button",
    )
    .await;
    app.click("#block-button").await;
    app.wait_until(
        "document.getElementById('block-dialog').open",
        "block confirmation",
    )
    .await;
    app.click("#block-confirm").await;
    app.wait_until(
        "!document.getElementById('blocked-bar').hidden && document.getElementById('composer-form').hidden && document.getElementById('blocked-text').textContent.includes('bob')",
        "the blocked bar",
    )
    .await;
    bob.send(conv, "let me in").await.unwrap();
    wait_settled(&bob).await;
    // Alice's second device has the entry (withheld), so the app's engine has it too by now.
    let (phone, _phone_dir) = device(&relay, "alice").await;
    eventually("the withheld entry reached alice", || async {
        phone
            .conversation(conv)
            .await
            .unwrap()
            .is_some_and(|c| c.last_seq >= Seq(2))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let leaked = app
        .js("return [...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent.includes('let me in'))")
        .await;
    assert_eq!(
        leaked,
        serde_json::json!(false),
        "a blocked message never shows"
    );

    // The Privacy dialog: bob is listed as blocked; unblocking brings the composer back.
    app.click("#privacy-button").await;
    app.wait_until(
        "document.getElementById('privacy-dialog').open && [...document.querySelectorAll('#blocked-list button[data-username]')].some(b => b.dataset.username === 'bob')",
        "bob in the blocked list",
    )
    .await;
    app.click("#blocked-list button[data-username='bob']").await;
    app.wait_until(
        "document.getElementById('blocked-list').textContent.includes('Nobody blocked')",
        "the block list is empty",
    )
    .await;

    // Settings reach alice's other device.
    app.js("const s = document.getElementById('presence-visibility'); s.value = 'nobody'; s.dispatchEvent(new Event('change'));").await;
    app.click("#read-receipts").await;
    eventually("the phone has the settings", || async {
        let p = phone.privacy().await.unwrap();
        p.presence == PresenceVisibility::Nobody && !p.read_receipts && p.blocked.is_empty()
    })
    .await;

    // The device list shows both; the phone is signed out from here in two clicks.
    app.js("document.getElementById('privacy-dialog').close(); document.getElementById('privacy-button').click();").await;
    app.wait_until(
        "document.querySelectorAll('#session-list button[data-session]').length === 1 && document.getElementById('session-list').textContent.includes('This device')",
        "two devices, this one marked",
    )
    .await;
    app.click("#session-list button[data-session]").await;
    app.wait_until(
        "document.querySelector('#session-list button[data-session]')?.textContent === 'Confirm sign out'",
        "sign-out asks to confirm",
    )
    .await;
    app.click("#session-list button[data-session]").await;
    eventually("the phone is signed out", || async {
        matches!(phone.connection_state(), ConnectionState::SignedOut { .. })
    })
    .await;
    app.wait_until(
        "document.querySelectorAll('#session-list button[data-session]').length === 0",
        "only this device left",
    )
    .await;

    // Changing the password: a wrong current one is told plainly, then it works.
    app.type_into("#old-password", "not my password").await;
    app.type_into("#new-password", "a much better one").await;
    app.type_into("#new-password-again", "a much better one")
        .await;
    app.click("#change-password").await;
    app.wait_until(
        "document.getElementById('password-error').textContent === 'The current password is wrong.'",
        "wrong password said plainly",
    )
    .await;
    app.clear("#old-password").await;
    app.type_into("#old-password", PASSWORD).await;
    app.click("#change-password").await;
    app.wait_until(
        "document.getElementById('old-password').value === '' && document.getElementById('password-error').textContent === ''",
        "password changed",
    )
    .await;
    let data = tempfile::tempdir().unwrap();
    Client::login(
        config(&relay.url(), data.path()),
        "alice",
        "a much better one",
    )
    .await
    .expect("the new password works");

    app.quit().await;
    drop(xvfb);
}
