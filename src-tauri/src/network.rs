//! Noticing that the computer's network changed (Wi-Fi to Ethernet, a new Wi-Fi, a VPN up or
//! down, waking on another network) and telling the engine at once, instead of waiting for the
//! reconnect backoff (offline) or the heartbeat timeout (a link that died with the old network
//! but has not said so).
//!
//! The watcher compares the set of addresses of the up, non-loopback interfaces every
//! `EVERY`: the same question on every platform (`getifaddrs` on Linux and macOS, the adapter
//! table on Windows, through the `if-addrs` crate), with no daemon to depend on (not every
//! Linux desktop runs NetworkManager). A change is reported once, when it is seen.

use std::collections::BTreeSet;
use std::time::Duration;

use tauri::{AppHandle, Manager};

use crate::state::AppState;

/// How often the addresses are compared.
const EVERY: Duration = Duration::from_secs(2);

/// The addresses of the up, non-loopback interfaces, as `name address` strings.
fn snapshot() -> BTreeSet<String> {
    if_addrs::get_if_addrs()
        .map(|list| {
            list.into_iter()
                .filter(|i| !i.is_loopback())
                .map(|i| format!("{} {}", i.name, i.ip()))
                .collect()
        })
        .unwrap_or_default()
}

/// Remembers the last snapshot and says whether a new one differs (the first does not: it
/// is where watching starts).
#[derive(Debug, Default)]
pub struct ChangeDetector {
    last: Option<BTreeSet<String>>,
}

impl ChangeDetector {
    /// Record `now`; whether it differs from the previous snapshot.
    pub fn changed(&mut self, now: BTreeSet<String>) -> bool {
        let changed = self.last.as_ref().is_some_and(|last| *last != now);
        self.last = Some(now);
        changed
    }
}

/// Watch for the app's lifetime; on a change, tell the signed-in engine (if any).
pub fn watch(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut detector = ChangeDetector::default();
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            let now = tokio::task::spawn_blocking(snapshot)
                .await
                .unwrap_or_default();
            if detector.changed(now) {
                tracing::info!("the network changed; checking the connection");
                if let Some(client) = app.state::<AppState>().try_client() {
                    client.network_changed();
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_change_is_reported_once_and_the_first_look_is_not_one() {
        let mut d = ChangeDetector::default();
        assert!(
            !d.changed(set(&["wlan0 192.168.1.20"])),
            "where watching starts"
        );
        assert!(!d.changed(set(&["wlan0 192.168.1.20"])));
        assert!(
            d.changed(set(&["eth0 10.0.0.5", "wlan0 192.168.1.20"])),
            "cable in"
        );
        assert!(!d.changed(set(&["eth0 10.0.0.5", "wlan0 192.168.1.20"])));
        assert!(d.changed(set(&["eth0 10.0.0.5"])), "Wi-Fi off");
        assert!(d.changed(set(&[])), "all gone");
        assert!(d.changed(set(&["wlan0 172.16.4.9"])), "another network");
    }

    #[test]
    fn the_real_snapshot_leaves_out_loopback() {
        assert!(snapshot()
            .iter()
            .all(|a| !a.contains(" 127.") && !a.ends_with(" ::1")));
    }
}
