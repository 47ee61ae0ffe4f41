//! `tern-server`: run the Tern relay. Every flag has an environment variable (`TERN_*`).
//! `tern-server admin invite` creates an invite code for `--registration invite`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tern_server::client_addr::TrustedProxies;
use tern_server::config::{Config, Registration, TlsPaths};
use tern_server::limits::Rate;

/// See server/Cargo.toml: allocations cross between the event loop and the storage thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keep the relay's memory in small pages. Where transparent huge pages are `always` on,
/// the allocator's arenas would be backed by 2 MiB pages and every idle connection would cost
/// more (3,906–3,928 against 3,418–3,586 bytes measured; docs/benchmarks.md, "The relay's
/// allocator").
/// The allocator's own build switch only stops it asking for huge pages, which is all it takes
/// where they are `madvise`.
fn small_pages() {
    // The flag belongs to the process's address space, whichever thread sets it.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("note: transparent huge pages stay on for the relay: {e}");
    }
}

/// The Tern relay server.
#[derive(Debug, Parser)]
#[command(version, about, args_override_self = true)]
struct Args {
    /// Run an administration command instead of the relay.
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(long, env = "TERN_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Address serving `/metrics` (and `/health`), apart from the public port; "off" to disable.
    #[arg(long, env = "TERN_METRICS_LISTEN", default_value = "127.0.0.1:9878")]
    metrics_listen: String,
    /// Allow listening on a non-loopback address without TLS (only behind a TLS proxy on a
    /// private network; the default refuses, since passwords and tokens would cross in clear).
    #[arg(long, env = "TERN_ALLOW_PLAIN_PUBLIC")]
    allow_plain_public: bool,
    /// Sockets open at once, relay-wide (keep below the descriptor limit).
    #[arg(long, env = "TERN_MAX_CONNECTIONS", default_value_t = 16_384)]
    max_connections: usize,
    /// Sockets open at once from one address (IPv6: per /64).
    #[arg(long, env = "TERN_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    max_connections_per_address: usize,
    /// Largest write-ahead log before the relay forces a truncating checkpoint (MiB).
    #[arg(long, env = "TERN_WAL_LIMIT_MIB", default_value_t = 64)]
    wal_limit_mib: u64,
    /// SQLite database file (created if missing).
    #[arg(long, env = "TERN_DB", default_value = "tern-relay.db")]
    db: PathBuf,
    /// Folder of attachment bytes (default: the database path with `-blobs` appended).
    #[arg(long, env = "TERN_BLOB_DIR")]
    blob_dir: Option<PathBuf>,
    /// Keep complete attachments in an S3-compatible object store, `s3://bucket[/prefix]`
    /// (credentials and endpoint from the AWS_* variables); uploads in progress stay in the
    /// blob folder.
    #[arg(long, env = "TERN_BLOB_STORE")]
    blob_store: Option<String>,
    /// Largest attachment (MiB).
    #[arg(long, env = "TERN_MAX_ATTACHMENT_MIB", default_value_t = 100)]
    max_attachment_mib: u64,
    /// Attachment storage per user (MiB).
    #[arg(long, env = "TERN_ATTACHMENT_QUOTA_MIB", default_value_t = 2048)]
    attachment_quota_mib: u64,
    /// Keep everything in PostgreSQL instead of the SQLite file (`postgres://user@host/db`);
    /// several relays may share one database (docs/scaling.md).
    #[arg(long, env = "TERN_STORE")]
    store: Option<String>,
    /// With --store postgres://…: several relays on that database tell each other over NATS
    /// (`nats://host:4222`) what their connections must see live (docs/scaling.md).
    #[arg(long, env = "TERN_BUS", requires = "store")]
    bus: Option<String>,
    /// Frames this relay may queue for the bus; past that they are dropped and the other
    /// relays told to catch up from the store.
    #[arg(long, env = "TERN_BUS_OUTBOX", default_value_t = tern_server::bus::OUTBOX)]
    bus_outbox: usize,
    /// PEM certificate chain; with --tls-key, serve https:// and wss:// only.
    #[arg(long, env = "TERN_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "TERN_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// fsync policy: "full" (survives power loss) or "normal" (survives a relay crash).
    #[arg(long, env = "TERN_SYNC", default_value = "full", value_parser = ["full", "normal"])]
    sync: String,
    /// Under load, microseconds a group commit stays open for more messages before its fsync
    /// (0: commit what is queued at once). At idle a lone message commits at once. By default
    /// 2,000 on SQLite and 1,000 on PostgreSQL, which takes at most 1,000.
    #[arg(long, env = "TERN_COMMIT_WINDOW_US")]
    commit_window_us: Option<u64>,
    /// Seconds between heartbeat pings.
    #[arg(long, env = "TERN_HEARTBEAT_SECS", default_value_t = 20)]
    heartbeat_secs: u64,
    /// Seconds of silence after which a connection is closed.
    #[arg(long, env = "TERN_HEARTBEAT_TIMEOUT_SECS", default_value_t = 45)]
    heartbeat_timeout_secs: u64,
    /// Days a login token stays valid.
    #[arg(long, env = "TERN_TOKEN_TTL_DAYS", default_value_t = 30)]
    token_ttl_days: u64,
    /// Largest frame answered with an error (bytes).
    #[arg(long, env = "TERN_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    max_frame_bytes: usize,
    /// Longest message body (bytes).
    #[arg(long, env = "TERN_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024)]
    max_message_bytes: usize,
    /// How long after sending its author may still edit a message (hours).
    #[arg(long, env = "TERN_EDIT_WINDOW_HOURS", default_value_t = 48)]
    edit_window_hours: u64,
    /// Argon2id memory per password hash, KiB. Raising it (or the passes) upgrades each
    /// user's stored hash at their next login; older hashes keep working.
    #[arg(long, env = "TERN_ARGON2_MEMORY_KIB", default_value_t = 19 * 1024)]
    argon2_memory_kib: u32,
    /// Argon2id passes per password hash.
    #[arg(long, env = "TERN_ARGON2_ITERATIONS", default_value_t = 2)]
    argon2_iterations: u32,
    /// Sustained message sends per second per user.
    #[arg(long, env = "TERN_SEND_RATE", default_value_t = 30.0)]
    send_rate: f64,
    /// Burst of message sends per user.
    #[arg(long, env = "TERN_SEND_BURST", default_value_t = 100.0)]
    send_burst: f64,
    /// Sustained frames per second per connection.
    #[arg(long, env = "TERN_FRAME_RATE", default_value_t = 200.0)]
    frame_rate: f64,
    /// Burst of frames per connection.
    #[arg(long, env = "TERN_FRAME_BURST", default_value_t = 400.0)]
    frame_burst: f64,
    /// Failed logins allowed in a burst per address (refilling one per 5 s).
    #[arg(long, env = "TERN_LOGIN_BURST", default_value_t = 20.0)]
    login_burst: f64,
    /// Failed logins allowed in a burst per account and address (refilling one per 10 s).
    #[arg(long, env = "TERN_LOGIN_ACCOUNT_BURST", default_value_t = 10.0)]
    login_account_burst: f64,
    /// Failed logins allowed in a burst per account from all addresses together (refilling
    /// one per 5 s); devices that logged in before are exempt.
    #[arg(long, env = "TERN_LOGIN_CEILING_BURST", default_value_t = 100.0)]
    login_ceiling_burst: f64,
    /// Who may create accounts: open, invite (with a code from `admin invite`) or closed.
    #[arg(long, env = "TERN_REGISTRATION", default_value = "open")]
    registration: Registration,
    /// Registrations allowed in a burst per client address.
    #[arg(long, env = "TERN_REGISTER_BURST", default_value_t = 5.0)]
    register_burst: f64,
    /// Seconds per further registration per client address once the burst is spent.
    #[arg(long, env = "TERN_REGISTER_INTERVAL_SECS", default_value_t = 60.0)]
    register_interval_secs: f64,
    /// Requests that may wait for a password check (logins) or hash (registrations) of each
    /// kind; more are answered 503 busy.
    #[arg(long, env = "TERN_PASSWORD_QUEUE", default_value_t = 64)]
    password_queue: usize,
    /// Reverse proxies (comma-separated addresses or CIDR networks) whose X-Real-IP and
    /// X-Forwarded-For headers name the client; e.g. 127.0.0.1 behind a local nginx.
    #[arg(long, env = "TERN_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: TrustedProxies,
    /// Active login sessions per user.
    #[arg(long, env = "TERN_MAX_SESSIONS", default_value_t = 20)]
    max_sessions: usize,
    /// Members per group.
    #[arg(long, env = "TERN_MAX_GROUP_SIZE", default_value_t = 1000)]
    max_group_size: usize,
    /// Threads serving connections. 1 (the default) runs every connection on one event loop,
    /// which avoids cross-thread wake-ups; storage always has its own thread.
    #[arg(long, env = "TERN_WORKER_THREADS", default_value_t = 1)]
    worker_threads: usize,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "TERN_LOG_JSON")]
    log_json: bool,
}

/// Administration commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Administer the relay's database (works while the relay runs).
    Admin {
        #[command(subcommand)]
        action: Admin,
    },
}

/// What `admin` does.
#[derive(Debug, Subcommand)]
enum Admin {
    /// Create an invite code and print it; only its hash is stored.
    Invite {
        /// Registrations the code allows.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// SQLite database file of the relay.
        #[arg(long = "db", env = "TERN_DB", default_value = "tern-relay.db")]
        db: PathBuf,
        /// The relay's PostgreSQL database instead (`postgres://…`).
        #[arg(long, env = "TERN_STORE")]
        store: Option<String>,
    },
    /// Set a user's password and sign out all their devices. The new password is read from
    /// the first line of standard input; with `--generate` a random one is made and printed.
    ResetPassword {
        /// The user.
        #[arg(long)]
        user: String,
        /// Make a random password and print it instead of reading one.
        #[arg(long)]
        generate: bool,
        /// SQLite database file of the relay.
        #[arg(long = "db", env = "TERN_DB", default_value = "tern-relay.db")]
        db: PathBuf,
        /// The relay's PostgreSQL database instead (`postgres://…`).
        #[arg(long, env = "TERN_STORE")]
        store: Option<String>,
    },
}

impl Args {
    fn into_config(self) -> Config {
        let mut c = Config::new(self.db);
        c.postgres = self.store.filter(|s| !s.is_empty());
        c.bus = self.bus.filter(|s| !s.is_empty());
        c.bus_outbox = self.bus_outbox;
        if let Some(dir) = self.blob_dir {
            c.blob_dir = dir;
        }
        c.blob_store = self.blob_store.filter(|s| !s.is_empty());
        c.limits.max_attachment_bytes = self.max_attachment_mib.max(1) * 1024 * 1024;
        c.limits.attachment_quota_bytes = self.attachment_quota_mib.max(1) * 1024 * 1024;
        c.tls = self
            .tls_cert
            .zip(self.tls_key)
            .map(|(cert, key)| TlsPaths { cert, key });
        c.synchronous_full = self.sync == "full";
        c.commit_window = self.commit_window_us.map(Duration::from_micros);
        c.heartbeat.interval = Duration::from_secs(self.heartbeat_secs.max(1));
        c.heartbeat.timeout = Duration::from_secs(self.heartbeat_timeout_secs.max(1));
        c.token_ttl = Duration::from_secs(self.token_ttl_days * 24 * 3600);
        c.limits.max_frame_bytes = self.max_frame_bytes;
        c.limits.hard_frame_bytes = c.limits.hard_frame_bytes.max(self.max_frame_bytes * 2);
        c.limits.max_message_bytes = self.max_message_bytes;
        c.limits.edit_window = Duration::from_secs(self.edit_window_hours * 3600);
        c.limits.argon2 = tern_server::auth::Argon2Cost {
            memory_kib: self.argon2_memory_kib.max(8),
            iterations: self.argon2_iterations.max(1),
        };
        c.limits.send_rate = Rate {
            burst: self.send_burst,
            per_second: self.send_rate,
        };
        c.limits.frame_rate = Rate {
            burst: self.frame_burst,
            per_second: self.frame_rate,
        };
        c.limits.login_per_address.burst = self.login_burst;
        c.limits.login_per_account_address.burst = self.login_account_burst;
        c.limits.login_per_account.burst = self.login_ceiling_burst;
        c.registration = self.registration;
        c.limits.register_per_address = Rate {
            burst: self.register_burst,
            per_second: 1.0 / self.register_interval_secs.max(0.001),
        };
        c.limits.password_queue = self.password_queue;
        c.trusted_proxies = self.trusted_proxies;
        c.limits.max_sessions_per_user = self.max_sessions;
        c.limits.max_group_size = self.max_group_size;
        c.connections.max_connections = self.max_connections;
        c.connections.max_per_address = self.max_connections_per_address;
        c.wal_limit_bytes = self.wal_limit_mib.max(1) * 1024 * 1024;
        c
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn main() -> anyhow::Result<()> {
    small_pages();
    let args = Args::parse();
    match &args.command {
        Some(Command::Admin {
            action: Admin::Invite { uses, db, store },
        }) => {
            let store = store.as_deref().filter(|s| !s.is_empty());
            let code = tern_server::admin::create_invite(db, store, *uses)?;
            println!("{}", code.expose());
            return Ok(());
        }
        Some(Command::Admin {
            action:
                Admin::ResetPassword {
                    user,
                    generate,
                    db,
                    store,
                },
        }) => {
            let store = store.as_deref().filter(|s| !s.is_empty());
            let password = if *generate {
                None
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            };
            let cost = tern_server::auth::Argon2Cost {
                memory_kib: args.argon2_memory_kib,
                iterations: args.argon2_iterations,
            };
            let (password, revoked) =
                tern_server::admin::reset_password(db, store, user, password, cost)?;
            if *generate {
                println!("{password}");
            }
            eprintln!("password of {user} set; {revoked} session(s) signed out");
            return Ok(());
        }
        None => {}
    }
    let runtime = if args.worker_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.worker_threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(serve(args))
}

/// `TERN_LOG` (default `info`), with the WebSocket, HTTP and PostgreSQL libraries capped at
/// `info` whatever it says: at `debug`/`trace` they print frame payloads (message bodies),
/// request headers (bearer tokens) and query parameters (bodies, token hashes), which must
/// never reach a log.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for cap in [
        "tungstenite=info",
        "tokio_tungstenite=info",
        "axum=info",
        "hyper=info",
        "hyper_util=info",
        "h2=info",
        "rustls=info",
        "tokio_rustls=info",
        "tower=info",
        "tower_http=info",
        "tokio_postgres=info",
        "postgres=info",
        "postgres_protocol=info",
    ] {
        filter = filter.add_directive(cap.parse().expect("static directive"));
    }
    filter
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let filter = log_filter();
    if args.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    let tls = args.tls_cert.is_some();
    if !tls && !args.listen.ip().is_loopback() && !args.allow_plain_public {
        anyhow::bail!(
            "refusing to listen on {} without TLS: passwords and tokens would cross the network \
             in clear. Give --tls-cert/--tls-key, listen on loopback behind a TLS proxy, or pass \
             --allow-plain-public if a TLS proxy on a private network fronts this address",
            args.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    // Print the bound addresses on stdout (useful with port 0).
    println!("listening on {}", listener.local_addr()?);
    let metrics = match args.metrics_listen.as_str() {
        "off" | "" => None,
        addr => {
            let addr: SocketAddr = addr
                .parse()
                .map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: {e}"))?;
            let l = tokio::net::TcpListener::bind(addr).await?;
            println!("metrics on {}", l.local_addr()?);
            Some(l)
        }
    };
    let listeners = tern_server::Listeners {
        main: listener,
        metrics,
    };
    tern_server::serve(listeners, args.into_config(), shutdown_signal()).await?;
    Ok(())
}
