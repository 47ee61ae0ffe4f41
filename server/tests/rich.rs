//! Rich messaging through a real relay: replies, edits, deletes and reactions are entries of
//! the conversation's log, each authorized per member, folded into the message they change for
//! history and sync, and erased — not hidden — when a message is deleted for everyone.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tern_proto::{MessageKind, MessageRecord, Seq, ServerFrame};

/// Send an event (or a reply) and return its ack's seq.
async fn act(c: &mut Client, frame: Value) -> Seq {
    let mut frame = frame;
    frame["type"] = json!("send");
    match c.request(frame).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("refused: {other:?}"),
    }
}

fn edit(conv: i64, cid: &str, target: Seq, body: &str) -> Value {
    json!({"type": "send", "conversation_id": conv, "client_id": cid, "kind": "edit", "target_seq": target, "body": body})
}

fn delete(conv: i64, cid: &str, target: Seq) -> Value {
    json!({"type": "send", "conversation_id": conv, "client_id": cid, "kind": "delete", "target_seq": target, "body": ""})
}

fn react(conv: i64, cid: &str, target: Seq, emoji: &str, on: bool) -> Value {
    let kind = if on { "react" } else { "unreact" };
    json!({"type": "send", "conversation_id": conv, "client_id": cid, "kind": kind, "target_seq": target, "body": emoji})
}

/// The folded text message at `seq` as history returns it.
async fn folded(c: &mut Client, conv: i64, seq: Seq) -> MessageRecord {
    match c
        .request(
            json!({"type": "history", "conversation_id": conv, "before_seq": seq.next(), "limit": 1}),
        )
        .await
    {
        ServerFrame::History { mut messages, .. } => messages.pop().expect("the message"),
        other => panic!("history failed: {other:?}"),
    }
}

#[tokio::test]
async fn edits_deletes_and_reactions_are_ordered_entries_every_member_receives() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let m1 = Seq(alice.send_msg(conv, "m1", "helo").await.0);
    bob.expect_message(conv).await;

    let e = act(&mut alice, edit(conv, "e1", m1, "hello")).await;
    let r = act(&mut bob, react(conv, "r1", m1, "👍", true)).await;
    let reply = act(
        &mut bob,
        json!({"conversation_id": conv, "client_id": "m2", "body": "hi!", "reply_to": m1}),
    )
    .await;
    assert_eq!(
        (e, r, reply),
        (Seq(2), Seq(3), Seq(4)),
        "each entry takes the next seq"
    );

    let pushed = bob.expect_message(conv).await;
    assert_eq!(
        (pushed.kind, pushed.target_seq, pushed.body.as_str()),
        (MessageKind::Edit, Some(m1), "hello")
    );
    let at_alice = alice.expect_message(conv).await;
    assert_eq!(
        (at_alice.kind, at_alice.body.as_str()),
        (MessageKind::React, "👍")
    );
    let at_alice = alice.expect_message(conv).await;
    assert_eq!(
        (at_alice.reply_to, at_alice.kind),
        (Some(m1), MessageKind::Text)
    );

    let m = folded(&mut alice, conv, m1).await;
    assert_eq!(m.body, "hello");
    assert!(m.edited_at.is_some());
    assert_eq!(m.state_seq, r);
    assert_eq!(m.reactions.len(), 1);
    assert_eq!(m.reactions[0].emoji, "👍");

    // One user's reactions to one message are bounded.
    for i in 0..19 {
        act(
            &mut bob,
            react(conv, &format!("many{i}"), m1, &format!("e{i}"), true),
        )
        .await;
    }
    bob.expect_error(react(conv, "one-too-many", m1, "e19", true), "bad_request")
        .await;
    for i in 0..19 {
        act(
            &mut bob,
            react(conv, &format!("undo{i}"), m1, &format!("e{i}"), false),
        )
        .await;
    }

    // Taking the reaction back; a second identical reaction adds nothing.
    act(&mut bob, react(conv, "r2", m1, "👍", true)).await;
    assert_eq!(folded(&mut alice, conv, m1).await.reactions.len(), 1);
    act(&mut bob, react(conv, "r3", m1, "👍", false)).await;
    assert!(folded(&mut alice, conv, m1).await.reactions.is_empty());

    // Sync from the start returns every entry in order, with the text folded.
    let mut carol_view = relay.device("bob").await;
    let synced = carol_view.sync(json!({}), 0).await;
    let seqs: Vec<u64> = synced.messages.iter().map(|m| m.seq.0).collect();
    assert_eq!(seqs, (1..=44).collect::<Vec<_>>());
    assert_eq!(synced.messages[0].body, "hello");
}

#[tokio::test]
async fn unread_counts_and_the_conversation_preview_count_messages_not_events() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let m1 = Seq(alice.send_msg(conv, "m1", "one").await.0);
    act(&mut alice, edit(conv, "e1", m1, "one, edited")).await;
    act(&mut alice, react(conv, "r1", m1, "🎉", true)).await;
    match bob.request(json!({"type": "list_conversations"})).await {
        ServerFrame::Conversations { conversations, .. } => {
            let c = &conversations[0];
            assert_eq!(c.unread, 1);
            let last = c.last_message.as_ref().unwrap();
            assert_eq!((last.seq, last.body.as_str()), (m1, "one, edited"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn deleting_for_everyone_erases_the_text_every_edit_and_every_reaction_on_the_relay() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let m1 = Seq(alice.send_msg(conv, "m1", "secret-original-text").await.0);
    let e = act(&mut alice, edit(conv, "e1", m1, "secret-edited-text")).await;
    act(&mut bob, react(conv, "r1", m1, "😮", true)).await;
    let d = act(&mut alice, delete(conv, "d1", m1)).await;

    let m = folded(&mut bob, conv, m1).await;
    assert!(m.deleted);
    assert_eq!((m.body.as_str(), m.edited_at), ("", None));
    assert!(m.reactions.is_empty());
    assert_eq!(m.state_seq, d);
    let synced = relay.device("bob").await.sync(json!({}), 0).await;
    let edit_entry = synced
        .messages
        .iter()
        .find(|x| x.seq == e)
        .unwrap_or_else(|| panic!("{synced:?}"));
    assert_eq!(edit_entry.body, "", "the edit's text is erased too");
    let react_entry = synced
        .messages
        .iter()
        .find(|x| x.kind == tern_proto::MessageKind::React)
        .unwrap_or_else(|| panic!("{synced:?}"));
    assert_eq!(react_entry.body, "", "so is the reaction's emoji");

    // Not merely hidden: the database file no longer holds the text.
    // Checked in what the database holds (the SQLite file and its WAL, checkpointed but not
    // vacuumed, or a dump of the PostgreSQL database).
    let stored = relay.stored.clone();
    let _dir = relay.stop().await;
    let bytes = stored.contents();
    assert!(
        bytes.windows(5).any(|w| w == b"alice"),
        "the store was read"
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("secret-original-text"));
    assert!(!text.contains("secret-edited-text"));
    assert!(!text.contains("😮"), "no reaction left");
}

#[tokio::test]
async fn only_the_author_edits_within_the_window_and_a_deleted_message_takes_no_more_events() {
    let relay = Relay::start_with(|c| c.limits.edit_window = Duration::from_millis(400)).await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let m1 = Seq(alice.send_msg(conv, "m1", "mine").await.0);

    bob.expect_error(edit(conv, "e-bob", m1, "not yours"), "forbidden")
        .await;
    bob.expect_error(delete(conv, "d-bob", m1), "forbidden")
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    alice
        .expect_error(edit(conv, "e-late", m1, "too late"), "edit_window_closed")
        .await;

    act(&mut alice, delete(conv, "d1", m1)).await;
    alice
        .expect_error(delete(conv, "d2", m1), "message_deleted")
        .await;
    bob.expect_error(react(conv, "r1", m1, "👍", true), "message_deleted")
        .await;
    bob.expect_error(
        json!({"type": "send", "conversation_id": conv, "client_id": "reply", "body": "re", "reply_to": m1}),
        "message_deleted",
    )
    .await;
    // Resending the delete that was stored is answered with its ack, not refused.
    match alice.request(delete(conv, "d1", m1)).await {
        ServerFrame::Ack { duplicate, .. } => assert!(duplicate),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_group_admin_deletes_anyones_message_and_a_member_only_their_own() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let _carol = relay.user("carol").await;
    let group = alice.create_group("team", &["bob", "carol"]).await;
    let (by_bob, _) = bob.send_msg(group, "b1", "from bob").await;
    let (by_alice, _) = alice.send_msg(group, "a1", "from alice").await;
    bob.expect_error(delete(group, "d-bob", Seq(by_alice)), "forbidden")
        .await;
    act(&mut alice, delete(group, "d-alice", Seq(by_bob))).await;
    assert!(folded(&mut bob, group, Seq(by_bob)).await.deleted);
}

#[tokio::test]
async fn references_must_name_a_message_of_the_same_conversation_and_a_former_member_cannot_react()
{
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let _carol = relay.user("carol").await;
    let direct = alice.start_direct("bob").await;
    let (d1, _) = alice.send_msg(direct, "d1", "in the direct chat").await;
    let group = alice.create_group("team", &["bob", "carol"]).await;
    alice.send_msg(group, "g1", "in the group").await;

    // Seq 5 exists only in the direct chat: in the group it names nothing.
    let (d_many, _) = {
        for i in 2..=5 {
            alice.send_msg(direct, &format!("d{i}"), "more").await;
        }
        (5u64, ())
    };
    assert!(d_many > d1);
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": group, "client_id": "x1", "body": "re", "reply_to": d_many}),
            "not_found",
        )
        .await;
    // An event cannot target an event, and each kind needs the right fields.
    let e = act(&mut alice, edit(direct, "e1", Seq(d1), "edited")).await;
    alice
        .expect_error(edit(direct, "e2", e, "edit an edit"), "bad_request")
        .await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": direct, "client_id": "x2", "kind": "edit", "body": "no target"}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": direct, "client_id": "x3", "kind": "react", "target_seq": d1, "body": "two words"}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": direct, "client_id": "x4", "kind": "delete", "target_seq": d1, "body": "text"}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": direct, "client_id": "x5", "kind": "shout", "target_seq": d1, "body": "!"}),
            "bad_request",
        )
        .await;

    // Bob leaves the group: he can no longer react there.
    match bob
        .request(json!({"type": "leave_group", "conversation_id": group}))
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("{other:?}"),
    }
    bob.expect_error(react(group, "r-gone", Seq(1), "👍", true), "not_member")
        .await;
    // And the relay is still serving everyone.
    alice.send_msg(direct, "after", "still fine").await;
}

/// A member may put at most 20 different reactions on one message; the 21st is refused with
/// `bad_request` and stores nothing, taking one away makes room again, and another member's
/// reactions are counted apart.
#[tokio::test]
async fn at_most_twenty_different_reactions_per_member_and_message() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    let m1 = Seq(alice.send_msg(conv, "m1", "react to me").await.0);
    let emoji: Vec<String> = ('😀'..='😸').take(21).map(String::from).collect();
    for (i, e) in emoji.iter().take(20).enumerate() {
        act(&mut bob, react(conv, &format!("r{i}"), m1, e, true)).await;
    }
    bob.expect_error(react(conv, "r20", m1, &emoji[20], true), "bad_request")
        .await;
    assert_eq!(folded(&mut bob, conv, m1).await.reactions.len(), 20);
    // Alice's own reactions are hers: not counted against bob's.
    act(&mut alice, react(conv, "a0", m1, &emoji[20], true)).await;
    // One taken away makes room for another.
    act(&mut bob, react(conv, "u0", m1, &emoji[0], false)).await;
    act(&mut bob, react(conv, "r21", m1, &emoji[20], true)).await;
    let reactions = folded(&mut bob, conv, m1).await.reactions;
    assert_eq!(
        reactions.len(),
        21,
        "bob's 20 and alice's one: {reactions:?}"
    );
}
