//! Abuse of the account endpoints: concurrent password guessing, locking an owner out, floods
//! of registrations, clients behind a reverse proxy, cross-site posts, oversized bodies, and
//! the memory password hashing leaves behind.

mod common;

use common::*;
use futures_util::future::join_all;
use serde_json::{json, Value};
use tern_server::config::Registration;

/// POST a JSON body with extra headers; returns (status, parsed body).
async fn post_with(
    relay: &Relay,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = relay.http.post(relay.url(path)).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A login attempt from the client `ip` (named by X-Real-IP through a trusted proxy).
async fn login_from(relay: &Relay, ip: &str, body: Value) -> (u16, Value) {
    post_with(relay, "/v1/login", body, &[("x-real-ip", ip)]).await
}

fn guess(name: &str) -> Value {
    json!({"username": name, "password": "wrong guess"})
}

fn right(name: &str) -> Value {
    json!({"username": name, "password": PASSWORD})
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn concurrent_wrong_guesses_for_one_account_are_checked_at_most_burst_times() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let replies = join_all((0..60).map(|_| relay.post("/v1/login", guess("alice"), None))).await;
    let invalid = replies
        .iter()
        .filter(|(s, b)| *s == 401 && code(b) == "invalid_credentials")
        .count();
    let refused = replies
        .iter()
        .filter(|(s, b)| *s == 429 && code(b) == "too_many_attempts")
        .count();
    let checked = relay.metric("tern_password_verifications_total").await;
    println!("60 concurrent guesses: {invalid} checked and refused, {refused} too_many_attempts, {checked} password verifications");
    assert_eq!(invalid + refused, 60, "{replies:?}");
    assert!(
        invalid <= 10,
        "{invalid} guesses were checked; the burst is 10"
    );
    assert!(checked <= 10, "{checked} password verifications");
}

#[tokio::test]
async fn an_attacker_failing_logins_does_not_lock_out_the_owner_on_another_address() {
    let relay = Relay::start_with(|c| {
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
        // The default burst of 10 per account and address, refilled so slowly that eleven
        // password checks in a row on a busy machine never earn one back.
        c.limits.login_per_account_address.per_second = 0.001;
    })
    .await;
    relay.register("alice").await;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(login_from(&relay, "203.0.113.7", guess("alice")).await.0);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429; 5]);
    // The attacker's address is still held back, even with the right password.
    assert_eq!(
        login_from(&relay, "203.0.113.7", right("alice")).await.0,
        429
    );
    let (status, body) = login_from(&relay, "198.51.100.2", right("alice")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn with_the_account_wide_ceiling_spent_a_device_that_logged_in_before_still_gets_in() {
    let relay = Relay::start_with(|c| {
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
        c.limits.login_per_account.burst = 3.0;
        c.limits.login_per_account.per_second = 0.001;
    })
    .await;
    relay.register("alice").await;
    let (status, first) = login_from(&relay, "198.51.100.2", right("alice")).await;
    assert_eq!(status, 200, "{first}");
    let credential = first["device_credential"].as_str().unwrap().to_owned();
    assert!(!credential.is_empty());

    // Guesses from many addresses spend the account-wide ceiling.
    for i in 1..=6 {
        login_from(&relay, &format!("203.0.113.{i}"), guess("alice")).await;
    }
    let (status, body) = login_from(&relay, "192.0.2.50", right("alice")).await;
    assert_eq!((status, code(&body)), (429, "too_many_attempts"));

    let mut with_credential = right("alice");
    with_credential["device_credential"] = json!(credential);
    let (status, second) = login_from(&relay, "192.0.2.50", with_credential.clone()).await;
    assert_eq!(status, 200, "{second}");
    let renewed = second["device_credential"].as_str().unwrap().to_owned();
    assert_ne!(
        renewed, credential,
        "each login hands out a fresh credential"
    );
    // The used credential was replaced by the new one.
    let (status, _) = login_from(&relay, "192.0.2.50", with_credential).await;
    assert_eq!(status, 429);
    let mut renewed_body = right("alice");
    renewed_body["device_credential"] = json!(renewed);
    assert_eq!(login_from(&relay, "192.0.2.50", renewed_body).await.0, 200);

    // The relay keeps only hashes of credentials.
    let stored = relay
        .stored
        .rows("SELECT length(credential_hash) FROM device_credentials");
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|len| len == "32"), "{stored:?}");
}

#[tokio::test]
async fn two_clients_behind_a_trusted_proxy_have_separate_limits_and_an_untrusted_peer_cannot_pick_its_address(
) {
    let tighten = |c: &mut tern_server::Config| {
        c.limits.login_per_address.burst = 2.0;
        c.limits.login_per_address.per_second = 0.001;
    };
    let proxied = Relay::start_with(|c| {
        tighten(c);
        c.trusted_proxies = "127.0.0.0/8".parse().unwrap();
    })
    .await;
    for name in ["x1", "x2"] {
        assert_eq!(login_from(&proxied, "192.0.2.1", guess(name)).await.0, 401);
    }
    assert_eq!(login_from(&proxied, "192.0.2.1", guess("x3")).await.0, 429);
    assert_eq!(login_from(&proxied, "192.0.2.2", guess("x3")).await.0, 401);
    // X-Forwarded-For works too: the right-most entry not belonging to a trusted proxy.
    let forwarded = [("x-forwarded-for", "192.0.2.1, 192.0.2.3, 127.0.0.5")];
    assert_eq!(
        post_with(&proxied, "/v1/login", guess("x4"), &forwarded)
            .await
            .0,
        401
    );

    // Without trusted proxies the same headers are ignored: it is all one address.
    let direct = Relay::start_with(tighten).await;
    for name in ["x1", "x2"] {
        assert_eq!(login_from(&direct, "192.0.2.1", guess(name)).await.0, 401);
    }
    assert_eq!(login_from(&direct, "192.0.2.2", guess("x3")).await.0, 429);
}

#[tokio::test]
async fn registrations_are_limited_per_address_and_a_flood_computes_at_most_the_burst() {
    let relay = Relay::start_with(|c| {
        c.limits.register_per_address = tern_server::config::Limits::default().register_per_address;
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    let replies = join_all((0..40).map(|i| {
        post_with(
            &relay,
            "/v1/register",
            json!({"username": format!("flood{i}"), "password": PASSWORD}),
            &[("x-real-ip", "203.0.113.9")],
        )
    }))
    .await;
    let created = replies.iter().filter(|(s, _)| *s == 201).count();
    let limited = replies
        .iter()
        .filter(|(s, b)| *s == 429 && code(b) == "rate_limited")
        .count();
    let hashes = relay.metric("tern_password_hashes_total").await;
    println!("40 concurrent registrations from one address: {created} created, {limited} rate_limited, {hashes} hashes");
    assert_eq!(created, 5, "{replies:?}");
    assert_eq!(limited, 35);
    assert_eq!(hashes, 5);
    // Another address is not affected.
    let (status, body) = post_with(
        &relay,
        "/v1/register",
        json!({"username": "neighbour", "password": PASSWORD}),
        &[("x-real-ip", "203.0.113.10")],
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_taken_name_is_refused_before_hashing_and_does_not_use_up_the_address_allowance() {
    let relay = Relay::start_with(|c| {
        c.limits.register_per_address.burst = 2.0;
        c.limits.register_per_address.per_second = 0.001;
    })
    .await;
    relay.register("alice").await;
    let before = relay.metric("tern_password_hashes_total").await;
    for _ in 0..5 {
        let (status, body) = relay
            .post(
                "/v1/register",
                json!({"username": "ALICE", "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!((status, code(&body)), (409, "username_taken"));
    }
    assert_eq!(relay.metric("tern_password_hashes_total").await, before);
    relay.register("bob").await;
}

#[tokio::test]
async fn a_registration_flood_beyond_the_queue_is_answered_busy_while_logins_go_through() {
    let relay = Relay::start_with(|c| {
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
        c.limits.register_password_hashes = 1;
        c.limits.password_queue = 2;
    })
    .await;
    relay.register("alice").await;
    let flood = join_all((0..30).map(|i| {
        let ip = format!("203.0.113.{}", i + 1);
        let relay = &relay;
        async move {
            post_with(
                relay,
                "/v1/register",
                json!({"username": format!("flood{i}"), "password": PASSWORD}),
                &[("x-real-ip", ip.as_str())],
            )
            .await
        }
    }));
    let login = relay.post("/v1/login", right("alice"), None);
    let (replies, (login_status, login_body)) = tokio::join!(flood, login);
    let created = replies.iter().filter(|(s, _)| *s == 201).count();
    let busy = replies
        .iter()
        .filter(|(s, b)| *s == 503 && code(b) == "busy")
        .count();
    println!("30 concurrent registrations, queue 2: {created} created, {busy} busy");
    assert_eq!(created + busy, 30, "{replies:?}");
    assert!(created >= 1 && busy >= 1, "{replies:?}");
    assert_eq!(login_status, 200, "{login_body}");
}

#[tokio::test]
async fn closed_registration_is_refused_with_its_own_code() {
    let relay = Relay::start_with(|c| c.registration = Registration::Closed).await;
    let (status, body) = relay
        .post(
            "/v1/register",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (403, "registration_closed"));
}

#[tokio::test]
async fn invite_only_registration_needs_a_code_from_the_admin_command_and_counts_its_uses() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.registration = Registration::Invite;
    let mut admin = std::process::Command::new(env!("CARGO_BIN_EXE_tern-server"));
    admin.args(["admin", "invite", "--uses", "2", "--db"]);
    admin.arg(&config.db_path);
    if let Some(url) = &config.postgres {
        admin.args(["--store", url]);
    }
    let out = admin.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let invite = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(!invite.is_empty());
    let raw = Stored::of(&config).contents();
    assert!(!raw.is_empty());
    assert!(
        !raw.windows(invite.len()).any(|w| w == invite.as_bytes()),
        "the code itself is not stored"
    );

    let relay = Relay::start_in(dir, config).await;
    let attempt = |name: &str, invite: Option<&str>| {
        let mut body = json!({"username": name, "password": PASSWORD});
        if let Some(code) = invite {
            body["invite"] = json!(code);
        }
        relay.post("/v1/register", body, None)
    };
    let (status, body) = attempt("alice", None).await;
    assert_eq!((status, code(&body)), (403, "invalid_invite"));
    let (status, body) = attempt("alice", Some("terninv_forged")).await;
    assert_eq!((status, code(&body)), (403, "invalid_invite"));
    assert_eq!(attempt("alice", Some(&invite)).await.0, 201);
    // A refused registration (name taken) does not use the code up.
    assert_eq!(attempt("ALICE", Some(&invite)).await.0, 409);
    assert_eq!(attempt("bob", Some(&invite)).await.0, 201);
    let (status, body) = attempt("carol", Some(&invite)).await;
    assert_eq!((status, code(&body)), (403, "invalid_invite"));
}

#[tokio::test]
async fn the_account_endpoints_refuse_bodies_that_are_not_declared_json() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    for (path, body) in [
        (
            "/v1/register",
            json!({"username": "bob", "password": PASSWORD}),
        ),
        ("/v1/login", right("alice")),
    ] {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut req = relay.http.post(relay.url(path)).body(body.to_string());
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let reply: Value = res.json().await.unwrap();
            assert_eq!(
                (status, code(&reply)),
                (415, "unsupported_media_type"),
                "{path} with {content_type:?}"
            );
        }
    }
    let (status, _) = post_with(
        &relay,
        "/v1/login",
        right("alice"),
        &[("content-type", "application/json; charset=utf-8")],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_a_json_error() {
    let relay = Relay::start().await;
    let big = json!({"username": "alice", "password": "x".repeat(20 * 1024)});
    for path in ["/v1/register", "/v1/login"] {
        let res = relay
            .http
            .post(relay.url(path))
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 413, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), "body_too_large", "{path}");
    }
}

#[tokio::test]
async fn password_length_is_counted_in_characters_at_both_ends() {
    let relay = Relay::start().await;
    let try_password = |name: &str, password: String| {
        relay.post(
            "/v1/register",
            json!({"username": name, "password": password}),
            None,
        )
    };
    // 1024 two-byte characters are 2048 bytes, and allowed.
    let (status, body) = try_password("longest", "é".repeat(1024)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = try_password("toolong", "é".repeat(1025)).await;
    assert_eq!((status, code(&body)), (400, "bad_request"));
    // Seven characters are too few however many bytes they take.
    let (status, body) = try_password("tooshort", "é".repeat(7)).await;
    assert_eq!((status, code(&body)), (400, "bad_request"));
    let mut login = right("longest");
    login["password"] = json!("é".repeat(1024));
    assert_eq!(relay.post("/v1/login", login, None).await.0, 200);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn memory_after_a_burst_of_registrations_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::spawn(
        &db_path(&dir),
        &["--register-burst", "1000", "--password-queue", "1000"],
    );
    let pid = relay.pid();
    let http = reqwest::Client::new();
    let base = relay.base();
    // One registration first, so the "before" figure includes a warmed-up relay.
    let (s, b) = post(
        &http,
        &format!("{base}/v1/register"),
        json!({"username": "warmup", "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let before = rss_kib(pid);
    let url = format!("{base}/v1/register");
    let replies = join_all((0..100).map(|i| {
        post(
            &http,
            &url,
            json!({"username": format!("user{i}"), "password": PASSWORD}),
            None,
        )
    }))
    .await;
    assert!(replies.iter().all(|(s, _)| *s == 201), "{replies:?}");
    let after = rss_kib(pid);
    println!(
        "relay RSS: {} MiB after one registration, {} MiB after 100 concurrent registrations",
        before / 1024,
        after / 1024
    );
    assert!(after < 200 * 1024, "RSS {} MiB", after / 1024);
}

#[tokio::test]
async fn a_user_keeps_a_bounded_number_of_device_credentials_and_the_newest_always_works() {
    let relay = Relay::start_with(|c| {
        c.limits.max_device_credentials_per_user = 3;
        c.limits.login_per_account.burst = 1.0;
        c.limits.login_per_account.per_second = 0.001;
    })
    .await;
    relay.register("alice").await;
    relay.register("bob").await;
    let mut credentials = Vec::new();
    for _ in 0..5 {
        let (status, body) = relay.post("/v1/login", right("alice"), None).await;
        assert_eq!(status, 200, "{body}");
        credentials.push(body["device_credential"].as_str().unwrap().to_owned());
    }
    relay.login("bob").await;
    let per_user = relay
        .stored
        .rows("SELECT user_id, count(*) FROM device_credentials GROUP BY user_id ORDER BY user_id");
    assert_eq!(per_user, ["1|3", "2|1"]);

    // One failure spends the account-wide ceiling; only a kept credential gets past it.
    assert_eq!(relay.post("/v1/login", guess("alice"), None).await.0, 401);
    assert_eq!(relay.post("/v1/login", right("alice"), None).await.0, 429);
    let mut oldest = right("alice");
    oldest["device_credential"] = json!(credentials[0]);
    assert_eq!(relay.post("/v1/login", oldest, None).await.0, 429);
    let mut newest = right("alice");
    newest["device_credential"] = json!(credentials[4]);
    let (status, body) = relay.post("/v1/login", newest, None).await;
    assert_eq!(status, 200, "{body}");
}

/// One device's flood of authenticated HTTP requests is held back (429 `rate_limited`); the
/// account's other devices are not (one holding a stolen token cannot keep the owner from
/// revoking it), nor is anyone else.
#[tokio::test]
async fn a_session_flooding_http_requests_is_held_back_alone() {
    let relay = Relay::start_with(|c| {
        c.limits.http_per_session.burst = 5.0;
        c.limits.http_per_session.per_second = 0.001;
    })
    .await;
    relay.register("alice").await;
    relay.register("bob").await;
    let (thief, bob) = (relay.login("alice").await, relay.login("bob").await);
    let sessions = |token: String| {
        let relay = &relay;
        async move {
            let res = relay
                .http
                .get(relay.url("/v1/sessions"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: serde_json::Value = res.json().await.unwrap();
            (status, body["code"].as_str().unwrap_or("").to_owned(), body)
        }
    };
    for _ in 0..4 {
        assert_eq!(sessions(thief.clone()).await.0, 200);
    }
    // A WebSocket upgrade counts like any other request of the session.
    assert!(try_connect(&relay.ws_url(), Some(&thief), &[])
        .await
        .is_ok());
    let (status, code, _) = sessions(thief.clone()).await;
    assert_eq!((status, code.as_str()), (429, "rate_limited"));
    let Err(refused) = try_connect(&relay.ws_url(), Some(&thief), &[]).await else {
        panic!("an upgrade past the allowance is refused");
    };
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(
        sessions(bob.clone()).await.0,
        200,
        "another account is not held back"
    );
    // The owner, on another device, lists the sessions and revokes the flooding one.
    let owner = relay.login("alice").await;
    let (status, _, listed) = sessions(owner.clone()).await;
    assert_eq!(status, 200);
    let other = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .expect("the flooding session is listed")["session_id"]
        .as_i64()
        .unwrap();
    let res = relay
        .http
        .post(relay.url(&format!("/v1/sessions/{other}/revoke")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(sessions(thief).await.0, 401, "revoked");
}
