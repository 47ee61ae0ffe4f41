//! `tern-loadgen`: open-loop load against the Tern relay, the same scenarios against the
//! Socket.IO baseline, and a side-by-side table.
//!
//! `tern-loadgen all` runs everything and writes `results.json`, `latency.svg` and
//! `throughput.svg` to `--out`. Figures that do not depend on the generator's own speed are
//! read from the relay process (/proc): CPU time per delivered message, RSS per connection.

mod conn;
mod kernel;
mod relay;
mod report;
mod scenarios;
mod socketio;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use scenarios::Figures;

/// Tern load generator.
#[derive(Debug, Parser)]
struct Cli {
    /// The relay binary to measure (a release build).
    #[arg(long, default_value = "target/release/tern-server")]
    relay: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Every scenario on Tern and the Socket.IO baseline; prints the table, writes the plots.
    All {
        #[arg(long, default_value = "docs/bench")]
        out: PathBuf,
        #[arg(long, default_value = "bench/socketio")]
        socketio: PathBuf,
        #[arg(long, default_value_t = 1000)]
        conns: usize,
        #[arg(long, default_value_t = 5000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        #[arg(long, default_value_t = 100)]
        gconns: usize,
        #[arg(long, default_value_t = 200.0)]
        grate: f64,
        #[arg(long, default_value_t = 100)]
        group: usize,
        #[arg(long, default_value_t = 10_000)]
        idle: usize,
        #[arg(long, default_value_t = 10_000)]
        storm: usize,
        #[arg(long, default_value_t = 100)]
        ingest_senders: usize,
    },
    /// 1:1 pairs at a fixed rate.
    Pairs {
        #[arg(long, default_value_t = 1000)]
        conns: usize,
        #[arg(long, default_value_t = 5000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Send in bursts at this tick (ms); 0 sends each message at its due time.
        #[arg(long, default_value_t = 0)]
        tick_ms: u64,
    },
    /// One group, fan-out to every member.
    Group {
        #[arg(long, default_value_t = 100)]
        conns: usize,
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Send in bursts at this tick (ms); 0 sends each message at its due time.
        #[arg(long, default_value_t = 0)]
        tick_ms: u64,
    },
    /// Idle authenticated connections.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
    },
    /// Relay killed and restarted under N clients.
    Storm {
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
    },
    /// A cluster beside one relay (run under scripts/with-postgres.sh): 1:1 pairs on one
    /// relay with SQLite, on one relay with PostgreSQL, and across two relays on PostgreSQL +
    /// NATS (CPU of everything the cluster runs), and the reconnect storm when one of three
    /// relays behind HAProxy is killed.
    Cluster {
        #[arg(long, default_value_t = 1000)]
        conns: usize,
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Clients in the storm (HAProxy holds two descriptors per client: more clients than
        /// `ulimit -n` allows one process run through several HAProxy processes on one port).
        #[arg(long, default_value_t = 6000)]
        storm: usize,
    },
    /// Persisted messages per second.
    Ingest {
        #[arg(long, default_value_t = 100)]
        senders: usize,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
    },
}

fn show(f: &Figures) {
    let mut f = f.clone();
    f.curve.clear();
    println!("{}", serde_json::to_string(&f).expect("figures serialize"));
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let exe = cli.relay.clone();
    anyhow::ensure!(
        exe.exists(),
        "{} not found: cargo build --release -p tern-server",
        exe.display()
    );
    match cli.command {
        Cmd::Pairs {
            conns,
            rate,
            secs,
            tick_ms,
        } => {
            let tick = Duration::from_millis(tick_ms);
            show(&scenarios::fanout::run(&exe, conns, rate, secs, None, tick).await?)
        }
        Cmd::Group {
            conns,
            rate,
            secs,
            tick_ms,
        } => {
            let tick = Duration::from_millis(tick_ms);
            show(&scenarios::fanout::run(&exe, conns, rate, secs, Some(conns), tick).await?)
        }
        Cmd::Idle { conns } => show(&scenarios::idle::run(&exe, conns).await?),
        Cmd::Storm { conns } => show(&scenarios::storm::run(&exe, conns, 3).await?),
        Cmd::Cluster {
            conns,
            rate,
            secs,
            storm,
        } => {
            println!("# one relay, SQLite: 1:1 pairs ({conns} connections, {rate}/s, {secs} s)");
            let one = scenarios::fanout::run(&exe, conns, rate, secs, None, Duration::ZERO).await?;
            show(&one);
            println!("# one relay, PostgreSQL: the same pairs");
            let pg = scenarios::cluster::pairs(&exe, 1, conns, rate, secs).await?;
            show(&pg);
            println!("# two relays, PostgreSQL + NATS: the same pairs, each across both relays");
            let two = scenarios::cluster::pairs(&exe, 2, conns, rate, secs).await?;
            show(&two);
            println!("# three relays behind HAProxy: {storm} clients, the busiest relay killed");
            let storm = scenarios::cluster::storm(&exe, storm, 3).await?;
            show(&storm);
            println!("\n{}", scenarios::cluster::table(&one, &pg, &two, &storm));
        }
        Cmd::Ingest { senders, secs } => {
            show(&scenarios::ingest::run(&exe, senders, 128, secs).await?)
        }
        Cmd::All {
            out,
            socketio,
            conns,
            rate,
            secs,
            gconns,
            grate,
            group,
            idle,
            storm,
            ingest_senders,
        } => {
            let mut all = Vec::new();
            println!("# Tern: 1:1 pairs ({conns} connections, {rate}/s, {secs} s)");
            all.push(scenarios::fanout::run(&exe, conns, rate, secs, None, Duration::ZERO).await?);
            show(all.last().unwrap());
            println!("# Tern: 1:1 pairs again, sent in 10 ms bursts like the baseline's generator");
            all.push(
                scenarios::fanout::run(&exe, conns, rate, secs, None, Duration::from_millis(10))
                    .await?,
            );
            show(all.last().unwrap());
            println!("# Tern: group fan-out ({gconns} connections, group of {group}, {grate}/s)");
            all.push(
                scenarios::fanout::run(&exe, gconns, grate, secs, Some(group), Duration::ZERO)
                    .await?,
            );
            show(all.last().unwrap());
            println!(
                "# Tern: group fan-out again, sent in 10 ms bursts like the baseline's generator"
            );
            all.push(
                scenarios::fanout::run(
                    &exe,
                    gconns,
                    grate,
                    secs,
                    Some(group),
                    Duration::from_millis(10),
                )
                .await?,
            );
            show(all.last().unwrap());
            println!("# Socket.IO baseline, same scenarios");
            match socketio::run(&socketio, conns, rate, secs, gconns, grate, group) {
                Ok(figs) => {
                    for f in &figs {
                        show(f);
                    }
                    all.extend(figs);
                }
                Err(e) => println!("baseline failed: {e:#}"),
            }
            println!("# Tern: {idle} idle connections");
            all.push(scenarios::idle::run(&exe, idle).await?);
            show(all.last().unwrap());
            println!("# Tern: reconnect storm, {storm} clients");
            all.push(scenarios::storm::run(&exe, storm, 3).await?);
            show(all.last().unwrap());
            println!("# Tern: persistence ingest, {ingest_senders} senders");
            all.push(scenarios::ingest::run(&exe, ingest_senders, 128, secs).await?);
            show(all.last().unwrap());

            std::fs::create_dir_all(&out)?;
            std::fs::write(
                out.join("results.json"),
                serde_json::to_string_pretty(&all)?,
            )?;
            std::fs::write(out.join("latency.svg"), report::latency_svg(&all))?;
            std::fs::write(out.join("throughput.svg"), report::throughput_svg(&all))?;
            println!("\n{}", report::table(&all));
        }
    }
    Ok(())
}
