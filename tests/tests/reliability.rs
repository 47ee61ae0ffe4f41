//! Nothing lost, nothing duplicated, order kept: across `kill -9` of the relay, a connection
//! that silently stops passing traffic, and a seeded random schedule of sends, disconnects and
//! restarts.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tern_proto::ConversationId;

use common::*;
use rand::Rng;
use tern_client::{Client, ConnectionState, Event, MessageStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether a stored client id is one of the relay's group notices (not something a client
/// sent; the relay names them `notice:<random>`).
fn is_notice(client_id: &str) -> bool {
    client_id.starts_with("notice:")
}

#[tokio::test]
async fn after_kill_9_of_the_relay_every_message_reaches_every_member_once_in_one_order() {
    let mut relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let (carol, _c) = signup(&relay, "carol").await;
    let conv = alice
        .create_group("crew", &["bob", "carol"])
        .await
        .unwrap()
        .conversation_id;
    eventually("everyone knows the group", || async {
        bob.conversation(conv).await.unwrap().is_some()
            && carol.conversation(conv).await.unwrap().is_some()
    })
    .await;

    let clients = [alice.clone(), bob.clone(), carol.clone()];
    let mut writers = Vec::new();
    for (n, c) in clients.iter().enumerate() {
        let c = c.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..100 {
                ids.push(
                    c.send(conv, &format!("{} #{i}", n))
                        .await
                        .unwrap()
                        .client_id,
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            ids
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.kill9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.restart();
    let mut sent: Vec<String> = Vec::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    for c in &clients {
        wait_settled(c).await;
    }
    eventually("all 300 messages everywhere", || async {
        let mut ok = true;
        for c in &clients {
            let stored = c.stored_messages(conv).await.unwrap();
            // The group's log also holds its notices ("created", "added …").
            ok &= stored.iter().filter(|m| m.notice().is_none()).count() == 300;
        }
        ok
    })
    .await;
    let reference = alice.stored_messages(conv).await.unwrap();
    for c in &clients[1..] {
        assert_eq!(
            c.stored_messages(conv).await.unwrap(),
            reference,
            "same order for everyone"
        );
    }
    let on_relay: Vec<(u64, String, String)> = relay
        .stored(conv)
        .into_iter()
        .filter(|(_, id, _)| !is_notice(id))
        .collect();
    assert_eq!(on_relay.len(), 300, "exactly one copy of each on the relay");
    let ids: HashSet<&str> = on_relay.iter().map(|(_, id, _)| id.as_str()).collect();
    assert!(
        sent.iter().all(|id| ids.contains(id.as_str())),
        "every sent message was stored"
    );
    // Per sender, the relay's order is the order they wrote in.
    for n in 0..3 {
        let mine: Vec<&str> = on_relay
            .iter()
            .filter(|(_, _, b)| b.starts_with(&format!("{n} #")))
            .map(|(_, _, b)| b.as_str())
            .collect();
        assert_eq!(
            mine,
            (0..100).map(|i| format!("{n} #{i}")).collect::<Vec<_>>()
        );
    }
    for c in &clients {
        for m in c
            .messages(conv, None, 300)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.mine)
        {
            assert!(
                matches!(
                    m.status,
                    MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
                ),
                "{m:?}"
            );
        }
    }
}

/// A TCP proxy that can silently stop passing traffic on the connections it already has:
/// swallow it (read and drop), or stall (read no more, so the sender's writes wait once the
/// buffers are full; its receive buffer is kept small, so that is soon).
struct Blackhole {
    port: u16,
    cutoff: Arc<AtomicU64>,
    stall: Arc<AtomicU64>,
    /// Connections up to this one pass nothing from the client to the relay (the other way
    /// still works).
    mute_up: Arc<AtomicU64>,
    accepted: Arc<AtomicU64>,
}

impl Blackhole {
    async fn start(target: u16) -> Blackhole {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        // Accepted connections take this size: a small window, filled soon once stalled.
        socket.set_recv_buffer_size(4096).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(64).unwrap();
        let port = listener.local_addr().unwrap().port();
        let cutoff = Arc::new(AtomicU64::new(0));
        let stall = Arc::new(AtomicU64::new(0));
        let mute_up = Arc::new(AtomicU64::new(0));
        let accepted = Arc::new(AtomicU64::new(0));
        let (c2, a2, s2, m2) = (
            cutoff.clone(),
            accepted.clone(),
            stall.clone(),
            mute_up.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let n = a2.fetch_add(1, Ordering::SeqCst) + 1;
                let cutoff = c2.clone();
                let stall = s2.clone();
                let mute_up = m2.clone();
                tokio::spawn(async move {
                    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (ur, uw) = upstream.into_split();
                    let dead = Arc::new(AtomicBool::new(false));
                    // Client to relay: also muted by `mute_up`.
                    tokio::spawn(pipe(cr, uw, n, mute_up, stall.clone(), dead.clone()));
                    pipe(ur, cw, n, cutoff, stall, dead).await;
                });
            }
        });
        Blackhole {
            port,
            cutoff,
            stall,
            mute_up,
            accepted,
        }
    }

    /// Every connection accepted so far passes nothing more from the client to the relay
    /// (read and dropped); the relay's frames still reach the client.
    fn mute_up_existing(&self) {
        self.mute_up
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Every connection accepted so far stops reading: nothing passes, and what is written to
    /// it waits once the buffers are full (a dead link nobody closes).
    fn stall_existing(&self) {
        self.stall
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Every connection accepted so far stops passing bytes (they are read and dropped).
    fn swallow_existing(&self) {
        self.cutoff
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
        self.mute_up_existing();
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    n: u64,
    cutoff: Arc<AtomicU64>,
    stall: Arc<AtomicU64>,
    _dead: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if n <= stall.load(Ordering::SeqCst) {
            // Stalled: read nothing more, and keep both ends open.
            std::future::pending::<()>().await;
        }
        let Ok(len) = from.read(&mut buf).await else {
            return;
        };
        if len == 0 {
            return;
        }
        if n <= cutoff.load(Ordering::SeqCst) {
            continue; // swallowed: neither forwarded nor answered, and never closed
        }
        if to.write_all(&buf[..len]).await.is_err() {
            return;
        }
    }
}

/// Alice signed in through a [`Blackhole`] in front of `relay` (her engine's timing set by
/// `timing`), in a direct chat with bob, who is connected straight to the relay.
struct BehindBlackhole {
    proxy: Blackhole,
    alice: Client,
    bob: Client,
    conv: ConversationId,
    cfg: tern_client::config::ClientConfig,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn behind_blackhole(
    relay: &Relay,
    timing: impl FnOnce(&mut tern_client::config::Timing),
) -> BehindBlackhole {
    let proxy = Blackhole::start(relay.port).await;
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(&format!("http://127.0.0.1:{}", proxy.port), data.path());
    timing(&mut cfg.timing);
    tern_client::Client::register(&cfg, "alice", PASSWORD)
        .await
        .unwrap();
    let alice = Client::login(cfg.clone(), "alice", PASSWORD).await.unwrap();
    wait_online(&alice).await;
    let (bob, bob_dir) = signup(relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    BehindBlackhole {
        proxy,
        alice,
        bob,
        conv,
        cfg,
        _dirs: (data, bob_dir),
    }
}

/// The reason of the next offline state, waiting at most `within`.
async fn next_offline(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    within: Duration,
    what: &str,
) -> String {
    tokio::time::timeout(within, async {
        loop {
            if let Ok(Event::Connection {
                state: ConnectionState::Offline { reason, .. },
            }) = events.recv().await
            {
                return reason;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"))
}

/// Alice sends `body` and bob receives it.
async fn gets_through(t: &BehindBlackhole, body: &str) {
    t.alice.send(t.conv, body).await.unwrap();
    wait_settled(&t.alice).await;
    eventually("bob received it", || async {
        t.bob
            .stored_messages(t.conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == body)
    })
    .await;
}

/// A delivery marker lost on the way (the link dropped right after the message was stored
/// here) is said again after the next sync: the sender sees "delivered", not "sent", without
/// waiting for a later message.
#[tokio::test]
async fn a_delivery_marker_lost_with_the_link_is_said_again_after_the_next_sync() {
    let relay = Relay::start();
    let t = behind_blackhole(&relay, |_| {}).await;
    // Alice's own frames stop reaching the relay; the relay's still reach her.
    t.proxy.mute_up_existing();
    t.bob.send(t.conv, "did you get this?").await.unwrap();
    wait_settled(&t.bob).await;
    eventually("alice stored it", || async {
        t.alice
            .stored_messages(t.conv)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body == "did you get this?")
    })
    .await;
    let delivered_to_bob = || async {
        t.bob
            .conversation(t.conv)
            .await
            .unwrap()
            .map(|c| {
                c.members
                    .iter()
                    .filter(|m| m.username == "alice")
                    .map(|m| m.delivered_seq.0)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    // Her marker was swallowed: the relay does not know (asked at once: the heartbeat's
    // timeout, a few seconds, ends the link and the next sync says it). Then she reconnects
    // (a new link passes both ways) and syncs.
    assert_eq!(delivered_to_bob().await, 0, "the marker was lost");
    eventually("bob sees it delivered", || async {
        delivered_to_bob().await > 0
    })
    .await;
}

/// A link that stops taking bytes (nobody closes it, nothing answers, the proxy reads no
/// more) while 250 long messages are being written to it: it is noticed and replaced, and
/// every message arrives once, in order. (On loopback the sockets' buffers take all the
/// engine keeps in flight, so this does not make a write wait; the engine's bound on a
/// waiting write is there for links whose buffers are smaller.)
#[tokio::test]
async fn a_link_that_stops_taking_bytes_while_written_to_is_replaced() {
    let relay = Relay::start();
    let t = behind_blackhole(&relay, |_| {}).await;
    let mut events = t.alice.subscribe();
    t.proxy.stall_existing();
    // Text that compresses poorly, 250 messages of 15,000 characters: more than the stalled
    // link's buffers take.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = || {
        (0..15_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(
                    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
                        [(x >> 58) as usize],
                )
            })
            .collect::<String>()
    };
    let mut bodies = Vec::new();
    for i in 0..250 {
        let body = format!("{i} {}", noise());
        t.alice.send(t.conv, &body).await.unwrap();
        bodies.push(body);
    }
    let reason = next_offline(
        &mut events,
        Duration::from_secs(60),
        "the stalled link was noticed",
    )
    .await;
    assert!(reason.contains("no answer from the relay"), "{reason}");
    wait_online(&t.alice).await;
    wait_settled(&t.alice).await;
    eventually("bob has every message, once", || async {
        let got = t.bob.stored_messages(t.conv).await.unwrap();
        got.len() == bodies.len() && got.iter().zip(&bodies).all(|(m, b)| &m.body == b)
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_silently_stops_passing_traffic_is_detected_and_replaced() {
    let relay = Relay::start();
    let t = behind_blackhole(&relay, |_| {}).await;
    let mut events = t.alice.subscribe();

    let cut = Instant::now();
    t.proxy.swallow_existing();
    let reason = next_offline(
        &mut events,
        Duration::from_secs(30),
        "the dead link was noticed",
    )
    .await;
    println!(
        "dead link detected after {:?} (timeout {:?}): {reason}",
        cut.elapsed(),
        t.cfg.timing.heartbeat_timeout
    );
    assert!(reason.contains("no answer from the relay"), "{reason}");
    wait_online(&t.alice).await;
    assert!(
        t.proxy.accepted.load(Ordering::SeqCst) >= 2,
        "a new connection replaced the dead one"
    );
    gets_through(&t, "after the outage").await;
}

#[tokio::test]
async fn after_a_network_change_a_link_that_went_silent_is_replaced_without_waiting_for_the_heartbeat(
) {
    // The relay's own timeout is long too, so neither side's heartbeat ends the dead link
    // first.
    let relay = Relay::start_with(&["--heartbeat-secs", "300", "--heartbeat-timeout-secs", "600"]);
    // A heartbeat that would take ten minutes to notice: only the probe can.
    let t = behind_blackhole(&relay, |timing| {
        timing.heartbeat_interval = Duration::from_secs(300);
        timing.heartbeat_timeout = Duration::from_secs(600);
    })
    .await;
    let mut events = t.alice.subscribe();

    // The old network's link goes silent; then the computer says its network changed.
    t.proxy.swallow_existing();
    t.alice.network_changed();
    let reason = next_offline(
        &mut events,
        Duration::from_secs(60),
        "the probe found the dead link",
    )
    .await;
    assert!(reason.contains("after the network changed"), "{reason}");
    wait_online(&t.alice).await;
    gets_through(&t, "on the new network").await;

    // A link that still answers is kept: a probe on a healthy link changes nothing.
    let accepted = t.proxy.accepted.load(Ordering::SeqCst);
    t.alice.network_changed();
    t.alice.send(t.conv, "still here").await.unwrap();
    wait_settled(&t.alice).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        t.proxy.accepted.load(Ordering::SeqCst),
        accepted,
        "no new connection for a link that answered"
    );
    assert!(matches!(
        t.alice.connection_state(),
        ConnectionState::Online
    ));
}

#[tokio::test]
async fn a_seeded_random_schedule_of_sends_disconnects_and_restarts_converges_to_the_relays_state()
{
    let (seed, mut rng) = chaos::seeded_rng();
    let mut relay = Relay::start();
    let names = ["alice", "bob", "carol"];
    let mut dirs = Vec::new();
    let mut clients: Vec<Option<Client>> = Vec::new();
    for n in names {
        let (c, d) = signup(&relay, n).await;
        clients.push(Some(c));
        dirs.push(d);
    }
    let started: Vec<Client> = clients.iter().flatten().cloned().collect();
    let trio = chaos::Trio::start(&started).await;
    drop(started);

    let mut sent: Vec<String> = Vec::new();
    let mut relay_up = true;
    for step in 0..150 {
        let who = rng.random_range(0..3);
        let roll: f64 = rng.random();
        if roll < 0.65 {
            if clients[who].is_none() {
                let cfg = config(&relay.url(), dirs[who].path());
                clients[who] = Some(Client::resume(cfg, names[who]).await.unwrap());
            }
            let convs = trio.of(who);
            let conv = convs[rng.random_range(0..convs.len())];
            let client = clients[who].as_ref().unwrap();
            if roll < 0.57 {
                let body = format!("step {step} by {}", names[who]);
                sent.push(client.send(conv, &body).await.unwrap().client_id);
            } else {
                chaos::read_to_newest(client, conv).await;
            }
        } else if roll < 0.80 {
            // A client goes away (app closed, possibly with unsent messages) or comes back.
            match clients[who].take() {
                Some(c) => c.shutdown().await,
                None => {
                    clients[who] = Some(
                        Client::resume(config(&relay.url(), dirs[who].path()), names[who])
                            .await
                            .unwrap(),
                    )
                }
            }
        } else if roll < 0.88 {
            if relay_up {
                relay.kill9();
            } else {
                relay.restart();
            }
            relay_up = !relay_up;
        } else {
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..60))).await;
        }
    }
    if !relay_up {
        relay.restart();
    }
    for (i, slot) in clients.iter_mut().enumerate() {
        if slot.is_none() {
            *slot = Some(
                Client::resume(config(&relay.url(), dirs[i].path()), names[i])
                    .await
                    .unwrap(),
            );
        }
    }
    let clients: Vec<Client> = clients.into_iter().map(Option::unwrap).collect();
    for c in &clients {
        c.retry_now();
        wait_settled(c).await;
    }
    let named: Vec<(&str, &Client)> = names.iter().copied().zip(&clients).collect();
    trio.converged(
        &named,
        &sent,
        seed,
        |conv| relay.stored(conv),
        |conv| relay.read_markers(conv),
    )
    .await;
}

/// More messages written offline than the relay takes at once (its per-user send burst):
/// when the link is back they are sent pipelined, the relay refuses some for a moment (its
/// rate limit refills while the rest are on their way), and every one is still stored in the
/// order written, once.
#[tokio::test]
async fn messages_written_offline_beyond_the_send_limit_are_stored_in_the_order_written() {
    // A burst of 8 that refills at 2,000 a second: while 80 pipelined sends are read, some
    // tokens come back, so some later messages would be taken ahead of refused earlier ones.
    let mut relay = Relay::start_with(&["--send-rate", "2000", "--send-burst", "8"]);
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    relay.kill9();
    let written: Vec<String> = (1..=80).map(|i| format!("offline {i}")).collect();
    for body in &written {
        alice.send(conv, body).await.unwrap();
    }
    relay.restart();
    wait_settled(&alice).await;
    eventually("bob has all 80", || async {
        bob.stored_messages(conv)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.body.starts_with("offline "))
            .count()
            == 80
    })
    .await;
    let mut got = bob.stored_messages(conv).await.unwrap();
    got.sort_by_key(|m| m.seq);
    let bodies: Vec<String> = got
        .into_iter()
        .filter(|m| m.body.starts_with("offline "))
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, written, "stored in the order written, once each");
}

#[tokio::test]
async fn a_client_dropped_without_shutdown_goes_offline_and_lets_go_of_its_cache() {
    let relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    eventually("alice has bob's request", || async {
        alice.conversation(conv).await.unwrap().is_some()
    })
    .await;
    // Presence is shared once the request is accepted.
    alice.accept_request(conv).await.unwrap();
    let online = |bob: Client| async move {
        bob.conversation_view(conv)
            .await
            .unwrap()
            .and_then(|v| v.online)
    };
    eventually("bob sees alice online", || {
        let bob = bob.clone();
        async move { online(bob).await == Some(true) }
    })
    .await;
    let cache = tern_client::accounts::cache_path(alice.config(), alice.user_id());
    assert!(
        tern_testkit::fds::open_on(&cache) > 0,
        "the cache is open while alice runs"
    );

    // The app drops every handle without shutting down (an embedder's error path).
    let second_handle = alice.clone();
    drop(alice);
    drop(second_handle);
    eventually("bob sees alice offline", || {
        let bob = bob.clone();
        async move { online(bob).await == Some(false) }
    })
    .await;
    eventually("alice's cache file is closed", || async {
        tern_testkit::fds::open_on(&cache) == 0
    })
    .await;
}

#[tokio::test]
async fn a_read_marker_refused_for_rate_is_sent_again_without_another_action() {
    let (relay, (alice, _a), _bob, conv) = slow_frames("read me").await;
    let seq = alice.messages(conv, None, 10).await.unwrap()[0]
        .seq
        .expect("stored");
    wait_settled(&alice).await;

    // Alice's typing spends her connection's allowance; the read right behind it is refused
    // (`rate_limited`, a transient refusal) and nothing else she does asks for a flush.
    for _ in 0..60 {
        alice.typing(conv, true).await;
    }
    alice.mark_read(conv, seq).await.unwrap();
    let me = alice.user_id().0;
    eventually("the relay has alice's read marker", || async {
        relay
            .read_markers(conv)
            .iter()
            .any(|&(user, read)| user == me && read >= seq.0)
    })
    .await;
    assert!(
        refused_for_rate(&relay).await > 0,
        "the relay refused frames for rate, so a refusal was met"
    );
}

/// A relay that takes one frame every 5 s once a burst of 30 is spent (what it refuses stays
/// refused for a while, however slow the machine), alice and bob in a direct chat, and bob's
/// message `first` stored on alice's device.
async fn slow_frames(
    first: &str,
) -> (
    Relay,
    (Client, tempfile::TempDir),
    (Client, tempfile::TempDir),
    ConversationId,
) {
    let relay = Relay::start_with(&["--frame-burst", "30", "--frame-rate", "0.2"]);
    let alice = signup(&relay, "alice").await;
    let bob = signup(&relay, "bob").await;
    let conv = bob.0.start_direct("alice").await.unwrap().conversation_id;
    bob.0.send(conv, first).await.unwrap();
    wait_settled(&bob.0).await;
    eventually("alice has the first message", || async {
        !alice.0.messages(conv, None, 10).await.unwrap().is_empty()
    })
    .await;
    (relay, alice, bob, conv)
}

/// How many frames the relay refused for rate so far (its metrics).
async fn refused_for_rate(relay: &Relay) -> u64 {
    let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", relay.metrics_port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("tern_errors_total{code=\"rate_limited\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_delivery_marker_refused_for_rate_is_sent_again() {
    let (relay, (alice, _a), (bob, _b), conv) = slow_frames("first").await;
    wait_settled(&alice).await;

    // Alice's typing spends her connection's allowance; the delivery marker for the next
    // message, said right after, is refused (`rate_limited`).
    for _ in 0..60 {
        alice.typing(conv, true).await;
    }
    let second = bob.send(conv, "second").await.unwrap();
    wait_settled(&bob).await;
    let seq = loop {
        if let Some(m) = bob
            .messages(conv, None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.client_id == second.client_id && m.seq.is_some())
        {
            break m.seq.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let me = alice.user_id().0;
    eventually("the relay has alice's delivery marker", || async {
        relay
            .delivered_markers(conv)
            .iter()
            .any(|&(user, delivered)| user == me && delivered >= seq.0)
    })
    .await;
    assert!(
        refused_for_rate(&relay).await > 0,
        "the relay refused frames for rate, so a refusal was met"
    );
}

/// A message written while the relay was away and sent a while later tells the other member
/// when it was written, not only when the relay stored it, and so does the author's own
/// chat; a message sent as it was written says nothing more.
#[tokio::test]
async fn a_message_written_while_the_relay_was_away_tells_every_member_when_it_was_written() {
    let mut relay = Relay::start();
    let (alice, _a) = signup(&relay, "alice").await;
    let (bob, _b) = signup(&relay, "bob").await;
    let conv = alice.start_direct("bob").await.unwrap().conversation_id;
    alice.send(conv, "prompt").await.unwrap();
    relay.kill9();
    let queued = alice.send(conv, "from the train").await.unwrap();
    // Ten minutes pass with the relay away: the outbox entry was written that long ago (the
    // test moves its time in the real cache file instead of waiting).
    let ago = 10 * 60_000;
    let cache = rusqlite::Connection::open(tern_client::accounts::cache_path(
        alice.config(),
        alice.user_id(),
    ))
    .unwrap();
    cache.busy_timeout(Duration::from_secs(10)).unwrap();
    let written: i64 = cache
        .query_row(
            "UPDATE outbox SET created_at = created_at - ?2 WHERE client_id = ?1 RETURNING created_at",
            rusqlite::params![queued.client_id, ago],
            |r| r.get(0),
        )
        .unwrap();
    drop(cache);
    relay.restart();
    wait_settled(&alice).await;
    let late = |client: Client| async move {
        let page = client.messages(conv, None, 10).await.unwrap();
        let find = |body: &str| page.iter().find(|m| m.body == body).cloned();
        (find("prompt"), find("from the train"))
    };
    eventually("bob has both", || {
        let bob = bob.clone();
        async move { matches!(late(bob).await, (Some(_), Some(_))) }
    })
    .await;
    for (who, client) in [("bob", &bob), ("alice", &alice)] {
        let (prompt, offline) = late(client.clone()).await;
        let (prompt, offline) = (prompt.unwrap(), offline.unwrap());
        assert_eq!(
            prompt.written_at, None,
            "{who}: a prompt send says nothing more"
        );
        let at = offline
            .written_at
            .unwrap_or_else(|| panic!("{who}: no written_at"));
        // On the relay's clock, which here is this machine's: within a few seconds of the
        // time written, and well before the relay stored it.
        assert!(
            (at - written).abs() < 5_000,
            "{who}: written at {at}, not {written}"
        );
        assert!(offline.sent_at - at >= ago - 5_000, "{who}: {offline:?}");
    }
}
