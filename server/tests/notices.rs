//! Group notices: what happens to a group is written by the relay into its log, in order
//! among the messages, pushed to the members, in history and in sync; clients cannot forge one.

mod common;

use common::*;
use serde_json::json;
use tern_proto::{ConversationId, MessageKind, MessageRecord, NoticeAction, Seq, ServerFrame};

/// The next pushed notice in `conv`.
async fn notice(client: &mut Client, conv: i64) -> MessageRecord {
    client
        .expect(|f| match f {
            ServerFrame::Message { message }
                if message.conversation_id == ConversationId(conv)
                    && message.kind == MessageKind::Notice =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .await
}

fn action(m: &MessageRecord) -> (NoticeAction, Vec<String>, Option<String>) {
    let n = m.notice().expect("a notice body");
    (
        n.action,
        n.users.into_iter().map(|u| u.username).collect(),
        n.name,
    )
}

#[tokio::test]
async fn group_changes_are_notices_in_the_log_in_order_for_every_member() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    relay.register("carol").await;
    relay.register("dave").await;
    // A name given twice (in two cases) and the creator's own add no one more.
    let group = alice.create_group("team", &["bob", "BOB", "alice"]).await;
    let created = notice(&mut bob, group).await;
    assert_eq!(
        action(&created),
        (NoticeAction::Created, vec![], Some("team".into()))
    );
    assert_eq!((created.sender.as_str(), created.seq.0), ("alice", 1));
    let added = notice(&mut bob, group).await;
    assert_eq!(
        action(&added),
        (NoticeAction::Added, vec!["bob".into()], None)
    );
    // The caller's own connection sees them too (its reply was the conversation).
    assert_eq!(notice(&mut alice, group).await.seq, Seq(1));
    assert_eq!(notice(&mut alice, group).await.seq, Seq(2));

    alice.send_msg(group, "m1", "hello").await;
    alice
        .request(json!({"type": "add_members", "conversation_id": group, "usernames": ["carol", "dave"]}))
        .await;
    assert_eq!(
        action(&notice(&mut bob, group).await),
        (
            NoticeAction::Added,
            vec!["carol".into(), "dave".into()],
            None
        )
    );
    bob.request(json!({"type": "rename_group", "conversation_id": group, "name": "team 2"}))
        .await;
    alice
        .request(json!({"type": "remove_member", "conversation_id": group, "username": "dave"}))
        .await;
    // Carol accepted the group (a stranger's invitation) before she leaves: leaving one she
    // never accepted writes nothing in its log (the privacy tests say so).
    let mut carol = relay.device("carol").await;
    carol.accept(group).await;
    carol
        .request(json!({"type": "leave_group", "conversation_id": group}))
        .await;

    // History has every line in its place; bob sees the renaming under his own name.
    let history = match bob
        .request(json!({"type": "history", "conversation_id": group, "limit": 50}))
        .await
    {
        ServerFrame::History { messages, .. } => messages,
        other => panic!("{other:?}"),
    };
    let lines: Vec<(u64, String, String)> = history
        .iter()
        .map(|m| {
            let what = match m.notice() {
                Some(n) => format!(
                    "{:?} {:?} {:?}",
                    n.action,
                    n.users.iter().map(|u| &u.username).collect::<Vec<_>>(),
                    n.name
                ),
                None => m.body.clone(),
            };
            (m.seq.0, m.sender.clone(), what)
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (1, "alice".into(), "Created [] Some(\"team\")".into()),
            (2, "alice".into(), "Added [\"bob\"] None".into()),
            (3, "alice".into(), "hello".into()),
            (4, "alice".into(), "Added [\"carol\", \"dave\"] None".into()),
            (5, "bob".into(), "Renamed [] Some(\"team 2\")".into()),
            (6, "alice".into(), "Removed [\"dave\"] None".into()),
            (7, "carol".into(), "Left [] None".into()),
        ]
    );

    // Renaming to the same name says nothing; a sync from scratch carries the same lines.
    bob.request(json!({"type": "rename_group", "conversation_id": group, "name": "team 2"}))
        .await;
    // (From another device: a connection's sync leaves out what it received live.)
    let mut bobs_laptop = relay.device("bob").await;
    let synced = bobs_laptop.sync(json!({group.to_string(): 0}), 0).await;
    let seqs: Vec<u64> = synced
        .messages
        .iter()
        .filter(|m| m.conversation_id == ConversationId(group))
        .map(|m| m.seq.0)
        .collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_cannot_send_a_notice() {
    let relay = Relay::start().await;
    relay.register("bob").await;
    let mut alice = relay.user("alice").await;
    let group = alice.create_group("team", &["bob"]).await;
    alice
        .expect_error(
            json!({"type": "send", "conversation_id": group, "client_id": "forged", "kind": "notice",
                   "body": "{\"action\":\"left\"}"}),
            "bad_request",
        )
        .await;
}

/// A client newer than the relay (or a forged frame) sends a kind the relay does not know:
/// refused, nothing stored, and the same for a privacy value it does not know.
#[tokio::test]
async fn a_kind_or_setting_the_relay_does_not_know_is_refused_and_nothing_changes() {
    let relay = Relay::start().await;
    relay.register("bob").await;
    let mut alice = relay.user("alice").await;
    let group = alice.create_group("team", &["bob"]).await;
    let (before, _) = alice.send_msg(group, "before", "first").await;
    for target in [json!(null), json!(1)] {
        alice
            .expect_error(
                json!({"type": "send", "conversation_id": group, "client_id": format!("poll-{target}"),
                       "kind": "poll", "body": "lunch?", "target_seq": target}),
                "bad_request",
            )
            .await;
    }
    alice
        .expect_error(
            json!({"type": "set_privacy", "presence": "everyone"}),
            "bad_request",
        )
        .await;
    // The connection still works, and nothing was stored in between.
    let (after, _) = alice.send_msg(group, "after", "still here").await;
    assert_eq!(after, before + 1, "nothing was stored in between");
}
