//! Account security through a real relay: changing the password, the list of signed-in
//! devices and signing one out, the operator's password reset, and raising the argon2 cost.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tern_proto::{close, ConversationId, NoticeAction, ServerFrame};

async fn get(relay: &Relay, path: &str, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(relay.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login_with(relay: &Relay, name: &str, password: &str) -> (u16, Value) {
    relay
        .post(
            "/v1/login",
            json!({"username": name, "password": password, "device_name": "laptop"}),
            None,
        )
        .await
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_device_and_needs_the_old_one() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let here = relay.login("alice").await;
    let there = relay.login("alice").await;
    let mut here_ws = Client::connect(&relay.ws_url(), &here).await;
    let mut there_ws = Client::connect(&relay.ws_url(), &there).await;

    let (status, body) = relay
        .post(
            "/v1/password",
            json!({"old_password": "wrong password", "new_password": "a new secret"}),
            Some(&here),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, _) = relay
        .post(
            "/v1/password",
            json!({"old_password": PASSWORD, "new_password": "short"}),
            Some(&here),
        )
        .await;
    assert_eq!(status, 400);

    let (status, body) = relay
        .post(
            "/v1/password",
            json!({"old_password": PASSWORD, "new_password": "a new secret"}),
            Some(&here),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(there_ws.expect_close().await, Some(close::REVOKED.code));
    // This device stays signed in and working.
    let ServerFrame::Pong { .. } = here_ws.request(json!({"type": "ping"})).await else {
        panic!("this device still works")
    };
    assert_eq!(login_with(&relay, "alice", PASSWORD).await.0, 401);
    assert_eq!(login_with(&relay, "alice", "a new secret").await.0, 200);
    let (status, _) = get(&relay, "/v1/sessions", &there).await;
    assert_eq!(status, 401, "the other device's token is dead");
}

#[tokio::test]
async fn the_session_list_shows_each_device_and_one_can_be_signed_out() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    relay.register("mallory").await;
    let laptop = relay.login("alice").await;
    let (_, lost) = login_with(&relay, "alice", PASSWORD).await;
    let lost = lost["token"].as_str().unwrap().to_owned();
    let mut lost_ws = Client::connect(&relay.ws_url(), &lost).await;

    let (status, body) = get(&relay, "/v1/sessions", &laptop).await;
    assert_eq!(status, 200, "{body}");
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{body}");
    let current: Vec<bool> = sessions
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    let other = sessions
        .iter()
        .find(|s| !s["current"].as_bool().unwrap())
        .unwrap();
    assert_eq!(other["device_name"], "laptop");
    // Its last connection is recorded, to the hour.
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (_, body) = get(&relay, "/v1/sessions", &laptop).await;
            let s = body["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["session_id"] == other["session_id"])
                .cloned()
                .unwrap();
            if let Some(at) = s["last_seen_at"].as_i64() {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the connected device's last-seen time is recorded");
    assert_eq!(seen % 3_600_000, 0);

    // Someone else's session id is not found; the lost device's is signed out at once.
    let mallory = relay.login("mallory").await;
    let id = other["session_id"].as_i64().unwrap();
    let (status, _) = relay
        .post(
            &format!("/v1/sessions/{id}/revoke"),
            json!({}),
            Some(&mallory),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = relay
        .post(
            &format!("/v1/sessions/{id}/revoke"),
            json!({}),
            Some(&laptop),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(lost_ws.expect_close().await, Some(close::REVOKED.code));
    let (_, body) = get(&relay, "/v1/sessions", &laptop).await;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_operator_reset_sets_the_password_and_closes_every_connection_within_a_heartbeat() {
    let relay = Relay::start_with(|c| {
        c.heartbeat.interval = Duration::from_millis(200);
    })
    .await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let mut ws = Client::connect(&relay.ws_url(), &token).await;

    let db = relay.dir.path().join("relay.db");
    let store = match &relay.stored {
        Stored::Postgres(url) => Some(url.clone()),
        Stored::Sqlite(_) => None,
    };
    let (password, revoked) = tokio::task::spawn_blocking(move || {
        tern_server::admin::reset_password(
            &db,
            store.as_deref(),
            "ALICE",
            Some("set by the operator".into()),
            tern_server::auth::Argon2Cost::default(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((password.as_str(), revoked), ("set by the operator", 1));
    // Another process changed the database; the relay notices at its next heartbeat.
    assert_eq!(ws.expect_close().await, Some(close::REVOKED.code));
    assert_eq!(login_with(&relay, "alice", PASSWORD).await.0, 401);
    assert_eq!(
        login_with(&relay, "alice", "set by the operator").await.0,
        200
    );
}

#[tokio::test]
async fn a_raised_argon2_cost_upgrades_a_users_hash_at_their_next_login() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let hash = |relay: &Relay| {
        relay
            .stored
            .rows("SELECT password_hash FROM users WHERE username = 'alice'")
            .remove(0)
    };
    assert!(hash(&relay).contains("m=19456,t=2"), "{}", hash(&relay));
    let dir = relay.stop().await;

    let mut config = test_config(dir.path());
    config.limits.argon2 = tern_server::auth::Argon2Cost {
        memory_kib: 8 * 1024,
        iterations: 3,
    };
    let relay = Relay::start_in(dir, config).await;
    assert_eq!(login_with(&relay, "alice", PASSWORD).await.0, 200);
    assert!(hash(&relay).contains("m=8192,t=3"), "{}", hash(&relay));
    assert_eq!(login_with(&relay, "alice", PASSWORD).await.0, 200);
    assert_eq!(login_with(&relay, "alice", "not the password").await.0, 401);
}

#[tokio::test]
async fn a_deleted_account_leaves_everything_keeps_its_messages_and_holds_its_name() {
    let relay = Relay::start().await;
    let mut bob = relay.user("bob").await;
    relay.register("alice").await;
    let alice_token = relay.login("alice").await;
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let direct = alice.start_direct("bob").await;
    bob.accept(direct).await;
    let group = alice.create_group("club", &["bob"]).await;
    alice.send_msg(direct, "a1", "keep this").await;

    let (status, body) = relay
        .post(
            "/v1/account/delete",
            json!({"password": "not the password"}),
            Some(&alice_token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, body) = relay
        .post(
            "/v1/account/delete",
            json!({"password": PASSWORD}),
            Some(&alice_token),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(alice.expect_close().await, Some(close::REVOKED.code));

    // Bob sees alice leave both conversations and go offline; bob is now the group's admin,
    // and the group's log says that a deleted account left (the direct chat's says nothing).
    let mut left = std::collections::HashSet::new();
    let mut notices = Vec::new();
    while left.len() < 2 || notices.is_empty() {
        let frame = bob
            .expect(|f| match f {
                ServerFrame::Conversation { conversation, .. }
                    if conversation.members.iter().all(|m| m.username != "alice") =>
                {
                    Some(f.clone())
                }
                ServerFrame::Message { message }
                    if message.notice().map(|n| n.action) == Some(NoticeAction::Left) =>
                {
                    Some(f.clone())
                }
                _ => None,
            })
            .await;
        match frame {
            ServerFrame::Conversation {
                conversation: c, ..
            } => {
                if c.conversation_id == ConversationId(group) {
                    assert_eq!(c.members[0].role, tern_proto::MemberRole::Admin);
                } else {
                    // A direct chat has no admin: the one left is not made one.
                    assert_eq!(c.members[0].role, tern_proto::MemberRole::Member);
                }
                left.insert(c.conversation_id);
            }
            ServerFrame::Message { message } => notices.push(message),
            _ => unreachable!(),
        }
    }
    let ServerFrame::History { messages, .. } = bob
        .request(json!({"type": "history", "conversation_id": group}))
        .await
    else {
        panic!("history")
    };
    let last = messages.last().expect("the group's log");
    assert_eq!(last, &notices[0], "the live notice is what history keeps");
    assert_eq!(last.conversation_id, ConversationId(group));
    assert_eq!(last.notice().map(|n| n.action), Some(NoticeAction::Left));
    assert_eq!(last.sender, "Deleted account");
    // Her messages stay, shown as from a deleted account.
    let ServerFrame::History { messages, .. } = bob
        .request(json!({"type": "history", "conversation_id": direct}))
        .await
    else {
        panic!("history")
    };
    assert_eq!(messages[0].body, "keep this");
    assert_eq!(messages[0].sender, "Deleted account");
    // And bob cannot delete it for everyone: it is not his, and a direct chat has no admin.
    bob.expect_error(
        json!({"type": "send", "conversation_id": direct, "client_id": "del-a1",
               "kind": "delete", "target_seq": messages[0].seq}),
        "forbidden",
    )
    .await;
    assert_eq!(
        messages.len(),
        1,
        "no notice in a direct chat: {messages:?}"
    );

    // She cannot sign in; no one can start a chat with her or take her name yet.
    assert_eq!(login_with(&relay, "alice", PASSWORD).await.0, 401);
    bob.expect_error(
        json!({"type": "start_direct", "username": "alice"}),
        "not_found",
    )
    .await;
    let (status, _) = relay
        .post(
            "/v1/register",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(status, 409, "the name is held");
    let (status, _) = get(&relay, "/v1/sessions", &alice_token).await;
    assert_eq!(status, 401);
    // Her connection ending after the deletion wrote no last-seen time back: the account
    // forgets it.
    assert_eq!(
        relay.stored.rows(
            "SELECT count(*) FROM users WHERE deleted_at IS NOT NULL AND last_seen IS NOT NULL"
        ),
        vec!["0"]
    );
}

/// A deleted account's name is freed once its hold has passed (30 days by default; none here):
/// the relay's sweep, which also runs when it starts, releases it, and a new account can take
/// it without reaching the old one's data.
#[tokio::test]
async fn a_deleted_accounts_name_is_freed_after_its_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.limits.deleted_name_hold = std::time::Duration::ZERO;
    let relay = Relay::start_in(dir, config.clone()).await;
    let mut bob = relay.user("bob").await;
    relay.register("alice").await;
    let alice_token = relay.login("alice").await;
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let direct = alice.start_direct("bob").await;
    bob.accept(direct).await;
    alice.send_msg(direct, "a1", "from the first alice").await;
    let (status, body) = relay
        .post(
            "/v1/account/delete",
            json!({"password": PASSWORD}),
            Some(&alice_token),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    drop((alice, bob));

    // The sweep runs at start: a restarted relay frees the name (once the sweep has run).
    let relay = Relay::start_in(relay.stop().await, config).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = relay
            .post(
                "/v1/register",
                json!({"username": "alice", "password": PASSWORD}),
                None,
            )
            .await;
        if status == 201 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the name was never freed: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = relay.login("alice").await;
    let mut new_alice = Client::connect(&relay.ws_url(), &token).await;
    let synced = new_alice.sync(json!({}), 0).await;
    assert!(
        synced.conversations.is_empty() && synced.messages.is_empty(),
        "the new alice sees nothing of the old one's: {synced:?}"
    );
}

/// One session holds at most 16 connections (different client instances): a newer one closes
/// the oldest, so a token, stolen or not, cannot hold sockets without bound. Another session of
/// the same user is not touched.
#[tokio::test]
async fn a_session_holds_at_most_sixteen_connections_and_a_newer_one_closes_the_oldest() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let (token, other) = (relay.login("alice").await, relay.login("alice").await);
    let mut phone = Client::connect(&relay.ws_url(), &other).await;
    let mut conns = Vec::new();
    for i in 0..16 {
        let tag = format!("instance-{i}");
        conns.push(
            Client::connect_with(&relay.ws_url(), &token, &[("tern-instance", tag.as_str())]).await,
        );
    }
    let _newest =
        Client::connect_with(&relay.ws_url(), &token, &[("tern-instance", "instance-16")]).await;
    assert_eq!(
        conns[0].expect_close().await,
        Some(tern_proto::close::REPLACED.code),
        "the oldest"
    );
    for c in &mut conns[1..] {
        assert!(matches!(
            c.request(json!({"type": "ping"})).await,
            ServerFrame::Pong { .. }
        ));
    }
    assert!(matches!(
        phone.request(json!({"type": "ping"})).await,
        ServerFrame::Pong { .. }
    ));
}
