//! Display names and finding people through a real relay: a new name reaches every member by
//! push and by sync; search finds contacts by username prefix or display name, and strangers
//! only by their exact username.

mod common;

use common::*;
use serde_json::json;
use tern_proto::{ConversationId, ServerFrame};

async fn find(c: &mut Client, query: &str) -> Vec<String> {
    match c
        .request(json!({"type": "find_people", "query": query}))
        .await
    {
        ServerFrame::People { people, .. } => people.into_iter().map(|p| p.username).collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_display_name_reaches_members_by_push_and_by_sync() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let conv = alice.start_direct("bob").await;
    bob.expect(|f| matches!(f, ServerFrame::Conversation { .. }).then_some(()))
        .await;
    let before = relay.device("bob").await.sync(json!({}), 0).await.version;

    match alice
        .request(json!({"type": "set_profile", "display_name": "  Alice Wonder "}))
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("{other:?}"),
    }
    let pushed = bob
        .expect(|f| match f {
            ServerFrame::Conversation { conversation, .. } => Some(conversation.clone()),
            _ => None,
        })
        .await;
    assert_eq!(pushed.conversation_id, ConversationId(conv));
    let shown = pushed
        .members
        .iter()
        .find(|m| m.username == "alice")
        .unwrap();
    assert_eq!(shown.display_name.as_deref(), Some("Alice Wonder"));

    // A device that was offline learns it from sync since its last version.
    let synced = relay.device("bob").await.sync(json!({}), before).await;
    let c = synced
        .conversations
        .iter()
        .find(|c| c.conversation_id == ConversationId(conv))
        .expect("the conversation changed");
    assert!(c
        .members
        .iter()
        .any(|m| m.display_name.as_deref() == Some("Alice Wonder")));

    // Blank clears it; a name with a line break or a direction override is refused.
    alice
        .expect_error(
            json!({"type": "set_profile", "display_name": "two\nlines"}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type": "set_profile", "display_name": "\u{202e}bob"}),
            "bad_request",
        )
        .await;
    // Group names follow the same rule, when created and when renamed.
    alice
        .expect_error(
            json!({"type": "create_group", "name": "\u{202e}gpj.exe", "members": ["bob"]}),
            "bad_request",
        )
        .await;
    let group = alice.create_group("team", &["bob"]).await;
    alice
        .expect_error(
            json!({"type": "rename_group", "conversation_id": group, "name": "two\nlines"}),
            "bad_request",
        )
        .await;
    alice
        .request(json!({"type": "set_profile", "display_name": " "}))
        .await;
    let pushed = bob
        .expect(|f| match f {
            ServerFrame::Conversation { conversation, .. }
                if conversation.conversation_id.0 == conv
                    && conversation
                        .members
                        .iter()
                        .all(|m| m.display_name.is_none()) =>
            {
                Some(conversation.clone())
            }
            _ => None,
        })
        .await;
    assert!(pushed.members.iter().all(|m| m.display_name.is_none()));
}

#[tokio::test]
async fn people_are_found_among_contacts_and_strangers_only_by_exact_username() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    let mut carol = relay.user("carol").await;
    let _alina = relay.user("alina").await;
    alice.start_direct("bob").await;
    alice
        .request(json!({"type": "set_profile", "display_name": "Wonderland"}))
        .await;

    assert_eq!(
        find(&mut bob, "ali").await,
        ["alice"],
        "a contact by prefix"
    );
    assert_eq!(find(&mut bob, "WONDER").await, ["alice"], "by display name");
    assert_eq!(
        find(&mut carol, "ali").await,
        Vec::<String>::new(),
        "no scraping"
    );
    assert_eq!(find(&mut carol, "wonder").await, Vec::<String>::new());
    assert_eq!(find(&mut carol, "Alice").await, ["alice"], "exact username");
    assert_eq!(find(&mut bob, "alina").await, ["alina"]);
    assert_eq!(
        find(&mut alice, "alice").await,
        Vec::<String>::new(),
        "never yourself"
    );
    bob.expect_error(json!({"type": "find_people", "query": "  "}), "bad_request")
        .await;
}

/// A display name outside ASCII is found whatever the case of the query, on either store.
#[tokio::test]
async fn display_names_in_any_script_are_found_without_case() {
    let relay = Relay::start().await;
    let mut alice = relay.user("alice").await;
    let mut bob = relay.user("bob").await;
    alice.start_direct("bob").await;
    alice
        .request(json!({"type": "set_profile", "display_name": "Élodie Ωμέγα Οδυσσέας"}))
        .await;
    // "ΟΔΥΣ" lowers to "οδυς" (a final sigma), which must still find "οδυσσέας".
    for query in [
        "élodie",
        "ÉLODIE",
        "Élo",
        "ωμέγα",
        "ΩΜΈΓΑ",
        "ΟΔΥΣ",
        "οδυσσέας",
    ] {
        assert_eq!(find(&mut bob, query).await, ["alice"], "{query}");
    }
}
