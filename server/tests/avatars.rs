//! Profile and group pictures through a real relay: a picture is an upload named in a
//! `set_avatar` request; members learn of it by push; only people who share a conversation
//! with its user (or the group's members) may download it; bad pictures get clear errors; and
//! a replaced picture's bytes are swept.

mod common;

use common::blobs::{get, sha, upload};
use common::*;
use serde_json::{json, Value};
use tern_proto::{ConversationId, ConversationInfo, ServerFrame};

/// Bytes that start like a JPEG (the relay sniffs downloads against the declared type).
fn jpeg_like(fill: u8, len: usize) -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.resize(len, fill);
    b
}

fn picture(id: &str, bytes: &[u8]) -> Value {
    json!({"blob_id": id, "content_type": "image/jpeg", "size": bytes.len(), "sha256": sha(bytes)})
}

async fn fetch(relay: &Relay, token: &str, id: &str) -> (u16, Vec<u8>) {
    let res = get(relay, token, id, None).await;
    let status = res.status().as_u16();
    (status, res.bytes().await.unwrap().to_vec())
}

/// The next pushed shape of `conv`.
async fn pushed(client: &mut Client, conv: i64) -> ConversationInfo {
    client
        .expect(|f| match f {
            ServerFrame::Conversation {
                id: None,
                conversation,
            } if conversation.conversation_id == ConversationId(conv) => Some(conversation.clone()),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn a_profile_picture_reaches_contacts_and_nobody_else() {
    let relay = Relay::start().await;
    for u in ["alice", "bob", "carol"] {
        relay.register(u).await;
    }
    let (alice_token, bob_token, carol_token) = (
        relay.login("alice").await,
        relay.login("bob").await,
        relay.login("carol").await,
    );
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let mut bob = Client::connect(&relay.ws_url(), &bob_token).await;
    let conv = alice.start_direct("bob").await;
    bob.accept(conv).await;
    bob.clear_backlog();

    let face = jpeg_like(7, 5000);
    let id = upload(&relay, &alice_token, &face, "image/jpeg").await;
    let reply = alice
        .request(json!({"type": "set_avatar", "avatar": picture(&id, &face)}))
        .await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let shape = pushed(&mut bob, conv).await;
    // The caller's own connection learns it too (its reply is a bare `ok`).
    alice
        .expect(|f| match f {
            ServerFrame::Conversation {
                id: None,
                conversation,
            } if conversation.members.iter().any(|m| m.avatar.is_some()) => Some(()),
            _ => None,
        })
        .await;
    let shown = shape
        .members
        .iter()
        .find(|m| m.username == "alice")
        .unwrap();
    let avatar = shown.avatar.as_ref().expect("bob sees alice's picture");
    assert_eq!((avatar.blob_id.as_str(), avatar.size), (id.as_str(), 5000));
    let (status, bytes) = fetch(&relay, &bob_token, &id).await;
    assert_eq!((status, bytes == face), (200, true));
    assert_eq!(
        fetch(&relay, &carol_token, &id).await.0,
        404,
        "a stranger cannot fetch it"
    );
    // Listing and a later sync carry it too.
    match bob.request(json!({"type": "list_conversations"})).await {
        ServerFrame::Conversations { conversations, .. } => {
            let alice_there = conversations[0]
                .info
                .members
                .iter()
                .find(|m| m.username == "alice")
                .unwrap();
            assert_eq!(alice_there.avatar.as_ref().unwrap().blob_id, id);
        }
        other => panic!("{other:?}"),
    }

    // Removing it: the push says so, and the bytes are no longer bob's to fetch.
    alice
        .request(json!({"type": "set_avatar", "avatar": null}))
        .await;
    let shape = pushed(&mut bob, conv).await;
    assert!(shape.members.iter().all(|m| m.avatar.is_none()));
    assert_eq!(fetch(&relay, &bob_token, &id).await.0, 404);
}

#[tokio::test]
async fn a_bad_picture_gets_a_clear_error_and_changes_nothing() {
    let relay = Relay::start().await;
    for u in ["alice", "bob"] {
        relay.register(u).await;
    }
    let (alice_token, bob_token) = (relay.login("alice").await, relay.login("bob").await);
    let mut alice = Client::connect(&relay.ws_url(), &alice_token).await;
    let conv = alice.start_direct("bob").await;
    let page = b"<html>not a picture</html>".to_vec();
    let page_id = upload(&relay, &alice_token, &page, "text/html").await;
    let mut as_html = picture(&page_id, &page);
    as_html["content_type"] = json!("text/html");
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": as_html}),
            "bad_request",
        )
        .await;
    let huge = jpeg_like(1, 1024 * 1024 + 1);
    let huge_id = upload(&relay, &alice_token, &huge, "image/jpeg").await;
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": picture(&huge_id, &huge)}),
            "attachment_too_large",
        )
        .await;
    // Someone else's upload, an unknown id, a hash that is not the upload's.
    let bobs = jpeg_like(2, 100);
    let bobs_id = upload(&relay, &bob_token, &bobs, "image/jpeg").await;
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": picture(&bobs_id, &bobs)}),
            "not_found",
        )
        .await;
    // Nor once bob sent it to her: she may read it, but not show it to everyone she knows.
    let mut bob = Client::connect(&relay.ws_url(), &bob_token).await;
    let sent = bob
        .request(
            json!({"type": "send", "conversation_id": conv, "client_id": "p1", "body": "",
                        "attachment": {"blob_id": bobs_id, "name": "me.jpg",
                                       "content_type": "image/jpeg", "size": bobs.len(),
                                       "sha256": sha(&bobs)}}),
        )
        .await;
    assert!(matches!(sent, ServerFrame::Ack { .. }), "{sent:?}");
    assert_eq!(fetch(&relay, &alice_token, &bobs_id).await.0, 200);
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": picture(&bobs_id, &bobs)}),
            "not_found",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": picture("00000000000000000000000000000000", &bobs)}),
            "not_found",
        )
        .await;
    let mine = jpeg_like(3, 100);
    let mine_id = upload(&relay, &alice_token, &mine, "image/jpeg").await;
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": picture(&mine_id, &bobs)}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "set_avatar", "avatar": {"blob_id": "../../etc/passwd", "content_type": "image/jpeg", "size": 100, "sha256": sha(&mine)}}),
            "bad_request",
        )
        .await;
    // A direct chat has no picture of its own.
    alice
        .expect_error(
            json!({"type": "set_avatar", "conversation_id": conv, "avatar": picture(&mine_id, &mine)}),
            "bad_request",
        )
        .await;
    match alice.request(json!({"type": "list_conversations"})).await {
        ServerFrame::Conversations { conversations, .. } => {
            assert!(conversations[0]
                .info
                .members
                .iter()
                .all(|m| m.avatar.is_none()));
            assert!(conversations[0].info.avatar.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_group_picture_is_for_its_members_and_a_replaced_one_is_swept() {
    let relay = Relay::start().await;
    for u in ["alice", "bob", "carol", "dave"] {
        relay.register(u).await;
    }
    let tokens: Vec<String> = {
        let mut t = Vec::new();
        for u in ["alice", "bob", "carol", "dave"] {
            t.push(relay.login(u).await);
        }
        t
    };
    let mut alice = Client::connect(&relay.ws_url(), &tokens[0]).await;
    let mut bob = Client::connect(&relay.ws_url(), &tokens[1]).await;
    let group = alice.create_group("team", &["bob", "carol"]).await;
    bob.accept(group).await;
    relay.accept_as("carol", group, &mut alice).await;
    alice.clear_backlog();

    // Bob, not an admin, sets it (as any member may rename).
    let first = jpeg_like(4, 3000);
    let first_id = upload(&relay, &tokens[1], &first, "image/jpeg").await;
    let reply = bob
        .request(json!({"type": "set_avatar", "conversation_id": group, "avatar": picture(&first_id, &first)}))
        .await;
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    let shape = pushed(&mut alice, group).await;
    assert_eq!(shape.avatar.as_ref().unwrap().blob_id, first_id);
    assert_eq!(fetch(&relay, &tokens[2], &first_id).await.0, 200);
    assert_eq!(
        fetch(&relay, &tokens[3], &first_id).await.0,
        404,
        "dave is no member"
    );
    let mut dave = Client::connect(&relay.ws_url(), &tokens[3]).await;
    dave.expect_error(
        json!({"type": "set_avatar", "conversation_id": group, "avatar": null}),
        "not_member",
    )
    .await;

    // Carol is removed: the group's picture is no longer hers to fetch.
    alice
        .request(json!({"type": "remove_member", "conversation_id": group, "username": "carol"}))
        .await;
    assert_eq!(fetch(&relay, &tokens[2], &first_id).await.0, 404);

    // Replaced: the old picture's bytes go at the next sweep, the new one stays.
    let second = jpeg_like(5, 3000);
    let second_id = upload(&relay, &tokens[1], &second, "image/jpeg").await;
    bob.request(json!({"type": "set_avatar", "conversation_id": group, "avatar": picture(&second_id, &second)}))
        .await;
    assert_eq!(
        fetch(&relay, &tokens[1], &first_id).await.0,
        200,
        "still its uploader's"
    );
    drop((alice, bob, dave));
    let dir = relay.stop().await;
    let blob_file = dir.path().join("relay.db-blobs").join(&first_id);
    assert!(blob_file.is_file());
    let mut config = test_config(dir.path());
    config.limits.upload_ttl = std::time::Duration::ZERO;
    let relay = Relay::start_in(dir, config).await;
    let bob_token = relay.login("bob").await;
    let mut swept = false;
    for _ in 0..100 {
        if fetch(&relay, &bob_token, &first_id).await.0 == 404 && !blob_file.exists() {
            swept = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(swept, "the replaced picture was not swept");
    let alice_token = relay.login("alice").await;
    let (status, bytes) = fetch(&relay, &alice_token, &second_id).await;
    assert_eq!(
        (status, bytes == second),
        (200, true),
        "the current one stays"
    );
}
