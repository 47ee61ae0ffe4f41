//! 1:1 pairs and group fan-out at a fixed, open-loop rate.
//!
//! Send times are fixed in advance (message k at t0 + k/rate) and carried in the message body;
//! a receiver's latency is measured from that *scheduled* time, so a stalled relay cannot hide
//! its stall by slowing the generator down (no coordinated omission).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;

use super::{fill_latency, Figures};
use crate::conn::{self, Handler};
use crate::relay::{self, Layout, RelayProcess};

pub(super) struct Receiver {
    t0: Instant,
    delivered: AtomicU64,
    hist: Mutex<Histogram<u64>>,
}

impl Receiver {
    /// A receiver whose clock starts now.
    pub(super) fn new() -> Result<Arc<Receiver>> {
        Ok(Arc::new(Receiver {
            t0: Instant::now(),
            delivered: AtomicU64::new(0),
            hist: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        }))
    }

    /// Time since the receiver's clock started.
    pub(super) fn t0_elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Deliveries seen so far.
    pub(super) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Latency percentiles into `f`.
    pub(super) fn fill(&self, f: &mut Figures) {
        fill_latency(f, &self.hist.lock().unwrap());
    }
}

impl Handler for Receiver {
    fn frame(&self, _conn: usize, text: &str) {
        if !text.starts_with("{\"type\":\"message\"") {
            return;
        }
        let Ok(tern_proto::ServerFrame::Message { message }) = serde_json::from_str(text) else {
            return;
        };
        let Some(sched) = message
            .body
            .strip_prefix("t=")
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return;
        };
        let now = self.t0.elapsed().as_micros() as u64;
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .hist
            .lock()
            .unwrap()
            .record(now.saturating_sub(sched).max(1));
    }
}

/// Run pairs (`group = None`) or one group of `group` members.
///
/// `tick`: zero sends each message at its own due time; otherwise messages go out in bursts at
/// tick boundaries (the Socket.IO baseline's generator uses 10 ms ticks), latency still counted
/// from each message's own due time.
pub async fn run(
    exe: &Path,
    conns: usize,
    rate: f64,
    secs: f64,
    group: Option<usize>,
    tick: Duration,
) -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("relay.db");
    let layout = match group {
        Some(n) => Layout::Group(n),
        None => Layout::Pairs,
    };
    let seeded = relay::seed(&db, conns, layout).await?;
    let relay = RelayProcess::start(exe, &db, relay::free_port())?;
    let pid = relay.pid();
    let rss0 = relay::rss_bytes(pid);
    let rx = Receiver::new()?;
    let outs = conn::open_all(relay.port, &seeded.tokens, rx.clone(), 200).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1 = relay::rss_bytes(pid);

    let cpu0 = relay::cpu_seconds(pid);
    let kernel = crate::kernel::KernelWatch::start(pid);
    let load = Load {
        rate,
        secs,
        group,
        tick,
    };
    let (start, total, expected) =
        drive(&rx, outs.clone(), seeded.conversations.clone(), &load).await?;
    let elapsed = (rx.t0.elapsed() - start).as_secs_f64();
    let cpu = relay::cpu_seconds(pid) - cpu0;
    let delivered = rx.delivered.load(Ordering::Relaxed);
    let k = kernel.finish(delivered);
    let mut f = Figures {
        system: "tern".into(),
        scenario: match (group.is_some(), tick.is_zero()) {
            (true, true) => "group".into(),
            (true, false) => format!("group-{}ms-bursts", tick.as_millis()),
            (false, true) => "pairs".into(),
            (false, false) => format!("pairs-{}ms-bursts", tick.as_millis()),
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
        rss_per_conn_bytes: Some((rss1.saturating_sub(rss0)) as f64 / conns as f64),
        delivered_per_s: Some(delivered as f64 / elapsed),
        syscalls_per_delivery: k.syscalls,
        // Each sent message is stored once, whatever its fan-out.
        messages_per_fsync: k
            .messages_per_fsync
            .map(|m| m * total as f64 / delivered.max(1) as f64),
        ..Figures::default()
    };
    rx.fill(&mut f);
    drop(outs);
    Ok(f)
}

/// An open-loop schedule: `rate` messages per second for `secs`, to pairs or one group.
pub(super) struct Load {
    pub rate: f64,
    pub secs: f64,
    pub group: Option<usize>,
    pub tick: Duration,
}

/// Send `load` through `outs` (one channel per user, in user order; pairs are users 2i and
/// 2i+1 in `convs[i]`) and wait (up to 10 s) for the deliveries; returns when the load
/// started on the receiver's clock, messages sent and deliveries expected.
pub(super) async fn drive(
    rx: &Arc<Receiver>,
    outs: Vec<tokio::sync::mpsc::UnboundedSender<String>>,
    convs: Vec<tern_proto::ConversationId>,
    load: &Load,
) -> Result<(Duration, u64, u64)> {
    let Load {
        rate,
        secs,
        group,
        tick,
    } = *load;
    let conns = outs.len();
    let senders = group.unwrap_or(conns).min(conns);
    let fanout = group.map(|g| g as u64 - 1).unwrap_or(1);
    let pad = "x".repeat(48);
    let start = rx.t0.elapsed();
    let total = (rate * secs) as u64;
    // The schedule runs on its own OS thread: `std::thread::sleep` wakes within tens of
    // microseconds of the due time, where the async timer's 1 ms granularity would make the
    // generator itself late (and the relay look slower than it is).
    let t0 = rx.t0;
    tokio::task::spawn_blocking(move || {
        let mut k = 0u64;
        while k < total {
            let now = t0.elapsed();
            while k < total && start + Duration::from_secs_f64(k as f64 / rate) <= now {
                let sched = (start + Duration::from_secs_f64(k as f64 / rate)).as_micros() as u64;
                let sender = (k as usize) % senders;
                let conv = match group {
                    Some(_) => convs[0],
                    None => convs[sender / 2],
                };
                let frame = format!(
                    r#"{{"type":"send","id":{k},"conversation_id":{conv},"client_id":"b{k}","body":"t={sched} {pad}"}}"#
                );
                let _ = outs[sender].send(frame);
                k += 1;
            }
            if k < total {
                let mut next = start + Duration::from_secs_f64(k as f64 / rate);
                if !tick.is_zero() {
                    let since = next.saturating_sub(start).as_nanos() / tick.as_nanos().max(1);
                    next = start + tick * (since as u32 + 1);
                }
                std::thread::sleep(next.saturating_sub(t0.elapsed()));
            }
        }
    })
    .await?;
    let expected = total * fanout;
    let drain_until = Instant::now() + Duration::from_secs(10);
    while rx.delivered() < expected && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((start, total, expected))
}
