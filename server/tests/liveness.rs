//! Liveness under hostile or broken peers: a receiver that stops reading is disconnected, idle
//! and half-sent sockets are closed, connection limits hold per address without hurting other
//! addresses, tokens that expire close their connections, shutdown finishes whatever peers do,
//! receipts never move backwards, the write-ahead log stays bounded, and a client that closes
//! with replies pending still gets the relay's close frame.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::{ConversationId, RequestId, Seq, ServerFrame, UserId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Generous bound for "eventually": far above what any of these takes, so it only catches
/// a relay that never does it.
const EVENTUALLY: Duration = Duration::from_secs(30);

async fn health_connections(relay: &Relay) -> u64 {
    let v: serde_json::Value = reqwest::get(relay.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["connections"].as_u64().unwrap()
}

/// Wait until `cond` holds, polling; panics after [`EVENTUALLY`].
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + EVENTUALLY;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True once the peer closed the socket (EOF or reset), false if it is still open after `wait`.
async fn closed_by_peer(sock: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_receiver_that_stops_reading_is_disconnected_and_the_sender_is_unaffected() {
    let relay = Relay::start_with(|c| c.limits.connection_queue = 32).await;
    let mut alice = relay.user("alice").await;
    relay.register("carol").await;
    let carol_token = relay.login("carol").await;
    let conv = alice.create_group("busy", &["carol"]).await;
    // Carol connects and never reads again: her socket buffers fill, then her queue.
    let stalled = try_connect(&relay.ws_url(), Some(&carol_token), &[])
        .await
        .unwrap();
    assert_eq!(health_connections(&relay).await, 2);
    let body = "x".repeat(15 * 1024);
    let mut sent = 0;
    while health_connections(&relay).await == 2 {
        assert!(sent < 20_000, "the stalled receiver was never disconnected");
        for _ in 0..50 {
            alice.send_msg(conv, &format!("m{sent}"), &body).await;
            sent += 1;
        }
    }
    // Alice kept being served throughout, and still is.
    alice.send_msg(conv, "after", "still here").await;
    assert_eq!(health_connections(&relay).await, 1);
    assert_eq!(
        relay.metric("tern_slow_connections_closed_total").await,
        1,
        "closed as too slow (4008), not by its heartbeat"
    );
    drop(stalled);
}

#[tokio::test]
async fn idle_and_half_sent_http_connections_are_closed_after_the_header_timeout() {
    let relay = Relay::start_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let mut idle = TcpStream::connect(relay.addr).await.unwrap();
    let mut slowloris = TcpStream::connect(relay.addr).await.unwrap();
    slowloris
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(closed_by_peer(&mut idle, EVENTUALLY).await, "idle socket");
    assert!(
        closed_by_peer(&mut slowloris, EVENTUALLY).await,
        "half-sent headers"
    );
    // A well-behaved client is served as usual.
    assert_eq!(health_connections(&relay).await, 0);
}

#[tokio::test]
async fn an_http_connection_that_never_upgrades_is_closed_at_its_deadline() {
    let relay = Relay::start_with(|c| {
        c.connections.upgrade_deadline = Duration::from_secs(1);
    })
    .await;
    let mut sock = TcpStream::connect(relay.addr).await.unwrap();
    // A complete request, then the connection is kept alive and idle.
    sock.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_by_peer(&mut sock, EVENTUALLY).await);
}

async fn connect_from(source: &str, relay: &Relay) -> std::io::Result<TcpStream> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(format!("{source}:0").parse().unwrap())?;
    sock.connect(relay.addr).await
}

#[tokio::test]
async fn one_address_cannot_take_more_than_its_share_of_connections() {
    let relay = Relay::start_with(|c| c.connections.max_per_address = 5).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from("127.0.0.2", &relay).await.unwrap());
    }
    // The sixth from the same address is closed at once, without an answer.
    let mut sixth = connect_from("127.0.0.2", &relay).await.unwrap();
    sixth
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .ok();
    assert!(closed_by_peer(&mut sixth, EVENTUALLY).await);
    // Another address is served; a real user logs in and chats.
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "m1", "hello").await;
    // A slot comes back when its socket closes.
    drop(held.pop());
    let mut again = None;
    for _ in 0..100 {
        let mut s = connect_from("127.0.0.2", &relay).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        if s.read_exact(&mut buf).await.is_ok() {
            again = Some(buf);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(&again.expect("slot never returned")[..], b"HTTP/1.1 200");
}

#[tokio::test]
async fn a_connection_is_closed_when_its_token_expires() {
    let relay = Relay::start_with(|c| c.token_ttl = Duration::from_secs(2)).await;
    let mut alice = relay.user("alice").await;
    assert_eq!(alice.expect_close().await, Some(4003));
}

#[tokio::test]
async fn two_programs_sharing_a_login_stay_connected_and_a_reconnect_replaces_its_own_twin() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let url = relay.ws_url();
    let mut listen = Client::connect_with(&url, &token, &[("tern-instance", "listen")]).await;
    let mut send = Client::connect_with(&url, &token, &[("tern-instance", "send")]).await;
    relay.register("bob").await;
    let conv = send.start_direct("bob").await;
    send.send_msg(conv, "c1", "from the second program").await;
    let m = listen.expect_message(conv).await;
    assert_eq!(m.body, "from the second program");
    // The same program reconnecting replaces its own older connection only.
    let _send_again = Client::connect_with(&url, &token, &[("tern-instance", "send")]).await;
    assert_eq!(send.expect_close().await, Some(4002));
    listen
        .expect_none(Duration::from_millis(300), |f| {
            matches!(f, ServerFrame::Error { .. })
        })
        .await;
    assert_eq!(health_connections(&relay).await, 2);
}

/// An instance tag longer than 64 characters, or not printable ASCII, counts as no tag: a
/// connection without one replaces it, as it replaces any other untagged twin.
#[tokio::test]
async fn an_unusable_instance_tag_counts_as_none() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let url = relay.ws_url();
    let long = "x".repeat(65);
    for tag in [long.as_str(), "two words"] {
        let mut tagged = Client::connect_with(&url, &token, &[("tern-instance", tag)]).await;
        let _untagged = Client::connect(&url, &token).await;
        assert_eq!(tagged.expect_close().await, Some(4002), "tag {tag:?}");
    }
    // A usable tag keeps its connection beside an untagged one.
    let mut tagged =
        Client::connect_with(&url, &token, &[("tern-instance", &"x".repeat(64))]).await;
    let _untagged = Client::connect(&url, &token).await;
    tagged
        .expect_none(Duration::from_millis(300), |_| false)
        .await;
    match tagged.request(serde_json::json!({"type": "ping"})).await {
        ServerFrame::Pong { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_send_limit_survives_a_reconnect() {
    let relay = Relay::start_with(|c| {
        c.limits.send_rate.burst = 3.0;
        c.limits.send_rate.per_second = 0.001;
    })
    .await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    for i in 0..3 {
        alice.send_msg(conv, &format!("m{i}"), "hi").await;
    }
    let frame = json!({"type": "send", "conversation_id": conv, "client_id": "m3", "body": "hi"});
    alice.expect_error(frame.clone(), "rate_limited").await;
    drop(alice);
    eventually("alice offline", || async {
        health_connections(&relay).await == 0
    })
    .await;
    let mut alice = relay.device("alice").await;
    alice.expect_error(frame, "rate_limited").await;
}

#[tokio::test]
async fn history_before_a_huge_sequence_returns_the_newest_messages() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "m1", "one").await;
    let reply = alice
        .request(json!({"type": "history", "conversation_id": conv,
                        "before_seq": u64::MAX, "limit": 10}))
        .await;
    let ServerFrame::History { messages, .. } = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(messages.len(), 1);
}

#[tokio::test]
async fn the_write_ahead_log_stays_bounded_under_a_steady_stream_of_messages() {
    const LIMIT: u64 = 1024 * 1024;
    let relay = Relay::start_with(|c| c.wal_limit_bytes = LIMIT).await;
    if relay.stored.is_postgres() {
        eprintln!("SQLite's write-ahead log only: PostgreSQL manages its own WAL");
        return;
    }
    let wal = relay.dir.path().join("relay.db-wal");
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    let body = "w".repeat(2048);
    let mut largest = 0;
    for round in 0..40 {
        // Pipelined: many messages in flight, so commits come in batches as under load.
        for i in 0..100 {
            alice
                .send_json(json!({"type": "send", "id": 1_000_000 + round * 100 + i,
                    "conversation_id": conv, "client_id": format!("{round}-{i}"), "body": body}))
                .await;
        }
        for _ in 0..100 {
            alice
                .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
                .await;
        }
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    println!("4,000 messages of 2 KiB (8 MiB): largest WAL seen {largest} bytes");
    // One batch may land on top of the limit before the writer truncates.
    assert!(largest <= 3 * LIMIT, "WAL grew to {largest} bytes");
}

#[tokio::test]
async fn sigterm_stops_the_relay_despite_a_stalled_reader_and_a_half_sent_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::spawn(
        &db_path(&dir),
        &["--send-burst", "100000", "--send-rate", "100000"],
    );
    relay.register("alice").await;
    relay.register("carol").await;
    let alice_token = relay.login("alice").await;
    let carol_token = relay.login("carol").await;
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let conv = alice.create_group("g", &["carol"]).await;
    let stalled = try_connect(&relay.ws_url(), Some(&carol_token), &[])
        .await
        .unwrap();
    let body = "s".repeat(15 * 1024);
    for i in 0..300 {
        alice.send_msg(conv, &format!("m{i}"), &body).await;
    }
    let mut half = TcpStream::connect(relay.addr).await.unwrap();
    half.write_all(b"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"user")
        .await
        .unwrap();
    assert!(
        relay.terminate(EVENTUALLY),
        "the relay did not stop (successfully) after SIGTERM"
    );
    drop((stalled, half));
}

/// A focused probe of the race between a sync and receipt pushes: while alice moves her read
/// marker as fast as she can, bob syncs again and again. Pushes that waited during a sync used
/// to be delivered after the sync's newer markers, moving alice's marker backwards on bob's
/// connection. Every marker bob sees, in arrival order, must be at least the one before.
#[tokio::test]
async fn read_markers_never_move_backwards_on_a_connection_that_syncs_while_they_advance() {
    const MESSAGES: u64 = 400;
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = bob.start_direct("alice").await;
    alice.accept(conv).await;
    for i in 0..MESSAGES {
        bob.send_json(
            json!({"type": "send", "id": 10_000 + i, "conversation_id": conv,
            "client_id": format!("b{i}"), "body": "x"}),
        )
        .await;
    }
    for _ in 0..MESSAGES {
        bob.expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    bob.backlog.clear();
    let alice_id = alice.user_id;
    let reader = tokio::spawn(async move {
        for seq in 1..=MESSAGES {
            alice
                .send_json(json!({"type": "read", "id": seq, "conversation_id": conv, "seq": seq}))
                .await;
            if seq % 20 == 0 {
                tokio::task::yield_now().await;
            }
        }
        alice
    });
    let mut seen = 0u64;
    let mut observations = 0;
    let check = |seen: &mut u64, r: &tern_proto::ReceiptState| {
        if r.user_id == UserId(alice_id) && r.conversation_id == ConversationId(conv) {
            assert!(
                r.read_seq >= Seq(*seen),
                "alice's read marker moved back from {seen} to {}",
                r.read_seq
            );
            *seen = r.read_seq.0;
        }
    };
    let mut round = 0u64;
    while seen < MESSAGES {
        round += 1;
        assert!(round < 10_000, "the marker never reached the end");
        let id = 1_000_000 + round;
        bob.send_json(json!({"type": "sync", "id": id, "cursors": [], "changes_since": 0}))
            .await;
        loop {
            match bob.recv().await {
                ServerFrame::SyncPage { receipts, .. } => {
                    for r in &receipts {
                        check(&mut seen, r);
                        observations += 1;
                    }
                }
                ServerFrame::Receipt { receipt } => {
                    check(&mut seen, &receipt);
                    observations += 1;
                }
                ServerFrame::SyncDone { id: done, .. } if done == RequestId(id) => break,
                _ => {}
            }
        }
    }
    println!("{observations} marker observations over {round} syncs, none backwards");
    drop(reader.await.unwrap());
}

#[tokio::test]
async fn a_history_page_is_bounded_in_bytes_and_paging_still_reaches_every_message() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    let body = "h".repeat(15 * 1024);
    for i in 0..40 {
        alice.send_msg(conv, &format!("m{i}"), &body).await;
    }
    let mut before: Option<u64> = None;
    let mut pages = Vec::new();
    loop {
        let reply = alice
            .request(json!({"type": "history", "conversation_id": conv,
                            "before_seq": before, "limit": 200}))
            .await;
        let ServerFrame::History {
            messages, has_more, ..
        } = reply
        else {
            panic!("{reply:?}")
        };
        let bytes: usize = messages.iter().map(|m| m.body.len()).sum();
        assert!(bytes <= 300 * 1024, "a page of {bytes} bytes");
        pages.push(messages.len());
        before = messages.first().map(|m| m.seq.0);
        if !has_more {
            break;
        }
        assert!(pages.len() < 40, "paging never ended");
    }
    assert!(
        pages.len() > 1,
        "40 large messages did not fit one page: {pages:?}"
    );
    assert_eq!(pages.iter().sum::<usize>(), 40, "{pages:?}");
}

#[tokio::test]
async fn a_client_that_closes_while_a_reply_is_pending_still_gets_the_relays_close_frame() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
    use tokio_tungstenite::tungstenite::Message;

    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    // Sends (their replies wait for commits) and, right behind them, the client's close.
    for i in 0..200 {
        alice
            .send_json(json!({"type": "send", "id": 9000 + i, "conversation_id": conv, "client_id": format!("last{i}"), "body": "bye"}))
            .await;
    }
    alice
        .send_raw(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
    // The close handshake completes: the relay answers with its close frame instead of
    // dropping the connection (which a client sees as an abnormal closure, 1006).
    let mut answered = None;
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match alice.ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    answered = Some(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Ok(()),
            }
        }
    })
    .await
    .expect("the connection ended");
    assert_eq!(end, Ok(()), "the connection ended cleanly");
    assert_eq!(answered, Some(Some(1000)), "the relay's close frame");
}
