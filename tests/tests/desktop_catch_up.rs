//! Signing in on a new computer (the real app under Xvfb, a recording notification daemon, a
//! real relay): the first sync brings the account's history, and only what is still unread
//! raises a notification. Messages already read on another device are not news, nor are
//! those of a chat muted on another device (the mutes come with the sync's last frame). (Its own
//! test binary: the notification daemon owns a bus name, and two apps starting at once on two
//! cores can miss WebDriver's session timeout.)

mod common;

use std::time::Duration;

use common::webdriver::{app_env, notifications, notifyd, Driver, Xvfb};
use common::*;
use tern_proto::Seq;

#[tokio::test]
async fn a_new_device_notifies_only_what_is_still_unread() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let (phone, _phone_dir) = signup(&relay, "alice").await;
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    for body in ["read one", "read two", "read three"] {
        bob.send(conv, body).await.unwrap();
    }
    wait_settled(&bob).await;
    eventually("the phone has them", || async {
        phone.stored_messages(conv).await.unwrap().len() == 3
    })
    .await;
    phone.accept_request(conv).await.unwrap();
    phone.mark_read(conv, Seq(3)).await.unwrap();
    bob.send(conv, "still unread").await.unwrap();
    wait_settled(&bob).await;
    // A chat muted on the phone, with an unread message in it.
    let (carol, _carol_dir) = signup(&relay, "carol").await;
    let quiet = carol.start_direct("alice").await.unwrap().conversation_id;
    carol.send(quiet, "muted news").await.unwrap();
    wait_settled(&carol).await;
    eventually("the phone has the muted chat", || async {
        phone.stored_messages(quiet).await.unwrap().len() == 1
    })
    .await;
    phone.accept_request(quiet).await.unwrap();
    phone
        .update_chat_prefs(quiet, |p| p.muted = true)
        .await
        .unwrap();
    let (tablet, _tablet_dir) = device(&relay, "alice").await;
    eventually("the mute is on the relay", || async {
        tablet
            .chat_prefs()
            .await
            .unwrap()
            .iter()
            .any(|p| p.conversation_id == quiet && p.muted)
    })
    .await;

    // Alice signs in on a new computer.
    let xvfb = Xvfb::start();
    let (mut daemon, log) = notifyd(work.path());
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.sign_in("alice").await;
    // The first sync, then the notifications it leaves (up to 30 s on a loaded machine).
    for _ in 0..300 {
        if notifications(&log)
            .iter()
            .any(|n| n["body"].as_str() == Some("still unread"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a notification for the read ones time to come (one per chat, updated in place).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let shown = notifications(&log);
    let bodies: Vec<&str> = shown.iter().filter_map(|n| n["body"].as_str()).collect();
    assert!(
        bodies.last() == Some(&"still unread"),
        "the unread one, alone: {shown:?}"
    );
    assert!(
        !bodies
            .iter()
            .any(|b| b.contains("read") && b != &"still unread"),
        "nothing read elsewhere: {shown:?}"
    );
    assert!(
        !bodies.iter().any(|b| b.contains("muted news")),
        "nothing from a chat muted elsewhere: {shown:?}"
    );

    app.quit().await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    drop(xvfb);
}
