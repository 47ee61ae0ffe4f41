//! The `tern` CLI's safety promises, as a real process against a real relay: its logs never
//! show the session token or message bodies, its files are private to the user, it refuses
//! clear text to another machine unless told otherwise, and it speaks plainly to people (text
//! by default, one-line errors) while `--json` stays for scripts.

mod common;

use common::*;
use tern_proto::UserId;

/// Register and log in alice through the CLI; returns her user id.
fn cli_login(relay: &Relay, data: &std::path::Path) -> i64 {
    let (code, _, err) = tern_output(relay, data, &["register", "alice"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = tern_output(relay, data, &["login", "alice"]);
    assert_eq!(code, 0, "{err}");
    out[0]["user_id"].as_i64().unwrap()
}

#[tokio::test]
async fn trace_logging_shows_neither_the_token_nor_message_bodies() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let (_bob, _b) = signup(&relay, "bob").await;
    let mut stderr = String::new();
    for args in [
        &["register", "alice"][..],
        &["login", "alice"],
        &["send", "@bob", "a", "very", "private", "sentence"],
    ] {
        let out = tern(&relay, data.path(), args)
            .env("TERN_LOG", "trace")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stderr.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    // The log is really verbose (so the test can see a leak if there were one)…
    assert!(stderr.contains("DEBUG"), "{stderr}");
    // …and nothing in it carries the credential or the text.
    let token = tern_client::keychain::load(&relay.url(), "alice")
        .unwrap()
        .expect("the CLI stored a token");
    assert!(!stderr.contains(token.expose()), "the token is in the log");
    assert!(!stderr.contains("Bearer "), "{stderr}");
    assert!(!stderr.to_lowercase().contains("authorization"), "{stderr}");
    assert!(
        !stderr.contains("private sentence"),
        "a message body is in the log"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_cli_keeps_its_cache_and_files_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("tern-data");
    let (_bob, _b) = signup(&relay, "bob").await;
    let alice = cli_login(&relay, &data);
    let (code, _, err) = tern_output(&relay, &data, &["send", "@bob", "hello"]);
    assert_eq!(code, 0, "{err}");

    // While a CLI has the cache open, SQLite's journal files exist too.
    let cache = tern_client::cache_path(&config(&relay.url(), &data), UserId(alice));
    let mut listener = tern(&relay, &data, &["listen", "--for", "30"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let wal = cache.with_file_name("cache.db-wal");
    eventually("the listening CLI opened its cache", || {
        let wal = wal.clone();
        async move { wal.exists() }
    })
    .await;
    let mut checked = Vec::new();
    for entry in walk(&data) {
        let mode = std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777;
        let want = if entry.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", entry.display());
        checked.push(entry);
    }
    listener.kill().unwrap();
    listener.wait().unwrap();
    // The walk saw the database and its journal, not just an empty folder.
    assert!(checked.contains(&cache), "{checked:?}");
    assert!(checked.contains(&wal), "{checked:?}");
}

/// The folder and everything under it.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            all.extend(walk(&path));
        } else {
            all.push(path);
        }
    }
    all
}

#[tokio::test]
async fn clear_text_to_another_machine_is_refused_unless_the_user_allows_it() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    // 0.0.0.0 is not a loopback address, but connecting to it reaches this machine's relay.
    let remote = format!("http://0.0.0.0:{}", relay.port);
    let out = tern_human(&relay, data.path(), &["register", "alice"])
        .env("TERN_RELAY", &remote)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("not encrypted") && stderr.contains("--allow-insecure-relay"));
    let accounts: i64 = rusqlite::Connection::open(&relay.db)
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(accounts, 0, "nothing was sent to the relay");

    // With the flag (or its environment variable) the user's choice is respected.
    let (code, _, err) = tern_output(
        &relay,
        data.path(),
        &[
            "--allow-insecure-relay",
            "--relay",
            &remote,
            "register",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let out = tern(&relay, data.path(), &["register", "bob"])
        .env("TERN_RELAY", &remote)
        .env("TERN_ALLOW_INSECURE_RELAY", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn output_is_readable_by_default_and_errors_are_one_plain_line() {
    let relay = Relay::start();
    let data = tempfile::tempdir().unwrap();
    let (_bob, _b) = signup(&relay, "bob").await;
    cli_login(&relay, data.path());
    let out = tern_human(&relay, data.path(), &["send", "@bob", "hello", "there"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("sent to conversation "), "{stdout}");

    let (_, sent, _) = tern_output(&relay, data.path(), &["send", "@bob", "again"]);
    let conv = sent[0]["conversation_id"].as_i64().unwrap();
    // `send --json` reports the status flat, like `history --json`.
    assert_eq!(sent[0]["status"], "sent", "{sent:?}");
    let (_, history, _) = tern_output(&relay, data.path(), &["history", &conv.to_string()]);
    assert_eq!(history[1]["status"], sent[0]["status"]);

    let out = tern_human(&relay, data.path(), &["history", &conv.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("alice: hello there"), "{stdout}");
    assert!(!stdout.contains('{'), "not JSON: {stdout}");

    // A user error: one line on stderr, a non-zero exit, no debug dump.
    let out = tern_human(&relay, data.path(), &["send", "not-a-conversation", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: send to a conversation id or @username"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains("Caused by") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}
