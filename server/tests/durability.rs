//! Durability: an acknowledged message survives `kill -9` of the relay process, and resending
//! unacknowledged messages after the restart never duplicates anything. Also graceful shutdown.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tern_proto::ServerFrame;
use tokio_tungstenite::tungstenite::Message;

const FAST: &[&str] = &[
    "--send-rate",
    "100000",
    "--send-burst",
    "100000",
    "--frame-rate",
    "100000",
    "--frame-burst",
    "100000",
];

#[tokio::test]
async fn every_acknowledged_message_survives_kill_9_and_resending_creates_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(&dir);
    let mut relay = RelayProcess::spawn(&db, FAST);
    let http = reqwest::Client::new();
    relay.register("alice").await;
    relay.register("bob").await;
    let alice_token = relay.login("alice").await;
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let conv = alice.start_direct("bob").await;

    // Stream sends and collect acks from a separate task while the relay is killed mid-stream.
    const TOTAL: u64 = 3000;
    let (mut sink, mut stream) = alice.ws.split();
    let reader = tokio::spawn(async move {
        let mut acked = Vec::new();
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Text(t) = msg {
                if let Ok(ServerFrame::Ack { client_id, seq, .. }) =
                    serde_json::from_str(t.as_str())
                {
                    acked.push((client_id.0, seq.0));
                }
            }
        }
        acked
    });
    let writer = tokio::spawn(async move {
        for i in 0..TOTAL {
            let f = json!({"type": "send", "id": i + 1, "conversation_id": conv, "client_id": format!("k{i}"), "body": format!("body {i}")});
            if sink
                .send(Message::Text(f.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });
    // Kill once some, but not all, messages are acknowledged.
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let stored: i64 = relay
            .stored
            .rows("SELECT count(*) FROM messages")
            .first()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if stored > 300 {
            break;
        }
    }
    relay.kill9();
    let _ = writer.await;
    let acked = reader.await.unwrap();
    assert!(
        !acked.is_empty(),
        "some messages were acknowledged before the kill"
    );
    assert!((acked.len() as u64) < TOTAL, "the kill happened mid-stream");

    // Restart on the same database.
    let relay = RelayProcess::spawn(&db, FAST);
    let mut bob = Client::connect(&relay.ws_url(), &login(&http, &relay.base(), "bob").await).await;
    let sync = bob.sync(json!({}), 0).await;
    let stored: std::collections::HashMap<String, u64> = sync
        .messages
        .iter()
        .map(|m| (m.client_id.0.clone(), m.seq.0))
        .collect();
    for (client_id, seq) in &acked {
        assert_eq!(
            stored.get(client_id),
            Some(seq),
            "acknowledged {client_id} lost or moved"
        );
    }

    // The sender resends everything it does not know to be stored (acked or not):
    // the relay stores only the missing ones, at the next sequence numbers.
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    for i in 0..TOTAL {
        alice.send_json(json!({"type": "send", "id": 100_000 + i, "conversation_id": conv, "client_id": format!("k{i}"), "body": format!("body {i}")})).await;
    }
    let mut dups = 0;
    let mut got = 0;
    while got < TOTAL {
        match alice.recv().await {
            ServerFrame::Ack { duplicate, .. } => {
                got += 1;
                dups += duplicate as u64;
            }
            ServerFrame::Error { code, message, .. } => panic!("resend refused: {code} {message}"),
            _ => {}
        }
    }
    assert_eq!(
        dups,
        stored.len() as u64,
        "every stored message is recognised as a duplicate"
    );
    // A fresh connection (this one already received the new messages as pushes).
    let mut bob = Client::connect(&relay.ws_url(), &login(&http, &relay.base(), "bob").await).await;
    let after = bob.sync(json!({conv.to_string(): 0}), 0).await;
    assert_eq!(
        after.messages.len() as u64,
        TOTAL,
        "exactly one copy of each"
    );
    assert_eq!(
        after.messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        (1..=TOTAL).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn graceful_shutdown_closes_connections_with_going_away_and_keeps_data() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "last", "before shutdown").await;
    let stop = tokio::spawn(async move { relay.stop().await });
    assert_eq!(alice.expect_close().await, Some(1001));
    let dir = stop.await.unwrap();

    let config = test_config(dir.path());
    let relay = Relay::start_in(dir, config).await;
    let mut alice = relay.device("alice").await;
    let s = alice.sync(json!({}), 0).await;
    assert_eq!(s.messages.len(), 1);
    assert_eq!(s.messages[0].body, "before shutdown");
}
