//! The desktop app's safety promises, in a real (virtual) window against a real relay: clear
//! text to another machine needs the user's explicit consent and then stays flagged on screen,
//! its settings and data are private to the user, and a notification shows other people's
//! text literally instead of as markup.
//!
//! It runs in its own test binary: the app is single-instance and the notification daemon owns
//! a bus name, so it must not overlap with `desktop.rs` (cargo runs test binaries one at a time).

mod common;

use std::path::Path;
use std::time::Duration;

use common::webdriver::{app_env, notifications, notifyd, Driver, Xvfb};
use common::*;

#[tokio::test]
async fn an_unencrypted_remote_relay_needs_consent_stays_flagged_and_notifications_show_plain_text()
{
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let (mut daemon, log) = notifyd(work.path());
    // 0.0.0.0 is not loopback, so the app must treat it as another machine; connecting to it
    // still reaches this machine's relay.
    let remote = format!("http://0.0.0.0:{}", relay.port);
    let app_dir = work.path().join("app");
    let env = app_env(&xvfb, &app_dir, &remote);
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.wait_until(
        "!document.getElementById('signin').hidden",
        "sign-in screen",
    )
    .await;
    app.type_into("#username", "alice").await;
    app.type_into("#password", PASSWORD).await;

    // Without consent: refused with the reason, nothing sent, still on the sign-in screen.
    app.click("#register-button").await;
    app.wait_until(
        "document.getElementById('signin-error').textContent.includes('not encrypted')",
        "refusal of clear text",
    )
    .await;
    let on_signin = app.js("return document.getElementById('app').hidden").await;
    assert_eq!(on_signin, serde_json::json!(true));

    // With consent: signed in, and the warning stays on screen.
    app.click("#allow-insecure").await;
    app.click("#register-button").await;
    app.wait_until(
        "!document.getElementById('app').hidden",
        "main screen after sign-in",
    )
    .await;
    let warning = app
        .js("const w = document.getElementById('insecure-warning'); return !w.hidden && w.offsetHeight > 0 && w.textContent.includes('Not encrypted')")
        .await;
    assert_eq!(warning, serde_json::json!(true), "the warning is visible");

    // Markup in a message reaches the notification as text, not as markup. (Bob is a
    // stranger first: alice accepts his chat, then his message in a group she is not
    // looking at notifies.)
    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(conv, "hi").await.unwrap();
    app.accept_first_request().await;
    let group = bob
        .create_group("g", &["alice"])
        .await
        .unwrap()
        .conversation_id;
    assert_ne!(group, conv);
    bob.send(group, r#"<a href="https://evil.example">win</a> & more"#)
        .await
        .unwrap();
    for _ in 0..300 {
        if notifications(&log)
            .iter()
            .any(|n| n["summary"] == "bob in g")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = notifications(&log);
    assert!(
        shown.iter().any(|n| n["summary"] == "bob in g"
            && n["body"]
                == "&lt;a href=&quot;https://evil.example&quot;&gt;win&lt;/a&gt; &amp; more"),
        "{shown:?}"
    );
    let warning_still = app
        .js("return !document.getElementById('insecure-warning').hidden")
        .await;
    assert_eq!(warning_still, serde_json::json!(true));

    // Signing out ends the whole session: the engine's cache (SQLite file and thread) is
    // closed, not kept alive by a forwarder that outlived it.
    let pid = app_pid(&app_dir).expect("the app process");
    assert!(open_caches(pid) > 0, "signed in, the cache is open");
    app.js("document.getElementById('signout').click()").await;
    app.wait_until(
        "document.getElementById('signout-dialog').open",
        "sign-out asks first",
    )
    .await;
    app.click("#signout-confirm").await;
    app.wait_until(
        "!document.getElementById('signin').hidden",
        "sign-in screen after signing out",
    )
    .await;
    let mut closed = false;
    for _ in 0..100 {
        if open_caches(pid) == 0 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "the cache stayed open after signing out");
    app.quit().await;

    // Settings and caches are the user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&app_dir.join("settings.json")), 0o600);
        assert_eq!(mode(&app_dir.join("data")), 0o700);
    }

    let _ = daemon.kill();
    let _ = daemon.wait();
    drop(xvfb);
}

/// The desktop app process using `data_dir` (by its `TERN_DATA_DIR`).
fn app_pid(data_dir: &Path) -> Option<u32> {
    let want = format!("TERN_DATA_DIR={}", data_dir.display());
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(e.path().join("exe")).ok()?;
        if !exe.ends_with("tern-desktop") {
            return None;
        }
        let environ = std::fs::read(e.path().join("environ")).ok()?;
        environ
            .split(|b| *b == 0)
            .any(|v| v == want.as_bytes())
            .then_some(pid)
    })
}

/// How many of the process's open files are an engine cache database.
fn open_caches(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|target| target.to_string_lossy().contains("cache.db"))
                .count()
        })
        .unwrap_or(0)
}
