//! The Socket.IO baseline (`bench/socketio`, the relay this project is measured against), run
//! with the same offered load; its load generator prints one JSON line per scenario.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::scenarios::Figures;

/// Run the baseline's pairs and group scenarios.
pub fn run(
    dir: &Path,
    conns: usize,
    rate: f64,
    secs: f64,
    gconns: usize,
    grate: f64,
    group: usize,
) -> Result<Vec<Figures>> {
    let out = Command::new(dir.join("run.sh"))
        .env("CONNS", conns.to_string())
        .env("RATE", rate.to_string())
        .env("SECS", secs.to_string())
        .env("GCONNS", gconns.to_string())
        .env("GRATE", grate.to_string())
        .env("GROUP", group.to_string())
        .output()
        .context("cannot run bench/socketio/run.sh (needs node and npm)")?;
    let mut figures = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let num = |k: &str| v[k].as_f64();
        let mode = v["mode"].as_str().unwrap_or("?");
        let delivered = num("delivered").unwrap_or(0.0);
        figures.push(Figures {
            system: "socket.io".into(),
            scenario: mode.into(),
            conns: num("conns").unwrap_or(0.0) as usize,
            rate_per_s: num("rate_per_s").unwrap_or(0.0),
            secs: num("secs").unwrap_or(0.0),
            sent: num("sent").unwrap_or(0.0) as u64,
            expected: num("expected").unwrap_or(0.0) as u64,
            delivered: delivered as u64,
            lost: num("lost").unwrap_or(0.0) as i64,
            server_cpu_s: num("server_cpu_s").unwrap_or(0.0),
            cpu_us_per_delivery: num("cpu_us_per_delivery"),
            rss_per_conn_bytes: num("rss_per_conn_bytes"),
            p50_ms: num("p50_ms"),
            p99_ms: num("p99_ms"),
            max_ms: num("max_ms"),
            delivered_per_s: num("secs").map(|s| delivered / s),
            ..Figures::default()
        });
    }
    if figures.is_empty() {
        anyhow::bail!(
            "the baseline printed no results: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(figures)
}
