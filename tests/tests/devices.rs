//! A user's devices and local state: two devices converge (history, read state, muted and
//! pinned chats), the token lives only in the keychain, and history stays readable with the
//! relay down.

mod common;

use std::time::Duration;
use tern_proto::{ChatPrefs, ConversationId, Seq};

use common::*;
use tern_client::{keychain, Client, ConnectionState, Event, MessageStatus};

#[tokio::test]
async fn two_devices_of_one_user_end_with_identical_histories_and_read_state() {
    let relay = Relay::start();
    let (laptop, _d1) = signup(&relay, "alice").await;
    let (phone, _d2) = device(&relay, "alice").await;
    let (bob, _d3) = signup(&relay, "bob").await;
    let conv = laptop.start_direct("bob").await.unwrap().conversation_id;

    for i in 0..20 {
        laptop
            .send(conv, &format!("from laptop {i}"))
            .await
            .unwrap();
        phone.send(conv, &format!("from phone {i}")).await.unwrap();
        bob.send(conv, &format!("from bob {i}")).await.unwrap();
    }
    for c in [&laptop, &phone, &bob] {
        wait_settled(c).await;
    }
    eventually("every device has all 60 messages", || async {
        let mut ok = true;
        for c in [&laptop, &phone, &bob] {
            ok &= c.stored_messages(conv).await.unwrap().len() == 60;
        }
        ok
    })
    .await;
    // Reading on the phone is reflected on the laptop.
    phone.mark_read(conv, Seq(60)).await.unwrap();
    eventually("laptop sees the phone's read marker", || async {
        let info = laptop.conversation(conv).await.unwrap().unwrap();
        info.members
            .iter()
            .find(|m| m.username == "alice")
            .unwrap()
            .read_seq
            == Seq(60)
    })
    .await;
    let a = laptop.stored_messages(conv).await.unwrap();
    let b = phone.stored_messages(conv).await.unwrap();
    assert_eq!(a, b, "identical histories");
    assert_eq!(
        a.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        (1..=60).collect::<Vec<_>>()
    );
    let laptop_view = laptop.conversations().await.unwrap();
    let phone_view = phone.conversations().await.unwrap();
    assert_eq!(laptop_view[0].unread, 0);
    assert_eq!(phone_view[0].unread, 0);
    assert_eq!(
        laptop_view[0].info.members, phone_view[0].info.members,
        "identical receipt state"
    );
}

#[tokio::test]
async fn the_token_round_trips_through_the_secret_service_and_is_in_no_file() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&relay.url(), data.path());
    Client::register(&cfg, "alice", PASSWORD).await.unwrap();
    let client = Client::login(cfg.clone(), "alice", PASSWORD).await.unwrap();
    wait_online(&client).await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = client.start_direct("bob").await.unwrap().conversation_id;
    client.send(conv, "hello").await.unwrap();
    wait_settled(&client).await;
    drop(bob);
    client.shutdown().await;

    let token = keychain::load(&cfg.relay, "alice")
        .unwrap()
        .expect("token in the keychain");
    assert!(token.expose().starts_with("tern_"));
    // It is nowhere in the files the client wrote (cache, WAL, anything).
    let mut files = 0;
    for entry in files_under(data.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        files += 1;
        assert!(
            !bytes
                .windows(token.expose().len())
                .any(|w| w == token.expose().as_bytes()),
            "token found in {}",
            entry.display()
        );
    }
    assert!(files >= 1, "the client wrote its cache");

    // A new process-equivalent signs in silently from the keychain.
    let resumed = Client::resume(cfg.clone(), "alice").await.unwrap();
    wait_online(&resumed).await;
    assert_eq!(
        resumed.stored_messages(conv).await.unwrap()[0].body,
        "hello"
    );

    // Logging out deletes it; resuming then needs a password.
    resumed.logout(false).await.unwrap();
    assert!(keychain::load(&cfg.relay, "alice").unwrap().is_none());
    assert!(matches!(
        Client::resume(cfg, "alice").await,
        Err(tern_client::Error::NotLoggedIn(_))
    ));
}

/// A raw HTTP/1.1 JSON POST with extra headers; returns the status code.
fn post_raw(port: u16, path: &str, body: &str, headers: &[(&str, &str)]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_device_that_logged_in_before_gets_in_while_guesses_from_elsewhere_fill_the_account_limit(
) {
    let relay = Relay::start_with(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--login-ceiling-burst",
        "3",
    ]);
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&relay.url(), data.path());
    Client::register(&cfg, "alice", PASSWORD).await.unwrap();
    Client::login(cfg.clone(), "alice", PASSWORD)
        .await
        .unwrap()
        .shutdown()
        .await;
    let credential = keychain::load_device_credential(&cfg.relay, "alice")
        .unwrap()
        .expect("device credential in the keychain");
    for entry in files_under(data.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(credential.expose().len())
                .any(|w| w == credential.expose().as_bytes()),
            "device credential found in {}",
            entry.display()
        );
    }

    // Guesses from other addresses (named by the trusted proxy) fill the account-wide limit.
    let guess = r#"{"username": "alice", "password": "wrong guess"}"#;
    for i in 1..=5 {
        let ip = format!("203.0.113.{i}");
        post_raw(relay.port, "/v1/login", guess, &[("X-Real-IP", &ip)]);
    }
    // A login without the credential is held back...
    let right = format!(r#"{{"username": "alice", "password": "{PASSWORD}"}}"#);
    assert_eq!(post_raw(relay.port, "/v1/login", &right, &[]), 429);
    // ...the device that logged in before is not, and gets a new credential.
    let again = Client::login(cfg.clone(), "alice", PASSWORD).await.unwrap();
    again.shutdown().await;
    let renewed = keychain::load_device_credential(&cfg.relay, "alice")
        .unwrap()
        .unwrap();
    assert_ne!(renewed.expose(), credential.expose());
}

#[tokio::test]
async fn history_is_readable_with_the_relay_down_and_offline_messages_queue() {
    let mut relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&relay.url(), data.path());
    Client::register(&cfg, "alice", PASSWORD).await.unwrap();
    let alice = Client::login(cfg.clone(), "alice", PASSWORD).await.unwrap();
    wait_online(&alice).await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    for i in 0..5 {
        bob.send(conv, &format!("bob says {i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    eventually("alice has bob's messages", || async {
        alice.stored_messages(conv).await.unwrap().len() == 5
    })
    .await;
    alice.shutdown().await;
    relay.kill9();

    // A fresh start with no relay: everything cached is there at once.
    let alice = Client::resume(cfg, "alice").await.unwrap();
    let list = alice.conversations().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].title, "bob");
    assert_eq!(list[0].unread, 5, "bob's five messages are unread");
    assert_eq!(
        alice.unread_total().await.unwrap(),
        5,
        "the badge total agrees with the list"
    );
    assert_eq!(list[0].last_message.as_ref().unwrap().body, "bob says 4");
    let page = alice.messages(conv, None, 50).await.unwrap();
    assert_eq!(
        page.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        (0..5).map(|i| format!("bob says {i}")).collect::<Vec<_>>()
    );
    let mut events = alice.subscribe();
    let echo = alice.send(conv, "written offline").await.unwrap();
    assert_eq!(echo.status, MessageStatus::Queued);
    eventually("offline state with a retry time", || async {
        matches!(alice.connection_state(), ConnectionState::Offline { .. })
    })
    .await;
    assert_eq!(
        alice.search("offline", 10).await.unwrap().len(),
        0,
        "search covers stored messages"
    );
    assert_eq!(alice.search("bob says", 10).await.unwrap().len(), 5);

    relay.restart();
    alice.retry_now();
    let sent = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(Event::Status {
                client_id,
                status: MessageStatus::Sent | MessageStatus::Delivered,
                ..
            }) = events.recv().await
            {
                if client_id == echo.client_id {
                    return;
                }
            }
        }
    })
    .await;
    assert!(
        sent.is_ok(),
        "the offline message went out after the relay returned"
    );
    eventually("bob got it", || async {
        bob.stored_messages(conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "written offline")
    })
    .await;
}

#[tokio::test]
async fn a_permanently_refused_message_is_marked_failed_and_can_be_deleted() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let mut events = alice.subscribe();
    // Conversation 424242 does not exist: the relay refuses with not_member.
    let echo = alice
        .send(ConversationId(424242), "into the void")
        .await
        .unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(Event::Status {
                client_id,
                status: MessageStatus::Failed { reason },
                ..
            }) = events.recv().await
            {
                if client_id == echo.client_id {
                    return reason;
                }
            }
        }
    })
    .await
    .unwrap();
    assert!(reason.contains("not_member"), "{reason}");
    assert_eq!(
        alice.unsent().await.unwrap(),
        0,
        "failed messages are not retried forever"
    );
    let page = alice
        .messages(ConversationId(424242), None, 10)
        .await
        .unwrap();
    assert!(matches!(page[0].status, MessageStatus::Failed { .. }));
    alice.retry(&echo.client_id).await.unwrap();
    eventually("failed again after a retry", || async {
        matches!(
            alice
                .messages(ConversationId(424242), None, 10)
                .await
                .unwrap()[0]
                .status,
            MessageStatus::Failed { .. }
        )
    })
    .await;
    alice.delete_failed(&echo.client_id).await.unwrap();
    assert!(alice
        .messages(ConversationId(424242), None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_message_above_the_compression_threshold_arrives_intact() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    // Above the 4 KiB threshold at which both sides (which agree on deflate by default) send
    // binary deflated frames: client to relay and the push to the recipient.
    let body: String = (0..1500).map(|i| format!("{} ", i % 97)).collect();
    assert!(body.len() > 4096);
    alice.send(conv, &body).await.unwrap();
    wait_settled(&alice).await;
    eventually("bob has the large message", || async {
        bob.stored_messages(conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == body)
    })
    .await;
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", relay.metrics_port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tern_messages_stored_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_device_whose_session_is_revoked_elsewhere_is_signed_out_at_once_and_stays_out() {
    let relay = Relay::start();
    let (laptop, _d1) = signup(&relay, "alice").await;
    let (phone, _d2) = device(&relay, "alice").await;
    phone.logout(true).await.unwrap();
    eventually("the laptop is signed out", || async {
        matches!(laptop.connection_state(), ConnectionState::SignedOut { .. })
    })
    .await;
    let ConnectionState::SignedOut { reason } = laptop.connection_state() else {
        unreachable!()
    };
    assert!(reason.contains("revoked"), "{reason}");
    // Longer than the longest backoff: a client that retried would be connecting by now.
    tokio::time::sleep(fast_timing().backoff_max * 3).await;
    assert!(matches!(
        laptop.connection_state(),
        ConnectionState::SignedOut { .. }
    ));
    assert!(matches!(
        laptop.start_direct("alice").await,
        Err(tern_client::Error::Offline)
    ));
}

#[tokio::test]
async fn a_device_resuming_with_a_revoked_token_is_signed_out_and_the_token_is_removed() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&relay.url(), data.path());
    Client::register(&cfg, "alice", PASSWORD).await.unwrap();
    let laptop = Client::login(cfg.clone(), "alice", PASSWORD).await.unwrap();
    wait_online(&laptop).await;
    let old_token = keychain::load(&cfg.relay, "alice").unwrap().unwrap();
    laptop.shutdown().await;
    // Signing out everywhere from another device revokes the laptop's token while it is off.
    let (phone, _d2) = device(&relay, "alice").await;
    phone.logout(true).await.unwrap();
    keychain::store(&cfg.relay, "alice", &old_token).unwrap();

    let resumed = Client::resume(cfg.clone(), "alice").await.unwrap();
    eventually("the resumed laptop is signed out", || async {
        matches!(
            resumed.connection_state(),
            ConnectionState::SignedOut { .. }
        )
    })
    .await;
    assert!(
        keychain::load(&cfg.relay, "alice").unwrap().is_none(),
        "the refused token is not kept"
    );
}

#[tokio::test]
async fn mutes_and_pins_are_the_same_on_every_device_even_when_made_offline() {
    let mut relay = Relay::start();
    let (phone, _p) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let (laptop, _l) = device(&relay, "alice").await;
    let direct = phone.start_direct("bob").await.unwrap().conversation_id;
    let group = phone
        .create_group("club", &["bob"])
        .await
        .unwrap()
        .conversation_id;
    let mute = ChatPrefs {
        muted: true,
        muted_until: Some(4_000_000_000_000),
        ..ChatPrefs::none(direct)
    };

    // Online: the laptop has the phone's mute at once (a push), and says so in an event.
    let mut laptop_events = laptop.subscribe();
    phone.set_chat_prefs(mute).await.unwrap();
    eventually("the laptop has the mute", || async {
        laptop.chat_prefs().await.unwrap() == vec![mute]
    })
    .await;
    let told = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match laptop_events.recv().await {
                Ok(Event::ChatPrefs { all }) if all == vec![mute] => return,
                Ok(_) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await;
    assert!(told.is_ok(), "the laptop got a chat_prefs event");

    // Offline: the pin applies on the phone at once and reaches the relay when it is back;
    // the phone's sync on reconnecting (which does not have it yet) does not undo it.
    relay.kill9();
    let pin = ChatPrefs {
        pinned_at: Some(1_700_000_000_000),
        ..ChatPrefs::none(group)
    };
    phone.set_chat_prefs(pin).await.unwrap();
    assert_eq!(phone.chat_prefs().await.unwrap(), vec![mute, pin]);
    relay.restart();
    eventually("the laptop has the pin made offline", || async {
        laptop.chat_prefs().await.unwrap() == vec![mute, pin]
    })
    .await;
    // A device that signs in later gets both with its first sync; unmuting on it reaches
    // the others.
    let (tablet, _t) = device(&relay, "alice").await;
    eventually("the new device has both", || async {
        tablet.chat_prefs().await.unwrap() == vec![mute, pin]
    })
    .await;
    tablet
        .set_chat_prefs(ChatPrefs::none(direct))
        .await
        .unwrap();
    for (name, d) in [("phone", &phone), ("laptop", &laptop)] {
        eventually(&format!("the {name} no longer has the mute"), || async {
            d.chat_prefs().await.unwrap() == vec![pin]
        })
        .await;
    }
    assert_eq!(phone.chat_prefs().await.unwrap(), vec![pin]);
}

/// Unmuting and muting again at once, before the relay has answered the first: the last
/// choice holds on every device (the relay's older word matching the last choice must not
/// pass for it having landed).
#[tokio::test]
async fn a_change_undone_at_once_keeps_the_last_choice_everywhere() {
    let relay = Relay::start();
    let (phone, _p) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let (laptop, _l) = device(&relay, "alice").await;
    let direct = phone.start_direct("bob").await.unwrap().conversation_id;
    let mute = ChatPrefs {
        muted: true,
        ..ChatPrefs::none(direct)
    };
    // Every change made on `by` is stored and confirmed, and both devices show `want`.
    let settled = |by: &Client, want: Vec<ChatPrefs>| {
        let (by, phone, laptop) = (by.clone(), phone.clone(), laptop.clone());
        async move {
            eventually(
                "the changes settle with the last choice on both",
                || async {
                    by.chat_prefs_unsettled().await.unwrap() == 0
                        && phone.chat_prefs().await.unwrap() == want
                        && laptop.chat_prefs().await.unwrap() == want
                },
            )
            .await;
        }
    };
    phone.set_chat_prefs(mute).await.unwrap();
    settled(&phone, vec![mute]).await;
    // Each round: unmute, then mute again straight away; and the other way round.
    for _ in 0..5 {
        phone.set_chat_prefs(ChatPrefs::none(direct)).await.unwrap();
        phone.set_chat_prefs(mute).await.unwrap();
    }
    settled(&phone, vec![mute]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(phone.chat_prefs().await.unwrap(), vec![mute]);
    assert_eq!(laptop.chat_prefs().await.unwrap(), vec![mute]);
    laptop
        .set_chat_prefs(ChatPrefs::none(direct))
        .await
        .unwrap();
    for _ in 0..5 {
        laptop.set_chat_prefs(mute).await.unwrap();
        laptop
            .set_chat_prefs(ChatPrefs::none(direct))
            .await
            .unwrap();
    }
    settled(&laptop, vec![]).await;
    // Settled for good: nothing flips back later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(phone.chat_prefs().await.unwrap().is_empty());
    assert!(laptop.chat_prefs().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_archived_chat_comes_back_with_a_message_unless_it_is_muted() {
    let relay = Relay::start();
    let (phone, _p) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let (laptop, _l) = device(&relay, "alice").await;
    let direct = bob.start_direct("alice").await.unwrap().conversation_id;
    let group = bob
        .create_group("club", &["alice"])
        .await
        .unwrap()
        .conversation_id;
    eventually("alice has both chats", || async {
        phone.conversation(direct).await.unwrap().is_some()
            && phone.conversation(group).await.unwrap().is_some()
    })
    .await;
    phone.accept_request(direct).await.unwrap();
    phone.accept_request(group).await.unwrap();
    let archived = |conv| ChatPrefs {
        archived: true,
        ..ChatPrefs::none(conv)
    };
    let quiet = ChatPrefs {
        muted: true,
        ..archived(group)
    };
    phone.set_chat_prefs(archived(direct)).await.unwrap();
    phone.set_chat_prefs(quiet).await.unwrap();
    eventually("the laptop has both archived", || async {
        choices(laptop.chat_prefs().await.unwrap()) == vec![archived(direct), quiet]
    })
    .await;

    // Bob writes in both: the direct chat comes back on every device, the muted group stays.
    bob.send(direct, "are you there?").await.unwrap();
    bob.send(group, "news for the club").await.unwrap();
    wait_settled(&bob).await;
    for (name, d) in [("phone", &phone), ("laptop", &laptop)] {
        eventually(
            &format!("the direct chat is back on the {name}"),
            || async { choices(d.chat_prefs().await.unwrap()) == vec![quiet] },
        )
        .await;
    }
    eventually(
        "the group's news arrived, and it stayed archived",
        || async {
            laptop
                .messages(group, None, 5)
                .await
                .unwrap()
                .iter()
                .any(|m| m.body == "news for the club")
                && choices(laptop.chat_prefs().await.unwrap()) == vec![quiet]
        },
    )
    .await;
    // The user's own message does not bring a chat back.
    phone.set_chat_prefs(archived(direct)).await.unwrap();
    phone.send(direct, "later").await.unwrap();
    wait_settled(&phone).await;
    eventually("still archived after writing in it", || async {
        laptop
            .messages(direct, None, 5)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "later")
            && choices(laptop.chat_prefs().await.unwrap()) == vec![archived(direct), quiet]
    })
    .await;
}

/// The choices of each chat, without the relay's time of archiving.
fn choices(list: Vec<ChatPrefs>) -> Vec<ChatPrefs> {
    list.into_iter()
        .map(|p| ChatPrefs {
            archived_at: None,
            ..p
        })
        .collect()
}

#[tokio::test]
async fn a_device_back_from_sleep_brings_back_what_it_missed_and_undoes_no_newer_choice() {
    let relay = Relay::start();
    let (phone, _p) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let laptop_dir = tempfile::tempdir().unwrap();
    let laptop_config = config(&relay.url(), laptop_dir.path());
    let laptop = Client::login(laptop_config.clone(), "alice", PASSWORD)
        .await
        .unwrap();
    wait_online(&laptop).await;
    let direct = bob.start_direct("alice").await.unwrap().conversation_id;
    eventually("alice has the chat", || async {
        phone.conversation(direct).await.unwrap().is_some()
    })
    .await;
    phone.accept_request(direct).await.unwrap();
    let archived = ChatPrefs {
        archived: true,
        ..ChatPrefs::none(direct)
    };
    phone.set_chat_prefs(archived).await.unwrap();
    eventually("the laptop has it archived", || async {
        choices(laptop.chat_prefs().await.unwrap()) == vec![archived]
    })
    .await;

    // The laptop sleeps; bob writes, the phone brings the chat back, then the user mutes and
    // archives it again. The laptop wakes: its sync's message is older than that archiving,
    // so it changes nothing, anywhere.
    laptop.shutdown().await;
    bob.send(direct, "while the laptop sleeps").await.unwrap();
    eventually("the phone brought it back", || async {
        phone.chat_prefs().await.unwrap().is_empty()
    })
    .await;
    let quiet = ChatPrefs {
        muted: true,
        ..archived
    };
    phone.set_chat_prefs(quiet).await.unwrap();
    let (witness, _w) = device(&relay, "alice").await;
    eventually("the account has it muted and archived", || async {
        choices(witness.chat_prefs().await.unwrap()) == vec![quiet]
    })
    .await;
    let laptop = Client::resume(laptop_config.clone(), "alice")
        .await
        .unwrap();
    wait_settled(&laptop).await;
    eventually("the woken laptop has the message", || async {
        laptop
            .messages(direct, None, 5)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "while the laptop sleeps")
    })
    .await;
    assert_eq!(choices(laptop.chat_prefs().await.unwrap()), vec![quiet]);
    // Had it written its old copy back, the mute would be gone: give it time to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(choices(witness.chat_prefs().await.unwrap()), vec![quiet]);

    // Now nobody but the laptop is around when bob writes: unmuted and archived, the chat
    // comes back when the laptop wakes and syncs, and the other devices learn of it.
    phone.set_chat_prefs(archived).await.unwrap();
    eventually("the laptop has it archived, unmuted", || async {
        choices(laptop.chat_prefs().await.unwrap()) == vec![archived]
    })
    .await;
    laptop.shutdown().await;
    phone.shutdown().await;
    witness.shutdown().await;
    bob.send(direct, "anyone?").await.unwrap();
    wait_settled(&bob).await;
    let laptop = Client::resume(laptop_config, "alice").await.unwrap();
    eventually("the laptop brought it back after its sync", || async {
        laptop.chat_prefs().await.unwrap().is_empty()
    })
    .await;
    let (tablet, _t) = device(&relay, "alice").await;
    eventually("and the account has it back", || async {
        tablet.chat_prefs().await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_pin_made_offline_keeps_a_mute_made_meanwhile_on_another_device() {
    let mut relay = Relay::start();
    let (phone, _p) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let laptop_dir = tempfile::tempdir().unwrap();
    let laptop_config = config(&relay.url(), laptop_dir.path());
    let laptop = Client::login(laptop_config.clone(), "alice", PASSWORD)
        .await
        .unwrap();
    wait_online(&laptop).await;
    let direct = bob.start_direct("alice").await.unwrap().conversation_id;
    eventually("the laptop has the chat", || async {
        laptop.conversation(direct).await.unwrap().is_some()
    })
    .await;

    // The laptop is closed; the phone mutes the chat; then, the relay away, the laptop opens
    // and pins it, not knowing of the mute.
    laptop.shutdown().await;
    let muted = ChatPrefs {
        muted: true,
        ..ChatPrefs::none(direct)
    };
    phone.set_chat_prefs(muted).await.unwrap();
    let (witness, _w) = device(&relay, "alice").await;
    eventually("the account has the mute", || async {
        choices(witness.chat_prefs().await.unwrap()) == vec![muted]
    })
    .await;
    witness.shutdown().await;
    relay.kill9();
    let laptop = Client::resume(laptop_config, "alice").await.unwrap();
    laptop
        .update_chat_prefs(direct, |p| p.pinned_at = Some(1_000))
        .await
        .unwrap();
    assert_eq!(
        choices(laptop.chat_prefs().await.unwrap()),
        vec![ChatPrefs {
            pinned_at: Some(1_000),
            ..ChatPrefs::none(direct)
        }]
    );

    // Back online, the pin goes on top of the mute: both, everywhere.
    relay.restart();
    let both = ChatPrefs {
        pinned_at: Some(1_000),
        ..muted
    };
    for (name, d) in [("laptop", &laptop), ("phone", &phone)] {
        eventually(
            &format!("the {name} has the chat muted and pinned"),
            || async { choices(d.chat_prefs().await.unwrap()) == vec![both] },
        )
        .await;
    }
    let (tablet, _t) = device(&relay, "alice").await;
    eventually("and so does the account", || async {
        choices(tablet.chat_prefs().await.unwrap()) == vec![both]
    })
    .await;
}

/// Leaving a group tells this device's app once (the relay's push of the removal and the
/// request's own answer both arrive), and the user's other device too.
#[tokio::test]
async fn leaving_a_group_is_told_once_on_this_device_and_on_the_others() {
    let relay = Relay::start();
    let (laptop, _d1) = signup(&relay, "alice").await;
    let (_bob, _d2) = signup(&relay, "bob").await;
    let group = laptop
        .create_group("g", &["bob"])
        .await
        .unwrap()
        .conversation_id;
    let (phone, _d3) = device(&relay, "alice").await;
    wait_settled(&phone).await;
    let removed = |mut events: tokio::sync::broadcast::Receiver<Event>| async move {
        let mut told = 0;
        let quiet = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(quiet);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(Event::ConversationRemoved { conversation_id }) if conversation_id == group => told += 1,
                    Ok(_) => {}
                    Err(_) => break,
                },
                _ = &mut quiet => break,
            }
        }
        told
    };
    let here = tokio::spawn(removed(laptop.subscribe()));
    let there = tokio::spawn(removed(phone.subscribe()));
    laptop.leave_group(group).await.unwrap();
    assert_eq!(here.await.unwrap(), 1, "this device's app is told once");
    assert_eq!(there.await.unwrap(), 1, "the other device is told");
}

/// Every sync brings the user's whole list of muted and pinned chats; one that changed nothing
/// does not make the app redraw (no `chat_prefs` event), one that did does.
#[tokio::test]
async fn a_sync_that_brings_the_same_chat_prefs_tells_the_app_nothing() {
    let mut relay = Relay::start();
    let (alice, _d1) = signup(&relay, "alice").await;
    let (_bob, _d2) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    let mut muted = ChatPrefs::none(conv);
    muted.muted = true;
    alice.set_chat_prefs(muted).await.unwrap();
    eventually("the relay settled the mute", || async {
        alice.chat_prefs_unsettled().await.unwrap() == 0
    })
    .await;
    let mut events = alice.subscribe();
    relay.restart();
    // Until the client synced again, counting what it told the app meanwhile.
    let (mut told, mut synced) = (0, false);
    tokio::time::timeout(Duration::from_secs(30), async {
        while !synced {
            match events.recv().await.unwrap() {
                Event::ChatPrefs { .. } => told += 1,
                Event::Connection {
                    state: ConnectionState::Syncing,
                } => synced = true,
                _ => {}
            }
        }
    })
    .await
    .expect("the client reconnected and synced");
    wait_online(&alice).await;
    wait_settled(&alice).await;
    while let Ok(ev) = events.try_recv() {
        if matches!(ev, Event::ChatPrefs { .. }) {
            told += 1;
        }
    }
    assert_eq!(told, 0, "the sync after the restart brought the same list");
}

/// Signing out while the relay takes connections and answers nothing (a stalled relay, a
/// captive portal): this device is signed out at once (the token leaves the keychain, the
/// engine lets go of its cache) and the relay is waited for only a few seconds, not the 30 s
/// an HTTP request may take.
#[tokio::test]
async fn signing_out_with_a_relay_that_does_not_answer_signs_this_device_out_at_once() {
    let relay = Relay::start();
    let (alice, _dir) = signup(&relay, "alice").await;
    wait_online(&alice).await;
    let config = alice.config().clone();
    let cache = tern_client::accounts::cache_path(&config, alice.user_id());
    let relay_name = config.relay.as_str().to_owned();
    relay.pause(true);
    let started = std::time::Instant::now();
    let logout = tokio::spawn(alice.logout(false));
    // Well under the HTTP timeout: this device's part does not wait for the relay.
    let mut gone = false;
    for _ in 0..100 {
        let token = keychain::load(&relay_name, "alice").unwrap();
        if token.is_none() && tern_testkit::fds::open_on(&cache) == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "signed out here within 10 s of asking, the relay silent"
    );
    let result = tokio::time::timeout(Duration::from_secs(20), logout)
        .await
        .expect("the sign-out returns though the relay never answers")
        .unwrap();
    assert!(result.is_err(), "the relay's silence is reported");
    relay.pause(false);
    assert!(
        matches!(
            Client::resume(config, "alice").await,
            Err(tern_client::Error::NotLoggedIn(_))
        ),
        "no token left to resume with"
    );
    eprintln!("signed out in {:?}", started.elapsed());
}

/// A message longer than the relay takes: refused at once when the relay's limit is known;
/// written while the app started offline, it is marked failed when its turn comes (it can be
/// edited and sent again, or deleted), and the messages written after it go out. Before, the
/// relay refused its frame without an id, it was sent again forever and its chat stalled.
#[tokio::test]
async fn a_message_too_long_for_the_relay_fails_and_the_ones_after_it_go_out() {
    let mut relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    wait_online(&alice).await;
    // Over the frame limit (64 KiB) too, and compressible: sent compressed, it is small on the
    // wire and refused once inflated.
    let long = "x".repeat(70_000);
    assert!(matches!(
        alice.send(conv, &long).await,
        Err(tern_client::Error::Invalid(_))
    ));

    let config = alice.config().clone();
    alice.shutdown().await;
    drop(alice);
    relay.kill9();
    let alice = Client::resume(config, "alice").await.unwrap();
    let echo = alice.send(conv, &long).await.unwrap();
    alice.send(conv, "after the long one").await.unwrap();
    relay.restart();
    eventually("the message after it reaches bob", || async {
        bob.messages(conv, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "after the long one")
    })
    .await;
    let mine = alice.messages(conv, None, 10).await.unwrap();
    let failed = mine.iter().find(|m| m.client_id == echo.client_id).unwrap();
    assert!(
        matches!(&failed.status, MessageStatus::Failed { reason } if reason.contains("too large")),
        "{:?}",
        failed.status
    );
    assert_eq!(alice.unsent().await.unwrap(), 0, "nothing left to send");
    assert!(
        !bob.messages(conv, None, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body.len() > 1000),
        "the long one was not stored"
    );
}

/// Two devices change one setting: the later edit holds, whichever reaches the relay last. The
/// laptop mutes a chat for good while its relay is away (its change waits in its cache); the
/// phone then mutes it for an hour, online. When the laptop comes back, its older change does
/// not overwrite the phone's: both show the hour.
#[tokio::test]
async fn of_two_devices_changes_of_one_setting_the_later_edit_holds_whichever_arrives_last() {
    let mut relay = Relay::start();
    let (phone, _p) = signup(&relay, "alice").await;
    let (_bob, _b) = signup(&relay, "bob").await;
    let (laptop, laptop_dir) = device(&relay, "alice").await;
    let conv = phone.start_direct("bob").await.unwrap().conversation_id;
    eventually("the laptop knows the chat", || async {
        laptop.conversation(conv).await.unwrap().is_some()
    })
    .await;

    // The laptop, offline, mutes for good.
    let config = laptop.config().clone();
    laptop.shutdown().await;
    drop(laptop);
    relay.kill9();
    let laptop = Client::resume(config.clone(), "alice").await.unwrap();
    let for_good = ChatPrefs {
        muted: true,
        ..ChatPrefs::none(conv)
    };
    laptop.set_chat_prefs(for_good).await.unwrap();
    laptop.shutdown().await;
    drop(laptop);
    tokio::time::sleep(Duration::from_millis(20)).await;

    // Later, the phone mutes for an hour, and the relay stores it.
    relay.restart();
    wait_online(&phone).await;
    let an_hour = ChatPrefs {
        muted: true,
        muted_until: Some(tern_proto::now_ms() + 3_600_000),
        ..ChatPrefs::none(conv)
    };
    phone.set_chat_prefs(an_hour).await.unwrap();
    eventually("the phone's mute is stored", || async {
        phone.chat_prefs_unsettled().await.unwrap() == 0
    })
    .await;

    // The laptop comes back with its older change.
    let laptop = Client::resume(config, "alice").await.unwrap();
    wait_online(&laptop).await;
    eventually("the laptop settled its change", || async {
        laptop.chat_prefs_unsettled().await.unwrap() == 0
    })
    .await;
    eventually("both devices show the later edit", || async {
        laptop.chat_prefs().await.unwrap() == vec![an_hour]
            && phone.chat_prefs().await.unwrap() == vec![an_hour]
    })
    .await;
    drop(laptop_dir);
}
