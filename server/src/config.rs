//! Relay policy as data: every limit, interval and path in one struct with documented defaults.
//! The binary fills it from flags and environment variables; tests override fields directly.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::client_addr::TrustedProxies;
use crate::limits::Rate;

/// Everything the relay can be configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite database file.
    pub db_path: PathBuf,
    /// A `postgres://` address: keep everything in PostgreSQL instead of `db_path` (several
    /// relays may share it).
    pub postgres: Option<String>,
    /// A `nats://` address: tell the other relays on the same PostgreSQL database what this
    /// relay's connections must see live, and hear from them (see [`crate::bus`]).
    pub bus: Option<String>,
    /// Frames this relay may queue for the bus; past that they are dropped and the other relays
    /// told to catch up from the store (`bus::OUTBOX` by default).
    pub bus_outbox: usize,
    /// PEM certificate chain and private key; when set the relay serves `https`/`wss` only.
    pub tls: Option<TlsPaths>,
    /// fsync every group commit (survives power loss). Off: survives a relay crash only.
    pub synchronous_full: bool,
    /// Most store jobs committed together (the PostgreSQL writer takes fewer: see
    /// `store::postgres::MAX_BATCH`). Large, so that under a flood of writes each commit,
    /// whose WAL pages and fsync cost the same whatever it holds, is shared by many.
    pub max_batch: usize,
    /// How long a group commit stays open for more jobs under load (see `store::StoreConfig`);
    /// `None`: the store's own default (`store::sqlite::DEFAULT_WINDOW`, 2 ms;
    /// `store::postgres::MAX_WINDOW`, 1 ms, which PostgreSQL takes at most).
    pub commit_window: Option<Duration>,
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
    /// Folder of attachment bytes (uploads in progress, and complete ones unless
    /// `blob_store` is set).
    pub blob_dir: PathBuf,
    /// An `s3://bucket/prefix` object store for complete attachments, shared by several
    /// relays (see [`crate::object_blobs`]); `None` keeps them in `blob_dir`.
    pub blob_store: Option<String>,
    /// Reverse proxies whose `X-Real-IP`/`X-Forwarded-For` name the client (none by default;
    /// see [`crate::client_addr`]).
    pub trusted_proxies: TrustedProxies,
    /// Who may create an account.
    pub registration: Registration,
}

/// Who may create an account on this relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Registration {
    /// Anyone (subject to the per-address registration limit).
    #[default]
    Open,
    /// Only with an invite code from `tern-server admin invite`.
    Invite,
    /// Nobody: `403 registration_closed`.
    Closed,
}

impl std::str::FromStr for Registration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Registration::Open),
            "invite" => Ok(Registration::Invite),
            "closed" => Ok(Registration::Closed),
            other => Err(format!(
                "registration is open, invite or closed, not {other:?}"
            )),
        }
    }
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
    /// Requests that change conversations' shapes or what others see of the user (new chats
    /// and groups, renames, members added or removed, profile and pictures, blocks, privacy
    /// settings) per user, shared across their devices: each is published to every member of
    /// every conversation it touches, so it costs the relay far more than a message.
    pub change_rate: Rate,
    /// Frames of any kind per connection.
    pub frame_rate: Rate,
    /// Failed logins per client address, whatever the account.
    pub login_per_address: Rate,
    /// Failed logins per account from one client address: the strict limit on guessing.
    pub login_per_account_address: Rate,
    /// Failed logins per account from all addresses together: a loose ceiling against
    /// guessing from many addresses. A device that logged in before (it presents a
    /// `device_credential`) is not held back by it, so a flood cannot lock the owner out.
    pub login_per_account: Rate,
    /// Device credentials remembered per user; the least recently used go first.
    pub max_device_credentials_per_user: usize,
    /// Registrations per client address.
    pub register_per_address: Rate,
    /// Authenticated HTTP requests per session (sessions, uploads and their chunks,
    /// downloads): what one device's flood can make the relay do. Per session, not per user,
    /// so a stolen token's flood never keeps the owner's other devices from revoking it or
    /// changing the password. A 100 MiB file goes up in 100 chunks, well inside the burst.
    pub http_per_session: Rate,
    /// Active (unexpired, unrevoked) login sessions per user.
    pub max_sessions_per_user: usize,
    /// Members per group.
    pub max_group_size: usize,
    /// Frames queued for a connection before it is considered too slow and closed.
    pub connection_queue: usize,
    /// Bytes of frames waiting for a connection's socket before it is considered too slow.
    pub connection_queue_bytes: usize,
    /// Requests a connection may have in flight before the relay stops reading from it.
    pub max_in_flight: usize,
    /// How long a typing indication lasts on receivers without a refresh.
    pub typing_expiry: Duration,
    /// How long after sending its author may still edit a message.
    pub edit_window: Duration,
    /// Largest attachment (bytes).
    pub max_attachment_bytes: u64,
    /// Attachment bytes one user may keep on the relay.
    pub attachment_quota_bytes: u64,
    /// How long an upload no message refers to is kept (abandoned uploads, attachments of
    /// messages deleted for everyone).
    pub upload_ttl: Duration,
    /// How long a deleted account's username stays taken (so no one can pose as its owner to
    /// people who still know the name).
    pub deleted_name_hold: Duration,
    /// Login password checks computed at once (argon2id is deliberately expensive).
    pub login_password_checks: usize,
    /// Registration password hashes computed at once, separate from logins so a registration
    /// flood cannot delay them.
    pub register_password_hashes: usize,
    /// Requests that may wait for a password permit of each kind; more get `503 busy`.
    pub password_queue: usize,
    /// Argon2id cost of new password hashes. Raising it never breaks older hashes (each
    /// records its own parameters); a user's hash is upgraded at their next login.
    pub argon2: crate::auth::Argon2Cost,
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
            change_rate: Rate {
                burst: 60.0,
                per_second: 1.0,
            },
            frame_rate: Rate {
                burst: 400.0,
                per_second: 200.0,
            },
            login_per_address: Rate {
                burst: 20.0,
                per_second: 0.2,
            },
            login_per_account_address: Rate {
                burst: 10.0,
                per_second: 0.1,
            },
            login_per_account: Rate {
                burst: 100.0,
                per_second: 0.2,
            },
            max_device_credentials_per_user: 20,
            http_per_session: Rate {
                burst: 600.0,
                per_second: 100.0,
            },
            register_per_address: Rate {
                burst: 5.0,
                per_second: 1.0 / 60.0,
            },
            max_sessions_per_user: 20,
            max_group_size: 1000,
            connection_queue: 1024,
            connection_queue_bytes: 4 * 1024 * 1024,
            max_in_flight: 256,
            typing_expiry: Duration::from_secs(6),
            edit_window: Duration::from_secs(48 * 3600),
            max_attachment_bytes: 100 * 1024 * 1024,
            attachment_quota_bytes: 2 * 1024 * 1024 * 1024,
            upload_ttl: Duration::from_secs(24 * 3600),
            deleted_name_hold: Duration::from_secs(30 * 24 * 3600),
            login_password_checks: 2,
            argon2: crate::auth::Argon2Cost::default(),
            register_password_hashes: 1,
            password_queue: 64,
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
        let db_path: PathBuf = db_path.into();
        Config {
            db_path: db_path.clone(),
            postgres: None,
            bus: None,
            bus_outbox: crate::bus::OUTBOX,
            tls: None,
            synchronous_full: true,
            max_batch: 2048,
            commit_window: None,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            heartbeat: Heartbeat::default(),
            limits: Limits::default(),
            connections: ConnPolicy::default(),
            wal_limit_bytes: 64 * 1024 * 1024,
            blob_dir: {
                let mut dir = db_path.clone().into_os_string();
                dir.push("-blobs");
                PathBuf::from(dir)
            },
            blob_store: None,
            trusted_proxies: TrustedProxies::default(),
            registration: Registration::Open,
        }
    }
}

/// Default listen address.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7878))
}

/// Connection-level limits and deadlines.
#[derive(Clone)]
pub struct ConnPolicy {
    /// Sockets open at once, relay-wide (HTTP and WebSocket). Keep it below the process's
    /// descriptor limit so the store and listener always have descriptors left.
    pub max_connections: usize,
    /// Sockets open at once from one address (an IPv6 /64 counts as one address).
    pub max_per_address: usize,
    /// Time allowed for the TLS handshake, and for each request's headers once the
    /// connection is idle or a request has started.
    pub header_read_timeout: Duration,
    /// Time an HTTP connection may stay open without upgrading to a WebSocket.
    pub upgrade_deadline: Duration,
    /// On shutdown, how long open HTTP requests may take to finish before they are dropped.
    pub shutdown_grace: Duration,
    /// Peers exempt from the per-address limit (reverse proxies: all clients share them).
    pub exempt: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
}

impl Default for ConnPolicy {
    fn default() -> Self {
        ConnPolicy {
            max_connections: 16_384,
            max_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            upgrade_deadline: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            exempt: Arc::new(|_| false),
        }
    }
}

impl std::fmt::Debug for ConnPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnPolicy")
            .field("max_connections", &self.max_connections)
            .field("max_per_address", &self.max_per_address)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("upgrade_deadline", &self.upgrade_deadline)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish_non_exhaustive()
    }
}
