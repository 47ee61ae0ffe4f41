//! Relay policy as data: every limit, interval and path in one struct with documented defaults.
//! The binary fills it from flags and environment variables; tests override fields directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::limits::Rate;
use crate::listen::ConnPolicy;

/// Everything the relay can be configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite database file.
    pub db_path: PathBuf,
    /// PEM certificate chain and private key; when set the relay serves `https`/`wss` only.
    pub tls: Option<TlsPaths>,
    /// fsync every group commit (survives power loss). Off: survives a relay crash only.
    pub synchronous_full: bool,
    /// Most store jobs committed together.
    pub max_batch: usize,
    /// How long a group commit stays open for more jobs (see `store::StoreConfig`).
    pub commit_window: Duration,
    /// How long a login token is valid.
    pub token_ttl: Duration,
    /// Heartbeat policy.
    pub heartbeat: Heartbeat,
    /// Input limits.
    pub limits: Limits,
    /// Connection slots and deadlines (see [`crate::listen`]).
    pub connections: ConnPolicy,
    /// WAL size past which the store checkpoints and truncates it (see [`crate::store`]).
    pub wal_limit_bytes: u64,
}

/// Paths of a PEM certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Ping interval and dead-connection timeout.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// The relay pings every connection this often.
    pub interval: Duration,
    /// A connection silent for this long (no frame, no pong) is closed.
    pub timeout: Duration,
}

/// Limits on what clients may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest frame answered with an error rather than a close (bytes, after inflating).
    pub max_frame_bytes: usize,
    /// Largest frame the WebSocket layer reads at all; above it the connection is closed with
    /// 1009 (message too big), because reading it would already cost the memory.
    pub hard_frame_bytes: usize,
    /// Longest message body (bytes of UTF-8).
    pub max_message_bytes: usize,
    /// Longest group or user name (characters).
    pub max_name_chars: usize,
    /// Message sends per user, shared across their devices.
    pub send_rate: Rate,
    /// Frames of any kind per connection.
    pub frame_rate: Rate,
    /// Failed logins per client address.
    pub login_per_address: Rate,
    /// Failed logins per account.
    pub login_per_account: Rate,
    /// Active (unexpired, unrevoked) login sessions per user.
    pub max_sessions_per_user: usize,
    /// Members per group.
    pub max_group_size: usize,
    /// Frames queued for a connection before it is considered too slow and closed.
    pub connection_queue: usize,
    /// Requests a connection may have in flight before the relay stops reading from it.
    pub max_in_flight: usize,
    /// How long a typing indication lasts on receivers without a refresh.
    pub typing_expiry: Duration,
    /// Password hashes computed at once (argon2id is deliberately expensive).
    pub concurrent_password_hashes: usize,
    /// WebSocket read buffer per connection (tungstenite's default of 128 KiB makes idle
    /// connections expensive).
    pub read_buffer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            hard_frame_bytes: 1024 * 1024,
            max_message_bytes: 16 * 1024,
            max_name_chars: 64,
            send_rate: Rate {
                burst: 100.0,
                per_second: 30.0,
            },
            frame_rate: Rate {
                burst: 400.0,
                per_second: 200.0,
            },
            login_per_address: Rate {
                burst: 20.0,
                per_second: 0.2,
            },
            login_per_account: Rate {
                burst: 10.0,
                per_second: 0.1,
            },
            max_sessions_per_user: 20,
            max_group_size: 1000,
            connection_queue: 1024,
            max_in_flight: 256,
            typing_expiry: Duration::from_secs(6),
            concurrent_password_hashes: 2,
            read_buffer_bytes: 1024,
        }
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval: Duration::from_secs(20),
            timeout: Duration::from_secs(45),
        }
    }
}

impl Config {
    /// Defaults with the given database path.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Config {
            db_path: db_path.into(),
            tls: None,
            synchronous_full: true,
            max_batch: 512,
            commit_window: Duration::ZERO,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            heartbeat: Heartbeat::default(),
            limits: Limits::default(),
            connections: ConnPolicy::default(),
            wal_limit_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Default listen address.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7878))
}
