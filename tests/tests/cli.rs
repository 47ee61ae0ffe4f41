//! The `tern` CLI as a real process: its outbox survives being killed, and a machine without a
//! keychain gets a clear error instead of a plaintext token.

mod common;

use std::time::Duration;
use tern_proto::{ConversationId, UserId};

use common::*;

#[tokio::test]
async fn a_cli_killed_with_messages_in_its_outbox_sends_them_after_it_restarts() {
    let mut relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let (code, _, err) = tern_output(&relay, data.path(), &["register", "alice"]);
    assert_eq!(code, 0, "{err}");
    let (code, login, err) = tern_output(&relay, data.path(), &["login", "alice"]);
    assert_eq!(code, 0, "{err}");
    let alice_id = login[0]["user_id"].as_i64().unwrap();
    let (bob, _b) = signup(&relay, "bob").await;
    let (code, out, err) = tern_output(&relay, data.path(), &["direct", "bob"]);
    assert_eq!(code, 0, "{err}");
    let conv = out[0]["conversation_id"].as_i64().unwrap();

    relay.kill9();
    let mut sender = tern(
        &relay,
        data.path(),
        &[
            "send",
            &conv.to_string(),
            "sent",
            "from",
            "a",
            "doomed",
            "process",
            "--wait",
            "60",
        ],
    )
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    // Wait until the message is in the CLI's outbox, then kill the process.
    let cache = tern_client::cache_path(&config(&relay.url(), data.path()), UserId(alice_id));
    eventually("message written to the outbox", || {
        let cache = cache.clone();
        async move {
            rusqlite::Connection::open(&cache)
                .and_then(|db| {
                    db.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))
                })
                .unwrap_or(0)
                == 1
        }
    })
    .await;
    sender.kill().unwrap();
    sender.wait().unwrap();

    relay.restart();
    let (code, events, err) = tern_output(
        &relay,
        data.path(),
        &["listen", "--until-sent", "--for", "60"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "status" && e["status"] == "sent"),
        "{events:?}"
    );
    eventually("bob received it exactly once", || async {
        let got = bob.stored_messages(ConversationId(conv)).await.unwrap();
        got.len() == 1 && got[0].body == "sent from a doomed process"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.stored(ConversationId(conv)).len(), 1);

    // History and search from the CLI's own cache.
    let (_, history, _) = tern_output(&relay, data.path(), &["history", &conv.to_string()]);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["body"], "sent from a doomed process");
    let (_, found, _) = tern_output(&relay, data.path(), &["search", "doomed"]);
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn without_a_keychain_login_fails_with_a_clear_error_and_writes_no_token() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let (code, _, err) = tern_output(&relay, data.path(), &["register", "alice"]);
    assert_eq!(code, 0, "{err}");
    let out = tern(&relay, data.path(), &["login", "alice"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("keychain") && stderr.contains("Secret Service"),
        "{stderr}"
    );
    // The refused login was revoked on the relay: no usable session was left behind.
    let db = rusqlite::Connection::open(&relay.db).unwrap();
    let (total, revoked): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(revoked_at) FROM sessions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((total, revoked), (1, 1));
}

#[tokio::test]
async fn the_cli_replies_edits_reacts_deletes_and_sets_a_display_name() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let (code, out, err) = tern_output(&relay, data.path(), args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    run(&["register", "alice"]);
    run(&["login", "alice"]);
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = run(&["direct", "bob"])[0]["conversation_id"]
        .as_i64()
        .unwrap();
    let c = conv.to_string();
    run(&["send", &c, "helo"]);
    run(&["send", &c, "second"]);
    run(&["send", &c, "about", "the", "first", "--reply-to", "1"]);
    let edited = run(&["edit", &c, "1", "hello"]);
    assert_eq!(
        (edited[0]["body"].as_str(), edited[0]["edited"].as_bool()),
        (Some("hello"), Some(true))
    );
    let reacted = run(&["react", &c, "2", "🎉"]);
    assert_eq!(reacted[0]["reactions"][0]["emoji"], "🎉");
    assert_eq!(reacted[0]["reactions"][0]["mine"], true);
    let deleted = run(&["delete", &c, "2"]);
    assert_eq!(deleted[0]["deleted"], true);
    run(&["profile", "--display-name", "Alice Liddell"]);
    let face = data.path().join("face.png");
    image::RgbImage::from_pixel(600, 400, image::Rgb([40, 90, 200]))
        .save(&face)
        .unwrap();
    run(&["profile", "--avatar", face.to_str().unwrap()]);
    eventually("bob sees alice's picture", || async {
        let list = bob.conversations().await.unwrap();
        list.first().is_some_and(|c| c.picture.is_some())
    })
    .await;

    // Bob's engine folds all of it, and shows alice by her display name.
    eventually("bob sees every change", || async {
        let view = bob.messages(ConversationId(conv), None, 10).await.unwrap();
        view.len() == 3
            && view[0].body == "hello"
            && view[0].edited
            && view[1].deleted
            && view[2]
                .reply_to
                .as_ref()
                .is_some_and(|q| q.snippet == "hello")
            && view[2].sender_name == "Alice Liddell"
    })
    .await;
    eventually("bob's chat is titled by the display name", || async {
        bob.conversations().await.unwrap()[0].title == "Alice Liddell"
    })
    .await;
    let found = bob.find_people("Liddell").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].username, "alice");

    // History in the CLI shows the same; refusing a bad action exits non-zero with a reason.
    let history = run(&["history", &c]);
    assert_eq!(history.len(), 3);
    let (code, _, err) = tern_output(&relay, data.path(), &["edit", &c, "2", "too late"]);
    assert_ne!(code, 0);
    assert!(err.contains("deleted"), "{err}");
}
