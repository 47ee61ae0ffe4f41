//! Bad input gets a clear error and harms nothing: malformed frames, unknown types, invalid
//! UTF-8, oversized frames, binary garbage, floods. After each, the offender's connection (when
//! it stays open) and other users keep working.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use tern_proto::{RequestId, ServerFrame};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

async fn error_code(c: &mut Client) -> (Option<u64>, String) {
    c.expect(|f| match f {
        ServerFrame::Error { id, code, .. } => Some((
            id.map(|id| id.0),
            serde_json::to_value(code)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
        )),
        _ => None,
    })
    .await
}

async fn still_works(c: &mut Client) {
    assert!(matches!(
        c.request(json!({"type": "ping"})).await,
        ServerFrame::Pong { .. }
    ));
}

#[tokio::test]
async fn malformed_frames_get_an_error_with_the_request_id_and_the_connection_stays_open() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;

    alice.send_raw(Message::Text("{not json".into())).await;
    assert_eq!(error_code(&mut alice).await, (None, "bad_frame".into()));
    alice.send_raw(Message::Text("[1,2,3]".into())).await;
    assert_eq!(error_code(&mut alice).await, (None, "bad_frame".into()));
    alice.send_json(json!({"id": 3})).await;
    assert_eq!(error_code(&mut alice).await, (Some(3), "bad_frame".into()));
    alice
        .send_json(json!({"type": "self_destruct", "id": 4}))
        .await;
    assert_eq!(
        error_code(&mut alice).await,
        (Some(4), "unknown_type".into())
    );
    alice.send_json(json!({"type": "send", "id": 5, "conversation_id": "one", "client_id": 7, "body": null})).await;
    assert_eq!(
        error_code(&mut alice).await,
        (Some(5), "bad_request".into())
    );
    alice.send_json(json!({"type": "history", "id": 6})).await;
    assert_eq!(
        error_code(&mut alice).await,
        (Some(6), "bad_request".into())
    );
    alice.send_json(json!({"type": 12, "id": 7})).await;
    assert_eq!(
        error_code(&mut alice).await,
        (Some(7), "bad_request".into())
    );
    still_works(&mut alice).await;
}

#[tokio::test]
async fn invalid_values_are_refused_with_bad_request_or_message_too_long() {
    let relay = Relay::start_with(|c| c.limits.max_message_bytes = 100).await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": conv, "client_id": "", "body": "x"}),
            "bad_request",
        )
        .await;
    alice.expect_error(json!({"type": "send", "conversation_id": conv, "client_id": "c".repeat(65), "body": "x"}), "bad_request").await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": conv, "client_id": "c1", "body": "   "}),
            "bad_request",
        )
        .await;
    alice.expect_error(json!({"type": "send", "conversation_id": conv, "client_id": "c2", "body": "x".repeat(101)}), "message_too_long").await;
    alice
        .expect_error(
            json!({"type": "create_group", "name": "", "members": []}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "create_group", "name": "n".repeat(65), "members": []}),
            "bad_request",
        )
        .await;
    // Nothing was stored by any of those.
    let ServerFrame::History { messages, .. } = alice
        .request(json!({"type": "history", "conversation_id": conv}))
        .await
    else {
        panic!()
    };
    assert!(messages.is_empty());
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_only_that_connection() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    alice.send_raw(Message::Frame(frame)).await;
    let code = alice.expect_close().await;
    assert_eq!(code, Some(1007), "closed with {code:?}");
    still_works(&mut bob).await;
    // The relay still accepts new connections.
    let mut alice_again = relay.device("alice").await;
    still_works(&mut alice_again).await;
}

#[tokio::test]
async fn a_frame_that_breaks_the_websocket_protocol_closes_only_that_connection_with_1002() {
    let relay = Relay::start().await;
    let mut bob = relay.user("bob").await;
    let reserved_opcode = Frame::message(vec![1, 2], OpCode::Data(Data::Reserved(3)), true);
    let mut reserved_bit = Frame::message(b"{}".to_vec(), OpCode::Data(Data::Text), true);
    reserved_bit.header_mut().rsv2 = true;
    let _alice = relay.user("alice").await;
    for frame in [reserved_opcode, reserved_bit] {
        let mut alice = relay.device("alice").await;
        alice.send_raw(Message::Frame(frame)).await;
        let code = alice.expect_close().await;
        assert_eq!(code, Some(1002), "closed with {code:?}");
        still_works(&mut bob).await;
    }
}

#[tokio::test]
async fn a_request_in_fragments_is_one_request() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let text = json!({"type": "ping", "id": 77}).to_string();
    let (head, tail) = text.split_at(5);
    for (part, opcode, last) in [(head, Data::Text, false), (tail, Data::Continue, true)] {
        let frame = Frame::message(part.as_bytes().to_vec(), OpCode::Data(opcode), last);
        alice.send_raw(Message::Frame(frame)).await;
    }
    let id = alice
        .expect(|f| match f {
            ServerFrame::Pong { id } => Some(*id),
            _ => None,
        })
        .await;
    assert_eq!(id, RequestId(77));
}

#[tokio::test]
async fn an_oversized_frame_gets_frame_too_large_and_a_huge_one_closes_only_that_connection() {
    let relay = Relay::start_with(|c| {
        c.limits.max_frame_bytes = 8 * 1024;
        c.limits.hard_frame_bytes = 64 * 1024;
    })
    .await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;

    let big = json!({"type": "ping", "id": 1, "pad": "x".repeat(20 * 1024)});
    alice.send_json(big).await;
    assert_eq!(
        error_code(&mut alice).await,
        (Some(1), "frame_too_large".into()),
        "the error names the request"
    );
    still_works(&mut alice).await;

    alice
        .send_raw(Message::Text("y".repeat(200 * 1024).into()))
        .await;
    let code = alice.expect_close().await;
    assert_eq!(code, Some(1009), "closed with {code:?}");
    still_works(&mut bob).await;
}

#[tokio::test]
async fn binary_garbage_is_refused_with_bad_frame() {
    let relay = Relay::start().await;
    let mut plain = relay.user("alice").await;
    plain
        .send_raw(Message::Binary(vec![0xde, 0xad, 0xbe, 0xef].into()))
        .await;
    assert_eq!(error_code(&mut plain).await.1, "bad_frame");
    still_works(&mut plain).await;

    let token = relay.login("alice").await;
    let mut deflating = Client::connect_compressed(&relay.ws_url(), &token).await;
    deflating
        .send_raw(Message::Binary(vec![0xff; 64].into()))
        .await;
    assert_eq!(error_code(&mut deflating).await.1, "bad_frame");
    // A deflate bomb: tiny on the wire, far over the frame limit inflated.
    let bomb = tern_proto::compression::deflate(&" ".repeat(50 << 20));
    deflating.send_raw(Message::Binary(bomb.into())).await;
    assert_eq!(error_code(&mut deflating).await.1, "frame_too_large");
    still_works(&mut deflating).await;
}

#[tokio::test]
async fn compressed_frames_work_both_ways_when_agreed() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    relay.register("bob").await;
    let mut alice = Client::connect_compressed(&relay.ws_url(), &relay.login("alice").await).await;
    let bob_token = relay.login("bob").await;
    let mut bob = Client::connect_compressed(&relay.ws_url(), &bob_token).await;
    let conv = alice.start_direct("bob").await;

    // Client to relay: a deflated send.
    let body = "compress me ".repeat(1000);
    let frame =
        json!({"type": "send", "id": 77, "conversation_id": conv, "client_id": "z", "body": body})
            .to_string();
    alice
        .send_raw(Message::Binary(
            tern_proto::compression::deflate(&frame).into(),
        ))
        .await;
    alice
        .expect(|f| {
            matches!(
                f,
                ServerFrame::Ack {
                    id: RequestId(77),
                    ..
                }
            )
            .then_some(())
        })
        .await;

    // Relay to client: the large push arrives as a binary (deflated) frame.
    let raw = loop {
        match tokio::time::timeout(WAIT, bob.ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Binary(b) => break b,
            Message::Text(t) if t.contains("\"message\"") => {
                panic!("large push was not compressed")
            }
            _ => continue,
        }
    };
    assert!(raw.len() < body.len() / 10);
    let text = tern_proto::compression::inflate(&raw, 1 << 20).unwrap();
    let ServerFrame::Message { message } = serde_json::from_str(&text).unwrap() else {
        panic!("{text}")
    };
    assert_eq!(message.body, body);
}

#[tokio::test]
async fn a_flood_past_the_rate_limit_is_refused_and_other_users_are_unaffected() {
    let relay = Relay::start_with(|c| {
        c.limits.send_rate.burst = 5.0;
        c.limits.send_rate.per_second = 0.5;
    })
    .await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    for i in 0..30 {
        alice.send_json(json!({"type": "send", "id": 100 + i, "conversation_id": conv, "client_id": format!("f{i}"), "body": "spam"})).await;
    }
    let (mut acks, mut limited) = (0, 0);
    while acks + limited < 30 {
        match alice.recv().await {
            ServerFrame::Ack { .. } => acks += 1,
            ServerFrame::Error {
                code: tern_proto::ErrorCode::RateLimited,
                ..
            } => limited += 1,
            _ => {}
        }
    }
    assert_eq!(acks, 5);
    assert_eq!(limited, 25);
    // Bob's own sends are not limited by alice's bucket.
    assert!(!bob.send_msg(conv, "b1", "fine").await.1);
}

/// A relay allowing a burst of 10 frames per connection, then one every 10 s.
async fn strict_frame_rate() -> Relay {
    Relay::start_with(|c| {
        c.limits.frame_rate.burst = 10.0;
        c.limits.frame_rate.per_second = 0.1;
    })
    .await
}

#[tokio::test]
async fn a_flood_of_websocket_pings_counts_against_the_frame_rate() {
    let relay = strict_frame_rate().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    for _ in 0..20 {
        alice.send_raw(Message::Ping(vec![1, 2, 3].into())).await;
    }
    let refused = rate_limited(&mut alice, 10).await;
    assert_eq!(refused.len(), 10, "the pings past the burst are refused");
    flood_until_closed(&relay, alice, &mut bob, |_| Message::Ping(vec![0].into())).await;
}

#[tokio::test]
async fn a_frame_flood_is_refused_and_an_endless_one_is_disconnected() {
    let relay = strict_frame_rate().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    for i in 0..20 {
        alice.send_json(json!({"type": "ping", "id": i})).await;
    }
    let refused = rate_limited(&mut alice, 20).await;
    assert_eq!(refused.len(), 10);
    assert!(
        refused.iter().all(Option::is_some),
        "each refusal names its request"
    );
    flood_until_closed(&relay, alice, &mut bob, |i| {
        Message::Text(json!({"type": "ping", "id": i}).to_string().into())
    })
    .await;
}

/// A frame refused for rate is read for its id only when it is within the frame size limit:
/// refusing a large one costs no parse (an admitted one over the limit is refused unread).
#[tokio::test]
async fn a_frame_refused_for_rate_is_not_parsed_past_the_size_limit() {
    let relay = strict_frame_rate().await;
    let mut alice = relay.user("alice").await;
    for i in 0..10 {
        alice.send_json(json!({"type": "ping", "id": i})).await;
    }
    for _ in 0..10 {
        assert!(matches!(alice.recv().await, ServerFrame::Pong { .. }));
    }
    alice.send_json(json!({"type": "ping", "id": 77})).await;
    let big = "x".repeat(80 * 1024);
    alice
        .send_json(json!({"type": "ping", "id": 78, "padding": big}))
        .await;
    assert_eq!(
        rate_limited(&mut alice, 2).await,
        vec![Some(RequestId(77)), None],
        "the small one is named, the large one is not read"
    );
}

/// The ids of the `rate_limited` errors among `c`'s next `n` frames.
async fn rate_limited(c: &mut Client, n: usize) -> Vec<Option<RequestId>> {
    let mut ids = Vec::new();
    for _ in 0..n {
        if let ServerFrame::Error {
            code: tern_proto::ErrorCode::RateLimited,
            id,
            ..
        } = c.recv().await
        {
            ids.push(id);
        }
    }
    ids
}

/// Send `frame(i)` for ever (until the socket fails): the flooder is closed and only it.
async fn flood_until_closed(
    relay: &Relay,
    mut flooder: Client,
    other: &mut Client,
    frame: impl Fn(usize) -> Message,
) {
    for i in 0..1100 {
        if flooder.ws.send(frame(i)).await.is_err() {
            break;
        }
    }
    // The relay sends 1008; the client may see a reset instead, having unread data in flight.
    let code = flooder.expect_close().await;
    assert!(matches!(code, None | Some(1008)), "closed with {code:?}");
    still_works(other).await;
    assert_eq!(
        connections(relay).await,
        1,
        "only the other user is still connected"
    );
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_disconnected() {
    let relay = Relay::start_with(|c| {
        c.heartbeat.interval = Duration::from_millis(250);
        c.heartbeat.timeout = Duration::from_millis(1500);
    })
    .await;
    let mut alice = relay.user("alice").await;
    assert_eq!(connections(&relay).await, 1);
    // Not reading means tungstenite never answers the pings.
    let mut left = connections(&relay).await;
    for _ in 0..100 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = connections(&relay).await;
    }
    assert_eq!(left, 0, "the relay dropped the silent connection");
    let code = alice.expect_close().await;
    assert!(matches!(code, None | Some(4000)), "closed with {code:?}");
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let relay = Relay::start_with(|c| {
        c.heartbeat.interval = Duration::from_millis(250);
        c.heartbeat.timeout = Duration::from_millis(1500);
    })
    .await;
    let mut alice = relay.user("alice").await;
    // Reading (and so answering pings) for well past the timeout.
    alice
        .expect_none(Duration::from_millis(4000), |_| false)
        .await;
    still_works(&mut alice).await;
    assert_eq!(connections(&relay).await, 1);
}

use futures_util::SinkExt;

async fn connections(relay: &Relay) -> u64 {
    let health: serde_json::Value = reqwest::get(relay.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["connections"].as_u64().unwrap()
}

#[tokio::test]
async fn binary_frames_count_against_the_frame_rate_like_text_frames() {
    let relay = Relay::start_with(|c| {
        c.limits.frame_rate.burst = 5.0;
        c.limits.frame_rate.per_second = 0.001;
    })
    .await;
    let mut alice = relay.user("alice").await;
    for _ in 0..8 {
        alice
            .send_raw(Message::Binary(vec![0xde, 0xad].into()))
            .await;
    }
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(error_code(&mut alice).await.1);
    }
    assert_eq!(
        codes.iter().filter(|c| *c == "bad_frame").count(),
        5,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| *c == "rate_limited").count(),
        3,
        "{codes:?}"
    );
}

/// A NUL character (U+0000) in any text is refused with `bad_request`, over WebSocket and
/// HTTP alike, on both stores (PostgreSQL cannot store one: there it used to fail the whole
/// batch, other users' sends included). A backslash followed by the letters `u0000` is text
/// like any other.
#[tokio::test]
async fn a_nul_character_is_refused_and_harms_no_one_else() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;

    for frame in [
        json!({"type": "send", "conversation_id": conv, "client_id": "n1", "body": "a\u{0}b"}),
        json!({"type": "send", "conversation_id": conv, "client_id": "n\u{0}2", "body": "x"}),
        json!({"type": "create_group", "name": "g\u{0}", "members": ["bob"]}),
        json!({"type": "set_profile", "display_name": "Al\u{0}ice"}),
    ] {
        alice.expect_error(frame, "bad_request").await;
    }

    // Sent together, the refused frame and another user's message: the message is stored.
    alice
        .send_json(json!({"type": "send", "id": 900, "conversation_id": conv, "client_id": "n3", "body": "\u{0}"}))
        .await;
    bob.send_json(
        json!({"type": "send", "id": 901, "conversation_id": conv, "client_id": "b1", "body": "hello"}),
    )
    .await;
    assert_eq!(
        error_code(&mut alice).await,
        (Some(900), "bad_request".into())
    );
    let acked = bob
        .expect(|f| match f {
            ServerFrame::Ack { id, seq, .. } if *id == RequestId(901) => Some(seq.0),
            ServerFrame::Error {
                id: Some(RequestId(901)),
                ..
            } => panic!("{f:?}"),
            _ => None,
        })
        .await;
    assert!(alice.expect_message(conv).await.body == "hello");

    // The escape written out as text is kept as written.
    let (seq, _) = alice.send_msg(conv, "n4", "\\u0000").await;
    assert!(seq > acked);
    assert_eq!(bob.expect_message(conv).await.body, "\\u0000");

    let (status, body) = relay
        .post(
            "/v1/register",
            json!({"username": "eve", "password": "correct horse\u{0}battery"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    // Nor behind bytes that are not UTF-8 in a field the relay does not read.
    let mut raw = format!(
        r#"{{"username": "alice", "password": "{PASSWORD}", "device_name": "x\u0000", "zz": ""#
    )
    .into_bytes();
    raw.extend_from_slice(b"\xff\"}");
    let refused = relay
        .http
        .post(relay.url("/v1/login"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "bad_request", "{body}");
    still_works(&mut alice).await;
}

/// Every refusal over HTTP is a JSON error body, including a path the relay does not serve,
/// a method a path does not take, and a session id that is not a number.
#[tokio::test]
async fn unknown_paths_methods_and_malformed_ids_get_json_errors() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let json_of = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.expect("a JSON body");
        (status, body["code"].as_str().unwrap_or("").to_owned())
    };
    let res = relay
        .http
        .get(relay.url("/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res).await, (404, "not_found".to_owned()));
    let res = relay
        .http
        .delete(relay.url("/v1/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res).await, (405, "bad_request".to_owned()));
    let res = relay
        .http
        .post(relay.url("/v1/sessions/not-a-number/revoke"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res).await, (404, "not_found".to_owned()));
}

/// Renaming a group (like every request that changes a conversation's shape for all its
/// members) is held to a per-user allowance shared by the user's devices: past it,
/// `rate_limited`, and the group keeps its last accepted name; another member is unaffected.
#[tokio::test]
async fn shape_changes_past_the_users_allowance_are_refused_on_every_device() {
    let relay = Relay::start_with(|c| {
        c.limits.change_rate.burst = 5.0;
        c.limits.change_rate.per_second = 0.001;
    })
    .await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let mut phone = Client::connect(&relay.ws_url(), &relay.login("alice").await).await;
    // One change: the group.
    let group = alice.create_group("g0", &["bob"]).await;
    for i in 1..=4 {
        let reply = alice
            .request(
                json!({"type": "rename_group", "conversation_id": group, "name": format!("g{i}")}),
            )
            .await;
        assert!(
            matches!(reply, ServerFrame::Conversation { .. }),
            "{reply:?}"
        );
    }
    phone
        .expect_error(
            json!({"type": "rename_group", "conversation_id": group, "name": "too many"}),
            "rate_limited",
        )
        .await;
    let reply = bob
        .request(json!({"type": "rename_group", "conversation_id": group, "name": "bob's"}))
        .await;
    match reply {
        ServerFrame::Conversation { conversation, .. } => {
            assert_eq!(conversation.name.as_deref(), Some("bob's"))
        }
        other => panic!("{other:?}"),
    }
}

/// A `changes_since` larger than any version the relay hands out (they are signed 64-bit
/// integers) is refused, not read as "everything" after wrapping.
#[tokio::test]
async fn a_changes_since_past_any_version_is_refused() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    alice
        .expect_error(
            json!({"type": "sync", "cursors": [], "changes_since": u64::MAX}),
            "bad_request",
        )
        .await;
    let synced = alice.sync(json!({}), i64::MAX as u64).await;
    assert!(synced.conversations.is_empty());
}
