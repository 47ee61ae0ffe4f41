//! Accounts and authentication over HTTP and the WebSocket handshake: registration, login,
//! tokens that expire and can be revoked, limits on attempts and sessions.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::PROTOCOL_HEADER;

#[tokio::test]
async fn registration_validates_names_and_refuses_taken_ones_in_any_case() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let (status, body) = relay
        .post(
            "/v1/register",
            json!({"username": "ALICE", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("username_taken"))
    );
    let (status, body) = relay
        .post(
            "/v1/register",
            json!({"username": "a b", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, body) = relay
        .post(
            "/v1/register",
            json!({"username": "carol", "password": "short"}),
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, body) = relay
        .post("/v1/register", json!({"username": 5}), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_and_tokens_only_as_hashes() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let hash = relay
        .stored
        .rows("SELECT password_hash FROM users")
        .remove(0);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    assert_eq!(
        relay.stored.rows("SELECT length(token_hash) FROM sessions"),
        ["32"]
    );
    let bytes = relay.stored.contents();
    assert!(
        bytes.windows(9).any(|w| w == b"$argon2id"),
        "the dump holds the data"
    );
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "token in the database"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let (s1, b1) = relay
        .post(
            "/v1/login",
            json!({"username": "alice", "password": "wrong password"}),
            None,
        )
        .await;
    let (s2, b2) = relay
        .post(
            "/v1/login",
            json!({"username": "nobody", "password": "wrong password"}),
            None,
        )
        .await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(b1["code"], "invalid_credentials");
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_account_without_locking_out_other_accounts() {
    let relay = Relay::start_with(|c| {
        c.limits.login_per_account.burst = 3.0;
        c.limits.login_per_account.per_second = 0.001;
    })
    .await;
    relay.register("alice").await;
    relay.register("bob").await;
    for _ in 0..3 {
        let (status, _) = relay
            .post(
                "/v1/login",
                json!({"username": "alice", "password": "guess guess"}),
                None,
            )
            .await;
        assert_eq!(status, 401);
    }
    // Even the right password is refused while the account's bucket is empty.
    let (status, body) = relay
        .post(
            "/v1/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    relay.login("bob").await;
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_address() {
    let relay = Relay::start_with(|c| {
        c.limits.login_per_address.burst = 2.0;
        c.limits.login_per_address.per_second = 0.001;
    })
    .await;
    for name in ["x1", "x2"] {
        let (status, _) = relay
            .post(
                "/v1/login",
                json!({"username": name, "password": "guess guess"}),
                None,
            )
            .await;
        assert_eq!(status, 401);
    }
    let (status, body) = relay
        .post(
            "/v1/login",
            json!({"username": "x3", "password": "guess guess"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
}

#[tokio::test]
async fn the_handshake_refuses_missing_forged_and_malformed_tokens_with_a_code() {
    let relay = Relay::start().await;
    let url = relay.ws_url();
    let r = try_connect(&url, None, &[]).await.unwrap_err();
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let r = try_connect(&url, Some("tern_forged"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let r = try_connect(&url, Some(&token), &[(PROTOCOL_HEADER, "99")])
        .await
        .unwrap_err();
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("unsupported_version"))
    );
    assert!(try_connect(&url, Some(&token), &[(PROTOCOL_HEADER, "1")])
        .await
        .is_ok());
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let relay = Relay::start_with(|c| c.token_ttl = Duration::from_millis(300)).await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = try_connect(&relay.ws_url(), Some(&token), &[])
        .await
        .unwrap_err();
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("token_expired"))
    );
}

#[tokio::test]
async fn logging_out_revokes_the_token_and_closes_its_live_connection_only() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let laptop = relay.login("alice").await;
    let phone = relay.login("alice").await;
    let mut laptop_ws = Client::connect(&relay.ws_url(), &laptop).await;
    let mut phone_ws = Client::connect(&relay.ws_url(), &phone).await;

    let (status, _) = relay.post("/v1/logout", json!({}), Some(&laptop)).await;
    assert_eq!(status, 204);
    assert_eq!(laptop_ws.expect_close().await, Some(4001));
    let r = try_connect(&relay.ws_url(), Some(&laptop), &[])
        .await
        .unwrap_err();
    assert_eq!(r.body["code"], "token_revoked");
    // The phone is untouched.
    assert!(matches!(
        phone_ws.request(json!({"type": "ping"})).await,
        tern_proto::ServerFrame::Pong { .. }
    ));
}

#[tokio::test]
async fn logging_out_everywhere_revokes_every_session_of_the_user() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    relay.register("bob").await;
    let a1 = relay.login("alice").await;
    let a2 = relay.login("alice").await;
    let b = relay.login("bob").await;
    let mut c1 = Client::connect(&relay.ws_url(), &a1).await;
    let mut c2 = Client::connect(&relay.ws_url(), &a2).await;
    let mut cb = Client::connect(&relay.ws_url(), &b).await;
    let credentials = |user: &str| -> i64 {
        relay.stored.rows(&format!(
            "SELECT count(*) FROM device_credentials d JOIN users u ON u.id = d.user_id
             WHERE u.username = '{user}'"
        ))[0]
            .parse()
            .unwrap()
    };
    assert_eq!(credentials("alice"), 2, "one per login");
    let (status, _) = relay.post("/v1/logout_all", json!({}), Some(&a1)).await;
    assert_eq!(status, 204);
    // Every device loses its standing too, not only its session.
    assert_eq!(credentials("alice"), 0);
    assert_eq!(credentials("bob"), 1);
    assert_eq!(c1.expect_close().await, Some(4001));
    assert_eq!(c2.expect_close().await, Some(4001));
    for t in [&a1, &a2] {
        assert_eq!(
            try_connect(&relay.ws_url(), Some(t), &[])
                .await
                .unwrap_err()
                .body["code"],
            "token_revoked"
        );
    }
    assert!(matches!(
        cb.request(json!({"type": "ping"})).await,
        tern_proto::ServerFrame::Pong { .. }
    ));
    let (status, body) = relay.post("/v1/logout", json!({}), Some("nonsense")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[tokio::test]
async fn the_number_of_active_sessions_per_user_is_limited() {
    let relay = Relay::start_with(|c| c.limits.max_sessions_per_user = 2).await;
    relay.register("alice").await;
    let first = relay.login("alice").await;
    relay.login("alice").await;
    let (status, body) = relay
        .post(
            "/v1/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("session_limit"))
    );
    relay.post("/v1/logout", json!({}), Some(&first)).await;
    relay.login("alice").await;
}

#[tokio::test]
async fn a_new_connection_of_the_same_session_replaces_the_old_one() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let mut old = Client::connect(&relay.ws_url(), &token).await;
    let _new = Client::connect(&relay.ws_url(), &token).await;
    assert_eq!(old.expect_close().await, Some(4002));
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "m", "hi").await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": 12345, "client_id": "x", "body": "hi"}),
            "not_member",
        )
        .await;
    let health: serde_json::Value = reqwest::get(relay.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "ok");
    assert_eq!(health["connections"], 1);
    // Metrics are not on the public port, only on the separate metrics listener.
    let public = reqwest::get(relay.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404);
    let metrics = relay.metrics_text().await;
    assert!(
        metrics.contains("tern_messages_stored_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tern_connections_open 1"), "{metrics}");
    assert!(
        metrics.contains("tern_errors_total{code=\"not_member\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tern_send_ack_seconds_count 1"),
        "{metrics}"
    );
}

/// A client offers the protocol versions it speaks; the relay speaks the newest of them it
/// serves and says which in its welcome, so an app that also speaks a newer version keeps
/// working with this relay. Offering none it serves is refused before the upgrade.
#[tokio::test]
async fn the_relay_speaks_the_newest_protocol_version_both_sides_know() {
    use futures_util::StreamExt;
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let url = relay.ws_url();
    for offer in ["1", "1, 99", "99,1", " 0 , 1 ,x"] {
        let mut ws = try_connect(&url, Some(&token), &[(PROTOCOL_HEADER, offer)])
            .await
            .unwrap_or_else(|r| panic!("{offer:?} refused: {r:?}"));
        let first = ws.next().await.unwrap().unwrap();
        let welcome: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert_eq!(
            (welcome["type"].as_str(), welcome["protocol"].as_u64()),
            (Some("welcome"), Some(1)),
            "{offer:?}"
        );
    }
    for offer in ["99, 98", "one", ""] {
        let r = try_connect(&url, Some(&token), &[(PROTOCOL_HEADER, offer)])
            .await
            .unwrap_err();
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (400, Some("unsupported_version")),
            "{offer:?}"
        );
        assert!(
            r.body["message"].as_str().unwrap().contains("version 1"),
            "says what it speaks: {:?}",
            r.body
        );
    }
}
