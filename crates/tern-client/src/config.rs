//! Client policy as data: where the relay is, where the cache lives, heartbeat and reconnect
//! timing. Defaults suit a desktop app; tests shorten the timers.

use std::path::PathBuf;
use std::time::Duration;

use crate::relay_address::RelayAddress;

/// Everything the engine can be configured with.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Relay base URL, parsed and checked against the clear-text rule. The WebSocket URL is
    /// derived from it (`ws://`/`wss://` + the protocol path).
    pub relay: RelayAddress,
    /// Folder for the local cache databases (one per relay and account).
    pub data_dir: PathBuf,
    /// Label for this device in the relay's session list.
    pub device_name: String,
    /// Heartbeat and reconnect timing.
    pub timing: Timing,
    /// Offer deflate compression for large frames.
    pub compression: bool,
}

/// Heartbeat and reconnect timing.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often the client pings the relay.
    pub heartbeat_interval: Duration,
    /// No frame at all for this long means the link is dead; it is dropped and replaced.
    pub heartbeat_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// A connection that lasted this long resets the backoff.
    pub stable_after: Duration,
    /// Time allowed for the TCP/TLS/WebSocket handshake and the relay's welcome.
    pub connect_timeout: Duration,
    /// Time a request (other than a send) waits for its reply.
    pub request_timeout: Duration,
    /// Retry delay for sends refused with a transient error (rate limited).
    pub transient_retry: Duration,
    /// Fallback expiry of a typing indication when the relay does not say.
    pub typing_expiry: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat_interval: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(40),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(20),
            transient_retry: Duration::from_secs(2),
            typing_expiry: Duration::from_secs(6),
        }
    }
}

impl ClientConfig {
    /// Defaults for a relay address and data folder.
    pub fn new(relay: RelayAddress, data_dir: impl Into<PathBuf>) -> Self {
        ClientConfig {
            relay,
            data_dir: data_dir.into(),
            device_name: default_device_name(),
            timing: Timing::default(),
            compression: true,
        }
    }

    /// The WebSocket URL of the relay.
    pub fn ws_url(&self) -> String {
        self.relay.ws_url(tern_proto::WS_PATH)
    }

    /// The HTTP URL of a relay endpoint.
    pub fn http_url(&self, path: &str) -> String {
        self.relay.http_url(path)
    }
}

fn default_device_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("{} device", std::env::consts::OS))
}
