//! Losing PostgreSQL under load (run under scripts/with-postgres.sh; without it this test
//! says so and passes nothing off as checked). While the database is down the relay
//! acknowledges nothing, answers `internal`, and `/health` says 503; when it is back, the
//! same connections carry on without the client doing anything special, and every message
//! resent under its client id is stored exactly once, in one gap-free order.
//!
//! Presence survives the outage too: a user who goes offline while the database is away is
//! announced offline (with when they were last seen) once it is back.
//!
//! In a test binary of their own: they stop the private server that every relay test shares,
//! and cargo runs test binaries one at a time; within this binary they take turns.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::ServerFrame;

/// Send and wait for the answer: `Some(seq)` when acknowledged, `None` when refused.
async fn try_send(c: &mut Client, conv: i64, client_id: &str) -> Option<u64> {
    let frame = json!({"type": "send", "conversation_id": conv, "client_id": client_id,
                       "body": client_id});
    match c.request(frame).await {
        ServerFrame::Ack { seq, .. } => Some(seq.0),
        ServerFrame::Error { code, .. } => {
            assert_eq!(code, tern_proto::ErrorCode::Internal, "{client_id}");
            None
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// `/health`'s status code and what its body says about the store.
async fn health(relay: &Relay) -> (u16, Option<String>) {
    let Ok(r) = relay.http.get(relay.url("/health")).send().await else {
        return (0, None);
    };
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (status, body["store"].as_str().map(str::to_owned))
}

/// The tests here stop the shared server: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A relay on PostgreSQL with alice and bob registered; `None` (said why) on SQLite.
async fn alice_and_bob() -> Option<Relay> {
    let relay = Relay::start().await;
    if !relay.stored.is_postgres() {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return None;
    }
    relay.register("alice").await;
    relay.register("bob").await;
    Some(relay)
}

#[tokio::test]
async fn while_postgres_is_down_nothing_is_acknowledged_and_what_is_resent_after_is_stored_once() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(relay) = alice_and_bob().await else {
        return;
    };
    let mut bob = Client::connect(&relay.ws_url(), &relay.login("bob").await).await;
    let mut alice = Client::connect(&relay.ws_url(), &relay.login("alice").await).await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        acked.push(
            try_send(&mut alice, conv, &format!("before-{i}"))
                .await
                .unwrap(),
        );
    }

    tern_testkit::postgres::stop_server().unwrap();
    let mut refused = Vec::new();
    for i in 0..10 {
        let id = format!("during-{i}");
        assert_eq!(
            try_send(&mut alice, conv, &id).await,
            None,
            "{id} was not stored"
        );
        refused.push(id);
    }
    assert_eq!(
        health(&relay).await,
        (503, Some("unavailable".into())),
        "out of rotation without its database"
    );
    tern_testkit::postgres::start_server().unwrap();

    // The client resends what was refused, as its outbox does, until it is acknowledged.
    for id in refused
        .iter()
        .chain(&(0..10).map(|i| format!("after-{i}")).collect::<Vec<_>>())
    {
        let mut stored = None;
        for _ in 0..100 {
            stored = try_send(&mut alice, conv, id).await;
            if stored.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        acked.push(stored.unwrap_or_else(|| panic!("{id} never stored after the restart")));
    }
    // Back in rotation (a health answer is at most a second old).
    let mut now = health(&relay).await;
    for _ in 0..50 {
        if now == (200, Some("ok".into())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = health(&relay).await;
    }
    assert_eq!(now, (200, Some("ok".into())));
    assert_eq!(acked, (1..=40).collect::<Vec<_>>(), "one gap-free order");
    let rows = relay.stored.rows(&format!(
        "SELECT client_id FROM messages WHERE conversation_id = {conv}"
    ));
    let ids: HashSet<&String> = rows.iter().collect();
    assert_eq!(
        (rows.len(), ids.len()),
        (40, 40),
        "each stored exactly once"
    );
    // Bob's connection lived through it and was pushed everything, in order.
    let mut pushed = Vec::new();
    while pushed.len() < 40 {
        pushed.push(bob.expect_message(conv).await.seq.0);
    }
    assert_eq!(pushed, (1..=40).collect::<Vec<_>>());
}

/// Bob's last connection closes while the database is away: announcing it needs the database
/// (his contacts, his last-seen time), so the relay tries again until it is back, and alice is
/// told bob is offline, with the time he left. Without the retry she would see bob online
/// until his next change.
#[tokio::test]
async fn a_user_who_leaves_while_postgres_is_down_is_announced_offline_once_it_is_back() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(relay) = alice_and_bob().await else {
        return;
    };
    let mut alice = Client::connect(&relay.ws_url(), &relay.login("alice").await).await;
    let conv = alice.start_direct("bob").await;
    relay.accept_as("bob", conv, &mut alice).await;
    let bob = relay.device("bob").await;
    let bob_id = bob.user_id;
    alice
        .expect(|f| match f {
            ServerFrame::Presence { presence }
                if presence.user_id.0 == bob_id && presence.online =>
            {
                Some(())
            }
            _ => None,
        })
        .await;

    tern_testkit::postgres::stop_server().unwrap();
    let leaving = tern_proto::now_ms();
    drop(bob);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let back = tern_proto::now_ms();
    tern_testkit::postgres::start_server().unwrap();

    let last_seen = alice
        .expect(|f| match f {
            ServerFrame::Presence { presence }
                if presence.user_id.0 == bob_id && !presence.online =>
            {
                Some(presence.last_seen)
            }
            _ => None,
        })
        .await;
    // Not the time recorded when his other device left before the outage, nor a time after
    // the database came back: when he left.
    let last_seen = last_seen.expect("when bob was last seen");
    assert!(
        last_seen >= leaving && last_seen < back,
        "bob last seen when he left: {last_seen} (left at {leaving}, database back at {back})"
    );
}
