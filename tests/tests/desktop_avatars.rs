//! Profile and group pictures in the real desktop app (Xvfb, WebDriver) against a real relay,
//! with other participants on the engine: a contact's picture shows in the list and the chat
//! header, group messages show their sender's picture or initials, and the user sets their own
//! picture and a group's from the Profile and Members dialogs (the file dialog is answered by
//! `TERN_TEST_PICK`).

mod common;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// A PNG of one colour.
fn png(path: &std::path::Path, rgb: [u8; 3]) {
    image::RgbImage::from_pixel(800, 600, image::Rgb(rgb))
        .save(path)
        .unwrap();
}

#[tokio::test]
async fn pictures_show_in_the_list_header_and_beside_group_messages_and_can_be_set() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _b) = signup(&relay, "bob").await;
    let (carol, _c) = signup(&relay, "carol").await;
    let bob_face = work.path().join("bob.png");
    png(&bob_face, [200, 40, 40]);
    bob.set_avatar(Some(&bob_face)).await.unwrap();
    let mine = work.path().join("alice.png");
    png(&mine, [40, 40, 200]);
    let xvfb = Xvfb::start();
    let mut env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    env.extend([("TERN_TEST_PICK", mine.display().to_string())]);
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;
    let direct = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(direct, "hi, it's bob").await.unwrap();
    app.accept_first_request().await;

    // Bob's picture: in his row and in the header of the open chat.
    let sha = bob.conversations().await.unwrap()[0]
        .info
        .members
        .iter()
        .find(|m| m.username == "bob")
        .and_then(|m| m.avatar.clone())
        .expect("bob's own engine knows his picture")
        .sha256;
    app.wait_until(
        &format!("document.querySelector('#conversations li.conv[data-id=\"{direct}\"] > span.avatar.has-picture[data-sha=\"{sha}\"] img')"),
        "bob's picture in his row",
    )
    .await;
    app.wait_until(
        &format!("document.querySelector('#chat-avatar.has-picture[data-sha=\"{sha}\"]')"),
        "bob's picture in the header",
    )
    .await;

    // A group: bob's messages show his picture, carol's (she has none) her initial.
    let group = bob
        .create_group("team", &["alice", "carol"])
        .await
        .unwrap()
        .conversation_id;
    carol.accept_request(group).await.unwrap();
    bob.send(group, "welcome").await.unwrap();
    carol.send(group, "hello all").await.unwrap();
    app.wait_until(
        &format!("document.querySelector('li.conv[data-id=\"{group}\"]')"),
        "the group",
    )
    .await;
    app.click(&format!("li.conv[data-id=\"{group}\"]")).await;
    if app
        .js("return !!document.getElementById('request-accept') && !document.getElementById('request-accept').closest('[hidden]')")
        .await
        .as_bool()
        .unwrap_or(false)
    {
        app.click("#request-accept").await;
    }
    app.wait_until(
        "[...document.querySelectorAll('#messages li.msg')].length >= 2",
        "the group's messages",
    )
    .await;
    app.wait_until(
        &format!("[...document.querySelectorAll('#messages li.msg')].some(m => m.textContent.includes('welcome') && m.querySelector('span.avatar-msg.has-picture[data-sha=\"{sha}\"]'))"),
        "bob's picture beside his group message",
    )
    .await;
    // The group's own story, as lines of their own among the messages.
    let notices = app
        .js("return [...document.querySelectorAll('#messages li.msg.notice .notice-text')].map(n => n.textContent)")
        .await;
    assert_eq!(
        notices,
        serde_json::json!(["bob created the group “team”", "bob added you and carol"])
    );
    let carol_avatar = app
        .js("const m = [...document.querySelectorAll('#messages li.msg')].find(m => m.textContent.includes('hello all')); const a = m && m.querySelector('span.avatar-msg'); return a ? [a.textContent.trim(), !!a.querySelector('img')] : null")
        .await;
    assert_eq!(
        carol_avatar,
        serde_json::json!(["C", false]),
        "carol's initial, no picture"
    );

    // Alice sets her own picture from the Profile dialog; bob sees it.
    app.click("#profile-button").await;
    app.click("#avatar-choose").await;
    eventually("bob sees alice's picture", || async {
        bob.conversations()
            .await
            .unwrap()
            .iter()
            .find(|c| c.info.conversation_id == direct)
            .is_some_and(|c| c.picture.is_some())
    })
    .await;
    app.js("document.getElementById('profile-dialog').close()")
        .await;

    // And the group's picture from the Members dialog; carol sees it.
    app.click("#members-button").await;
    app.click("#group-avatar-choose").await;
    eventually("carol sees the group's picture", || async {
        carol
            .conversations()
            .await
            .unwrap()
            .iter()
            .find(|c| c.info.conversation_id == group)
            .is_some_and(|c| c.picture.is_some())
    })
    .await;
    app.wait_until(
        &format!("document.querySelector('#conversations li.conv[data-id=\"{group}\"] > span.avatar.has-picture img')"),
        "the group's picture in its row",
    )
    .await;
    app.wait_until(
        "[...document.querySelectorAll('#messages li.msg.notice .notice-text')].some(n => n.textContent === \"You changed the group's picture\")",
        "the notice of alice's own change",
    )
    .await;
    app.js("document.getElementById('members-dialog').close()")
        .await;

    // This device's photo-location setting: on by default, and kept by the engine.
    app.click("#privacy-button").await;
    app.wait_until(
        "document.getElementById('privacy-dialog').open && !document.getElementById('strip-location').disabled && document.getElementById('strip-location').checked",
        "photo location removed by default",
    )
    .await;
    app.click("#strip-location").await;
    // The engine keeps it in the account's cache (read here with the app still running).
    let cache = files_under(&work.path().join("app"))
        .into_iter()
        .find(|p| p.ends_with("cache.db"))
        .expect("the app's cache");
    eventually("the setting is stored", || async {
        rusqlite::Connection::open(&cache)
            .and_then(|db| {
                db.query_row(
                    "SELECT value FROM meta WHERE key = 'keep_photo_location'",
                    [],
                    |r| r.get::<_, String>(0),
                )
            })
            .is_ok_and(|v| v == "true")
    })
    .await;
    app.js("document.getElementById('privacy-dialog').close()")
        .await;
    app.click("#privacy-button").await;
    app.wait_until(
        "document.getElementById('privacy-dialog').open && !document.getElementById('strip-location').disabled && !document.getElementById('strip-location').checked",
        "keeping photo locations, read back from the engine",
    )
    .await;
    app.quit().await;
}
