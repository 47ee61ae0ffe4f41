//! Relays as a cluster: PostgreSQL (the private server of scripts/with-postgres.sh), a private
//! `nats-server` between the relays, and, for the storm, HAProxy in front with
//! deploy/cluster/haproxy-tern.cfg.
//!
//! - [`pairs`]: 1:1 pairs whose two members sit on different relays, so every message crosses
//!   the bus. CPU is counted for everything the cluster runs — both relays, every PostgreSQL
//!   process, nats-server — per delivered message.
//! - [`storm`]: clients spread over three relays by the front; the relay holding the most is
//!   killed with SIGKILL; how long until each of its clients is connected elsewhere and has
//!   finished a full sync.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tern_testkit::nats::NatsServer;

use super::fanout::{drive, Load, Receiver};
use super::storm::{connect_all, wait_all, Shared};
use super::Figures;
use crate::conn;
use crate::relay::{self, Layout, RelayProcess};

/// The database and the bus.
struct Backends {
    db: String,
    nats: NatsServer,
}

fn backends() -> Result<Backends> {
    let db = tern_testkit::postgres::test_database()
        .context("a cluster needs PostgreSQL: run under scripts/with-postgres.sh")?;
    let nats = NatsServer::start().context("nats-server (scripts/setup.sh installs it)")?;
    Ok(Backends { db, nats })
}

fn start_relays(exe: &Path, dir: &Path, n: usize, b: &Backends) -> Result<Vec<RelayProcess>> {
    let bus = b.nats.url();
    (0..n)
        .map(|i| {
            let extra = ["--store", b.db.as_str(), "--bus", bus.as_str()];
            let db = dir.join(format!("unused-{i}.db"));
            RelayProcess::start_with(exe, &db, relay::free_port(), &extra)
        })
        .collect()
}

/// CPU seconds used so far by the relays, and by PostgreSQL and nats-server.
fn cluster_cpu(relays: &[RelayProcess], b: &Backends) -> (f64, f64, f64) {
    let relays: f64 = relays.iter().map(|r| relay::cpu_seconds(r.pid())).sum();
    let pg: f64 = relay::postgres_pids()
        .into_iter()
        .map(relay::cpu_seconds)
        .sum();
    let nats = b.nats.pid().map(relay::cpu_seconds).unwrap_or(0.0);
    (relays, pg, nats)
}

/// 1:1 pairs at `rate` for `secs` on `relays` relays (1: a single relay on PostgreSQL with no
/// bus, for comparison; 2: every pair spans both relays).
pub async fn pairs(
    exe: &Path,
    relays: usize,
    conns: usize,
    rate: f64,
    secs: f64,
) -> Result<Figures> {
    let b = backends()?;
    let dir = tempfile::tempdir()?;
    let seeded = relay::seed_store(
        &dir.path().join("seed.db"),
        Some(b.db.clone()),
        conns,
        Layout::Pairs,
        0,
    )
    .await?;
    let two = relays == 2;
    let relays = if two {
        start_relays(exe, dir.path(), 2, &b)?
    } else {
        let db = dir.path().join("unused.db");
        let extra = ["--store", b.db.as_str()];
        vec![RelayProcess::start_with(
            exe,
            &db,
            relay::free_port(),
            &extra,
        )?]
    };
    // Let the relays find each other on the bus.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rx = Receiver::new()?;
    let outs = if two {
        // Users 2i on the first relay, 2i+1 on the second: every pair spans both.
        let (even, odd): (Vec<_>, Vec<_>) = seeded
            .tokens
            .iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let tokens =
            |v: Vec<(usize, &String)>| v.into_iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
        let outs_a = conn::open_all(relays[0].port, &tokens(even), rx.clone(), 200).await?;
        let outs_b = conn::open_all(relays[1].port, &tokens(odd), rx.clone(), 200).await?;
        outs_a
            .iter()
            .zip(&outs_b)
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect()
    } else {
        conn::open_all(relays[0].port, &seeded.tokens, rx.clone(), 200).await?
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (relays0, pg0, nats0) = cluster_cpu(&relays, &b);
    let load = Load {
        rate,
        secs,
        group: None,
        tick: Duration::ZERO,
    };
    let (start, total, expected) = drive(&rx, outs, seeded.conversations.clone(), &load).await?;
    let elapsed = (rx.t0_elapsed() - start).as_secs_f64();
    let (relays1, pg1, nats1) = cluster_cpu(&relays, &b);
    let (relays_cpu, pg_cpu, nats_cpu) = (relays1 - relays0, pg1 - pg0, nats1 - nats0);
    let cpu = relays_cpu + pg_cpu + nats_cpu;
    let delivered = rx.delivered();
    let mut f = Figures {
        system: "tern".into(),
        scenario: if two {
            "pairs-across-2-relays".into()
        } else {
            "pairs-1-relay-postgres".into()
        },
        conns,
        rate_per_s: rate,
        secs,
        sent: total,
        expected,
        delivered,
        lost: expected as i64 - delivered as i64,
        server_cpu_s: cpu,
        cpu_us_per_delivery: (delivered > 0).then(|| cpu * 1e6 / delivered as f64),
        delivered_per_s: Some(delivered as f64 / elapsed),
        extra: Some((
            "relays_cpu_us_per_delivery".into(),
            relays_cpu * 1e6 / delivered.max(1) as f64,
        )),
        ..Figures::default()
    };
    rx.fill(&mut f);
    let per = |s: f64| s * 1e6 / delivered.max(1) as f64;
    println!(
        "{} relay(s) on PostgreSQL: relays {:.1} µs, PostgreSQL {:.1} µs, NATS {:.1} µs per delivery",
        relays.len(),
        per(relays_cpu),
        per(pg_cpu),
        per(nats_cpu)
    );
    Ok(f)
}

/// `n` clients over three relays behind HAProxy; the busiest relay is killed.
pub async fn storm(exe: &Path, n: usize, messages: usize) -> Result<Figures> {
    let b = backends()?;
    let dir = tempfile::tempdir()?;
    let seeded = relay::seed_store(
        &dir.path().join("seed.db"),
        Some(b.db.clone()),
        n,
        Layout::Pairs,
        messages,
    )
    .await?;
    let mut relays = start_relays(exe, dir.path(), 3, &b)?;
    let addrs = [0, 1, 2].map(|i| {
        format!("127.0.0.1:{}", relays[i].port)
            .parse()
            .expect("an address")
    });
    // HAProxy holds two descriptors per client; where its limit is too low for `n` clients
    // (and cannot be raised), several processes share the port.
    let processes = (2 * n + 1000).div_ceil(descriptor_limit().max(2000));
    let front = tern_testkit::front::Front::start_processes(
        &tern_testkit::front::deploy_config(),
        addrs,
        processes,
    )?;
    let port: u16 = front
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("front port")?;
    let shared = Arc::new(Shared::new(port, messages));
    let tasks = connect_all(&shared, &seeded.tokens).await?;
    // Connections per relay, from each relay's /health.
    let mut held = Vec::new();
    for r in &relays {
        held.push(connections(r.port).await.unwrap_or(0));
    }
    let victim = (0..3).max_by_key(|&i| held[i]).unwrap_or(0);
    let moving = held[victim] as usize;
    shared.synced.store(0, Ordering::SeqCst);
    shared.complete.store(0, Ordering::SeqCst);
    let killed = Instant::now();
    relays[victim].kill9();
    let ok = wait_all(&shared, moving, Duration::from_secs(120)).await;
    let took = killed.elapsed().as_secs_f64();
    let complete = shared.complete.load(Ordering::SeqCst);
    for t in tasks {
        t.abort();
    }
    println!(
        "cluster storm: {n} clients through {processes} HAProxy process(es) on 3 relays {held:?}; {moving} moved and resynced in {} s; {complete} complete",
        if ok { format!("{took:.2}") } else { "not all".into() }
    );
    drop(front);
    Ok(Figures {
        system: "tern".into(),
        scenario: "storm-1-of-3-relays".into(),
        conns: n,
        expected: moving as u64,
        delivered: complete as u64,
        lost: moving as i64 - complete as i64,
        extra: Some((
            "resync_s_after_kill".into(),
            if ok { took } else { f64::NAN },
        )),
        ..Figures::default()
    })
}

/// This process's soft limit of open files (its children inherit it).
fn descriptor_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// A relay's open WebSocket connections, from its `/health`.
async fn connections(port: u16) -> Option<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(b"GET /health HTTP/1.0\r\nHost: relay\r\n\r\n")
        .await
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).await.ok()?;
    let body = text.split("\r\n\r\n").nth(1)?;
    serde_json::from_str::<serde_json::Value>(body).ok()?["connections"].as_u64()
}

/// The side-by-side table for docs/benchmarks.md.
pub fn table(one: &Figures, pg: &Figures, two: &Figures, storm: &Figures) -> String {
    let f = |v: Option<f64>, digits: usize| match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".into(),
    };
    let relays_only = two.extra.as_ref().map(|(_, v)| *v);
    let ratio = match (two.cpu_us_per_delivery, one.cpu_us_per_delivery) {
        (Some(t), Some(o)) if o > 0.0 => format!("{:.2}×", t / o),
        _ => "–".into(),
    };
    let mut out = String::from(
        "| Figure | One relay, SQLite | One relay, PostgreSQL | Two relays, PostgreSQL + NATS |\n|---|---:|---:|---:|\n",
    );
    let mut row = |name: &str, a: String, p: String, b: String| {
        out.push_str(&format!("| {name} | {a} | {p} | {b} |\n"));
    };
    row(
        "1:1 CPU µs per delivered message (all server processes)",
        f(one.cpu_us_per_delivery, 1),
        f(pg.cpu_us_per_delivery, 1),
        format!("{} ({ratio})", f(two.cpu_us_per_delivery, 1)),
    );
    row(
        "… of which the relays",
        f(one.cpu_us_per_delivery, 1),
        f(pg.extra.as_ref().map(|(_, v)| *v), 1),
        f(relays_only, 1),
    );
    row(
        "p50 ms",
        f(one.p50_ms, 2),
        f(pg.p50_ms, 2),
        f(two.p50_ms, 2),
    );
    row(
        "p99 ms",
        f(one.p99_ms, 2),
        f(pg.p99_ms, 2),
        f(two.p99_ms, 2),
    );
    row(
        "delivered / expected",
        format!("{} / {}", one.delivered, one.expected),
        format!("{} / {}", pg.delivered, pg.expected),
        format!("{} / {}", two.delivered, two.expected),
    );
    row(
        &format!(
            "reconnect storm: {} clients on 3 relays, the busiest killed; s until its {} clients resynced",
            storm.conns, storm.expected
        ),
        "–".into(),
        "–".into(),
        f(storm.extra.as_ref().map(|(_, v)| *v), 2),
    );
    out
}
