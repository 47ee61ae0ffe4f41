//! Privacy through a real relay, from the outside: message requests, blocking, presence
//! visibility, read-receipt settings. Each test states one promise of docs/protocol.md
//! ("Privacy") and fails if the relay breaks it.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::{ConversationId, PresenceVisibility, Seq, ServerFrame, UserId};

const QUIET: Duration = Duration::from_millis(400);

fn is_receipt(f: &ServerFrame) -> bool {
    matches!(f, ServerFrame::Receipt { .. })
}

fn is_presence_of(user: i64) -> impl FnMut(&ServerFrame) -> bool {
    move |f| matches!(f, ServerFrame::Presence { presence } if presence.user_id == UserId(user))
}

/// The next conversation shape `c` is pushed in which every member has accepted.
async fn all_accepted(c: &mut Client) -> tern_proto::ConversationInfo {
    c.expect(|f| match f {
        ServerFrame::Conversation { conversation, .. }
            if conversation.members.iter().all(|m| m.accepted) =>
        {
            Some(conversation.clone())
        }
        _ => None,
    })
    .await
}

async fn ok(c: &mut Client, frame: serde_json::Value) {
    match c.request(frame).await {
        ServerFrame::Ok { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_strangers_direct_chat_is_a_request_that_shares_nothing_until_accepted() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;

    // Bob sees the conversation as a request and can read what alice wrote.
    let shape = bob
        .expect(|f| match f {
            ServerFrame::Conversation { conversation, .. } => Some(conversation.clone()),
            _ => None,
        })
        .await;
    let me = shape.members.iter().find(|m| m.username == "bob").unwrap();
    assert!(!me.accepted, "a stranger's chat is a request: {shape:?}");
    alice.send_msg(conv, "a1", "hello, stranger").await;
    assert_eq!(bob.expect_message(conv).await.body, "hello, stranger");

    // Until he accepts: no receipts either way, no typing, no presence.
    bob.send_json(json!({"type": "delivered", "id": 90, "conversation_id": conv, "seq": 1}))
        .await;
    ok(
        &mut bob,
        json!({"type": "read", "conversation_id": conv, "seq": 1}),
    )
    .await;
    alice.expect_none(QUIET, is_receipt).await;
    alice
        .send_json(json!({"type": "typing", "id": 91, "conversation_id": conv, "active": true}))
        .await;
    bob.expect_none(QUIET, |f| matches!(f, ServerFrame::Typing { .. }))
        .await;
    assert!(alice.sync(json!({}), 0).await.presence.is_empty());
    assert!(bob.sync(json!({}), 0).await.presence.is_empty());
    // A sync shows alice bob's markers as nothing (the sender sees "sent", not "read").
    let seen = alice.sync(json!({}), 0).await;
    let c = seen
        .conversations
        .iter()
        .find(|c| c.conversation_id == ConversationId(conv))
        .unwrap();
    let b = c.members.iter().find(|m| m.username == "bob").unwrap();
    assert_eq!((b.delivered_seq.0, b.read_seq.0), (0, 0));

    // Accepting makes it a normal conversation: presence, then receipts.
    bob.accept(conv).await;
    let p = alice
        .expect(|f| match f {
            ServerFrame::Presence { presence } if presence.user_id == UserId(bob.user_id) => {
                Some(presence.clone())
            }
            _ => None,
        })
        .await;
    assert!(p.online);
    // What bob read before accepting now reaches alice as a receipt.
    let r = alice
        .expect(|f| match f {
            ServerFrame::Receipt { receipt } => Some(*receipt),
            _ => None,
        })
        .await;
    assert_eq!((r.user_id.0, r.read_seq.0), (bob.user_id, 1));
    alice.send_msg(conv, "a2", "thanks").await;
    bob.expect_message(conv).await;
    ok(
        &mut bob,
        json!({"type": "read", "conversation_id": conv, "seq": 2}),
    )
    .await;
    let r = alice
        .expect(|f| match f {
            ServerFrame::Receipt { receipt } => Some(*receipt),
            _ => None,
        })
        .await;
    assert_eq!((r.user_id.0, r.read_seq.0), (bob.user_id, 2));
}

#[tokio::test]
async fn replying_to_a_request_accepts_it() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    alice.send_msg(conv, "a1", "hi").await;
    bob.send_msg(conv, "b1", "hi yourself").await;
    let shape = all_accepted(&mut alice).await;
    assert_eq!(shape.conversation_id, ConversationId(conv));
    alice
        .expect(|f| is_presence_of(bob.user_id)(f).then_some(()))
        .await;
    // The connection that replied learns it too: its answer was only an ack.
    let mine = all_accepted(&mut bob).await;
    assert_eq!(mine.conversation_id, ConversationId(conv));
}

#[tokio::test]
async fn a_group_invitation_is_a_request_from_a_stranger_but_not_from_a_contact() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    relay.register("carol").await;
    let direct = alice.start_direct("bob").await;
    bob.accept(direct).await;

    let group = alice.create_group("club", &["bob", "carol"]).await;
    let shape = bob
        .expect(|f| match f {
            ServerFrame::Conversation { conversation, .. }
                if conversation.conversation_id == ConversationId(group) =>
            {
                Some(conversation.clone())
            }
            _ => None,
        })
        .await;
    let accepted = |name: &str| {
        shape
            .members
            .iter()
            .find(|m| m.username == name)
            .unwrap()
            .accepted
    };
    assert!(accepted("alice") && accepted("bob"), "bob knows alice");
    assert!(!accepted("carol"), "carol does not: {shape:?}");

    // Carol leaves that request; later she and alice become contacts, and alice adds her
    // again: no longer a stranger's invitation.
    let mut carol = Client::connect(&relay.ws_url(), &relay.login("carol").await).await;
    let left = carol
        .request(json!({"type": "leave_group", "conversation_id": group}))
        .await;
    assert!(matches!(left, ServerFrame::Ok { .. }), "{left:?}");
    let theirs = carol.start_direct("alice").await;
    alice.accept(theirs).await;
    let ServerFrame::Conversation { conversation, .. } = alice
        .request(json!({"type": "add_members", "conversation_id": group, "usernames": ["carol"]}))
        .await
    else {
        panic!("add_members")
    };
    let carol_now = conversation
        .members
        .iter()
        .find(|m| m.username == "carol")
        .expect("carol is back");
    assert!(carol_now.accepted, "{conversation:?}");
}

#[tokio::test]
async fn a_blocked_users_direct_messages_are_withheld_and_they_are_not_told() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    let mut alice_phone = relay.device("alice").await;
    let mut bob_phone = relay.device("bob").await;

    ok(&mut alice, json!({"type": "block", "username": "bob"})).await;
    // Every device of alice learns the block list; bob sees her presence only as hidden.
    let privacy = alice_phone
        .expect(|f| match f {
            ServerFrame::Privacy { privacy } => Some(privacy.clone()),
            _ => None,
        })
        .await;
    assert_eq!(privacy.blocked.len(), 1);
    assert_eq!(privacy.blocked[0].username, "bob");
    bob.expect(|f| match f {
        ServerFrame::Presence { presence }
            if presence.user_id == UserId(alice.user_id) && !presence.online =>
        {
            assert!(presence.last_seen.is_none(), "{presence:?}");
            Some(())
        }
        _ => None,
    })
    .await;

    // Bob's message is acknowledged as stored, and his other device has it in full.
    let (seq, duplicate) = bob.send_msg(conv, "b1", "are you ignoring me?").await;
    assert!(!duplicate);
    assert_eq!(
        bob_phone.expect_message(conv).await.body,
        "are you ignoring me?"
    );
    // Alice gets an empty placeholder at its place in the log, live, in sync and in history.
    let live = alice.expect_message(conv).await;
    assert!(
        live.withheld && live.body.is_empty() && live.seq == Seq(seq),
        "{live:?}"
    );
    let synced = relay.device("alice").await.sync(json!({}), 0).await;
    let m = synced.messages.iter().find(|m| m.seq == Seq(seq)).unwrap();
    assert!(m.withheld && m.body.is_empty());
    let ServerFrame::History { messages, .. } = alice
        .request(json!({"type": "history", "conversation_id": conv}))
        .await
    else {
        panic!("history")
    };
    assert!(messages
        .iter()
        .all(|m| !m.body.contains("ignoring") && (m.seq != Seq(seq) || m.withheld)));
    assert!(relay.stored.contents().windows(8).any(|w| w == b"ignoring"));
    // It is not counted unread, and the list does not preview it.
    let ServerFrame::Conversations { conversations, .. } =
        alice.request(json!({"type": "list_conversations"})).await
    else {
        panic!("list")
    };
    let listed = conversations
        .iter()
        .find(|c| c.info.conversation_id == ConversationId(conv))
        .unwrap();
    assert_eq!(listed.unread, 0);
    assert!(listed
        .last_message
        .as_ref()
        .is_none_or(|m| m.withheld && m.body.is_empty()));

    // Alice's devices acknowledging it tell bob nothing; bob's sync does not show her.
    alice
        .send_json(json!({"type": "delivered", "id": 70, "conversation_id": conv, "seq": seq}))
        .await;
    ok(
        &mut alice,
        json!({"type": "read", "conversation_id": conv, "seq": seq}),
    )
    .await;
    bob.expect_none(QUIET, is_receipt).await;
    let bob_sync = bob.sync(json!({}), 0).await;
    assert!(bob_sync
        .presence
        .iter()
        .all(|p| p.user_id != UserId(alice.user_id)));
    let shape = bob_sync
        .conversations
        .iter()
        .find(|c| c.conversation_id == ConversationId(conv))
        .unwrap();
    let a = shape
        .members
        .iter()
        .find(|m| m.username == "alice")
        .unwrap();
    assert_eq!((a.delivered_seq.0, a.read_seq.0), (0, 0));

    // Alice cannot write to someone she blocks until she unblocks.
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": conv, "client_id": "a1", "body": "x"}),
            "forbidden",
        )
        .await;
    ok(&mut alice, json!({"type": "unblock", "username": "bob"})).await;
    bob.send_msg(conv, "b2", "hello again").await;
    let m = alice.expect_message(conv).await;
    assert_eq!((m.body.as_str(), m.withheld), ("hello again", false));
    assert!(alice.sync(json!({}), 0).await.privacy.blocked.is_empty());
}

#[tokio::test]
async fn a_blocked_user_cannot_put_the_blocker_in_a_group() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    relay.register("carol").await;
    ok(&mut alice, json!({"type": "block", "username": "bob"})).await;
    let group = bob.create_group("trap", &["alice", "carol"]).await;
    let ServerFrame::Conversation { conversation, .. } = bob
        .request(json!({"type": "add_members", "conversation_id": group, "usernames": ["alice"]}))
        .await
    else {
        panic!("add_members")
    };
    assert!(
        conversation.members.iter().all(|m| m.username != "alice"),
        "{conversation:?}"
    );
    alice
        .expect_none(QUIET, |f| matches!(f, ServerFrame::Conversation { .. }))
        .await;
    assert!(alice.sync(json!({}), 0).await.conversations.is_empty());
}

#[tokio::test]
async fn presence_set_to_nobody_hides_online_state_and_last_seen() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    bob.expect(|f| is_presence_of(alice.user_id)(f).then_some(()))
        .await;

    ok(
        &mut alice,
        json!({"type": "set_privacy", "presence": "nobody"}),
    )
    .await;
    bob.clear_backlog();
    let p = bob
        .expect(|f| match f {
            ServerFrame::Presence { presence }
                if presence.user_id == UserId(alice.user_id) && !presence.online =>
            {
                Some(presence.clone())
            }
            _ => None,
        })
        .await;
    assert!(p.last_seen.is_none(), "{p:?}");
    assert!(bob
        .sync(json!({}), 0)
        .await
        .presence
        .iter()
        .all(|p| p.user_id != UserId(alice.user_id)));
    // Coming and going is not announced either.
    let alice_id = alice.user_id;
    drop(alice);
    bob.expect_none(QUIET, is_presence_of(alice_id)).await;
    let alice = relay.device("alice").await;
    bob.expect_none(QUIET, is_presence_of(alice.user_id)).await;
    // The setting is on every device of alice, and she still sees bob.
    let mut alice = alice;
    let sync = alice.sync(json!({}), 0).await;
    assert_eq!(sync.privacy.presence, PresenceVisibility::Nobody);
    assert!(sync
        .presence
        .iter()
        .any(|p| p.user_id == UserId(bob.user_id)));
}

#[tokio::test]
async fn read_receipts_off_hides_reads_both_ways_but_not_delivery() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    ok(
        &mut alice,
        json!({"type": "set_privacy", "read_receipts": false}),
    )
    .await;

    // Alice reads bob's message: bob learns it was delivered, not read.
    bob.send_msg(conv, "b1", "did you read this?").await;
    alice.expect_message(conv).await;
    ok(
        &mut alice,
        json!({"type": "read", "conversation_id": conv, "seq": 1}),
    )
    .await;
    let r = bob
        .expect(|f| match f {
            ServerFrame::Receipt { receipt } if receipt.user_id == UserId(alice.user_id) => {
                Some(*receipt)
            }
            _ => None,
        })
        .await;
    assert_eq!((r.delivered_seq.0, r.read_seq.0), (1, 0));

    // Bob reads alice's message: alice, with receipts off, does not see it either.
    alice.send_msg(conv, "a1", "maybe").await;
    bob.expect_message(conv).await;
    ok(
        &mut bob,
        json!({"type": "read", "conversation_id": conv, "seq": 2}),
    )
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
    let synced = alice.sync(json!({}), 0).await;
    let b = synced
        .conversations
        .iter()
        .find(|c| c.conversation_id == ConversationId(conv))
        .unwrap()
        .members
        .iter()
        .find(|m| m.username == "bob")
        .unwrap()
        .clone();
    assert_eq!((b.delivered_seq.0, b.read_seq.0), (2, 0));
    // Bob's own devices still see his own read marker.
    let bob_synced = relay.device("bob").await.sync(json!({}), 0).await;
    let own = bob_synced.conversations[0]
        .members
        .iter()
        .find(|m| m.username == "bob")
        .unwrap()
        .clone();
    assert_eq!(own.read_seq, Seq(2));
}

/// Blocking is private: a stranger whose message request is blocked never saw the blocker's
/// presence, so nothing reaches them at all (a presence frame arriving then would say "you
/// were blocked"). A blocked user whose presence the blocker never saw is not told either.
#[tokio::test]
async fn blocking_a_stranger_sends_them_nothing() {
    let relay = Relay::start().await;
    let mut mallory = relay.user("mallory").await;
    let mut alice = relay.user("alice").await;
    let conv = mallory.start_direct("alice").await;
    mallory.send_msg(conv, "m1", "hi, remember me?").await;
    alice.expect_message(conv).await;
    mallory.clear_backlog();

    ok(&mut alice, json!({"type": "block", "username": "mallory"})).await;
    mallory
        .expect_none(std::time::Duration::from_millis(500), |_| true)
        .await;
    // Alice's own devices hear of it (her block list), and nothing about mallory's presence,
    // which she never saw either.
    alice
        .expect(|f| matches!(f, ServerFrame::Privacy { .. }).then_some(()))
        .await;
    alice
        .expect_none(
            std::time::Duration::from_millis(300),
            is_presence_of(mallory.user_id),
        )
        .await;
}

/// A delete for everyone crosses a block both ways: a blocked user's deleted message leaves
/// the blocker's devices, and the blocker can take back what they sent before blocking. It
/// carries nothing, so nothing else crosses with it.
#[tokio::test]
async fn a_delete_for_everyone_crosses_a_block_in_both_directions() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    let (mine, _) = alice.send_msg(conv, "a1", "a photo I regret").await;
    bob.expect_message(conv).await;
    let (his, _) = bob.send_msg(conv, "b1", "something he regrets").await;
    alice.expect_message(conv).await;
    ok(&mut alice, json!({"type": "block", "username": "bob"})).await;

    let delete = |cid: &str, seq: u64| {
        json!({"type": "send", "conversation_id": conv, "client_id": cid, "kind": "delete",
               "target_seq": seq, "body": ""})
    };
    let acked = bob.request(delete("b2", his)).await;
    assert!(matches!(acked, ServerFrame::Ack { .. }), "{acked:?}");
    let pushed = alice.expect_message(conv).await;
    assert_eq!(
        (pushed.withheld, pushed.kind, pushed.target_seq),
        (false, tern_proto::MessageKind::Delete, Some(Seq(his)))
    );

    let acked = alice.request(delete("a2", mine)).await;
    assert!(matches!(acked, ServerFrame::Ack { .. }), "{acked:?}");
    let pushed = bob.expect_message(conv).await;
    assert_eq!(
        (pushed.kind, pushed.target_seq),
        (tern_proto::MessageKind::Delete, Some(Seq(mine)))
    );
    // Anything else alice sends is still refused while she blocks him.
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": conv, "client_id": "a3", "body": "hi"}),
            "forbidden",
        )
        .await;
}
