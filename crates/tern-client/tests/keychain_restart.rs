//! The keychain daemon dies while Tern is using it (a crash, a restart of the session's
//! keyring): what Tern stored is still there and no request fails. Runs against the real
//! Secret Service of the private D-Bus session that `scripts/with-keyring.sh` sets up, which
//! starts gnome-keyring again by D-Bus activation, as a desktop does. Its own test binary,
//! because it kills the daemon every other keychain test talks to.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tern_client::keychain::{self, Token};

const RELAY: &str = "wss://keychain-restart.test";
const KILLS: usize = 5;

/// The process that owns the Secret Service name on the session bus, once it has one.
fn provider_pid() -> Option<u32> {
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            "string:org.freedesktop.secrets",
        ])
        .output()
        .expect("dbus-send (scripts/setup.sh installs dbus-bin)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "uint32")
        .nth(1)
        .and_then(|pid| pid.parse().ok())
}

fn kill_provider() -> u32 {
    let pid = (0..200)
        .find_map(|_| {
            let pid = provider_pid();
            if pid.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            pid
        })
        .expect("a Secret Service provider on the session bus (run under scripts/with-keyring.sh)");
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 {pid}");
    pid
}

#[test]
fn tokens_survive_the_keychain_daemon_dying_mid_request_and_no_request_fails() {
    // It kills the Secret Service daemon: never a developer's own (scripts/test.sh always
    // runs it in the private session; a plain `cargo test` on a desktop leaves it out).
    if std::env::var_os("TERN_IN_KEYRING_SESSION").is_none() {
        eprintln!("skipped: run under scripts/with-keyring.sh (it kills the keyring daemon)");
        return;
    }
    // Stored before the daemon dies: there after it comes back.
    keychain::store(RELAY, "before", &Token::new("tern_before".into())).unwrap();

    // Four clients keep storing, reading back and deleting while the daemon is killed again
    // and again, so requests are in flight when it goes.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut rounds = 0u32;
                while !stop.load(Ordering::Relaxed) || rounds < 5 {
                    let user = format!("worker{w}");
                    let token = format!("tern_{w}_{rounds}");
                    keychain::store(RELAY, &user, &Token::new(token.clone()))
                        .unwrap_or_else(|e| panic!("store failed in round {rounds}: {e}"));
                    let read = keychain::load(RELAY, &user)
                        .unwrap_or_else(|e| panic!("load failed in round {rounds}: {e}"))
                        .expect("the token just stored");
                    assert_eq!(read.expose(), token);
                    keychain::delete(RELAY, &user)
                        .unwrap_or_else(|e| panic!("delete failed in round {rounds}: {e}"));
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let mut killed = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(700));
        killed.push(kill_provider());
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let rounds = w.join().expect("no keychain request failed");
        assert!(rounds >= 5, "each worker kept working: {rounds} rounds");
    }
    killed.dedup();
    assert_eq!(killed.len(), KILLS, "a new daemon each time: {killed:?}");

    let before = keychain::load(RELAY, "before").unwrap().expect("kept");
    assert_eq!(before.expose(), "tern_before");
    keychain::delete(RELAY, "before").unwrap();
}
