//! The relay under test as a child process, seeded directly through the relay's own store so
//! thousands of accounts do not each cost an argon2id computation, and read from /proc for
//! generator-independent figures (server CPU time, resident memory).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tern_server::fanout::{Fanout, Publish};
use tern_server::ops::membership;
use tern_server::store::{NewEntry, Store, StoreConfig};

struct NoFanout;
impl Fanout for NoFanout {
    fn publish(&self, _: Publish) {}
}

/// What was seeded: one token per user (index = user number), and conversation ids.
pub struct Seeded {
    pub tokens: Vec<String>,
    pub conversations: Vec<tern_proto::ConversationId>,
}

/// How users are grouped into conversations.
#[derive(Clone, Copy)]
pub enum Layout {
    /// No conversations.
    Alone,
    /// Users 2i and 2i+1 share a direct conversation.
    Pairs,
    /// The first `n` users share one group.
    Group(usize),
}

/// Create `users` accounts with one session each, and conversations per `layout`.
pub async fn seed(db: &Path, users: usize, layout: Layout) -> Result<Seeded> {
    seed_with_messages(db, users, layout, 0).await
}

/// [`seed`], plus `messages` stored messages in every conversation.
pub async fn seed_with_messages(
    db: &Path,
    users: usize,
    layout: Layout,
    messages: usize,
) -> Result<Seeded> {
    seed_store(db, None, users, layout, messages).await
}

/// [`seed_with_messages`] into the SQLite file `db`, or into a PostgreSQL database.
pub async fn seed_store(
    db: &Path,
    postgres: Option<String>,
    users: usize,
    layout: Layout,
    messages: usize,
) -> Result<Seeded> {
    let (store, thread) = Store::open(
        StoreConfig {
            path: db.to_owned(),
            synchronous_full: false,
            max_batch: 512,
            commit_window: Some(Duration::ZERO),
            wal_limit_bytes: 64 * 1024 * 1024,
            postgres,
        },
        Arc::new(NoFanout),
    )?;
    // One hash for everyone: seeding measures nothing, and argon2id is deliberately slow.
    let hash = tern_server::auth::hash_password("bench-password")?;
    let seeded = store
        .call(move |txn, _| {
            let now = tern_proto::now_ms();
            let mut ids = Vec::with_capacity(users);
            let mut tokens = Vec::with_capacity(users);
            for i in 0..users {
                let id = txn.create_user(&format!("u{i}"), &hash, now)?;
                let (token, token_hash) = tern_server::auth::new_token();
                txn.create_session(
                    id,
                    &hash,
                    &token_hash,
                    "loadgen",
                    now,
                    now + 86_400_000,
                    1000,
                )?;
                ids.push(id);
                tokens.push(token.expose().to_owned());
            }
            let mut convs = Vec::new();
            match layout {
                Layout::Alone => {}
                Layout::Pairs => {
                    for pair in ids.chunks(2).filter(|c| c.len() == 2) {
                        convs.push(
                            membership::start_direct(txn, pair[0], pair[1], now)?
                                .0
                                .conversation_id,
                        );
                    }
                }
                Layout::Group(n) => {
                    convs.push(
                        membership::create_group(txn, ids[0], "bench", &ids[1..n], n, now)?
                            .conversation_id,
                    );
                }
            }
            for &conv in &convs {
                let sender = txn.member_ids(conv)?[0];
                for m in 0..messages {
                    let client_id = format!("seed-{conv}-{m}");
                    let entry = NewEntry {
                        conv,
                        sender,
                        sender_name: "seed",
                        client_id: &client_id,
                        body: "seeded",
                        kind: tern_proto::MessageKind::Text,
                        target_seq: None,
                        reply_to: None,
                        attachment: None,
                        withheld_from: None,
                        written_at: None,
                        now,
                    };
                    txn.insert_new(&entry)?;
                }
            }
            Ok(Seeded {
                tokens,
                conversations: convs,
            })
        })
        .await?;
    drop(store);
    thread.join();
    Ok(seeded)
}

/// The relay process, started by the shared test kit with the load generator's flags.
pub struct RelayProcess {
    process: tern_testkit::RelayProcess,
    /// The loopback port it listens on.
    pub port: u16,
}

impl RelayProcess {
    pub fn start(exe: &Path, db: &Path, port: u16) -> Result<RelayProcess> {
        Self::start_with(exe, db, port, &[])
    }

    /// [`RelayProcess::start`] with further flags (a cluster's `--store`, `--bus`).
    pub fn start_with(exe: &Path, db: &Path, port: u16, extra: &[&str]) -> Result<RelayProcess> {
        let mut spec = tern_testkit::RelaySpec::new(exe, db)
            // Every simulated client comes from loopback: lift the per-address cap, keep the
            // relay-wide one below this machine's descriptor limit.
            .args(["--metrics-listen", "off", "--max-connections", "19000"])
            .args(["--max-connections-per-address", "19000"])
            .args([
                "--send-rate",
                "1e9",
                "--send-burst",
                "1e9",
                "--frame-rate",
                "1e9",
                "--frame-burst",
                "1e9",
            ])
            .args(["--heartbeat-secs", "30", "--heartbeat-timeout-secs", "90"])
            .args(extra.iter().copied());
        spec.port = port;
        spec.log = "error".into();
        let process = tern_testkit::RelayProcess::start(spec)
            .with_context(|| format!("cannot start {}", exe.display()))?;
        Ok(RelayProcess { process, port })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid().unwrap_or(0)
    }

    /// SIGKILL: no goodbye.
    pub fn kill9(&mut self) {
        self.process.kill9();
    }

    /// SIGKILL, then start again on the same port and database.
    pub fn kill9_and_restart(&mut self) -> Result<()> {
        self.process.kill9();
        self.process.restart().context("relay did not restart")
    }
}

/// CPU seconds (user + system) used so far by a process.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(") ")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

/// Resident memory of a process in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

pub use tern_testkit::free_port;

/// Every process of this machine named `postgres` (the private server under
/// scripts/with-postgres.sh: the postmaster, its helpers and one backend per connection).
pub fn postgres_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .collect()
}
