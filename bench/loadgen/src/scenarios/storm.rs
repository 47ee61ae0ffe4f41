//! Reconnect storm: N clients connected and synced, the relay killed with SIGKILL and
//! restarted; how long until every client has reconnected and finished a full sync, and
//! whether every client's sync returned everything stored before the crash.
//!
//! Clients reconnect like the engine does: after a random delay (jitter spreads the herd),
//! retrying quickly while the relay is still down.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::Figures;
use crate::relay::{self, Layout, RelayProcess};

pub(super) struct Shared {
    port: u16,
    /// Clients whose latest sync finished.
    pub(super) synced: AtomicUsize,
    /// Of those, how many got every seeded message back.
    pub(super) complete: AtomicUsize,
    expected_messages: usize,
    changed: Notify,
}

impl Shared {
    /// Clients of the relay (or front) at `port`, each expecting `expected_messages` back.
    pub(super) fn new(port: u16, expected_messages: usize) -> Shared {
        Shared {
            port,
            synced: AtomicUsize::new(0),
            complete: AtomicUsize::new(0),
            expected_messages,
            changed: Notify::new(),
        }
    }
}

/// One client for ever: connect, sync, stay until the connection ends, reconnect.
pub(super) async fn client(shared: Arc<Shared>, token: String) {
    loop {
        if let Ok(()) = session(&shared, &token).await {
            // Closed after syncing: the relay went away. Reconnect after a jittered pause.
        }
        let pause = rand::rng().random_range(10..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

async fn session(shared: &Shared, token: &str) -> Result<()> {
    let mut req =
        format!("ws://127.0.0.1:{}{}", shared.port, tern_proto::WS_PATH).into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let cfg =
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8192);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(cfg), true).await?;
    ws.send(Message::Text(
        r#"{"type":"sync","id":1,"cursors":[],"changes_since":0}"#.into(),
    ))
    .await?;
    let mut messages = 0;
    while let Some(msg) = ws.next().await {
        let Message::Text(t) = msg? else { continue };
        if t.starts_with("{\"type\":\"sync_page\"") {
            if let Ok(tern_proto::ServerFrame::SyncPage { messages: m, .. }) =
                serde_json::from_str(t.as_str())
            {
                messages += m.len();
            }
        } else if t.starts_with("{\"type\":\"sync_done\"") {
            if messages == shared.expected_messages {
                shared.complete.fetch_add(1, Ordering::SeqCst);
            }
            shared.synced.fetch_add(1, Ordering::SeqCst);
            shared.changed.notify_waiters();
        }
    }
    Ok(())
}

/// Start a [`client`] per token, a few hundred handshakes at a time, and wait until each has
/// finished its first sync.
pub(super) async fn connect_all(
    shared: &Arc<Shared>,
    tokens: &[String],
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        tasks.push(tokio::spawn(client(shared.clone(), token.clone())));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    anyhow::ensure!(
        wait_all(shared, tokens.len(), Duration::from_secs(120)).await,
        "initial connect did not finish"
    );
    Ok(tasks)
}

/// Wait until `n` syncs finished (since the counter was last reset), at most `limit`.
pub(super) async fn wait_all(shared: &Shared, n: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while shared.synced.load(Ordering::SeqCst) < n {
        if Instant::now() > deadline {
            return false;
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), shared.changed.notified()).await;
    }
    true
}

/// Run the storm with `n` clients (pairs sharing direct conversations with `messages` each).
pub async fn run(exe: &Path, n: usize, messages: usize) -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("relay.db");
    let seeded = relay::seed_with_messages(&db, n, Layout::Pairs, messages).await?;
    let mut relay = RelayProcess::start(exe, &db, relay::free_port())?;
    let shared = Arc::new(Shared::new(relay.port, messages));
    let tasks = connect_all(&shared, &seeded.tokens).await?;
    shared.synced.store(0, Ordering::SeqCst);
    shared.complete.store(0, Ordering::SeqCst);

    let killed = Instant::now();
    relay.kill9_and_restart()?;
    let restarted = Instant::now();
    let pid = relay.pid();
    let cpu0 = relay::cpu_seconds(pid);
    let ok = wait_all(&shared, n, Duration::from_secs(120)).await;
    let since_restart = restarted.elapsed().as_secs_f64();
    let since_kill = killed.elapsed().as_secs_f64();
    let cpu = relay::cpu_seconds(pid) - cpu0;
    let complete = shared.complete.load(Ordering::SeqCst);
    for t in tasks {
        t.abort();
    }
    println!(
        "storm: {n} clients resynced {} s after the restart ({since_kill:.2} s after the kill); {complete} complete; relay CPU {cpu:.2} s",
        if ok { format!("{since_restart:.2}") } else { "not all".into() }
    );
    Ok(Figures {
        system: "tern".into(),
        scenario: "storm".into(),
        conns: n,
        expected: n as u64,
        delivered: complete as u64,
        lost: n as i64 - complete as i64,
        server_cpu_s: cpu,
        extra: Some((
            "resync_s_after_restart".into(),
            if ok { since_restart } else { f64::NAN },
        )),
        ..Figures::default()
    })
}
