//! The side-by-side table and SVG plots.

use std::fmt::Write;

use crate::scenarios::Figures;

fn find<'a>(all: &'a [Figures], system: &str, scenario: &str) -> Option<&'a Figures> {
    all.iter()
        .find(|f| f.system == system && f.scenario == scenario)
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".into(),
    }
}

/// A Markdown table comparing Tern with Socket.IO, with ratios (Tern ÷ Socket.IO).
pub fn table(all: &[Figures]) -> String {
    let mut out =
        String::from("| Figure | Tern | Socket.IO | Tern ÷ Socket.IO |\n|---|---:|---:|---:|\n");
    let mut row = |name: &str, t: Option<f64>, s: Option<f64>, digits: usize| {
        let ratio = match (t, s) {
            (Some(t), Some(s)) if s > 0.0 && t.is_finite() => format!("{:.3}", t / s),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {ratio} |",
            fmt(t, digits),
            fmt(s, digits)
        );
    };
    for scenario in ["pairs", "group"] {
        let (t, s) = (
            find(all, "tern", scenario),
            find(all, "socket.io", scenario),
        );
        let label = if scenario == "pairs" {
            "1:1"
        } else {
            "group fan-out"
        };
        row(
            &format!("{label}: CPU µs per delivered message"),
            t.and_then(|f| f.cpu_us_per_delivery),
            s.and_then(|f| f.cpu_us_per_delivery),
            1,
        );
        row(
            &format!("{label}: p50 latency (ms)"),
            t.and_then(|f| f.p50_ms),
            s.and_then(|f| f.p50_ms),
            2,
        );
        row(
            &format!("{label}: p99 latency (ms)"),
            t.and_then(|f| f.p99_ms),
            s.and_then(|f| f.p99_ms),
            2,
        );
        row(
            &format!("{label}: p99.9 latency (ms)"),
            t.and_then(|f| f.p999_ms),
            s.and_then(|f| f.p999_ms),
            2,
        );
        row(
            &format!("{label}: delivered per second"),
            t.and_then(|f| f.delivered_per_s),
            s.and_then(|f| f.delivered_per_s),
            0,
        );
        row(
            &format!("{label}: lost"),
            t.map(|f| f.lost as f64),
            s.map(|f| f.lost as f64),
            0,
        );
        row(
            &format!("{label}: relay system calls per delivered message"),
            t.and_then(|f| f.syscalls_per_delivery),
            s.and_then(|f| f.syscalls_per_delivery),
            2,
        );
        row(
            &format!("{label}: messages per fsync"),
            t.and_then(|f| f.messages_per_fsync),
            s.and_then(|f| f.messages_per_fsync),
            2,
        );
    }
    for (scenario, label) in [
        ("pairs-10ms-bursts", "1:1, 10 ms bursts"),
        ("group-10ms-bursts", "group, 10 ms bursts"),
    ] {
        let base = if scenario.starts_with("pairs") {
            "pairs"
        } else {
            "group"
        };
        let (t, s) = (find(all, "tern", scenario), find(all, "socket.io", base));
        row(
            &format!("{label}: CPU µs per delivered message"),
            t.and_then(|f| f.cpu_us_per_delivery),
            s.and_then(|f| f.cpu_us_per_delivery),
            1,
        );
        row(
            &format!("{label}: p99 latency (ms)"),
            t.and_then(|f| f.p99_ms),
            s.and_then(|f| f.p99_ms),
            2,
        );
        row(
            &format!("{label}: lost"),
            t.map(|f| f.lost as f64),
            s.map(|f| f.lost as f64),
            0,
        );
    }
    row(
        "RSS per connection, 1:1 scenario (bytes)",
        find(all, "tern", "pairs").and_then(|f| f.rss_per_conn_bytes),
        find(all, "socket.io", "pairs").and_then(|f| f.rss_per_conn_bytes),
        0,
    );
    if let Some(f) = find(all, "tern", "idle") {
        let _ = writeln!(
            out,
            "| RSS per idle authenticated connection, {} connections (bytes) | {} | – | – |",
            f.conns,
            fmt(f.rss_per_conn_bytes, 0)
        );
    }
    if let Some(f) = find(all, "tern", "storm") {
        let extra = f.extra.as_ref().map(|e| e.1);
        let _ = writeln!(out, "| Reconnect storm: {} clients resynced after a relay `kill -9` (s after restart) | {} | – | – |", f.conns, fmt(extra, 2));
        let _ = writeln!(
            out,
            "| Reconnect storm: clients missing data after resync | {} | – | – |",
            f.lost
        );
    }
    if let Some(f) = find(all, "tern", "ingest") {
        let extra = f.extra.as_ref().map(|e| e.1);
        let _ = writeln!(
            out,
            "| Persistence ingest, fsync on (messages stored per second) | {} | – | – |",
            fmt(extra, 0)
        );
        let _ = writeln!(
            out,
            "| Persistence ingest: CPU µs per stored message | {} | – | – |",
            fmt(f.cpu_us_per_delivery, 1)
        );
    }
    out
}

/// Latency percentile curves (log-scaled y) as an SVG.
pub fn latency_svg(all: &[Figures]) -> String {
    let (w, h, l, b) = (720.0, 400.0, 70.0, 50.0);
    let series: Vec<(&Figures, &str)> = all
        .iter()
        .filter(|f| !f.curve.is_empty())
        .zip(["#2b6cb0", "#dd6b20", "#38a169", "#805ad5"])
        .collect();
    let max = series
        .iter()
        .flat_map(|(f, _)| f.curve.iter().map(|p| p.1))
        .fold(0.01f64, f64::max);
    let (lo, hi) = (0.01f64.log10(), max.max(0.1).log10() + 0.2);
    let y = |ms: f64| h - b - (ms.max(0.01).log10() - lo) / (hi - lo) * (h - b - 20.0);
    let x = |i: usize, n: usize| l + i as f64 / (n - 1).max(1) as f64 * (w - l - 20.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="14" text-anchor="middle" font-size="14">End-to-end latency by percentile (from scheduled send time)</text>"#,
        w / 2.0
    );
    let mut tick = 0.01;
    while tick <= 10f64.powf(hi) {
        let _ = write!(
            s,
            r##"<line x1="{l}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{tick} ms</text>"##,
            w - 20.0,
            l - 6.0,
            y(tick) + 4.0,
            y = y(tick)
        );
        tick *= 10.0;
    }
    if let Some((f, _)) = series.first() {
        let n = f.curve.len();
        for (i, (p, _)) in f.curve.iter().enumerate() {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">p{}</text>"#,
                x(i, n),
                h - b + 18.0,
                p
            );
        }
    }
    for (k, (f, color)) in series.iter().enumerate() {
        let n = f.curve.len();
        let pts: Vec<String> = f
            .curve
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i, n), y(p.1)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            pts.join(" ")
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" fill="{color}">{} {} ({} conns, {}/s)</text>"#,
            l + 10.0,
            34.0 + 16.0 * k as f64,
            f.system,
            f.scenario,
            f.conns,
            f.rate_per_s
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Delivered messages per second, bars per system and scenario.
pub fn throughput_svg(all: &[Figures]) -> String {
    let bars: Vec<(String, f64, &str)> = all
        .iter()
        .filter_map(|f| {
            let v = if f.scenario == "ingest" {
                f.extra.as_ref().map(|e| e.1)
            } else {
                f.delivered_per_s
            }?;
            let label = format!("{} {}", f.system, f.scenario);
            Some((
                label,
                v,
                if f.system == "tern" {
                    "#2b6cb0"
                } else {
                    "#dd6b20"
                },
            ))
        })
        .collect();
    let (w, h) = (720.0, 60.0 + 34.0 * bars.len() as f64);
    let max = bars.iter().map(|b| b.1).fold(1.0f64, f64::max);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">Messages delivered (or stored, for ingest) per second</text>"#,
        w / 2.0
    );
    for (i, (label, v, color)) in bars.iter().enumerate() {
        let y = 36.0 + 34.0 * i as f64;
        let len = v / max * (w - 300.0);
        let _ = write!(
            s,
            r#"<text x="150" y="{:.1}" text-anchor="end">{label}</text><rect x="160" y="{y:.1}" width="{len:.1}" height="22" fill="{color}"/><text x="{:.1}" y="{:.1}">{v:.0}/s</text>"#,
            y + 15.0,
            166.0 + len,
            y + 15.0
        );
    }
    s.push_str("</svg>\n");
    s
}
