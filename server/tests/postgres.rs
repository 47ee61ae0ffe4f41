//! Several relays on one PostgreSQL database (run under scripts/with-postgres.sh; without it
//! these tests say so and pass nothing off as checked): they migrate it safely when started
//! together, and messages sent through different relays to one conversation get one gap-free
//! order that every relay serves alike.

mod common;

use common::*;
use serde_json::json;
use tern_proto::ServerFrame;

/// `n` relays sharing one fresh database, or `None` when the tests run on SQLite.
async fn cluster(n: usize) -> Option<Vec<Relay>> {
    let url = tern_testkit::postgres::test_database()?;
    let starts = (0..n).map(|_| {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        config.postgres = Some(url.clone());
        Relay::start_in(dir, config)
    });
    Some(futures_util::future::join_all(starts).await)
}

#[tokio::test]
async fn relays_started_together_migrate_one_database_once_and_all_serve_it() {
    let Some(relays) = cluster(3).await else {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    };
    // An account made through one relay signs in through the others.
    relays[0].register("alice").await;
    for r in &relays {
        let token = r.login("alice").await;
        let mut c = Client::connect(&r.ws_url(), &token).await;
        assert_eq!(c.sync(json!({}), 0).await.messages.len(), 0);
    }
    let versions = relays[0].stored.rows("SELECT version FROM schema_version");
    assert_eq!(versions.len(), 1, "one schema version row: {versions:?}");
}

#[tokio::test]
async fn sends_through_different_relays_get_one_gap_free_order() {
    let Some(relays) = cluster(2).await else {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    };
    relays[0].register("alice").await;
    relays[0].register("bob").await;
    let mut alice = Client::connect(&relays[0].ws_url(), &relays[0].login("alice").await).await;
    let mut bob = Client::connect(&relays[1].ws_url(), &relays[1].login("bob").await).await;
    let conv = alice.start_direct("bob").await;
    const EACH: u64 = 200;
    // Both pipeline their sends at once, each through its own relay.
    for (c, who) in [(&mut alice, "a"), (&mut bob, "b")] {
        for i in 0..EACH {
            c.send_json(
                json!({"type": "send", "id": 1000 + i, "conversation_id": conv,
                               "client_id": format!("{who}{i}"), "body": format!("{who} {i}")}),
            )
            .await;
        }
    }
    let mut seqs = Vec::new();
    for c in [&mut alice, &mut bob] {
        let mut acked = 0;
        while acked < EACH {
            if let ServerFrame::Ack { seq, .. } = c.recv().await {
                seqs.push(seq.0);
                acked += 1;
            }
        }
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=2 * EACH).collect::<Vec<_>>(),
        "gap-free, no seq twice"
    );
    // Every relay serves the same log, each sender's messages in the order sent.
    let mut logs = Vec::new();
    for r in &relays {
        let mut reader = Client::connect(&r.ws_url(), &r.login("bob").await).await;
        let log: Vec<(u64, String)> = reader
            .sync(json!({}), 0)
            .await
            .messages
            .into_iter()
            .map(|m| (m.seq.0, m.body))
            .collect();
        logs.push(log);
    }
    assert_eq!(logs[0], logs[1]);
    for who in ["a", "b"] {
        let mine: Vec<String> = logs[0]
            .iter()
            .filter(|(_, b)| b.starts_with(&format!("{who} ")))
            .map(|(_, b)| b.clone())
            .collect();
        assert_eq!(
            mine,
            (0..EACH).map(|i| format!("{who} {i}")).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn revoking_a_session_through_one_relay_closes_its_connection_on_another() {
    let Some(url) = tern_testkit::postgres::test_database() else {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    };
    let mut relays = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        config.postgres = Some(url.clone());
        config.heartbeat.interval = std::time::Duration::from_millis(200);
        relays.push(Relay::start_in(dir, config).await);
    }
    // Relay 1 never hears of the revocation; its heartbeat check finds it in the database.
    revoke_across(&relays[0], &relays[1]).await;
}
