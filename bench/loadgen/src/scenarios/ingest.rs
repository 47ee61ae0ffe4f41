//! Persistence ingest: senders pipeline messages as fast as the relay acknowledges them (each
//! ack means stored and committed), recipients offline, for a fixed time.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Figures;
use crate::conn::{self, Handler};
use crate::relay::{self, Layout, RelayProcess};

struct Acks {
    per_conn: Vec<AtomicU64>,
    total: AtomicU64,
}

impl Handler for Acks {
    fn frame(&self, conn: usize, text: &str) {
        if text.starts_with("{\"type\":\"ack\"") {
            self.per_conn[conn].fetch_add(1, Ordering::Relaxed);
            self.total.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `senders` connections, each keeping `window` sends in flight, for `secs`.
pub async fn run(exe: &Path, senders: usize, window: u64, secs: f64) -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("relay.db");
    let seeded = relay::seed(&db, senders * 2, Layout::Pairs).await?;
    let relay = RelayProcess::start(exe, &db, relay::free_port())?;
    let pid = relay.pid();
    let tokens: Vec<String> = seeded.tokens.iter().step_by(2).cloned().collect();
    let acks = Arc::new(Acks {
        per_conn: (0..senders).map(|_| AtomicU64::new(0)).collect(),
        total: AtomicU64::new(0),
    });
    let outs = conn::open_all(relay.port, &tokens, acks.clone(), 100).await?;
    let cpu0 = relay::cpu_seconds(pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for (i, out) in outs.iter().enumerate() {
        let (out, acks, conv) = (out.clone(), acks.clone(), seeded.conversations[i]);
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while Instant::now() < deadline {
                let done = acks.per_conn[i].load(Ordering::Relaxed);
                while sent - done < window {
                    let f = format!(r#"{{"type":"send","id":{sent},"conversation_id":{conv},"client_id":"i{sent}","body":"ingest benchmark message of typical length, 64 bytes......"}}"#);
                    if out.send(f).is_err() {
                        return sent;
                    }
                    sent += 1;
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            sent
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await?;
    }
    let acked_at_deadline = acks.total.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = relay::cpu_seconds(pid) - cpu0;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let acked = acks.total.load(Ordering::Relaxed);
    let stored: i64 = tern_server_count(&db)?;
    Ok(Figures {
        system: "tern".into(),
        scenario: "ingest".into(),
        conns: senders,
        secs,
        sent,
        expected: sent,
        delivered: acked,
        lost: sent as i64 - stored,
        server_cpu_s: cpu,
        cpu_us_per_delivery: (acked > 0).then(|| cpu * 1e6 / acked_at_deadline as f64),
        extra: Some(("persisted_per_s".into(), acked_at_deadline as f64 / elapsed)),
        ..Figures::default()
    })
}

fn tern_server_count(db: &Path) -> Result<i64> {
    let conn = rusqlite::Connection::open(db)?;
    Ok(conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)
}
