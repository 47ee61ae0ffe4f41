//! Desktop app measurements (not a test of speed: nothing is asserted about time or memory).
//! Run with `TERN_DESKTOP_BIN=target/release/tern-desktop cargo test -p tern-e2e --test desktop_bench -- --ignored --nocapture`
//! (inside `scripts/with-keyring.sh`).
//! Prints the cold start to an interactive window and the idle memory of the app together with
//! its WebKit processes, the figures kept in `docs/benchmarks.md`.

mod common;

use std::time::{Duration, Instant};

use common::webdriver::{Driver, Xvfb};
use common::*;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Proportional set size: shared library pages divided among the processes using them.
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
            out.extend(children(p));
        }
    }
    out
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[tokio::test]
#[ignore = "measurement, run on demand"]
async fn measure_cold_start_and_idle_memory() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let xvfb = Xvfb::start();
    let env = [
        ("DISPLAY", xvfb.display.clone()),
        (
            "TERN_DATA_DIR",
            work.path().join("app").display().to_string(),
        ),
        ("TERN_RELAY", relay.url()),
    ];
    // Measure a release build when one is named (TERN_DESKTOP_BIN), else the debug build.
    let app_bin = std::env::var_os("TERN_DESKTOP_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| bin("tern-desktop"));
    println!("measuring {}", app_bin.display());
    let mut starts = Vec::new();
    for run in 0..5 {
        let t = Instant::now();
        let app = Driver::launch(&app_bin, &env).await;
        app.wait_until("document.readyState === 'complete' && (!document.getElementById('signin').hidden || !document.getElementById('app').hidden)", "interactive").await;
        let elapsed = t.elapsed();
        starts.push(elapsed);
        println!(
            "run {run}: cold start to interactive window {:.0} ms",
            elapsed.as_secs_f64() * 1000.0
        );
        if run < 4 {
            app.quit().await;
            continue;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        let app_pid = std::process::Command::new("pgrep")
            .args(["-n", "-x", "tern-desktop"])
            .output()
            .unwrap();
        let pid: u32 = String::from_utf8_lossy(&app_pid.stdout)
            .trim()
            .parse()
            .unwrap();
        let (mut rss, mut pss) = (rss_kib(pid), pss_kib(pid));
        println!(
            "  {} (pid {pid}): RSS {} KiB, PSS {} KiB",
            comm(pid),
            rss_kib(pid),
            pss_kib(pid)
        );
        for c in children(pid) {
            println!(
                "  {} (pid {c}): RSS {} KiB, PSS {} KiB",
                comm(c),
                rss_kib(c),
                pss_kib(c)
            );
            rss += rss_kib(c);
            pss += pss_kib(c);
        }
        println!(
            "idle memory, app + WebKit processes: RSS {:.1} MiB, PSS {:.1} MiB",
            rss as f64 / 1024.0,
            pss as f64 / 1024.0
        );
        app.quit().await;
    }
    starts.sort();
    println!(
        "cold start median of 5: {:.0} ms",
        starts[2].as_secs_f64() * 1000.0
    );
}
