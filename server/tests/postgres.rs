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

/// A relay stopped in the middle of a batch (its host frozen, its socket still open) holds
/// the change counter's lock that every relay's batches take first. The others' writes wait
/// for it a bounded time (`LOCK_WAIT_LIMIT`) and are answered `internal`, never left hanging;
/// once the lock is free they are stored again. (Here a session of the test holds the lock
/// as such a relay would.)
#[tokio::test]
async fn a_write_waits_a_bounded_time_for_a_stuck_relays_lock_and_then_goes_on() {
    let Some(url) = tern_testkit::postgres::test_database() else {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.postgres = Some(url.clone());
    let relay = Relay::start_in(dir, config).await;
    relay.register("alice").await;
    relay.register("bob").await;
    let mut alice = Client::connect(&relay.ws_url(), &relay.login("alice").await).await;
    let conv = alice.start_direct("bob").await;

    let (hold, held) = (
        std::sync::mpsc::channel::<()>(),
        std::sync::mpsc::channel::<()>(),
    );
    let (release, holding) = (hold.0, held.1);
    let (stop, locked) = (hold.1, held.0);
    let stuck = std::thread::spawn(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut txn = db.transaction().unwrap();
        txn.execute(
            "SELECT value FROM meta WHERE key = 'change_version' FOR UPDATE",
            &[],
        )
        .unwrap();
        locked.send(()).unwrap();
        let _ = stop.recv();
        txn.rollback().unwrap();
    });
    holding.recv().unwrap();
    let send =
        |cid: &str| json!({"type": "send", "conversation_id": conv, "client_id": cid, "body": cid});
    match alice.request(send("m1")).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, tern_proto::ErrorCode::Internal),
        other => panic!("expected internal while the lock is held, got {other:?}"),
    }
    release.send(()).unwrap();
    stuck.join().unwrap();
    match alice.request(send("m1")).await {
        ServerFrame::Ack { seq, .. } => assert_eq!(seq.0, 1),
        other => panic!("expected it stored once the lock is free, got {other:?}"),
    }
}
