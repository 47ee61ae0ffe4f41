//! Muting, pinning, marking unread and archiving a conversation: kept by the relay for the
//! user alone, the same on every device of theirs (pushed to the ones online, in the sync of
//! the others), never shown to anyone else, changed field by field (two devices changing
//! different fields at once both keep theirs), and refused for a conversation the user is
//! not in or past the pin limit.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tern_proto::{ChatPrefs, ConversationId, ServerFrame, MAX_PINNED};

const QUIET: Duration = Duration::from_millis(300);

fn prefs_of(f: &ServerFrame) -> Option<ChatPrefs> {
    match f {
        ServerFrame::ChatPrefs { prefs } => Some(*prefs),
        _ => None,
    }
}

async fn set(c: &mut Client, conv: i64, change: serde_json::Value) -> ServerFrame {
    c.request(json!({"type": "set_chat_prefs", "conversation_id": conv, "change": change}))
        .await
}

/// Every field back to nothing.
fn cleared() -> serde_json::Value {
    json!({"mute": {"muted": false}, "pin": {"at": null}, "marked_unread": false,
           "archived": false})
}

#[tokio::test]
async fn a_mute_or_pin_reaches_every_device_of_the_user_and_nobody_else() {
    let relay = Relay::start().await;
    let mut laptop = relay.user("alice").await;
    let mut phone = relay.device("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = laptop.start_direct("bob").await;
    bob.accept(conv).await;

    let reply = set(
        &mut laptop,
        conv,
        json!({"mute": {"muted": true, "until": 4_000_000_000_000i64},
               "pin": {"at": 1_700_000_000_000i64}, "marked_unread": true, "archived": true}),
    )
    .await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let want = ChatPrefs {
        conversation_id: ConversationId(conv),
        muted: true,
        muted_until: Some(4_000_000_000_000),
        pinned_at: Some(1_700_000_000_000),
        marked_unread: true,
        archived: true,
        archived_at: None,
    };
    // The other device is told at once; so is the one that set it (one code path for both).
    // The relay stamps when it was archived, with its own clock.
    let pushed = phone.expect(prefs_of).await;
    assert!(
        pushed.archived_at.is_some_and(|at| at > 1_700_000_000_000),
        "{pushed:?}"
    );
    let want = ChatPrefs {
        archived_at: pushed.archived_at,
        ..want
    };
    assert_eq!(pushed, want);
    assert_eq!(laptop.expect(prefs_of).await, want);
    bob.expect_none(QUIET, |f| prefs_of(f).is_some()).await;

    // A device that was away finds it in its sync; the other member's sync has nothing.
    let mut tablet = relay.device("alice").await;
    assert_eq!(tablet.sync(json!({}), 0).await.chat_prefs, vec![want]);
    assert!(bob.sync(json!({}), 0).await.chat_prefs.is_empty());

    // Archived again (with the other fields left alone), it keeps the time it was archived;
    // unarchived, the time goes and the rest stays.
    let reply = set(
        &mut laptop,
        conv,
        json!({"archived": true, "archived_at": 5}),
    )
    .await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let again = phone.expect(prefs_of).await;
    assert_eq!(again, want, "the time is kept, whatever a client says");
    let reply = set(&mut laptop, conv, json!({"archived": false})).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let unarchived = phone.expect(prefs_of).await;
    assert_eq!(
        unarchived,
        ChatPrefs {
            archived: false,
            archived_at: None,
            ..want
        }
    );
    // (The laptop was told of its own two changes too.)
    laptop.expect(prefs_of).await;
    laptop.expect(prefs_of).await;
    // With nothing set, the conversation is no longer listed.
    let reply = set(&mut phone, conv, cleared()).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    assert_eq!(
        laptop.expect(prefs_of).await,
        ChatPrefs::none(ConversationId(conv))
    );
    assert!(tablet.sync(json!({}), 0).await.chat_prefs.is_empty());
}

#[tokio::test]
async fn a_conversation_one_is_not_in_cannot_be_muted_and_pins_stop_at_the_limit() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let _carol = relay.user("carol").await;
    let theirs = bob.start_direct("carol").await;
    alice
        .expect_error(
            json!({"type": "set_chat_prefs", "conversation_id": theirs,
                   "change": {"mute": {"muted": true}}}),
            "not_member",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "set_chat_prefs", "conversation_id": theirs,
                   "change": {"mute": {"muted": "yes"}}}),
            "bad_request",
        )
        .await;

    let mut groups = Vec::new();
    for i in 0..=MAX_PINNED {
        groups.push(alice.create_group(&format!("g{i}"), &["bob"]).await);
    }
    for (i, g) in groups.iter().take(MAX_PINNED).enumerate() {
        let reply = set(&mut alice, *g, json!({"pin": {"at": 1_000 + i as i64}})).await;
        assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    }
    let last = groups[MAX_PINNED];
    alice
        .expect_error(
            json!({"type": "set_chat_prefs", "conversation_id": last,
                   "change": {"pin": {"at": 2_000}}}),
            "bad_request",
        )
        .await;
    // Muting it is still fine, and so is pinning it again after leaving a pinned group:
    // a pin in a conversation one left takes no place.
    let reply = set(&mut alice, last, json!({"mute": {"muted": true}})).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    match alice
        .request(json!({"type": "leave_group", "conversation_id": groups[0]}))
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("leave_group: {other:?}"),
    }
    let reply = set(&mut alice, last, json!({"pin": {"at": 2_000}})).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let listed = alice.sync(json!({}), 0).await.chat_prefs;
    let pinned = listed.iter().filter(|p| p.pinned_at.is_some()).count();
    // The left group's pin is kept out of sight (it comes back if she rejoins).
    assert_eq!(pinned, MAX_PINNED);
    assert!(listed
        .iter()
        .all(|p| p.conversation_id != ConversationId(groups[0])));
    // Added back to the group she left, its pin comes back with it: six are pinned. Only a
    // new pin is refused; the pinned chats can still be muted, archived and pinned anew.
    match bob
        .request(
            json!({"type": "add_members", "conversation_id": groups[0], "usernames": ["alice"]}),
        )
        .await
    {
        ServerFrame::Ok { .. } | ServerFrame::Conversation { .. } => {}
        other => panic!("add_members: {other:?}"),
    }
    let listed = alice.sync(json!({}), 0).await.chat_prefs;
    assert_eq!(
        listed.iter().filter(|p| p.pinned_at.is_some()).count(),
        MAX_PINNED + 1
    );
    for g in [groups[0], last] {
        let reply = set(
            &mut alice,
            g,
            json!({"mute": {"muted": true}, "archived": true}),
        )
        .await;
        assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
        let reply = set(&mut alice, g, json!({"pin": {"at": 3_000}})).await;
        assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    }
    let seventh = alice.create_group("g7", &["bob"]).await;
    alice
        .expect_error(
            json!({"type": "set_chat_prefs", "conversation_id": seventh,
                   "change": {"pin": {"at": 4_000}}}),
            "bad_request",
        )
        .await;
    // And she can clear a chat's choices although she is no longer in it.
    ok_leave(&mut alice, groups[1]).await;
    let reply = set(&mut alice, groups[1], cleared()).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
}

async fn ok_leave(c: &mut Client, conv: i64) {
    match c
        .request(json!({"type": "leave_group", "conversation_id": conv}))
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("leave_group: {other:?}"),
    }
}

#[tokio::test]
async fn changes_of_different_fields_from_two_devices_at_once_both_hold() {
    let relay = Relay::start().await;
    let mut laptop = relay.user("alice").await;
    let mut phone = relay.device("alice").await;
    let _bob = relay.user("bob").await;
    let conv = laptop.start_direct("bob").await;
    // Each device sends its change before it hears of the other's.
    let pin = json!({"type": "set_chat_prefs", "id": 900, "conversation_id": conv,
                     "change": {"pin": {"at": 1_700_000_000_000i64}}});
    let mute = json!({"type": "set_chat_prefs", "id": 901, "conversation_id": conv,
                      "change": {"mute": {"muted": true, "until": 4_000_000_000_000i64}}});
    laptop.send_json(pin).await;
    phone.send_json(mute).await;
    for device in [&mut laptop, &mut phone] {
        device.expect(|f| reply_id(f).filter(|id| *id >= 900)).await;
    }
    let both = ChatPrefs {
        muted: true,
        muted_until: Some(4_000_000_000_000),
        pinned_at: Some(1_700_000_000_000),
        ..ChatPrefs::none(ConversationId(conv))
    };
    assert_eq!(laptop.sync(json!({}), 0).await.chat_prefs, vec![both]);
    // Leaving a field out leaves it alone; an unmute takes its end with it.
    let reply = set(
        &mut phone,
        conv,
        json!({"mute": {"muted": false, "until": 5}}),
    )
    .await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let unmuted = ChatPrefs {
        muted: false,
        muted_until: None,
        ..both
    };
    assert_eq!(laptop.sync(json!({}), 0).await.chat_prefs, vec![unmuted]);

    // The request's first form (the whole row) is still read: every field set.
    let reply = phone
        .request(json!({"type": "set_chat_prefs",
                        "prefs": {"conversation_id": conv, "muted": true, "marked_unread": true}}))
        .await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let whole = ChatPrefs {
        muted: true,
        marked_unread: true,
        ..ChatPrefs::none(ConversationId(conv))
    };
    assert_eq!(laptop.sync(json!({}), 0).await.chat_prefs, vec![whole]);
    // Neither form: refused.
    phone
        .expect_error(
            json!({"type": "set_chat_prefs", "conversation_id": conv}),
            "bad_request",
        )
        .await;
}

/// `set_chat_prefs` with the time the user made the change.
async fn set_at(c: &mut Client, conv: i64, change: serde_json::Value, at: i64) -> ServerFrame {
    c.request(
        json!({"type": "set_chat_prefs", "conversation_id": conv, "change": change,
                     "edited_at": at}),
    )
    .await
}

/// Of two changes of one setting the later edit holds, whichever arrives last: an earlier
/// one arriving after it is refused `superseded` and changes nothing; the same edit sent
/// again (its answer was lost) is taken; a time ahead of the relay's clock counts as now;
/// a change without a time (an older client) is taken when it arrives; other settings are
/// not held up by the edit time of one.
#[tokio::test]
async fn of_two_changes_of_one_setting_the_later_edit_holds_whichever_arrives_last() {
    let relay = Relay::start().await;
    let mut laptop = relay.user("alice").await;
    let mut phone = relay.device("alice").await;
    let _bob = relay.user("bob").await;
    let conv = laptop.start_direct("bob").await;
    let now = tern_proto::now_ms();
    let for_an_hour = json!({"mute": {"muted": true, "until": now + 3_600_000}});
    let for_good = json!({"mute": {"muted": true}});
    let shown = |until: Option<i64>| ChatPrefs {
        muted: true,
        muted_until: until,
        ..ChatPrefs::none(ConversationId(conv))
    };

    let reply = set_at(&mut phone, conv, for_an_hour.clone(), now - 1_000).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    // The laptop's change was made before the phone's, and arrives after it.
    let refused = laptop
        .expect_error(
            json!({"type": "set_chat_prefs", "conversation_id": conv, "change": for_good,
                   "edited_at": now - 5_000}),
            "superseded",
        )
        .await;
    assert!(matches!(refused, ServerFrame::Error { .. }));
    assert_eq!(
        laptop.sync(json!({}), 0).await.chat_prefs,
        vec![shown(Some(now + 3_600_000))]
    );
    // The phone's change again (its answer lost): taken, nothing else changes.
    let reply = set_at(&mut phone, conv, for_an_hour.clone(), now - 1_000).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    // Another setting is not held up by the mute's edit time.
    let reply = set_at(&mut laptop, conv, json!({"archived": true}), now - 9_000).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    // A clock far ahead counts as the relay's now: a later edit still holds over it.
    let reply = set_at(&mut laptop, conv, for_good.clone(), now + 86_400_000).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let later = tern_proto::now_ms() + 60_000;
    let reply = set_at(&mut phone, conv, for_an_hour.clone(), later).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    // Without a time (an older client): taken as it arrives.
    let reply = set(&mut laptop, conv, for_good).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let synced = laptop.sync(json!({}), 0).await.chat_prefs;
    assert_eq!(
        synced,
        vec![ChatPrefs {
            archived: true,
            archived_at: synced[0].archived_at,
            ..shown(None)
        }]
    );
}

#[tokio::test]
async fn deleting_the_account_forgets_its_mutes_and_pins() {
    let relay = Relay::start().await;
    let _bob = relay.user("bob").await;
    relay.register("alice").await;
    let token = relay.login("alice").await;
    let mut alice = Client::connect(&relay.ws_url(), &token).await;
    let conv = alice.start_direct("bob").await;
    let reply = set(&mut alice, conv, json!({"mute": {"muted": true}})).await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let id = alice.user_id;
    let rows = |relay: &Relay| {
        relay.stored.rows(&format!(
            "SELECT conversation_id FROM chat_prefs WHERE user_id = {id}"
        ))
    };
    assert_eq!(rows(&relay).len(), 1);
    let (status, body) = relay
        .post(
            "/v1/account/delete",
            json!({"password": PASSWORD}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert!(rows(&relay).is_empty());
}
