//! Desktop app measurements (not a test of speed: nothing is asserted about time or memory).
//! Run with `TERN_DESKTOP_BIN=target/release/tern-desktop cargo test -p tern-e2e --test desktop_bench -- --ignored --nocapture`
//! (inside `scripts/with-keyring.sh`).
//! Prints the cold start to an interactive window and the idle memory of the app together with
//! its WebKit processes (each process's largest mappings too), the figures kept in
//! `docs/benchmarks.md`.

mod common;

use std::time::{Duration, Instant};

use common::webdriver::{app_env, descendants, Driver, Xvfb};
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

/// The mappings holding most of a process's PSS (KiB), summed by what they map: a file's
/// path, `[heap]`, or `[anon]` for anonymous memory; the largest `n`.
fn pss_by_mapping(pid: u32, n: usize) -> Vec<(String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            // A mapping's header: address range, permissions, offset, device, inode, path.
            current = words.nth(4).unwrap_or("[anon]").to_owned();
        } else if first == "Pss:" {
            let kib: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            *by.entry(current.clone()).or_default() += kib;
        }
    }
    let mut by: Vec<(String, u64)> = by.into_iter().collect();
    by.sort_by_key(|m| std::cmp::Reverse(m.1));
    by.truncate(n);
    by
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
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
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
        print_app_memory("idle memory", true);
        app.quit().await;
    }
    starts.sort();
    println!(
        "cold start median of 5: {:.0} ms",
        starts[2].as_secs_f64() * 1000.0
    );
}

/// Print the summed RSS and PSS of the newest `tern-desktop` and its child processes (the
/// WebKit ones) under `what`; with `each`, every process's figures first.
fn print_app_memory(what: &str, each: bool) {
    let out = std::process::Command::new("pgrep")
        .args(["-n", "-x", "tern-desktop"])
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let (mut rss, mut pss) = (0, 0);
    for p in std::iter::once(pid).chain(descendants(pid)) {
        let (r, s) = (rss_kib(p), pss_kib(p));
        if each {
            println!("  {} (pid {p}): RSS {r} KiB, PSS {s} KiB", comm(p));
            for (mapping, kib) in pss_by_mapping(p, 8) {
                println!("      {kib:>7} KiB  {mapping}");
            }
        }
        rss += r;
        pss += s;
    }
    println!(
        "{what}, app + WebKit processes: RSS {:.1} MiB, PSS {:.1} MiB",
        rss as f64 / 1024.0,
        pss as f64 / 1024.0
    );
    // A shell command to run at this point, to look closer (e.g. attach a debugger to the web
    // process); it gets the app's pid in TERN_APP_PID and the moment in TERN_BENCH_MOMENT.
    if let Ok(probe) = std::env::var("TERN_BENCH_PROBE") {
        let status = std::process::Command::new("sh")
            .args(["-c", &probe])
            .env("TERN_APP_PID", pid.to_string())
            .env("TERN_BENCH_MOMENT", what)
            .status()
            .unwrap();
        println!("probe at '{what}': {status}");
    }
}

/// Wait for a page value that a script left on `window` (`null` until set).
async fn page_value(app: &Driver, name: &str) -> serde_json::Value {
    for _ in 0..1200 {
        let v = app.js(&format!("return window.{name} ?? null")).await;
        if !v.is_null() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never set {name}");
}

#[tokio::test]
#[ignore = "measurement, run on demand"]
async fn measure_a_chat_of_ten_thousand_messages() {
    // Fewer for a quick look at the first paint (`TERN_BENCH_MESSAGES`); the figures in
    // docs/benchmarks.md are taken with the default.
    let n: usize = std::env::var("TERN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _b) = signup(&relay, "bob").await;
    let (carol, _c) = signup(&relay, "carol").await;
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app_bin = std::env::var_os("TERN_DESKTOP_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| bin("tern-desktop"));
    println!("measuring {}", app_bin.display());
    let app = Driver::launch(&app_bin, &env).await;
    app.register("alice").await;
    let long = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(long, "m0").await.unwrap();
    app.accept_first_request().await;
    let other = carol.start_direct("alice").await.unwrap().conversation_id;
    carol.send(other, "hello").await.unwrap();
    app.accept_first_request().await;

    // 10,000 messages arrive while another chat is open; the app caches them all.
    let t = Instant::now();
    // All queued at once: the sender's outbox holds thousands and drains through its window.
    for i in 1..=n {
        bob.send(long, &format!("m{i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    app.wait_until(
        &format!("[...document.querySelectorAll('#conversations .conv .preview')].some(p => p.textContent.includes('m{n}'))"),
        "the last message reached the app",
    )
    .await;
    println!(
        "{n} messages sent and cached by the app in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // For experiments: a style sheet put into the page before the click (`TERN_BENCH_STYLE`).
    if let Ok(css) = std::env::var("TERN_BENCH_STYLE") {
        let css = serde_json::to_string(&css).unwrap();
        app.js(&format!(
            "const s = document.createElement('style'); s.textContent = {css}; document.head.append(s);"
        ))
        .await;
        println!("with a style sheet injected: {css}");
    }

    // Open it: from the click to the first frame that shows its messages.
    app.js(&format!(
        "window.__firstPaint = null; window.__inDom = null; const row = document.querySelector('#conversations li.conv[data-id=\"{long}\"]');
         const list = document.getElementById('messages');
         const seen = new MutationObserver(() => {{ if (list.querySelector('li.msg .body')) {{ window.__inDom = performance.now() - t0; seen.disconnect(); }} }});
         seen.observe(list, {{ childList: true, subtree: true }});
         window.__openFrames = []; window.__busy = [];
         // Gaps over 8 ms between the tasks this posts to the page in a loop (the main thread
         // was held: script, style, layout and painting all run there; a frame callback can
         // run inside a gap), and the frame callbacks over 2 ms, for a second after the click.
         const raf = window.requestAnimationFrame.bind(window);
         window.requestAnimationFrame = (cb) => raf((ts) => {{ const a = performance.now() - t0; cb(ts); const b = performance.now() - t0; if (b - a > 2) window.__busy.push(['frame callbacks', Math.round(a), Math.round(b)]); }});
         let last = performance.now(); const ch = new MessageChannel();
         ch.port1.onmessage = () => {{ const n = performance.now(); if (n - last > 8) window.__busy.push(['held', Math.round(last - t0), Math.round(n - t0)]); last = n; if (n - t0 < 1000) ch.port2.postMessage(0); else window.requestAnimationFrame = raf; }};
         const t0 = performance.now(); ch.port2.postMessage(0); row.click(); window.__clickReturned = Math.round(performance.now() - t0);
         (function check() {{
           window.__openFrames.push(Math.round(performance.now() - t0));
           if (document.querySelector('#messages li.msg .body')) requestAnimationFrame(() => {{ window.__firstPaint = performance.now() - t0; }});
           else requestAnimationFrame(check);
         }})();"
    ))
    .await;
    let first_paint = page_value(&app, "__firstPaint").await;
    let first_paint = first_paint.as_f64().unwrap_or(f64::NAN);
    let in_dom = page_value(&app, "__inDom")
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
    println!("open a chat of {n} cached messages, click to first paint: {first_paint:.0} ms");
    println!("  of which until its rows were in the page: {in_dom:.0} ms (the rest is waiting for and drawing frames)");
    // When the page got to run between the click and that frame: the click's own handler, then
    // each frame's start (a gap between two is a frame drawn, or script that held the page).
    let click_returned = page_value(&app, "__clickReturned").await;
    let frames = page_value(&app, "__openFrames").await;
    println!(
        "  the click's handler returned after {click_returned} ms; frames began at {frames} ms"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = app.js("return window.__busy").await;
    println!("  the page's main thread held (from, to ms after the click): {busy}");
    // What of it is reading the newest page from the engine (the command and its IPC), five
    // times over.
    app.js(&format!(
        "window.__pageMs = null; (async () => {{ const t = [];
           for (let i = 0; i < 5; i++) {{ const t0 = performance.now();
             await window.__TAURI__.core.invoke('messages', {{ conversationId: {long}, beforeSeq: null, limit: 50 }});
             t.push(performance.now() - t0); }}
           t.sort((a, b) => a - b); window.__pageMs = t; }})();"
    ))
    .await;
    let page_ms = page_value(&app, "__pageMs").await;
    println!("  of which reading the newest 50 from the engine, five reads sorted: {page_ms} ms");

    // One incoming message on the focused chat: cache transactions and DOM mutations, counted
    // from a quiet moment (nothing ran for a second) to the next.
    let before = quiet_jobs(&app).await;
    app.js("window.__mutations = 0; window.__observer = new MutationObserver(l => { window.__mutations += l.length; }); window.__observer.observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true, attributes: true});").await;
    bob.send(long, "one more").await.unwrap();
    app.wait_until(
        "[...document.querySelectorAll('#messages li.msg .body')].some(b => b.textContent === 'one more')",
        "the new message",
    )
    .await;
    let after = quiet_jobs(&app).await;
    let mutations = app
        .js("window.__observer.disconnect(); return window.__mutations")
        .await;
    println!(
        "one incoming message on the open chat: {} cache transactions, {mutations} DOM mutation records",
        after - before
    );

    print_app_memory("memory with the chat open, before scrolling", true);

    // Scroll back through all of it, recording every frame's length.
    app.js(
        "window.__frames = []; window.__scrolling = true; let last = performance.now();
         (function frame(now) { window.__frames.push(now - last); last = now; if (window.__scrolling) requestAnimationFrame(frame); })(performance.now());",
    )
    .await;
    // Each draw of the message list times itself into this array (views/chat.js drawMessages).
    app.js("window.__ternDrawTimes = [];").await;
    let t = Instant::now();
    let mut reached = false;
    for _ in 0..6000 {
        let top = app
            .js("const l = document.getElementById('messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); return [...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'm0');")
            .await;
        if top == serde_json::json!(true) {
            reached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let frames = app
        .js("window.__scrolling = false; const f = window.__frames.slice(1).sort((a, b) => a - b); return [f.length, f[Math.floor(f.length * 0.5)], f[Math.floor(f.length * 0.99)], f[f.length - 1], document.querySelectorAll('#messages li').length];")
        .await;
    println!(
        "scroll back to the first message (reached: {reached}) in {:.1} s: frames {} (median {:.1} ms, p99 {:.1} ms, longest {:.1} ms); rows in the page at the top: {}",
        t.elapsed().as_secs_f64(),
        frames[0],
        frames[1].as_f64().unwrap_or(0.0),
        frames[2].as_f64().unwrap_or(0.0),
        frames[3].as_f64().unwrap_or(0.0),
        frames[4]
    );
    // Where an older page's draw goes: updating the rows, then the layout forced to put the
    // first row in view back where it was (what is left of the frame is style, layout and paint).
    let draws = app
        .js("const d = (window.__ternDrawTimes || []).filter(x => x.hold); window.__ternDrawTimes = null;
             const q = (k) => { const v = d.map(x => x[k]).sort((a, b) => a - b); return v.length ? [v[Math.floor(v.length / 2)], v[Math.floor(v.length * 0.99)], v[v.length - 1]].map(x => x.toFixed(1)) : []; };
             const worst = d.slice().sort((a, b) => (b.rows + b.layout) - (a.rows + a.layout)).slice(0, 5);
             return [d.length, q('rows'), q('layout'), d.length ? d[0].items : 0, JSON.stringify(worst)];")
        .await;
    println!(
        "  draws holding the view: {}; updating rows median / p99 / longest {} ms, the layout after {} ms ({} rows drawn in the first)",
        draws[0], draws[1], draws[2], draws[3]
    );
    println!("  the slowest five: {}", draws[4]);
    print_app_memory("memory with the whole chat scrolled through", true);
    // The web-process extension hands freed heap back once the scrolling has settled and again
    // 2, 4, 6, 10 and 18 s later (crates/tern-webext/src/policy.rs): what the app holds from then on.
    tokio::time::sleep(Duration::from_secs(20)).await;
    print_app_memory("memory 20 s after scrolling", true);
    // Logged when TERN_WEBEXT_LOG is set in the bench's environment (the app inherits it).
    let trims = app.log_lines("tern-webext: trimmed");
    println!("web-process heap trims logged: {}", trims.len());
    // A trim runs on the web process's main thread: the ones that held it 2 ms or more.
    let long: Vec<&String> = trims
        .iter()
        .filter(|t| {
            t.rsplit(" in ")
                .next()
                .and_then(|ms| ms.trim().trim_end_matches("ms").trim().parse::<f64>().ok())
                .is_some_and(|ms| ms >= 2.0)
        })
        .collect();
    println!("  of which took 2 ms or more: {long:?}");
    for t in trims.iter().rev().take(5).rev() {
        println!("  {t}");
    }
    app.quit().await;
}

/// The engine's cache transaction count once it has not moved for a second.
async fn quiet_jobs(app: &Driver) -> u64 {
    let mut last = None;
    for _ in 0..600 {
        app.js("window.__jobs = null; window.__TAURI__.core.invoke('cache_jobs').then(n => { window.__jobs = n; });")
            .await;
        let now = page_value(app, "__jobs").await.as_u64().unwrap();
        if last == Some(now) {
            return now;
        }
        last = Some(now);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the app never went quiet");
}
