//! Sync after a disconnect: everything missed arrives, in per-conversation order, paged, with
//! membership and receipt changes; live pushes during a sync are not duplicated.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::{ConversationId, ServerFrame};

#[tokio::test]
async fn a_large_backlog_arrives_complete_in_order_and_in_pages() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let direct = alice.start_direct("bob").await;
    let group = alice.create_group("g", &["bob"]).await;
    bob.send_msg(direct, "before", "seen before going offline")
        .await;
    let first = bob.sync(json!({}), 0).await;
    let bob_cursor = 1;
    drop(bob);

    // 1,700 messages across two conversations while bob is away, sent pipelined.
    for i in 0..1700u64 {
        let conv = if i % 3 == 0 { group } else { direct };
        alice.send_json(json!({"type": "send", "id": 10_000 + i, "conversation_id": conv, "client_id": format!("b{i}"), "body": format!("msg {i}")})).await;
    }
    let mut acks = 0;
    while acks < 1700 {
        if let ServerFrame::Ack { .. } = alice.recv().await {
            acks += 1;
        }
    }

    let mut bob = relay.device("bob").await;
    let sync = bob
        .sync(json!({direct.to_string(): bob_cursor}), first.version)
        .await;
    assert!(sync.pages >= 4, "paged: {} pages", sync.pages);
    let mut per_conv: HashMap<i64, Vec<u64>> = HashMap::new();
    for m in &sync.messages {
        per_conv
            .entry(m.conversation_id.0)
            .or_default()
            .push(m.seq.0);
    }
    // Direct: seq 2..=1134 (bob already had 1). Group: he never synced it, so 1..=569: its
    // two notices ("created", "added bob"), then the 567 messages.
    let direct_count = (0..1700).filter(|i| i % 3 != 0).count() as u64;
    let group_count = 1700 - direct_count;
    assert_eq!(
        per_conv[&direct],
        (2..=direct_count + 1).collect::<Vec<_>>()
    );
    assert_eq!(per_conv[&group], (1..=group_count + 2).collect::<Vec<_>>());
    // Message bodies match what was sent, in the order sent.
    let group_bodies: Vec<&str> = sync
        .messages
        .iter()
        .filter(|m| m.conversation_id == ConversationId(group) && m.notice().is_none())
        .map(|m| m.body.as_str())
        .collect();
    let expected: Vec<String> = (0..1700)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("msg {i}"))
        .collect();
    assert_eq!(group_bodies, expected);
}

#[tokio::test]
async fn a_second_sync_with_up_to_date_cursors_sends_nothing_again() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "1", "x").await;
    let s1 = alice.sync(json!({}), 0).await;
    assert_eq!(s1.messages.len(), 1);
    assert_eq!(s1.conversations.len(), 1);
    let s2 = alice.sync(json!({conv.to_string(): 1}), s1.version).await;
    assert!(
        s2.messages.is_empty() && s2.conversations.is_empty() && s2.receipts.is_empty(),
        "{s2:?}"
    );
}

#[tokio::test]
async fn membership_changes_made_while_offline_arrive_with_the_sync() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    relay.register("carol").await;
    let kept = alice.create_group("kept", &["bob"]).await;
    let dropped = alice.create_group("dropped", &["bob"]).await;
    let s = bob.sync(json!({}), 0).await;
    drop(bob);

    alice
        .request(json!({"type": "rename_group", "conversation_id": kept, "name": "renamed"}))
        .await;
    alice
        .request(json!({"type": "add_members", "conversation_id": kept, "usernames": ["carol"]}))
        .await;
    alice
        .request(json!({"type": "remove_member", "conversation_id": dropped, "username": "bob"}))
        .await;
    let fresh = alice.create_group("new", &["bob"]).await;

    let mut bob = relay.device("bob").await;
    let s2 = bob.sync(json!({}), s.version).await;
    let kept_info = s2
        .conversations
        .iter()
        .find(|c| c.conversation_id == ConversationId(kept))
        .expect("renamed group in sync");
    assert_eq!(kept_info.name.as_deref(), Some("renamed"));
    assert_eq!(kept_info.members.len(), 3);
    assert!(s2
        .conversations
        .iter()
        .any(|c| c.conversation_id == ConversationId(fresh)));
    assert_eq!(s2.removed, vec![dropped]);
    assert!(!s2
        .conversations
        .iter()
        .any(|c| c.conversation_id == ConversationId(dropped)));
}

#[tokio::test]
async fn messages_sent_during_a_sync_arrive_exactly_once() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    for i in 0..600 {
        alice.send_json(json!({"type": "send", "id": 100 + i, "conversation_id": conv, "client_id": format!("a{i}"), "body": "x"})).await;
    }
    // Bob syncs while alice is still sending: each seq must reach him once, by sync or push.
    let id = 424242;
    bob.send_json(json!({"type": "sync", "id": id, "cursors": [], "changes_since": 0}))
        .await;
    let mut seen: Vec<u64> = Vec::new();
    let mut done = false;
    while !done || seen.len() < 600 {
        match bob.recv().await {
            ServerFrame::SyncPage { messages, .. } => seen.extend(messages.iter().map(|m| m.seq.0)),
            ServerFrame::SyncDone { .. } => done = true,
            ServerFrame::Message { message } => seen.push(message.seq.0),
            _ => {}
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "duplicates delivered");
    assert_eq!(sorted, (1..=600).collect::<Vec<_>>());
    bob.expect_none(std::time::Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Message { .. })
    })
    .await;
}

/// Messages whose text is made of control characters take six bytes each as JSON (`\u0001`):
/// the sync still comes in pages of about 256 KiB, so a stranger who writes such messages
/// cannot make a recipient's sync page outgrow the connection's queue and fail every time.
#[tokio::test]
async fn pages_stay_bounded_by_their_size_as_sent_even_for_text_that_json_escapes() {
    // A queue of 1 MiB (4 MiB by default): one page of the 20 messages below, unbounded,
    // would not fit it.
    let relay = Relay::start_with(|c| c.limits.connection_queue_bytes = 1024 * 1024).await;
    let mut stranger = relay.user("mallory").await;
    let alice = relay.user("alice").await;
    let conv = stranger.start_direct("alice").await;
    // Away while they come (a connection leaves out of its sync what it was pushed live).
    drop(alice);
    // Each body is 10,800 control characters: 10.5 KiB of text, about 65 KB as JSON (the
    // inbound frame's bound is what limits it).
    let body = "\u{1}".repeat(10_800);
    for i in 0..20 {
        let (_, duplicate) = stranger.send_msg(conv, &format!("c{i}"), &body).await;
        assert!(!duplicate);
    }
    let mut alice = relay.device("alice").await;
    let id = alice.next_id();
    alice
        .send_json(json!({"type": "sync", "id": id, "cursors": [], "changes_since": 0}))
        .await;
    let mut got = 0;
    loop {
        let frame = alice
            .expect(|f| (reply_id(f) == Some(id)).then(|| f.clone()))
            .await;
        let size = serde_json::to_vec(&frame).unwrap().len();
        match frame {
            ServerFrame::SyncPage { messages, .. } => {
                got += messages.iter().filter(|m| m.body == body).count();
                // 256 KiB and at most one message past it.
                assert!(size < 256 * 1024 + 70_000, "a page of {size} bytes");
            }
            ServerFrame::SyncDone { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, 20, "every message arrived");
}

/// A sync whose shape changes weigh more than a connection may have queued (many groups, or a
/// few large ones) arrives in several pages, each about 256 KiB at most, instead of one frame
/// that would close the connection with 4008 at every attempt.
#[tokio::test]
async fn shape_changes_heavier_than_the_queue_limit_arrive_in_several_pages() {
    let relay = Relay::start_with(|c| c.limits.connection_queue_bytes = 300 * 1024).await;
    let mut alice = relay.user("alice").await;
    // Long names make each member of each shape weigh about 400 bytes.
    let long: String = "🦜".repeat(60);
    for name in ["bob", "carol"] {
        let mut c = relay.user(name).await;
        c.request(json!({"type": "set_profile", "display_name": long}))
            .await;
    }
    alice
        .request(json!({"type": "set_profile", "display_name": long}))
        .await;
    const GROUPS: usize = 450;
    for i in 0..GROUPS {
        alice
            .create_group(&format!("g{i}"), &["bob", "carol"])
            .await;
    }
    let mut carol = Client::connect(&relay.ws_url(), &relay.login("carol").await).await;
    let synced = carol.sync(json!({}), 0).await;
    assert_eq!(synced.conversations.len(), GROUPS);
    assert!(synced.pages >= 3, "{} pages", synced.pages);
}

/// A sync that takes longer than the heartbeat timeout, because the client reads its many pages
/// slowly (each one well within the timeout), keeps the connection: the relay was writing to
/// the client all along, and read nothing from it meanwhile. Before, the heartbeat closed it
/// with 4000 right after `sync_done`, and a client on a slow link synced again and again.
#[tokio::test]
async fn a_sync_slower_than_the_heartbeat_timeout_keeps_the_connection() {
    let relay = Relay::start_with(|c| {
        c.heartbeat.interval = Duration::from_millis(200);
        c.heartbeat.timeout = Duration::from_secs(1);
    })
    .await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let group = alice.create_group("g", &["bob"]).await;
    // About 12 MB in pages of about 256 KiB: three times what the sockets' buffers hold here,
    // so the relay writes the last pages only as bob reads the first.
    let body = "x".repeat(15 * 1024);
    for i in 0..800 {
        alice.send_msg(group, &format!("m{i}"), &body).await;
    }
    drop(alice);

    let mut bob = Client::connect_small_buffer(&relay.ws_url(), &relay.login("bob").await).await;
    bob.send_json(json!({"type": "sync", "id": 7, "cursors": [], "changes_since": 0}))
        .await;
    let (mut got, mut pages) = (0, 0);
    loop {
        match bob.recv().await {
            ServerFrame::SyncPage { messages, .. } => {
                got += messages.iter().filter(|m| m.body == body).count();
                pages += 1;
            }
            ServerFrame::SyncDone { .. } => break,
            _ => {}
        }
        // The first 20 pages (about 5 MB) slowly, 2 s in all; the rest at once, so that what
        // the sockets still hold when the relay is done is read well within the timeout.
        if pages <= 20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(got, 800, "every message arrived");
    // Still connected: a ping is answered.
    match bob.request(json!({"type": "ping"})).await {
        ServerFrame::Pong { .. } => {}
        other => panic!("{other:?}"),
    }
}
