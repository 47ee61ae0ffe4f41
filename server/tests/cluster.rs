//! A cluster: relays on one PostgreSQL database with a NATS bus between them (run under
//! scripts/with-postgres.sh, as the test command does; without it these tests say so and pass
//! nothing off as checked). Each test starts its own `nats-server` on a free port.
//!
//! Clients connected to different relays get each other's messages, conversation changes,
//! typing and receipts live and see each other's presence, as on one relay; a revoked session
//! is closed on every relay at once; a relay that dies takes its users offline within the
//! heartbeat timeout; a push whose predecessors never came over the bus is preceded by them,
//! read from the database; and across a NATS restart no push is lost, repeated or reordered.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tern_proto::{MessageKind, ServerFrame};
use tern_testkit::nats::NatsServer;

/// Bus heartbeat (presence lists) and the silence after which a relay is taken for dead.
const BEAT: Duration = Duration::from_millis(250);
const DEAD_AFTER: Duration = Duration::from_secs(3);

/// A relay on `db` with the bus at `bus` (none: a relay of the same database off the bus).
async fn relay(db: &str, bus: Option<String>, beat: Duration, dead_after: Duration) -> Relay {
    relay_with(db, bus, beat, dead_after, |_| {}).await
}

async fn relay_with(
    db: &str,
    bus: Option<String>,
    beat: Duration,
    dead_after: Duration,
    tweak: impl FnOnce(&mut tern_server::Config),
) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    tweak(&mut config);
    config.postgres = Some(db.to_owned());
    config.bus = bus.clone();
    config.heartbeat.interval = beat;
    config.heartbeat.timeout = dead_after;
    let relay = Relay::start_in(dir, config).await;
    if bus.is_some() {
        wait_for_bus(&relay, "ok").await;
    }
    relay
}

/// What `/health` says about the bus.
async fn bus_health(relay: &Relay) -> Option<String> {
    let body: Value = relay
        .http
        .get(relay.url("/health"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["bus"].as_str().map(str::to_owned)
}

async fn wait_for_bus(relay: &Relay, want: &str) {
    for _ in 0..200 {
        if bus_health(relay).await.as_deref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the relay's bus never became {want}");
}

/// A database and a NATS server, or `None` when the tests run on SQLite.
fn backends() -> Option<(String, NatsServer)> {
    let db = tern_testkit::postgres::test_database()?;
    let nats = NatsServer::start().expect("nats-server (scripts/setup.sh installs it)");
    Some((db, nats))
}

const SKIP: &str = "PostgreSQL + NATS only: run under scripts/with-postgres.sh";

/// `client` connects to `relay` as `name` and syncs, as every client does first.
async fn online(relay: &Relay, name: &str) -> Client {
    let mut c = Client::connect(&relay.ws_url(), &relay.login(name).await).await;
    c.sync(json!({}), 0).await;
    c
}

/// Wait until `c` is pushed conversation `conv` (made or changed through another relay).
async fn told_of(c: &mut Client, conv: i64) {
    c.expect(|f| match f {
        ServerFrame::Conversation { conversation, .. }
            if conversation.conversation_id.0 == conv =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

fn presence_of(f: &ServerFrame, user: i64, online: bool) -> Option<()> {
    match f {
        ServerFrame::Presence { presence }
            if presence.user_id.0 == user && presence.online == online =>
        {
            Some(())
        }
        _ => None,
    }
}

#[tokio::test]
async fn members_on_three_relays_chat_live_as_on_one() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let mut relays = Vec::new();
    for _ in 0..3 {
        relays.push(relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await);
    }
    for name in ["alice", "bob", "carol"] {
        relays[0].register(name).await;
    }
    let mut bob = online(&relays[1], "bob").await;
    let mut carol = online(&relays[2], "carol").await;
    let mut alice = online(&relays[0], "alice").await;

    // A direct chat: the new conversation, the message, typing and the read tick all cross.
    let direct = alice.start_direct("bob").await;
    told_of(&mut bob, direct).await;
    bob.accept(direct).await;
    // Sharing a conversation now, each sees the other online (bob on relay 1, alice on 0).
    alice.expect(|f| presence_of(f, bob.user_id, true)).await;
    alice.send_msg(direct, "a1", "hi bob").await;
    let m = bob.expect_message(direct).await;
    assert_eq!((m.seq.0, m.body.as_str()), (1, "hi bob"));
    bob.send_json(json!({"type": "typing", "id": 1, "conversation_id": direct, "active": true}))
        .await;
    alice
        .expect(|f| match f {
            ServerFrame::Typing {
                user_id, active, ..
            } if user_id.0 == bob.user_id && *active => Some(()),
            _ => None,
        })
        .await;
    bob.request(json!({"type": "read", "conversation_id": direct, "seq": 1}))
        .await;
    alice
        .expect(|f| match f {
            ServerFrame::Receipt { receipt }
                if receipt.user_id.0 == bob.user_id && receipt.read_seq.0 == 1 =>
            {
                Some(())
            }
            _ => None,
        })
        .await;

    // A group spread over all three relays: every member gets every other member's messages
    // live, in one order, gap-free, once.
    let group = alice.create_group("trio", &["bob", "carol"]).await;
    for c in [&mut bob, &mut carol] {
        told_of(c, group).await;
        c.accept(group).await;
    }
    const EACH: usize = 30;
    let mut clients = [alice, bob, carol];
    for i in 0..EACH {
        for (k, c) in clients.iter_mut().enumerate() {
            c.send_json(
                json!({"type": "send", "id": 10_000 + i, "conversation_id": group,
                "client_id": format!("{k}-{i}"), "body": format!("{k} {i}")}),
            )
            .await;
        }
    }
    let total = 3 * EACH;
    let mut logs = Vec::new();
    for c in clients.iter_mut() {
        // Own messages come back as acks, the others' as pushes.
        let (mut own, mut pushed) = (Vec::new(), Vec::new());
        while own.len() + pushed.len() < total {
            match c.recv().await {
                ServerFrame::Ack { seq, .. } => own.push(seq.0),
                ServerFrame::Message { message }
                    if message.conversation_id.0 == group
                        && message.kind != MessageKind::Notice =>
                {
                    pushed.push((message.seq.0, message.body.clone()))
                }
                _ => {}
            }
        }
        let seqs: Vec<u64> = pushed.iter().map(|p| p.0).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "pushes in increasing order: {seqs:?}"
        );
        let mut all: Vec<u64> = own.iter().copied().chain(seqs).collect();
        all.sort_unstable();
        let first = all[0];
        assert_eq!(
            all,
            (first..first + total as u64).collect::<Vec<_>>(),
            "every message once, none missing"
        );
        logs.push(pushed);
    }
    // One order: a message has the same seq for everyone who was pushed it.
    let mut by_seq = std::collections::HashMap::new();
    for (seq, body) in logs.into_iter().flatten() {
        let seen = by_seq.entry(seq).or_insert_with(|| body.clone());
        assert_eq!(*seen, body, "seq {seq} is one message for everyone");
    }
}

#[tokio::test]
async fn presence_crosses_relays_and_a_dead_relay_takes_its_users_offline() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let here = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    // The other relay is a process, to die by `kill -9`: no goodbye on the bus.
    let dir = tempfile::tempdir().unwrap();
    let spec = tern_testkit::RelaySpec::new(
        env!("CARGO_BIN_EXE_tern-server"),
        dir.path().join("unused.db"),
    )
    .args(["--metrics-listen", "off", "--store", db.as_str()])
    .args(["--bus", nats.url().as_str()])
    .args(["--heartbeat-secs", "1", "--heartbeat-timeout-secs", "3"]);
    let mut there = tern_testkit::RelayProcess::start(spec).unwrap();
    let there_ws = format!("ws://{}{}", there.addr(), tern_proto::WS_PATH);

    here.register("alice").await;
    here.register("bob").await;
    let mut bob = online(&here, "bob").await;
    let mut alice = online(&here, "alice").await;
    let direct = alice.start_direct("bob").await;
    bob.accept(direct).await;
    let alice_id = alice.user_id;
    drop(alice);
    bob.expect(|f| presence_of(f, alice_id, false)).await;

    // Alice comes back through the other relay: bob, on this one, sees her come online; she
    // sees him online (from this relay's presence list) once that relay has heard it.
    let token = login(
        &reqwest::Client::new(),
        &format!("http://{}", there.addr()),
        "alice",
    )
    .await;
    bob.clear_backlog();
    let mut alice = Client::connect(&there_ws, &token).await;
    bob.expect(|f| presence_of(f, alice_id, true)).await;
    let mut sees_bob = false;
    for _ in 0..40 {
        let synced = alice.sync(json!({}), 0).await;
        if synced
            .presence
            .iter()
            .any(|p| p.user_id.0 == bob.user_id && p.online)
        {
            sees_bob = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sees_bob, "alice's relay learns bob is online on the other");

    // Her relay dies: within the heartbeat timeout bob sees her offline.
    there.kill9();
    bob.expect(|f| presence_of(f, alice_id, false)).await;
    drop(alice);
}

#[tokio::test]
async fn revoking_a_session_closes_its_connection_on_another_relay_at_once() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    // A slow heartbeat: the relays' own periodic session check cannot be what closes it.
    let slow = Duration::from_secs(60);
    let a = relay(&db, Some(nats.url()), slow, slow * 2).await;
    let b = relay(&db, Some(nats.url()), slow, slow * 2).await;
    revoke_across(&a, &b).await;
}

/// alice (on `from`) and bob (on `to`) share an accepted direct chat with one message in it,
/// which bob has been pushed.
async fn pair(from: &Relay, to: &Relay) -> (Client, Client, i64) {
    from.register("alice").await;
    from.register("bob").await;
    let mut bob = online(to, "bob").await;
    let mut alice = online(from, "alice").await;
    let direct = alice.start_direct("bob").await;
    bob.accept(direct).await;
    alice.send_msg(direct, "warm-up", "hello").await;
    assert_eq!(bob.expect_message(direct).await.seq.0, 1);
    bob.clear_backlog();
    (alice, bob, direct)
}

/// Relays `a` and `b` on the bus and `off` on the same database without it (what it stores is
/// announced to nobody); alice on `a` and bob on `b` as [`pair`] leaves them.
struct Split {
    a: Relay,
    b: Relay,
    off: Relay,
    _alice: Client,
    bob: Client,
    direct: i64,
}

async fn split(db: &str, nats: &NatsServer) -> Split {
    let a = relay(db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let b = relay(db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let off = relay(db, None, BEAT, DEAD_AFTER).await;
    let (_alice, bob, direct) = pair(&a, &b).await;
    Split {
        a,
        b,
        off,
        _alice,
        bob,
        direct,
    }
}

/// The next `n` messages `c` is pushed in `conv`, as (seq, body).
async fn next_messages(c: &mut Client, conv: i64, n: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    while got.len() < n {
        let m = c.expect_message(conv).await;
        got.push((m.seq.0, m.body));
    }
    got
}

#[tokio::test]
async fn a_push_whose_predecessors_never_came_over_the_bus_is_preceded_by_them() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let Split {
        a,
        b,
        off,
        mut bob,
        direct,
        ..
    } = split(&db, &nats).await;
    let mut quiet = Client::connect(&off.ws_url(), &off.login("alice").await).await;
    for i in 2..=5 {
        assert_eq!(
            quiet
                .send_msg(direct, &format!("q{i}"), &format!("m{i}"))
                .await
                .0,
            i
        );
    }
    let mut alice = Client::connect(&a.ws_url(), &a.login("alice").await).await;
    assert_eq!(alice.send_msg(direct, "loud", "m6").await.0, 6);
    let got = next_messages(&mut bob, direct, 5).await;
    let want: Vec<(u64, String)> = (2..=6).map(|i| (i, format!("m{i}"))).collect();
    assert_eq!(got, want, "2-5 from the database, then 6 as pushed");
    assert_eq!(b.metric("tern_bus_gap_fills_total").await, 4);
    bob.expect_none(Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Message { .. })
    })
    .await;
}

#[tokio::test]
async fn across_a_nats_restart_no_push_is_lost_repeated_or_reordered() {
    let Some((db, mut nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let a = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let b = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let (mut alice, mut bob, direct) = pair(&a, &b).await;
    const N: u64 = 200;
    // Alice sends steadily on her own task while the bus goes away and comes back.
    let sender = tokio::spawn(async move {
        for i in 0..N {
            alice
                .send_json(
                    json!({"type": "send", "id": 100 + i, "conversation_id": direct,
                    "client_id": format!("s{i}"), "body": format!("s{i}")}),
                )
                .await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut acked = 0;
        while acked < N {
            if let ServerFrame::Ack { .. } = alice.recv().await {
                acked += 1;
            }
        }
        alice
    });
    let mut seqs = Vec::new();
    let mut restarted = false;
    while seqs.last() != Some(&(N + 1)) {
        let m = bob.expect_message(direct).await;
        seqs.push(m.seq.0);
        if seqs.len() == 40 && !restarted {
            nats.kill();
            wait_for_bus(&b, "unavailable").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            nats.restart().unwrap();
            restarted = true;
        }
    }
    let _alice = sender.await.unwrap();
    assert!(restarted);
    assert_eq!(
        seqs,
        (2..=N + 1).collect::<Vec<_>>(),
        "every message once, in order, on the same connection"
    );
    wait_for_bus(&b, "ok").await;
    wait_for_bus(&a, "ok").await;
}

#[tokio::test]
async fn when_the_bus_returns_every_connection_catches_up_from_the_database() {
    let Some((db, mut nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let Split {
        a: _a,
        b,
        off,
        mut bob,
        direct,
        ..
    } = split(&db, &nats).await;
    let (seq, _) = bob.send_msg(direct, "b2", "from bob").await;
    assert_eq!(seq, 2);
    nats.kill();
    wait_for_bus(&b, "unavailable").await;
    // Done meanwhile, and never announced on any bus: messages (no later one will reveal the
    // gap), alice's read marker and a new group.
    let mut quiet = Client::connect(&off.ws_url(), &off.login("alice").await).await;
    for i in 3..=5 {
        quiet
            .send_msg(direct, &format!("q{i}"), &format!("m{i}"))
            .await;
    }
    quiet
        .request(json!({"type": "read", "conversation_id": direct, "seq": 2}))
        .await;
    let group = quiet.create_group("later", &["bob"]).await;
    bob.clear_backlog();
    nats.restart().unwrap();
    wait_for_bus(&b, "ok").await;
    let got = next_messages(&mut bob, direct, 3).await;
    let want: Vec<(u64, String)> = (3..=5).map(|i| (i, format!("m{i}"))).collect();
    assert_eq!(
        got, want,
        "what was stored during the outage, on the same connection"
    );
    let alice = quiet.user_id;
    bob.expect(|f| match f {
        ServerFrame::Receipt { receipt }
            if receipt.user_id.0 == alice && receipt.read_seq.0 == 2 =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    told_of(&mut bob, group).await;
    // And the new group's first entries (its notices), although the connection had never
    // been told of that conversation before.
    let mut entries = Vec::new();
    while entries.len() < 2 {
        entries.push(
            bob.expect(|f| match f {
                ServerFrame::Message { message } if message.conversation_id.0 == group => {
                    Some(message.seq.0)
                }
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(entries, vec![1, 2]);
}

/// What a device of bob's changed for himself through a relay off the bus — a mute, and read
/// receipts turned off — reaches his connection on another relay when its bus returns.
#[tokio::test]
async fn when_the_bus_returns_a_users_own_settings_reach_their_other_devices() {
    let Some((db, mut nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let Split {
        a: _a,
        b,
        off,
        mut bob,
        direct,
        ..
    } = split(&db, &nats).await;
    nats.kill();
    wait_for_bus(&b, "unavailable").await;
    let mut tablet = Client::connect(&off.ws_url(), &off.login("bob").await).await;
    tablet
        .request(json!({"type": "set_chat_prefs", "conversation_id": direct,
                        "change": {"mute": {"muted": true}}}))
        .await;
    tablet
        .request(json!({"type": "set_privacy", "read_receipts": false}))
        .await;
    bob.clear_backlog();
    nats.restart().unwrap();
    wait_for_bus(&b, "ok").await;
    let muted = bob
        .expect(|f| match f {
            ServerFrame::ChatPrefsList { prefs } => Some(prefs.clone()),
            _ => None,
        })
        .await;
    assert_eq!(muted.len(), 1);
    assert!(muted[0].muted && muted[0].conversation_id.0 == direct);
    bob.expect(|f| match f {
        ServerFrame::Privacy { privacy } if !privacy.read_receipts => Some(()),
        _ => None,
    })
    .await;
}

/// The `version` of the newest shape `c` is pushed for `conv`, once its name is `name`.
async fn renamed(c: &mut Client, conv: i64, name: &str) -> u64 {
    c.expect(|f| match f {
        ServerFrame::Conversation { conversation, .. }
            if conversation.conversation_id.0 == conv
                && conversation.name.as_deref() == Some(name) =>
        {
            Some(conversation.version)
        }
        _ => None,
    })
    .await
}

/// A conversation's shape that reaches a relay over the bus after a newer one (NATS orders
/// only what one relay publishes; this relay's own changes go out at once) is not delivered:
/// a connection never goes back to an older shape. The late frame is put on the bus by the
/// test, as a slower relay would have.
#[tokio::test]
async fn an_older_shape_that_comes_late_over_the_bus_is_not_delivered() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let a = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let b = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    a.register("alice").await;
    a.register("bob").await;
    let mut bob = online(&b, "bob").await;
    let mut alice = online(&a, "alice").await;
    let group = alice.create_group("zero", &["bob"]).await;
    told_of(&mut bob, group).await;
    alice
        .request(json!({"type": "rename_group", "conversation_id": group, "name": "one"}))
        .await;
    let one = renamed(&mut bob, group, "one").await;
    assert!(one > 0, "shapes carry their version");
    // The shape from before "one", as another relay would publish it, arriving now.
    let stale = ServerFrame::Conversation {
        id: None,
        conversation: tern_proto::ConversationInfo {
            name: Some("stale".into()),
            version: one - 1,
            ..alice_view(&mut alice, group).await
        },
    };
    let bus = async_nats::connect(nats.url()).await.unwrap();
    let bob_id = tern_proto::UserId(bob.user_id);
    let late = |version: u64, bytes: &[u8]| {
        tern_server::bus::wire::FanFrame::encode(
            tern_server::bus::wire::RelayId(7),
            Some(0),
            tern_server::fanout::Tag::Shape(tern_proto::ConversationId(group), version),
            &[bob_id],
            bytes,
        )
    };
    bus.publish(
        tern_server::bus::wire::FAN,
        late(one - 1, stale.to_json().as_bytes()),
    )
    .await
    .unwrap();
    bus.flush().await.unwrap();
    alice
        .request(json!({"type": "rename_group", "conversation_id": group, "name": "two"}))
        .await;
    let two = bob
        .expect(|f| match f {
            ServerFrame::Conversation { conversation, .. }
                if conversation.conversation_id.0 == group =>
            {
                Some(conversation.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(
        two.name.as_deref(),
        Some("two"),
        "the late shape was delivered"
    );

    // Bob leaves; the shape from just before, arriving late, must not put the group back.
    bob.request(json!({"type": "leave_group", "conversation_id": group}))
        .await;
    let before_leaving = ServerFrame::Conversation {
        id: None,
        conversation: two.clone(),
    };
    bus.publish(
        tern_server::bus::wire::FAN,
        late(two.version, before_leaving.to_json().as_bytes()),
    )
    .await
    .unwrap();
    bus.flush().await.unwrap();
    bob.expect_none(Duration::from_millis(500), |f| {
        matches!(f, ServerFrame::Conversation { conversation, .. }
            if conversation.conversation_id.0 == group)
    })
    .await;
}

/// Alice's view of `conv` now, from her conversation list.
async fn alice_view(alice: &mut Client, conv: i64) -> tern_proto::ConversationInfo {
    match alice.request(json!({"type": "list_conversations"})).await {
        ServerFrame::Conversations { conversations, .. } => {
            conversations
                .into_iter()
                .find(|c| c.info.conversation_id.0 == conv)
                .expect("listed")
                .info
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Publishes on the bus as a relay that is not there would: numbered frames and presence
/// lists, from which some are left out, as a NATS route that broke and healed would lose them.
struct Impostor {
    nats: async_nats::Client,
    relay: tern_server::bus::wire::RelayId,
    list: u64,
    /// Says it reads numbered frames (a relay of the version before does not).
    reads_numbered: bool,
}

impl Impostor {
    async fn new(nats: &NatsServer) -> Impostor {
        Impostor {
            nats: async_nats::connect(nats.url()).await.unwrap(),
            relay: tern_server::bus::wire::RelayId(0x1e57),
            list: 0,
            reads_numbered: true,
        }
    }

    /// Frame `number`: a typing indicator for `user` (delivered as it is).
    async fn frame(&self, number: u64, user: i64, conv: i64) {
        let typing = ServerFrame::Typing {
            conversation_id: tern_proto::ConversationId(conv),
            user_id: tern_proto::UserId(user),
            active: true,
            expires_in_ms: 6000,
        };
        let bytes = tern_server::bus::wire::FanFrame::encode(
            self.relay,
            Some(number),
            tern_server::fanout::Tag::Other,
            &[tern_proto::UserId(user)],
            typing.to_json().as_bytes(),
        );
        self.nats
            .publish(tern_server::bus::wire::FAN, bytes)
            .await
            .unwrap();
        self.nats.flush().await.unwrap();
    }

    /// A presence list (nobody) saying `published` frames were published (`None`: as a
    /// relay of the version before numbering says it).
    async fn beat(&mut self, published: impl Into<Option<u64>>) {
        self.list += 1;
        self.control(tern_server::bus::wire::Control::Beat {
            relay: self.relay,
            list: self.list,
            parts: 1,
            users: Vec::new(),
            reads_numbered: self.reads_numbered,
            published: published.into(),
        })
        .await;
    }

    async fn control(&self, control: tern_server::bus::wire::Control) {
        let bytes = serde_json::to_vec(&control).unwrap();
        self.nats
            .publish(tern_server::bus::wire::CONTROL, bytes.into())
            .await
            .unwrap();
        self.nats.flush().await.unwrap();
    }
}

/// Wait until `c` is sent the user's chat preferences whole (a catch-up), and return whether
/// `conv` is muted in them.
async fn caught_up_muted(c: &mut Client, conv: i64) -> bool {
    c.expect(|f| match f {
        ServerFrame::ChatPrefsList { prefs } => {
            Some(prefs.iter().any(|p| p.conversation_id.0 == conv && p.muted))
        }
        _ => None,
    })
    .await
}

/// Frames another relay published that NATS lost without a word — no disconnect, no slow
/// consumer, no `lost` from the sender — are noticed by their numbers, and the connections
/// catch up from the database: a number skipped, or frames a presence list promised still
/// missing at the next list.
#[tokio::test]
async fn frames_lost_on_the_bus_without_a_word_are_noticed_and_caught_up() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let Split {
        b,
        off,
        mut bob,
        direct,
        ..
    } = split(&db, &nats).await;
    let mut tablet = Client::connect(&off.ws_url(), &off.login("bob").await).await;
    let mut impostor = Impostor::new(&nats).await;
    impostor.frame(1, bob.user_id, direct).await;
    bob.expect(|f| matches!(f, ServerFrame::Typing { .. }).then_some(()))
        .await;
    // Frame 2 is lost; meanwhile bob mutes the chat on his tablet, through a relay off the bus.
    tablet
        .request(json!({"type": "set_chat_prefs", "conversation_id": direct,
                        "change": {"mute": {"muted": true}}}))
        .await;
    bob.clear_backlog();
    impostor.frame(3, bob.user_id, direct).await;
    assert!(caught_up_muted(&mut bob, direct).await, "a number skipped");
    assert_eq!(b.metric("tern_bus_unannounced_losses_total").await, 1);

    // The last frames of a burst: no later frame shows them missing; the presence lists do,
    // once frames they promised are still missing a heartbeat interval later.
    tablet
        .request(json!({"type": "set_chat_prefs", "conversation_id": direct,
                        "change": {"mute": {"muted": false}}}))
        .await;
    bob.clear_backlog();
    impostor.beat(3).await;
    impostor.beat(5).await;
    assert!(
        !caught_up_muted(&mut bob, direct).await,
        "4 and 5 promised and never heard"
    );
    assert_eq!(b.metric("tern_bus_unannounced_losses_total").await, 2);
    // Everything heard: no more catch-ups.
    impostor.frame(6, bob.user_id, direct).await;
    impostor.beat(6).await;
    impostor.beat(6).await;
    bob.expect_none(Duration::from_millis(500), |f| {
        matches!(f, ServerFrame::ChatPrefsList { .. })
    })
    .await;
    assert_eq!(b.metric("tern_bus_unannounced_losses_total").await, 2);
}

/// A relay cut off for longer than the heartbeat timeout (taken for dead: a partition) and
/// heard again may have published frames that never came: the connections catch up.
#[tokio::test]
async fn a_relay_heard_again_after_it_was_taken_for_dead_makes_the_connections_catch_up() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let Split {
        b,
        off,
        mut bob,
        direct,
        ..
    } = split(&db, &nats).await;
    let mut impostor = Impostor::new(&nats).await;
    impostor.frame(1, bob.user_id, direct).await;
    impostor.beat(1).await;
    // Silent past the heartbeat timeout (bob's client reads on, answering the relay's pings);
    // meanwhile bob mutes the chat through a relay off the bus.
    bob.expect_none(DEAD_AFTER + BEAT * 4, |_| false).await;
    let mut tablet = Client::connect(&off.ws_url(), &off.login("bob").await).await;
    tablet
        .request(json!({"type": "set_chat_prefs", "conversation_id": direct,
                        "change": {"mute": {"muted": true}}}))
        .await;
    bob.clear_backlog();
    impostor.frame(2, bob.user_id, direct).await;
    assert!(caught_up_muted(&mut bob, direct).await);
    assert_eq!(b.metric("tern_bus_unannounced_losses_total").await, 1);
}

/// A frame from this relay as it goes out on the bus: its format byte (2: numbered, 1: the
/// format relays of the version before read).
async fn next_format(subscription: &mut async_nats::Subscriber) -> u8 {
    use futures_util::StreamExt;
    let m = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("a frame on the bus")
        .unwrap();
    m.payload[0]
}

/// While a relay of the version before numbering runs (its presence lists carry no count),
/// the others publish in the format it reads; once it is gone, numbered again.
#[tokio::test]
async fn frames_go_out_in_the_previous_format_while_a_relay_of_that_version_runs() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let Split {
        a: _a,
        b: _b,
        mut bob,
        direct,
        ..
    } = split(&db, &nats).await;
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut frames = watcher
        .subscribe(tern_server::bus::wire::FAN)
        .await
        .unwrap();
    watcher.flush().await.unwrap();
    bob.send_msg(direct, "n1", "numbered").await;
    assert_eq!(next_format(&mut frames).await, 2);
    let mut old = Impostor::new(&nats).await;
    old.reads_numbered = false;
    old.beat(None).await;
    // The list reaches the relay before the next send's frame leaves (both on the bus).
    tokio::time::sleep(BEAT).await;
    bob.send_msg(direct, "o1", "for an old relay").await;
    assert_eq!(next_format(&mut frames).await, 1);
    old.control(tern_server::bus::wire::Control::Gone {
        relay: old.relay,
        published: None,
    })
    .await;
    tokio::time::sleep(BEAT).await;
    bob.send_msg(direct, "n2", "numbered again").await;
    assert_eq!(next_format(&mut frames).await, 2);
}

/// A reply carrying a shape older than one already pushed to the connection (a change made
/// elsewhere committed after the request's, and its push overtook the reply) is followed by
/// the shape as it is now. The newer shape is put on the bus by the test.
#[tokio::test]
async fn a_reply_older_than_a_pushed_shape_is_followed_by_the_current_shape() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let a = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let b = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    a.register("alice").await;
    a.register("bob").await;
    let mut bob = online(&b, "bob").await;
    let mut alice = online(&a, "alice").await;
    let group = alice.create_group("zero", &["bob"]).await;
    told_of(&mut bob, group).await;
    let mut ahead = alice_view(&mut alice, group).await;
    ahead.name = Some("from the future".into());
    ahead.version += 1000;
    let impostor = Impostor::new(&nats).await;
    let pushed = ServerFrame::Conversation {
        id: None,
        conversation: ahead.clone(),
    };
    let bytes = tern_server::bus::wire::FanFrame::encode(
        impostor.relay,
        Some(0),
        tern_server::fanout::Tag::Shape(tern_proto::ConversationId(group), ahead.version),
        &[tern_proto::UserId(bob.user_id)],
        pushed.to_json().as_bytes(),
    );
    impostor
        .nats
        .publish(tern_server::bus::wire::FAN, bytes)
        .await
        .unwrap();
    impostor.nats.flush().await.unwrap();
    renamed(&mut bob, group, "from the future").await;
    let reply = bob
        .request(json!({"type": "rename_group", "conversation_id": group, "name": "now"}))
        .await;
    assert!(
        matches!(reply, ServerFrame::Conversation { id: Some(_), .. }),
        "{reply:?}"
    );
    renamed(&mut bob, group, "now").await;
}

/// A gap bigger than a connection may have queued is not read into memory whole: the fill
/// stops once the queue overflows, the connection closes as too slow (4008), and the client's
/// sync brings the rest page by page.
#[tokio::test]
async fn a_gap_larger_than_the_connections_queue_is_not_read_whole() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    let a = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let b = relay_with(&db, Some(nats.url()), BEAT, DEAD_AFTER, |c| {
        c.limits.connection_queue = 16
    })
    .await;
    let off = relay(&db, None, BEAT, DEAD_AFTER).await;
    let (_alice, mut bob, direct) = pair(&a, &b).await;
    let mut quiet = Client::connect(&off.ws_url(), &off.login("alice").await).await;
    const MISSED: u64 = 200;
    for i in 0..MISSED {
        quiet
            .send_json(
                json!({"type": "send", "id": 1000 + i, "conversation_id": direct,
                              "client_id": format!("q{i}"), "body": "unannounced"}),
            )
            .await;
    }
    let mut acked = 0;
    while acked < MISSED {
        if let ServerFrame::Ack { .. } = quiet.recv().await {
            acked += 1;
        }
    }
    let mut alice = Client::connect(&a.ws_url(), &a.login("alice").await).await;
    alice.send_msg(direct, "loud", "over the bus").await;
    assert_eq!(
        bob.expect_close().await,
        Some(tern_proto::close::TOO_SLOW.code)
    );
    let filled = b.metric("tern_bus_gap_fills_total").await;
    assert!(
        filled < MISSED,
        "read {filled} of the {MISSED} missing entries"
    );
}

#[tokio::test]
async fn a_users_send_limit_holds_across_relays() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    // Six sends, and practically no refill during the test.
    let tight = |c: &mut tern_server::Config| {
        c.limits.send_rate.burst = 6.0;
        c.limits.send_rate.per_second = 0.001;
    };
    let a = relay_with(&db, Some(nats.url()), BEAT, DEAD_AFTER, tight).await;
    let b = relay_with(&db, Some(nats.url()), BEAT, DEAD_AFTER, tight).await;
    a.register("alice").await;
    a.register("bob").await;
    let mut laptop = online(&a, "alice").await;
    let mut phone = online(&b, "alice").await;
    let direct = laptop.start_direct("bob").await;
    for i in 0..6 {
        laptop
            .send_msg(direct, &format!("l{i}"), "from the laptop")
            .await;
    }
    // Each relay alone would allow six more; the user's bucket is shared.
    phone
        .expect_error(
            json!({"type": "send", "conversation_id": direct, "client_id": "p0", "body": "x"}),
            "rate_limited",
        )
        .await;
    // A resend of a stored message is still answered with its ack.
    let (seq, duplicate) = phone.send_msg(direct, "l5", "from the laptop").await;
    assert_eq!((seq, duplicate), (6, true));
}

/// A relay whose queue for the bus overflows tells the others, and their connections catch up
/// from the database: even the last of a burst, which no later message would reveal, arrives,
/// in order and once.
#[tokio::test]
async fn what_a_relay_could_not_put_on_the_bus_still_reaches_the_other_relays_connections() {
    let Some((db, nats)) = backends() else {
        eprintln!("{SKIP}");
        return;
    };
    // Relay `a` queues at most one frame for the bus: a batch of several sends overflows it.
    let a = relay_with(&db, Some(nats.url()), BEAT, DEAD_AFTER, |c| {
        c.bus_outbox = 1
    })
    .await;
    let b = relay(&db, Some(nats.url()), BEAT, DEAD_AFTER).await;
    let (mut alice, mut bob, direct) = pair(&a, &b).await;
    // Sent without waiting: committed in few batches, each published at once.
    for i in 2..=21u64 {
        alice
            .send_json(
                json!({"type": "send", "id": 1000 + i, "conversation_id": direct,
                              "client_id": format!("p{i}"), "body": format!("m{i}")}),
            )
            .await;
    }
    let got = next_messages(&mut bob, direct, 20).await;
    let want: Vec<(u64, String)> = (2..=21).map(|i| (i, format!("m{i}"))).collect();
    assert_eq!(got, want);
    assert!(
        a.metric("tern_bus_dropped_total").await > 0,
        "the queue overflowed"
    );
    bob.expect_none(Duration::from_millis(300), |f| {
        matches!(f, ServerFrame::Message { .. })
    })
    .await;
}
