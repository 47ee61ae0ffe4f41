//! A cluster as an operator runs it: three relay processes on one PostgreSQL database with a
//! NATS bus between them, behind HAProxy with deploy/cluster/haproxy-tern.cfg, and engine
//! clients that know only the front's address. Run under scripts/with-postgres.sh (the test
//! command does); without it these tests say so and pass nothing off as checked.
//!
//! Promises: when one relay is killed (`kill -9`) under load its clients reconnect through the
//! front to the others and nothing acknowledged is lost, nothing is stored twice, and every
//! member sees one order; the same when NATS and then PostgreSQL restart under load (the
//! members write on through each outage), and when one relay loses its own way to the
//! database (the front's health check takes it out of rotation); and a
//! seeded random schedule of relay kills, NATS and PostgreSQL
//! restarts and client restarts ends with every client's cache equal to the database.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rand::Rng;
use tern_client::Client;
use tern_proto::ConversationId;
use tern_testkit::front::{deploy_config, Front};
use tern_testkit::link::Link;
use tern_testkit::nats::NatsServer;

const SKIP: &str = "PostgreSQL + NATS + HAProxy only: run under scripts/with-postgres.sh";

/// The schedule stops the PostgreSQL server every test here shares: the tests take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Cluster {
    db: String,
    nats: NatsServer,
    relays: Vec<Relay>,
    front: Front,
}

impl Cluster {
    /// Three relays and their front, or `None` when the tests run on SQLite.
    fn start() -> Option<Cluster> {
        Self::start_linked(None)
    }

    /// Three relays and their front, the first relay reaching PostgreSQL through a link the
    /// test can cut (the others directly).
    fn start_with_cuttable_database() -> Option<(Cluster, Link)> {
        let server = tern_testkit::postgres::server()?;
        let link = Link::start(server.parse().expect("the test server is an ip:port"))
            .expect("a loopback link");
        let cluster = Self::start_linked(Some(&link))?;
        Some((cluster, link))
    }

    fn start_linked(first_through: Option<&Link>) -> Option<Cluster> {
        let db = tern_testkit::postgres::test_database()?;
        let nats = NatsServer::start().expect("nats-server (scripts/setup.sh installs it)");
        let bus = nats.url();
        let relays: Vec<Relay> = (0..3)
            .map(|i| {
                let store = match first_through {
                    Some(link) if i == 0 => {
                        let server = tern_testkit::postgres::server().unwrap();
                        db.replace(&server, &format!("127.0.0.1:{}", link.port()))
                    }
                    _ => db.clone(),
                };
                Relay::start_with(&[
                    "--store",
                    &store,
                    "--bus",
                    &bus,
                    "--trusted-proxies",
                    "127.0.0.1/32",
                ])
            })
            .collect();
        let addrs = [0, 1, 2].map(|i| format!("127.0.0.1:{}", relays[i].port).parse().unwrap());
        let front = Front::start(&deploy_config(), addrs).expect("haproxy");
        Some(Cluster {
            db,
            nats,
            relays,
            front,
        })
    }

    /// Every stored entry of a conversation as (seq, client id, body), from PostgreSQL.
    fn stored(&self, conv: ConversationId) -> Vec<(u64, String, String)> {
        let rows = tern_testkit::postgres::query(
            &self.db,
            &format!(
                "SELECT seq || chr(31) || client_id || chr(31) || body FROM messages \
                 WHERE conversation_id = {} ORDER BY seq",
                conv.0
            ),
        )
        .unwrap();
        rows.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut parts = l.splitn(3, '\u{1f}');
                let seq = parts.next().unwrap().parse().unwrap();
                let id = parts.next().unwrap().to_owned();
                (seq, id, parts.next().unwrap_or("").to_owned())
            })
            .collect()
    }

    /// Each active member's read marker in a conversation as (user id, read seq), by user
    /// id, from PostgreSQL.
    fn read_markers(&self, conv: ConversationId) -> Vec<(i64, u64)> {
        let rows = tern_testkit::postgres::query(
            &self.db,
            &format!(
                "SELECT user_id || ' ' || read_seq FROM members \
                 WHERE conversation_id = {} AND active ORDER BY user_id",
                conv.0
            ),
        )
        .unwrap();
        rows.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (user, seq) = l.split_once(' ').unwrap();
                (user.parse().unwrap(), seq.parse().unwrap())
            })
            .collect()
    }

    /// The HTTP status of a relay's `/health` (0 when it does not answer).
    async fn health(&self, relay: usize) -> u16 {
        match reqwest::get(format!("{}/health", self.relays[relay].url())).await {
            Ok(res) => res.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// WebSocket connections each relay holds now (from its `/health`; none when it is down).
    async fn connections(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for r in &self.relays {
            let held = match reqwest::get(format!("{}/health", r.url())).await {
                Ok(res) => res.json::<serde_json::Value>().await.unwrap()["connections"]
                    .as_u64()
                    .unwrap_or(0),
                Err(_) => 0,
            };
            out.push(held);
        }
        out
    }
}

/// Register and sign in through the front, from a data folder of its own.
async fn join(front: &str, name: &str) -> (Client, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let cfg = config(front, data.path());
    Client::register(&cfg, name, PASSWORD).await.unwrap();
    let client = Client::login(cfg, name, PASSWORD).await.unwrap();
    wait_online(&client).await;
    (client, data)
}

async fn resume(front: &str, dir: &Path, name: &str) -> Client {
    Client::resume(config(front, dir), name).await.unwrap()
}

/// Whether a stored client id is one of the relay's group notices.
fn is_notice(client_id: &str) -> bool {
    client_id.starts_with("notice:")
}

/// Every client's cache of each of its conversations equals the database.
async fn caches_match(cluster: &Cluster, clients: &[(&str, &Client, Vec<ConversationId>)]) {
    for (name, c, convs) in clients {
        for &conv in convs {
            chaos::cache_becomes(name, c, conv, cluster.stored(conv)).await;
        }
    }
}

/// The six members of [`crew`].
const CREW: [&str; 6] = ["ann", "ben", "cat", "dan", "eve", "fay"];
/// The six [`CREW`] members signed in through the front, in one group they all accepted.
async fn crew(front: &str) -> (Vec<Client>, Vec<tempfile::TempDir>, ConversationId) {
    let mut clients = Vec::new();
    let mut dirs = Vec::new();
    for n in CREW {
        let (c, d) = join(front, n).await;
        clients.push(c);
        dirs.push(d);
    }
    let group = clients[0]
        .create_group("crew", &CREW[1..])
        .await
        .unwrap()
        .conversation_id;
    for c in &clients[1..] {
        let c = c.clone();
        eventually("everyone knows the group", move || {
            let c = c.clone();
            async move {
                let known = c.conversation(group).await.unwrap().is_some();
                if known {
                    let _ = c.accept_request(group).await;
                }
                known
            }
        })
        .await;
    }
    (clients, dirs, group)
}

/// Every member writing to one group, `gap` apart, until told to stop: the load a fault
/// happens under. It counts what was written, so a test can show that writing went on while
/// a part was down (the engine queues what it cannot send yet).
struct Load {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicUsize>,
    writers: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

impl Load {
    fn start(clients: &[Client], group: ConversationId, gap: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let writers = clients
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let (c, stop, written) = (c.clone(), stop.clone(), written.clone());
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let body = format!("{n} #{}", ids.len());
                        ids.push(c.send(group, &body).await.unwrap().client_id);
                        written.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(gap).await;
                    }
                    ids
                })
            })
            .collect();
        Load {
            stop,
            written,
            writers,
        }
    }

    /// Messages written so far, by all members.
    fn written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    /// Wait until more has been written than `since`: the load goes on through what happens
    /// meanwhile.
    async fn goes_on_past(&self, since: usize, what: &str) {
        let written = self.written.clone();
        eventually(what, move || {
            let more = written.load(Ordering::SeqCst) > since;
            async move { more }
        })
        .await;
    }

    /// Stop writing; each member's client ids in the order written.
    async fn stop(self) -> Vec<Vec<String>> {
        self.stop.store(true, Ordering::SeqCst);
        let mut out = Vec::new();
        for w in self.writers {
            out.push(w.await.unwrap());
        }
        out
    }
}

/// What the load wrote is stored once each, in each writer's order, and every member's
/// cache equals the database.
async fn stored_once_in_order(
    cluster: &Cluster,
    clients: &[Client],
    group: ConversationId,
    load: Load,
) {
    let sent = load.stop().await;
    for c in clients {
        wait_settled(c).await;
    }
    let on_db: Vec<(u64, String, String)> = cluster
        .stored(group)
        .into_iter()
        .filter(|(_, id, _)| !is_notice(id))
        .collect();
    assert_eq!(
        on_db.len(),
        sent.iter().map(Vec::len).sum::<usize>(),
        "exactly one stored copy of each"
    );
    let ids: HashSet<&str> = on_db.iter().map(|(_, id, _)| id.as_str()).collect();
    assert!(
        sent.iter().flatten().all(|id| ids.contains(id.as_str())),
        "all stored"
    );
    for (n, written) in sent.iter().enumerate() {
        let mine: Vec<&str> = on_db
            .iter()
            .filter(|(_, _, b)| b.starts_with(&format!("{n} #")))
            .map(|(_, _, b)| b.as_str())
            .collect();
        let want: Vec<String> = (0..written.len()).map(|i| format!("{n} #{i}")).collect();
        assert_eq!(mine, want, "sender {n}'s messages in the order written");
    }
    let everyone: Vec<(&str, &Client, Vec<ConversationId>)> = CREW
        .iter()
        .zip(clients)
        .map(|(n, c)| (*n, c, vec![group]))
        .collect();
    caches_match(cluster, &everyone).await;
}

#[tokio::test]
async fn after_kill_9_of_one_relay_its_clients_move_to_the_others_and_nothing_is_lost_or_repeated()
{
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(mut cluster) = Cluster::start() else {
        eprintln!("{SKIP}");
        return;
    };
    let (clients, _dirs, group) = crew(&cluster.front.url()).await;
    // The front spread the six connections; the relay holding the most of them dies.
    let held = cluster.connections().await;
    let victim = (0..3).max_by_key(|&i| held[i]).unwrap();
    assert!(held[victim] > 0, "connections per relay: {held:?}");

    let load = Load::start(&clients, group, Duration::from_millis(5));
    load.goes_on_past(30, "the members are writing").await;
    cluster.relays[victim].kill9();
    let at_kill = load.written();
    for c in &clients {
        c.retry_now();
    }
    load.goes_on_past(at_kill + 120, "the members write on after the kill")
        .await;
    stored_once_in_order(&cluster, &clients, group, load).await;
    // The survivors hold every connection now.
    let held = cluster.connections().await;
    assert_eq!(
        held.iter().sum::<u64>(),
        CREW.len() as u64,
        "all clients reconnected: {held:?}"
    );
}

/// NATS restarts, then PostgreSQL does, while six members write: nothing acknowledged is
/// lost, nothing is stored twice, and the clients recover by themselves (no "retry now").
#[tokio::test]
async fn restarting_nats_then_postgresql_under_load_loses_and_repeats_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(mut cluster) = Cluster::start() else {
        eprintln!("{SKIP}");
        return;
    };
    let (clients, _dirs, group) = crew(&cluster.front.url()).await;
    let load = Load::start(&clients, group, Duration::from_millis(20));
    load.goes_on_past(12, "the members are writing").await;
    cluster.nats.kill();
    let nats_gone = load.written();
    tokio::time::sleep(Duration::from_millis(200)).await;
    load.goes_on_past(nats_gone + 30, "the members write while NATS is down")
        .await;
    cluster.nats.restart().unwrap();
    load.goes_on_past(load.written() + 12, "the members write once NATS is back")
        .await;
    tern_testkit::postgres::stop_server().unwrap();
    let db_gone = load.written();
    tokio::time::sleep(Duration::from_millis(400)).await;
    load.goes_on_past(db_gone + 60, "the members write while PostgreSQL is down")
        .await;
    // What was written meanwhile waits in the outboxes: the outage held messages back.
    let mut waiting = 0;
    for c in &clients {
        waiting += c.unsent().await.unwrap();
    }
    assert!(waiting > 0, "messages wait for the database to come back");
    tern_testkit::postgres::start_server().unwrap();
    load.goes_on_past(
        load.written() + 12,
        "the members write once PostgreSQL is back",
    )
    .await;
    stored_once_in_order(&cluster, &clients, group, load).await;
}

/// A relay that loses its way to PostgreSQL (its link cut; the database stays up for the other
/// relays) answers `/health` with 503. The front then takes it out of rotation and closes its
/// clients' connections; they reconnect to the healthy relays and everything written while the
/// cut lasts is stored once and in order, with no user action. Without the front's health
/// check they would stay on the cut-off relay, whose every send is answered `internal`.
#[tokio::test]
async fn a_relay_cut_off_from_postgresql_leaves_rotation_and_its_clients_carry_on_elsewhere() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some((cluster, link)) = Cluster::start_with_cuttable_database() else {
        eprintln!("{SKIP}");
        return;
    };
    let (clients, _dirs, group) = crew(&cluster.front.url()).await;
    let held = cluster.connections().await;
    assert!(
        held[0] > 0,
        "the front gave the first relay clients: {held:?}"
    );

    let load = Load::start(&clients, group, Duration::from_millis(20));
    load.goes_on_past(12, "the members are writing").await;
    link.cut();
    let cut_at = load.written();
    eventually(
        "the cut-off relay reports its database unavailable",
        || async { cluster.health(0).await == 503 },
    )
    .await;
    load.goes_on_past(cut_at + 60, "the members write while the relay is cut off")
        .await;
    // Still cut off: only the other two relays can have stored these.
    stored_once_in_order(&cluster, &clients, group, load).await;
    assert_eq!(cluster.health(0).await, 503, "the cut lasted to the end");

    link.restore();
    eventually(
        "the relay is healthy again once its link is back",
        || async { cluster.health(0).await == 200 },
    )
    .await;
}

#[tokio::test]
async fn a_seeded_random_schedule_of_relay_kills_nats_and_database_restarts_and_client_restarts_converges(
) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(mut cluster) = Cluster::start() else {
        eprintln!("{SKIP}");
        return;
    };
    let (seed, mut rng) = chaos::seeded_rng();
    let front = cluster.front.url();
    let names = ["alice", "bob", "carol"];
    let mut dirs = Vec::new();
    let mut clients: Vec<Option<Client>> = Vec::new();
    for n in names {
        let (c, d) = join(&front, n).await;
        clients.push(Some(c));
        dirs.push(d);
    }
    let started: Vec<Client> = clients.iter().flatten().cloned().collect();
    let trio = chaos::Trio::start(&started).await;
    drop(started);

    let mut sent: Vec<String> = Vec::new();
    let mut relay_up = [true; 3];
    let mut nats_up = true;
    let mut db_up = true;
    for step in 0..150 {
        let who = rng.random_range(0..3);
        let roll: f64 = rng.random();
        if roll < 0.62 {
            if clients[who].is_none() {
                clients[who] = Some(resume(&front, dirs[who].path(), names[who]).await);
            }
            let convs = trio.of(who);
            let conv = convs[rng.random_range(0..convs.len())];
            let client = clients[who].as_ref().unwrap();
            if roll < 0.55 {
                let body = format!("step {step} by {}", names[who]);
                sent.push(client.send(conv, &body).await.unwrap().client_id);
            } else {
                chaos::read_to_newest(client, conv).await;
            }
        } else if roll < 0.74 {
            // A client goes away (app closed, possibly with unsent messages) or comes back.
            match clients[who].take() {
                Some(c) => c.shutdown().await,
                None => clients[who] = Some(resume(&front, dirs[who].path(), names[who]).await),
            }
        } else if roll < 0.84 {
            // A relay dies or comes back; at least one stays up. A relay does not start
            // while the database is down (it exits, and its service manager retries).
            let r = rng.random_range(0..3);
            if !relay_up[r] {
                if db_up {
                    cluster.relays[r].restart();
                    relay_up[r] = true;
                }
            } else if relay_up.iter().filter(|u| **u).count() > 1 {
                cluster.relays[r].kill9();
                relay_up[r] = false;
            }
        } else if roll < 0.90 {
            if nats_up {
                cluster.nats.kill();
            } else {
                cluster.nats.restart().unwrap();
            }
            nats_up = !nats_up;
        } else if roll < 0.93 {
            // The database goes away (fast shutdown: every relay's connections are cut) or
            // comes back.
            if db_up {
                tern_testkit::postgres::stop_server().unwrap();
            } else {
                tern_testkit::postgres::start_server().unwrap();
            }
            db_up = !db_up;
        } else {
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..60))).await;
        }
    }
    if !db_up {
        tern_testkit::postgres::start_server().unwrap();
    }
    if !nats_up {
        cluster.nats.restart().unwrap();
    }
    for (r, up) in relay_up.iter().enumerate() {
        if !up {
            cluster.relays[r].restart();
        }
    }
    for (i, slot) in clients.iter_mut().enumerate() {
        if slot.is_none() {
            *slot = Some(resume(&front, dirs[i].path(), names[i]).await);
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
        |conv| cluster.stored(conv),
        |conv| cluster.read_markers(conv),
    )
    .await;
}
