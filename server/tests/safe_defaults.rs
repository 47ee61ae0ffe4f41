//! Safe defaults of the relay binary: no clear-text listener on a public address unless asked,
//! no message bodies or tokens in its logs even at `trace`, and a database only its own user
//! can read.

mod common;

use common::*;

#[test]
fn a_public_address_without_tls_is_refused_unless_explicitly_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tern-server"))
        .args(["--listen", "0.0.0.0:0", "--metrics-listen", "off", "--db"])
        .arg(db_path(&dir))
        .env_remove("TERN_ALLOW_PLAIN_PUBLIC")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without TLS"), "{stderr}");
    assert!(!db_path(&dir).exists(), "nothing was started");
}

#[tokio::test]
async fn trace_logs_carry_neither_message_bodies_nor_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, log) = RelayProcess::spawn_logging(&db_path(&dir), &[], "trace");
    relay.register("alice").await;
    relay.register("bob").await;
    let token = relay.login("alice").await;
    let mut alice = Client::connect(&relay.ws_url(), &token).await;
    let conv = alice.start_direct("bob").await;
    let secret = "the-unmistakable-body-7f3a9c";
    alice.send_msg(conv, "c1", secret).await;
    drop(alice);
    relay.kill9();
    let log = log.join().unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging is on: {log}"
    );
    // The WebSocket library prints frame payloads in hex at trace: check that form too.
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!log.contains(secret), "a message body reached the log");
    assert!(!log.contains(&hex), "a message body reached the log (hex)");
    assert!(!log.contains(&token), "the bearer token reached the log");
    assert!(!log.contains(PASSWORD), "a password reached the log");
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_folder_are_private_to_the_relay_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("relay.db");
    let mut relay = RelayProcess::spawn(&db, &[]);
    if relay.stored.is_postgres() {
        eprintln!("SQLite file permissions only: PostgreSQL keeps its own files");
        return;
    }
    // Once it answers, the store is open.
    let health = reqwest::get(format!("{}/health", relay.base()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    relay.kill9();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    let wal = dir.path().join("data").join("relay.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
}
