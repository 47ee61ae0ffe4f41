//! Messaging through a real relay over real WebSockets: direct chats, groups, delivery to
//! every device, deduplication, receipts, typing, presence and membership rules.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::{ConversationId, MemberRole, RequestId, Seq, ServerFrame, UserId};

#[tokio::test]
async fn a_message_reaches_the_other_member_and_the_senders_other_devices_but_not_the_sending_connection(
) {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut alice_phone = relay.device("alice").await;
    let mut bob = relay.user("bob").await;

    let conv = alice.start_direct("bob").await;
    let (seq, dup) = alice.send_msg(conv, "m1", "hello bob").await;
    assert_eq!((seq, dup), (1, false));

    let at_bob = bob.expect_message(conv).await;
    assert_eq!(at_bob.body, "hello bob");
    assert_eq!(at_bob.sender, "alice");
    assert_eq!(at_bob.seq, Seq(1));
    let at_phone = alice_phone.expect_message(conv).await;
    assert_eq!(at_phone, at_bob);
    alice
        .expect_none(Duration::from_millis(300), |f| {
            matches!(f, ServerFrame::Message { .. })
        })
        .await;
}

#[tokio::test]
async fn sending_the_same_client_id_again_returns_the_original_ack_and_delivers_nothing_new() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;

    let first = alice
        .request(
            json!({"type": "send", "conversation_id": conv, "client_id": "same", "body": "once"}),
        )
        .await;
    // Even from another device, even with different text: the id decides.
    let mut alice2 = relay.device("alice").await;
    let again = alice2
        .request(
            json!({"type": "send", "conversation_id": conv, "client_id": "same", "body": "twice?"}),
        )
        .await;
    match (first, again) {
        (
            ServerFrame::Ack {
                message_id: m1,
                seq: s1,
                sent_at: t1,
                duplicate: false,
                ..
            },
            ServerFrame::Ack {
                message_id: m2,
                seq: s2,
                sent_at: t2,
                duplicate: true,
                ..
            },
        ) => assert_eq!((m1, s1, t1), (m2, s2, t2)),
        other => panic!("unexpected acks {other:?}"),
    }
    assert_eq!(bob.expect_message(conv).await.body, "once");
    bob.expect_none(Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Message { .. })
    })
    .await;
    let history = bob
        .request(json!({"type": "history", "conversation_id": conv}))
        .await;
    let ServerFrame::History { messages, .. } = history else {
        panic!("{history:?}")
    };
    assert_eq!(messages.len(), 1);
}

/// A resend of a stored message is not new activity: the conversation keeps its place in the
/// list (on PostgreSQL a resend once moved it to the top).
#[tokio::test]
async fn a_resend_does_not_move_its_conversation_up_the_list() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    relay.register("carol").await;
    let with_bob = alice.start_direct("bob").await;
    let with_carol = alice.start_direct("carol").await;
    let order = |reply: ServerFrame| match reply {
        ServerFrame::Conversations { conversations, .. } => conversations
            .iter()
            .map(|c| c.info.conversation_id.0)
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    alice.send_msg(with_bob, "first", "to bob").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    alice.send_msg(with_carol, "second", "to carol").await;
    let before = order(alice.request(json!({"type": "list_conversations"})).await);
    assert_eq!(before[..2], [with_carol, with_bob]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, duplicate) = alice.send_msg(with_bob, "first", "to bob").await;
    assert!(duplicate);
    let after = order(alice.request(json!({"type": "list_conversations"})).await);
    assert_eq!(after, before);
}

#[tokio::test]
async fn pipelined_sends_keep_their_order_and_every_member_sees_the_same_sequence() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let mut carol = relay.user("carol").await;
    let conv = alice.create_group("trio", &["bob", "carol"]).await;

    for i in 0..200 {
        alice.send_json(json!({"type": "send", "id": 1000 + i, "conversation_id": conv, "client_id": format!("p{i}"), "body": format!("n{i}")})).await;
    }
    let mut acked = Vec::new();
    while acked.len() < 200 {
        if let ServerFrame::Ack { id, seq, .. } = alice
            .expect(|f| matches!(f, ServerFrame::Ack { .. }).then(|| f.clone()))
            .await
        {
            acked.push((id, seq));
        }
    }
    // The group's log starts with two notices ("created", "added bob and carol").
    let first = 3;
    for (i, (id, seq)) in acked.iter().enumerate() {
        assert_eq!(*id, RequestId(1000 + i as u64));
        assert_eq!(*seq, Seq(i as u64 + first));
    }
    for member in [&mut bob, &mut carol] {
        for i in 0..200u64 {
            let m = member.expect_message(conv).await;
            assert_eq!(
                (m.seq.0, m.body.as_str()),
                (i + first, format!("n{i}").as_str())
            );
        }
    }
}

/// A send that names the sender's earlier message (`after`) is stored only once that one is:
/// before, it is refused `out_of_order` (worth retrying), and nothing is stored for it, nor
/// is the sender's allowance of sends used up by it.
#[tokio::test]
async fn a_send_after_an_earlier_message_not_yet_stored_waits_for_it() {
    // Two sends allowed, refilled only after a quarter of an hour.
    let relay = Relay::start_with(|c| {
        c.limits.send_rate.burst = 2.0;
        c.limits.send_rate.per_second = 0.001;
    })
    .await;
    let mut alice = relay.user("alice").await;
    let _bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let second = json!({"type": "send", "conversation_id": conv, "client_id": "m2",
                        "body": "second", "after": "m1"});
    for _ in 0..3 {
        alice.expect_error(second.clone(), "out_of_order").await;
    }
    let (first_seq, _) = alice.send_msg(conv, "m1", "first").await;
    match alice.request(second).await {
        ServerFrame::Ack { seq, duplicate, .. } => {
            assert!(!duplicate);
            assert_eq!(seq.0, first_seq + 1, "right after the one it names");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn delivered_and_read_receipts_are_forwarded_to_the_sender() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    alice.send_msg(conv, "a", "one").await;
    alice.send_msg(conv, "b", "two").await;
    bob.expect_message(conv).await;
    bob.expect_message(conv).await;

    bob.send_json(json!({"type": "delivered", "id": 50, "conversation_id": conv, "seq": 2}))
        .await;
    let r = alice
        .expect(|f| match f {
            ServerFrame::Receipt { receipt } if receipt.user_id == UserId(bob.user_id) => {
                Some(*receipt)
            }
            _ => None,
        })
        .await;
    assert_eq!((r.delivered_seq.0, r.read_seq.0), (2, 0));

    let ok = bob
        .request(json!({"type": "read", "conversation_id": conv, "seq": 1}))
        .await;
    assert!(matches!(ok, ServerFrame::Ok { .. }), "{ok:?}");
    let r = alice
        .expect(|f| match f {
            ServerFrame::Receipt { receipt } if receipt.user_id == UserId(bob.user_id) => {
                Some(*receipt)
            }
            _ => None,
        })
        .await;
    assert_eq!((r.delivered_seq.0, r.read_seq.0), (2, 1));

    // Markers never move backwards and never past the newest message.
    bob.request(json!({"type": "read", "conversation_id": conv, "seq": 99}))
        .await;
    let r = alice
        .expect(|f| match f {
            ServerFrame::Receipt { receipt } if receipt.user_id == UserId(bob.user_id) => {
                Some(*receipt)
            }
            _ => None,
        })
        .await;
    assert_eq!((r.delivered_seq.0, r.read_seq.0), (2, 2));
    bob.request(json!({"type": "read", "conversation_id": conv, "seq": 1}))
        .await;
    alice
        .expect_none(Duration::from_millis(300), |f| {
            matches!(f, ServerFrame::Receipt { .. })
        })
        .await;
}

#[tokio::test]
async fn a_read_marker_reaches_the_readers_other_devices_but_not_the_connection_that_moved_it() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let mut bobs_phone = relay.device("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    alice.send_msg(conv, "a", "one").await;
    bob.expect_message(conv).await;
    bobs_phone.expect_message(conv).await;

    let ok = bob
        .request(json!({"type": "read", "conversation_id": conv, "seq": 1}))
        .await;
    assert!(matches!(ok, ServerFrame::Ok { .. }), "{ok:?}");
    let bob_id = UserId(bob.user_id);
    let mine = move |f: &ServerFrame| match f {
        ServerFrame::Receipt { receipt } if receipt.user_id == bob_id => Some(*receipt),
        _ => None,
    };
    let on_phone = bobs_phone.expect(mine).await;
    assert_eq!((on_phone.delivered_seq.0, on_phone.read_seq.0), (1, 1));
    let for_alice = alice.expect(mine).await;
    assert_eq!(for_alice.read_seq.0, 1);
    bob.expect_none(Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Receipt { .. })
    })
    .await;
}

#[tokio::test]
async fn receipts_reach_a_sender_who_was_offline_when_they_happened() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    alice.send_msg(conv, "x", "are you there?").await;
    let first = alice.sync(json!({}), 0).await;
    drop(alice);

    bob.expect_message(conv).await;
    bob.request(json!({"type": "read", "conversation_id": conv, "seq": 1}))
        .await;

    let mut alice = relay.device("alice").await;
    let sync = alice
        .sync(json!({conv.to_string(): 1}), first.version)
        .await;
    let r = sync
        .receipts
        .iter()
        .find(|r| r.user_id == UserId(bob.user_id))
        .expect("bob's receipt in sync");
    assert_eq!((r.delivered_seq.0, r.read_seq.0), (1, 1));
    assert!(
        sync.messages.is_empty(),
        "nothing new to send: {:?}",
        sync.messages
    );
}

#[tokio::test]
async fn typing_reaches_other_members_only_and_carries_an_expiry() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let mut eve = relay.user("eve").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;

    alice
        .send_json(json!({"type": "typing", "id": 9, "conversation_id": conv, "active": true}))
        .await;
    let (who, active, expires) = bob
        .expect(|f| match f {
            ServerFrame::Typing {
                user_id,
                active,
                expires_in_ms,
                ..
            } => Some((*user_id, *active, *expires_in_ms)),
            _ => None,
        })
        .await;
    assert_eq!((who.0, active), (alice.user_id, true));
    assert!(expires > 0);
    eve.expect_none(Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Typing { .. })
    })
    .await;
    alice
        .expect_none(Duration::from_millis(100), |f| {
            matches!(f, ServerFrame::Typing { .. })
        })
        .await;

    // A non-member cannot type into it.
    eve.expect_error(
        json!({"type": "typing", "conversation_id": conv, "active": true}),
        "not_member",
    )
    .await;
}

#[tokio::test]
async fn presence_is_shared_only_with_contacts_and_offline_carries_last_seen() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut stranger = relay.user("stranger").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    relay.accept_as("bob", conv, &mut alice).await;

    let sync = alice.sync(json!({}), 0).await;
    assert_eq!(
        sync.presence.len(),
        1,
        "only bob is a contact: {:?}",
        sync.presence
    );
    assert!(!sync.presence[0].online);

    let bob = relay.device("bob").await;
    let p = alice
        .expect(|f| match f {
            ServerFrame::Presence { presence } if presence.online => Some(presence.clone()),
            _ => None,
        })
        .await;
    assert_eq!(p.user_id, UserId(bob.user_id));
    drop(bob);
    let p = alice
        .expect(|f| match f {
            ServerFrame::Presence { presence } if presence.last_seen.is_some() => {
                Some(presence.clone())
            }
            _ => None,
        })
        .await;
    assert!(!p.online);
    stranger
        .expect_none(Duration::from_millis(300), |f| {
            matches!(f, ServerFrame::Presence { .. })
        })
        .await;
}

#[tokio::test]
async fn a_user_stays_online_while_any_device_is_connected() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    // Once bob accepts, alice sees his state (and he goes offline again).
    relay.accept_as("bob", conv, &mut alice).await;
    let bob1 = relay.device("bob").await;
    alice
        .expect(|f| {
            matches!(f, ServerFrame::Presence { presence } if presence.online).then_some(())
        })
        .await;
    let bob2 = relay.device("bob").await;
    drop(bob1);
    alice
        .expect_none(
            Duration::from_millis(500),
            |f| matches!(f, ServerFrame::Presence { presence } if !presence.online),
        )
        .await;
    drop(bob2);
    alice
        .expect(|f| {
            matches!(f, ServerFrame::Presence { presence } if !presence.online).then_some(())
        })
        .await;
}

#[tokio::test]
async fn non_members_can_neither_read_nor_write_a_conversation() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let mut eve = relay.user("eve").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "s", "secret").await;

    eve.expect_error(
        json!({"type": "send", "conversation_id": conv, "client_id": "e1", "body": "hi"}),
        "not_member",
    )
    .await;
    eve.expect_error(
        json!({"type": "history", "conversation_id": conv}),
        "not_member",
    )
    .await;
    eve.expect_error(
        json!({"type": "read", "conversation_id": conv, "seq": 1}),
        "not_member",
    )
    .await;
    eve.expect_error(
        json!({"type": "rename_group", "conversation_id": conv, "name": "x"}),
        "not_member",
    )
    .await;
    // A conversation that does not exist looks the same as one she is not in.
    eve.expect_error(
        json!({"type": "send", "conversation_id": 999_999, "client_id": "e2", "body": "hi"}),
        "not_member",
    )
    .await;
    let sync = eve.sync(json!({conv.to_string(): 0}), 0).await;
    assert!(sync.messages.is_empty() && sync.conversations.is_empty());
    // And her connection still works.
    assert!(matches!(
        eve.request(json!({"type": "ping"})).await,
        ServerFrame::Pong { .. }
    ));
}

#[tokio::test]
async fn groups_are_created_renamed_and_managed_by_admins() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let mut carol = relay.user("carol").await;
    relay.register("dave").await;

    let conv = alice.create_group("Team", &["bob"]).await;
    let pushed = bob
        .expect(|f| match f {
            ServerFrame::Conversation {
                id: None,
                conversation,
            } => Some(conversation.clone()),
            _ => None,
        })
        .await;
    assert_eq!(pushed.name.as_deref(), Some("Team"));
    assert_eq!(
        pushed
            .members
            .iter()
            .find(|m| m.username == "alice")
            .unwrap()
            .role,
        MemberRole::Admin
    );

    // Any member may rename; only admins add or remove.
    let renamed = bob
        .request(json!({"type": "rename_group", "conversation_id": conv, "name": "Dream Team"}))
        .await;
    assert!(
        matches!(&renamed, ServerFrame::Conversation { conversation, .. } if conversation.name.as_deref() == Some("Dream Team"))
    );
    bob.expect_error(
        json!({"type": "add_members", "conversation_id": conv, "usernames": ["carol"]}),
        "forbidden",
    )
    .await;
    let added = alice
        .request(
            json!({"type": "add_members", "conversation_id": conv, "usernames": ["carol", "dave"]}),
        )
        .await;
    let ServerFrame::Conversation { conversation, .. } = added else {
        panic!("{added:?}")
    };
    assert_eq!(conversation.members.len(), 4);
    carol.expect(|f| matches!(f, ServerFrame::Conversation { conversation, .. } if conversation.conversation_id == ConversationId(conv)).then_some(())).await;

    // Removal: the removed member is told and can no longer write.
    alice
        .request(json!({"type": "remove_member", "conversation_id": conv, "username": "carol"}))
        .await;
    carol.expect(|f| matches!(f, ServerFrame::ConversationRemoved { conversation_id } if *conversation_id == ConversationId(conv)).then_some(())).await;
    carol
        .expect_error(
            json!({"type": "send", "conversation_id": conv, "client_id": "c1", "body": "hi"}),
            "not_member",
        )
        .await;

    // When the last admin leaves, the longest-standing member becomes admin.
    assert!(matches!(
        alice
            .request(json!({"type": "leave_group", "conversation_id": conv}))
            .await,
        ServerFrame::Ok { .. }
    ));
    let after = bob
        .expect(|f| match f {
            ServerFrame::Conversation { conversation, .. } if conversation.members.len() == 2 => {
                Some(conversation.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(
        after
            .members
            .iter()
            .find(|m| m.username == "bob")
            .unwrap()
            .role,
        MemberRole::Admin
    );

    // Direct conversations have fixed members.
    let direct = bob.start_direct("dave").await;
    bob.expect_error(
        json!({"type": "add_members", "conversation_id": direct, "usernames": ["alice"]}),
        "forbidden",
    )
    .await;
    bob.expect_error(
        json!({"type": "leave_group", "conversation_id": direct}),
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_group_cannot_grow_past_the_size_limit() {
    let relay = Relay::start_with(|c| c.limits.max_group_size = 3).await;
    let mut alice = relay.user("alice").await;
    for n in ["bob", "carol", "dave"] {
        relay.register(n).await;
    }
    alice
        .expect_error(
            json!({"type": "create_group", "name": "big", "members": ["bob", "carol", "dave"]}),
            "group_too_large",
        )
        .await;
    let conv = alice.create_group("ok", &["bob", "carol"]).await;
    alice
        .expect_error(
            json!({"type": "add_members", "conversation_id": conv, "usernames": ["dave"]}),
            "group_too_large",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "create_group", "name": "x", "members": ["nobody"]}),
            "not_found",
        )
        .await;
}

#[tokio::test]
async fn starting_a_direct_chat_twice_finds_the_same_conversation() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let a = alice.start_direct("bob").await;
    let b = bob.start_direct("ALICE").await;
    assert_eq!(a, b);
    alice
        .expect_error(
            json!({"type": "start_direct", "username": "alice"}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "start_direct", "username": "nobody"}),
            "not_found",
        )
        .await;
}

#[tokio::test]
async fn the_conversation_list_shows_members_last_message_and_unread_count() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    relay.register("carol").await;
    let direct = alice.start_direct("bob").await;
    let group = alice.create_group("g", &["bob", "carol"]).await;
    alice.send_msg(direct, "1", "a").await;
    alice.send_msg(direct, "2", "b").await;
    alice.send_msg(direct, "3", "c").await;
    alice.send_msg(group, "4", "in group").await;
    bob.send_msg(direct, "5", "mine").await;
    bob.request(json!({"type": "read", "conversation_id": direct, "seq": 1}))
        .await;

    let ServerFrame::Conversations { conversations, .. } =
        bob.request(json!({"type": "list_conversations"})).await
    else {
        panic!()
    };
    assert_eq!(conversations.len(), 2);
    // Most recent activity first.
    assert_eq!(
        conversations[0].info.conversation_id,
        ConversationId(direct)
    );
    assert_eq!(conversations[0].last_message.as_ref().unwrap().body, "mine");
    assert_eq!(
        conversations[0].unread, 2,
        "b and c; his own message does not count"
    );
    assert_eq!(conversations[1].info.conversation_id, ConversationId(group));
    assert_eq!(conversations[1].unread, 1);
    assert_eq!(conversations[1].info.members.len(), 3);
}

#[tokio::test]
async fn history_pages_backwards_through_older_messages() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    relay.register("bob").await;
    let conv = alice.start_direct("bob").await;
    for i in 1..=25 {
        alice
            .send_msg(conv, &format!("h{i}"), &format!("m{i}"))
            .await;
    }
    let ServerFrame::History {
        messages, has_more, ..
    } = alice
        .request(json!({"type": "history", "conversation_id": conv, "limit": 10}))
        .await
    else {
        panic!()
    };
    assert_eq!(
        messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        (16..=25).collect::<Vec<_>>()
    );
    assert!(has_more);
    let ServerFrame::History {
        messages, has_more, ..
    } = alice
        .request(json!({"type": "history", "conversation_id": conv, "before_seq": 16, "limit": 10}))
        .await
    else {
        panic!()
    };
    assert_eq!(messages.first().unwrap().seq, Seq(6));
    assert!(has_more);
    let ServerFrame::History {
        messages, has_more, ..
    } = alice
        .request(json!({"type": "history", "conversation_id": conv, "before_seq": 6, "limit": 10}))
        .await
    else {
        panic!()
    };
    assert_eq!(
        messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(!has_more);
}

/// A message written offline carries when it was written; the relay keeps the author's word
/// (never later than it stored the message) and every member gets it pushed, in history and
/// in sync. Only text has one.
#[tokio::test]
async fn when_a_message_was_written_offline_reaches_every_member_as_its_author_said() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let written = tern_proto::now_ms() - 10 * 60_000;
    let send = |cid: &str, written_at: i64| json!({"type": "send", "conversation_id": conv, "client_id": cid, "body": "from the train", "written_at": written_at});
    let first = match alice.request(send("w1", written)).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("refused: {other:?}"),
    };
    let pushed = bob.expect_message(conv).await;
    assert_eq!((pushed.seq, pushed.written_at), (first, Some(written)));
    assert!(pushed.sent_at > written);

    // A time after the relay's own is no time the message was written: it reads as sent.
    let future = tern_proto::now_ms() + 3_600_000;
    alice.request(send("w2", future)).await;
    let ahead = bob.expect_message(conv).await;
    assert_eq!(ahead.written_at, Some(ahead.sent_at));

    // Bob's other device, which was pushed nothing (a connection is not sent twice what it
    // was pushed).
    let synced = relay.device("bob").await.sync(json!({}), 0).await;
    let kept: Vec<_> = synced.messages.iter().map(|m| m.written_at).collect();
    assert_eq!(kept, vec![Some(written), Some(ahead.sent_at)], "in sync");
    let history = match bob
        .request(json!({"type": "history", "conversation_id": conv, "before_seq": 2, "limit": 1}))
        .await
    {
        ServerFrame::History { messages, .. } => messages,
        other => panic!("history failed: {other:?}"),
    };
    assert_eq!(history[0].written_at, Some(written), "in history");

    // Only text has it, and it is a time.
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": conv, "client_id": "r1", "kind": "react",
                   "target_seq": first, "body": "👍", "written_at": written}),
            "bad_request",
        )
        .await;
    alice.expect_error(send("w3", 0), "bad_request").await;
    alice.expect_error(send("w4", -5), "bad_request").await;
    // Nothing of those reached bob.
    bob.expect_none(Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Message { .. })
    })
    .await;

    // Deleting it for everyone takes back when it was written too.
    alice
        .request(
            json!({"type": "send", "conversation_id": conv, "client_id": "d1",
                        "kind": "delete", "target_seq": first, "body": ""}),
        )
        .await;
    let history = match bob
        .request(json!({"type": "history", "conversation_id": conv, "before_seq": 2, "limit": 1}))
        .await
    {
        ServerFrame::History { messages, .. } => messages,
        other => panic!("history failed: {other:?}"),
    };
    assert!(history[0].deleted, "{history:?}");
    assert_eq!(history[0].written_at, None, "deleted with it");
}
