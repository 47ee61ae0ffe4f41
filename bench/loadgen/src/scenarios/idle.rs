//! N idle authenticated connections: the relay's resident memory per connection.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::Figures;
use crate::conn::{self, Handler};
use crate::relay::{self, Layout, RelayProcess};

struct Ignore;
impl Handler for Ignore {
    fn frame(&self, _: usize, _: &str) {}
}

/// Open `conns` connections and measure the relay's RSS growth.
pub async fn run(exe: &Path, conns: usize) -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("relay.db");
    let seeded = relay::seed(&db, conns, Layout::Alone).await?;
    let relay = RelayProcess::start(exe, &db, relay::free_port())?;
    let pid = relay.pid();
    // Warm up: one connection through the whole path first, so one-off allocations are not
    // charged to the idle connections.
    let warm = conn::open_all(relay.port, &seeded.tokens[..1], Arc::new(Ignore), 1).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss0 = relay::rss_bytes(pid);
    let outs = conn::open_all(relay.port, &seeded.tokens[1..], Arc::new(Ignore), 200).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss1 = relay::rss_bytes(pid);
    let n = outs.len();
    drop((outs, warm));
    Ok(Figures {
        system: "tern".into(),
        scenario: "idle".into(),
        conns: n,
        rss_per_conn_bytes: Some(rss1.saturating_sub(rss0) as f64 / n as f64),
        ..Figures::default()
    })
}
