//! Rich messaging through the engine: replies, edits, deletes and reactions made offline go
//! out after an app restart and a relay `kill -9`, and every device folds them into the same
//! state; a refused action is dropped and said; search finds the current text only; a message
//! deleted for me disappears on this device only.

mod common;

use std::time::Duration;

use common::*;
use tern_client::{ChatMessage, Client, Event};
use tern_proto::{ConversationId, Seq};

/// What a member sees of a chat: seq, text, edited, deleted, reactions (emoji, count, who).
type Shown = Vec<(u64, String, bool, bool, Vec<(String, usize, Vec<String>)>)>;

async fn shown(c: &Client, conv: ConversationId) -> Shown {
    c.messages(conv, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            let mut reactions: Vec<_> = m
                .reactions
                .iter()
                .map(|r| {
                    let mut users = r.users.clone();
                    users.sort();
                    (r.emoji.clone(), r.count, users)
                })
                .collect();
            reactions.sort();
            (
                m.seq.unwrap_or(Seq::ZERO).0,
                m.body,
                m.edited,
                m.deleted,
                reactions,
            )
        })
        .collect()
}

fn at(view: &[ChatMessage], seq: u64) -> &ChatMessage {
    view.iter()
        .find(|m| m.seq == Some(Seq(seq)))
        .expect("the message")
}

#[tokio::test]
async fn actions_taken_offline_survive_an_app_restart_and_a_relay_kill_and_every_device_converges()
{
    let mut relay = Relay::start();
    let (alice, alice_dir) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let (alice_laptop, _l) = device(&relay, "alice").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    for text in ["first", "second", "third"] {
        alice.send(conv, text).await.unwrap();
    }
    wait_settled(&alice).await;
    eventually("bob has the three", || async {
        bob.stored_messages(conv).await.unwrap().len() == 3
    })
    .await;

    relay.kill9();
    // Offline: alice edits 1, reacts to 2, deletes 3 and replies to 1; bob reacts to 1.
    alice.edit(conv, Seq(1), "first, corrected").await.unwrap();
    alice.react(conv, Seq(2), "❤️").await.unwrap();
    alice.delete_for_everyone(conv, Seq(3)).await.unwrap();
    alice
        .send_text(conv, "about the first", Some(Seq(1)))
        .await
        .unwrap();
    bob.react(conv, Seq(1), "👍").await.unwrap();
    // The user sees what they did at once.
    let now = alice.messages(conv, None, 10).await.unwrap();
    assert_eq!(
        (at(&now, 1).body.as_str(), at(&now, 1).edited),
        ("first, corrected", true)
    );
    assert!(at(&now, 2).reactions[0].mine);
    assert!(at(&now, 3).deleted && at(&now, 3).body.is_empty());
    let reply = now.last().unwrap();
    assert_eq!(
        reply.reply_to.as_ref().map(|q| (q.seq, q.snippet.as_str())),
        Some((Seq(1), "first, corrected"))
    );

    // Alice closes the app with all of it unsent; the relay comes back; she starts again.
    let config = alice.config().clone();
    alice.shutdown().await;
    drop(alice);
    relay.restart();
    let alice = Client::resume(config, "alice").await.unwrap();
    wait_settled(&alice).await;
    wait_settled(&bob).await;

    let expected: Shown = vec![
        (
            1,
            "first, corrected".into(),
            true,
            false,
            vec![("👍".into(), 1, vec!["bob".into()])],
        ),
        (
            2,
            "second".into(),
            false,
            false,
            vec![("❤️".into(), 1, vec!["alice".into()])],
        ),
        (3, String::new(), false, true, vec![]),
        (
            // The reply is the only new message; the events have seqs between.
            0,
            "about the first".into(),
            false,
            false,
            vec![],
        ),
    ];
    for (name, c) in [
        ("alice", &alice),
        ("alice's laptop", &alice_laptop),
        ("bob", &bob),
    ] {
        eventually(&format!("{name} converges"), || async {
            let mut view = shown(c, conv).await;
            if let Some(last) = view.last_mut() {
                last.0 = 0;
            }
            view == expected
        })
        .await;
    }
    // Every cache holds the same log as every other, entry for entry.
    let reference = alice.stored_messages(conv).await.unwrap();
    assert_eq!(reference.len(), 8, "4 messages and 4 events, each once");
    assert_eq!(bob.stored_messages(conv).await.unwrap(), reference);
    assert_eq!(alice_laptop.stored_messages(conv).await.unwrap(), reference);
    drop(alice_dir);
}

#[tokio::test]
async fn a_refused_edit_is_dropped_and_said_and_the_message_shows_as_before() {
    // An edit window of zero hours: every edit is too late.
    let relay = Relay::start_with(&["--edit-window-hours", "0"]);
    let (alice, _a) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    alice.send(conv, "as sent").await.unwrap();
    wait_settled(&alice).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The relay's welcome told the engine its limits.
    let limits = alice.relay_limits().await.unwrap();
    assert_eq!(
        (limits.edit_window_ms, limits.max_message_bytes),
        (Some(0), Some(16 * 1024))
    );
    let mut events = alice.subscribe();
    alice.edit(conv, Seq(1), "rewritten").await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(Event::ActionRefused {
                seq: Seq(1),
                kind,
                body,
                reason,
                ..
            }) = events.recv().await
            {
                assert_eq!(kind, tern_proto::MessageKind::Edit);
                assert_eq!(
                    body, "rewritten",
                    "what the user wrote comes back with the refusal"
                );
                return reason;
            }
        }
    })
    .await
    .expect("the refusal is reported");
    assert!(reason.contains("edit_window_closed"), "{reason}");
    wait_settled(&alice).await;
    let view = alice.messages(conv, None, 10).await.unwrap();
    assert_eq!((view[0].body.as_str(), view[0].edited), ("as sent", false));
}

#[tokio::test]
async fn search_finds_the_current_text_and_delete_for_me_hides_on_this_device_only() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    // Accepted, so its unread messages count toward bob's total (a request's do not).
    bob.accept_request(conv).await.unwrap();
    alice.send(conv, "meet at the harbour").await.unwrap();
    alice.send(conv, "bring the map").await.unwrap();
    wait_settled(&alice).await;
    alice
        .edit(conv, Seq(1), "meet at the station")
        .await
        .unwrap();
    wait_settled(&alice).await;
    eventually("bob sees the edit", || async {
        bob.messages(conv, None, 10).await.unwrap()[0].body == "meet at the station"
    })
    .await;
    for c in [&alice, &bob] {
        assert!(c.search("harbour", 10).await.unwrap().is_empty());
        assert_eq!(c.search("station", 10).await.unwrap().len(), 1);
    }

    alice.delete_for_everyone(conv, Seq(1)).await.unwrap();
    wait_settled(&alice).await;
    eventually("bob sees the tombstone", || async {
        bob.messages(conv, None, 10).await.unwrap()[0].deleted
    })
    .await;
    assert!(bob.search("station", 10).await.unwrap().is_empty());

    bob.delete_for_me(conv, Seq(2)).await.unwrap();
    let bobs: Vec<Option<Seq>> = bob
        .messages(conv, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert!(!bobs.contains(&Some(Seq(2))));
    assert!(bob.search("map", 10).await.unwrap().is_empty());
    assert_eq!(alice.search("map", 10).await.unwrap().len(), 1);
    // Unread counts count messages: of the two sent, one is hidden here; the edit and the
    // delete are not messages.
    let listed = bob.conversations().await.unwrap();
    assert_eq!(listed[0].unread, 1);
    assert_eq!(bob.unread_total().await.unwrap(), 1);

    // Alice edits the message bob deleted for himself: nothing of it comes back on his
    // device, not even as a changed message (a later visible change shows events flow).
    let mut events = bob.subscribe();
    alice.edit(conv, Seq(2), "bring the new map").await.unwrap();
    alice.send(conv, "see you").await.unwrap();
    wait_settled(&alice).await;
    let last = alice
        .messages(conv, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.body == "see you")
        .and_then(|m| m.seq)
        .expect("stored");
    alice.react(conv, last, "👍").await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        let mut seen = Vec::new();
        loop {
            match events.recv().await {
                Ok(Event::MessageChanged { message, hidden }) => {
                    let done = message.seq == Some(last);
                    seen.push((message.seq, message.body, hidden));
                    if done {
                        return seen;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("the reaction's change arrives");
    assert!(
        seen.iter().all(|(seq, _, _)| *seq != Some(Seq(2))),
        "the hidden message was told as changed: {seen:?}"
    );
    assert!(bob.search("new map", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn search_honours_quoted_phrases_and_pages_past_a_hundred_results() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    alice.send(conv, "meet at the harbour").await.unwrap();
    alice.send(conv, "the harbour, meet at noon").await.unwrap();
    for i in 1..=120 {
        alice.send(conv, &format!("note {i}")).await.unwrap();
    }
    wait_settled(&alice).await;
    assert_eq!(alice.search("harb meet", 10).await.unwrap().len(), 2);
    let phrase = alice.search("\"at the harbour\"", 10).await.unwrap();
    assert_eq!(phrase.len(), 1);
    assert_eq!(phrase[0].body, "meet at the harbour");
    // FTS syntax typed by the user is text, not an operator.
    assert!(alice
        .search("harbour OR note", 10)
        .await
        .unwrap()
        .is_empty());

    let first = alice.search_from("note", 0, 100).await.unwrap();
    let rest = alice.search_from("note", 100, 100).await.unwrap();
    assert_eq!((first.len(), rest.len()), (100, 20));
    assert_eq!(first[0].body, "note 120", "newest first");
    let mut seqs: Vec<_> = first.iter().chain(&rest).map(|m| m.seq).collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), 120, "pages neither overlap nor skip");
}

/// Every cached message of `conv` as (seq, text).
async fn seq_bodies(c: &Client, conv: ConversationId) -> Vec<(u64, String)> {
    c.stored_messages(conv)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.seq.0, m.body))
        .collect()
}

/// Added to a group that already had messages, a member online at the time gets them at
/// once, not only at their next sync: the relay pushes only what comes after, and until the
/// older ones are here the later edits and reactions (applied in order) could not be shown.
#[tokio::test]
async fn a_member_added_while_online_gets_the_earlier_messages_and_sees_later_edits() {
    let relay = Relay::start();
    let (bob, _b) = signup(&relay, "bob").await;
    let (carol, _c) = signup(&relay, "carol").await;
    let (alice, _a) = signup(&relay, "alice").await;
    let group = bob
        .create_group("club", &["carol"])
        .await
        .unwrap()
        .conversation_id;
    for i in 1..=30 {
        bob.send(group, &format!("before alice {i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    let first = bob
        .stored_messages(group)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.body == "before alice 1")
        .unwrap()
        .seq;

    let mut events = alice.subscribe();
    bob.add_members(group, &["alice"]).await.unwrap();
    eventually("alice hears she was added", || async {
        alice.conversation(group).await.unwrap().is_some()
    })
    .await;
    bob.send(group, "welcome").await.unwrap();
    bob.edit(group, first, "the first, edited").await.unwrap();
    carol.react(group, first, "👍").await.unwrap();
    for c in [&bob, &carol] {
        wait_settled(c).await;
    }
    // Her cache alone (no page asked for, which would read the relay): every message, the
    // edit applied.
    eventually(
        "alice has every message, the edit applied, without reconnecting",
        || async {
            let (want, got) = (
                seq_bodies(&bob, group).await,
                seq_bodies(&alice, group).await,
            );
            got == want && got.iter().any(|m| m.1 == "the first, edited")
        },
    )
    .await;
    eventually("and the reaction", || async {
        shown(&alice, group).await == shown(&bob, group).await
    })
    .await;
    // The earlier messages came as history, not as news: no message event (which would
    // notify) for any of them; the new one had its event.
    let mut news = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let Event::Message { message } = ev {
            news.push(message.body);
        }
    }
    assert!(news.iter().any(|b| b == "welcome"), "{news:?}");
    assert!(
        !news.iter().any(|b| b.starts_with("before alice")),
        "{news:?}"
    );
    let mine = shown(&alice, group).await;
    assert!(
        mine.iter()
            .any(|m| m.1 == "the first, edited" && m.2 && m.4.len() == 1),
        "{mine:?}"
    );
}

/// Two quick taps on the same reaction (their calls overlapping) add it and take it away:
/// each decides against what the other queued, so the user's last word stands.
#[tokio::test]
async fn two_quick_taps_on_a_reaction_leave_it_off() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    alice.send(conv, "tap me").await.unwrap();
    wait_settled(&alice).await;
    let seq = alice.messages(conv, None, 10).await.unwrap()[0]
        .seq
        .unwrap();
    let (first, second) = tokio::join!(alice.react(conv, seq, "👍"), alice.react(conv, seq, "👍"));
    first.unwrap();
    second.unwrap();
    wait_settled(&alice).await;
    for c in [&alice, &bob] {
        eventually("both taps landed", || async {
            let view = c.messages(conv, None, 10).await.unwrap();
            view.iter()
                .find(|m| m.seq == Some(seq))
                .is_some_and(|m| m.reactions.is_empty())
                && c.stored_messages(conv).await.unwrap().len() >= 3
        })
        .await;
    }
}
