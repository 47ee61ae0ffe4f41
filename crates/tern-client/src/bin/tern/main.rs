//! `tern`: a command-line Tern client on the same engine as the desktop app, for scripting and
//! debugging. It keeps its own cache and outbox; the token lives in the OS keychain.
//!
//! Output is JSON (one object per line), so scripts and tests can read it.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tern_client::{Client, ClientConfig, ConnectionState, Event, MessageStatus};

/// Tern command-line client.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Relay URL.
    #[arg(long, env = "TERN_RELAY", default_value = "http://127.0.0.1:7878")]
    relay: String,
    /// Folder for the local cache.
    #[arg(long, env = "TERN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Account to act as (defaults to the last one logged in).
    #[arg(long, env = "TERN_USER")]
    user: Option<String>,
    /// Seconds of silence before the link is considered dead.
    #[arg(long, env = "TERN_HEARTBEAT_TIMEOUT_SECS")]
    heartbeat_timeout_secs: Option<f64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an account (password from TERN_PASSWORD or the first line of stdin).
    Register { username: String },
    /// Log in and keep the token in the OS keychain.
    Login { username: String },
    /// Log out (this device, or every device with --all).
    Logout {
        #[arg(long)]
        all: bool,
    },
    /// Start (or find) a direct conversation; prints it.
    Direct { username: String },
    /// Create a group.
    Group { name: String, members: Vec<String> },
    /// Send a message to a conversation id or `@username`; waits until the relay stored it.
    Send {
        to: String,
        text: Vec<String>,
        /// Seconds to wait for the relay; on timeout the message stays queued (exit code 3).
        #[arg(long, default_value_t = 10.0)]
        wait: f64,
    },
    /// List conversations from the cache.
    Conversations,
    /// Show a conversation's messages from the cache.
    History {
        conversation: i64,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Search cached messages.
    Search { query: Vec<String> },
    /// Mark a conversation read up to a sequence number.
    Read { conversation: i64, seq: u64 },
    /// Print events as JSON lines.
    Listen {
        /// Stop after this many seconds.
        #[arg(long = "for")]
        duration: Option<f64>,
        /// Stop once synced with an empty outbox.
        #[arg(long)]
        until_sent: bool,
    },
}

fn data_dir(cli: &Cli) -> PathBuf {
    cli.data_dir.clone().unwrap_or_else(|| {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("tern-cli")
    })
}

fn config(cli: &Cli) -> ClientConfig {
    let mut c = ClientConfig::new(&cli.relay, data_dir(cli));
    c.device_name = "tern cli".into();
    if let Some(t) = cli.heartbeat_timeout_secs {
        c.timing.heartbeat_timeout = Duration::from_secs_f64(t);
        c.timing.heartbeat_interval = Duration::from_secs_f64(t / 3.0);
    }
    c
}

fn password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("TERN_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn print(v: impl serde::Serialize) {
    println!("{}", serde_json::to_string(&v).expect("serializable"));
}

fn last_user_file(cli: &Cli) -> PathBuf {
    data_dir(cli).join("last-user")
}

async fn resume(cli: &Cli) -> anyhow::Result<Client> {
    let user = match &cli.user {
        Some(u) => u.clone(),
        None => std::fs::read_to_string(last_user_file(cli))
            .context("no account given (--user) and none logged in before")?
            .trim()
            .to_owned(),
    };
    Ok(Client::resume(config(cli), &user).await?)
}

async fn wait_online(
    client: &Client,
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    while client.connection_state() != ConnectionState::Online {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => bail!("could not reach the relay"),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => bail!("client stopped"),
            Ok(_) => {}
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match &cli.command {
        Command::Register { username } => {
            Client::register(&config(&cli), username, &password()?).await?;
            print(serde_json::json!({"registered": username}));
        }
        Command::Login { username } => {
            let client = Client::login(config(&cli), username, &password()?).await?;
            std::fs::create_dir_all(data_dir(&cli))?;
            std::fs::write(last_user_file(&cli), client.username())?;
            print(serde_json::json!({"logged_in": client.username(), "user_id": client.user_id()}));
            client.shutdown().await;
        }
        Command::Logout { all } => {
            let client = resume(&cli).await?;
            let name = client.username().to_owned();
            client.logout(*all).await?;
            print(serde_json::json!({"logged_out": name, "everywhere": all}));
        }
        Command::Direct { username } => {
            let client = resume(&cli).await?;
            let mut events = client.subscribe();
            wait_online(&client, &mut events, Duration::from_secs(15)).await?;
            print(client.start_direct(username).await?);
            client.shutdown().await;
        }
        Command::Group { name, members } => {
            let client = resume(&cli).await?;
            let mut events = client.subscribe();
            wait_online(&client, &mut events, Duration::from_secs(15)).await?;
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            print(client.create_group(name, &members).await?);
            client.shutdown().await;
        }
        Command::Send { to, text, wait } => {
            let client = resume(&cli).await?;
            let mut events = client.subscribe();
            let conv = match to.strip_prefix('@') {
                Some(user) => {
                    wait_online(&client, &mut events, Duration::from_secs_f64(*wait)).await?;
                    client.start_direct(user).await?.conversation_id
                }
                None => to
                    .parse()
                    .context("send to a conversation id or @username")?,
            };
            let echo = client.send(conv, &text.join(" ")).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(*wait);
            let status = loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) => break MessageStatus::Queued,
                    Ok(Ok(Event::Status {
                        client_id, status, ..
                    })) if client_id == echo.client_id => break status,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                        break MessageStatus::Queued
                    }
                    Ok(_) => {}
                }
            };
            print(
                serde_json::json!({"conversation_id": conv, "client_id": echo.client_id, "status": status}),
            );
            client.shutdown().await;
            match status {
                MessageStatus::Queued => std::process::exit(3),
                MessageStatus::Failed { .. } => std::process::exit(4),
                _ => {}
            }
        }
        Command::Conversations => {
            let client = resume(&cli).await?;
            for c in client.conversations().await? {
                print(c);
            }
            client.shutdown().await;
        }
        Command::History {
            conversation,
            limit,
        } => {
            let client = resume(&cli).await?;
            for m in client.messages(*conversation, None, *limit).await? {
                print(m);
            }
            client.shutdown().await;
        }
        Command::Search { query } => {
            let client = resume(&cli).await?;
            for m in client.search(&query.join(" "), 100).await? {
                print(m);
            }
            client.shutdown().await;
        }
        Command::Read { conversation, seq } => {
            let client = resume(&cli).await?;
            let mut events = client.subscribe();
            client.mark_read(*conversation, *seq).await?;
            wait_online(&client, &mut events, Duration::from_secs(15)).await?;
            // Give the marker a moment to be acknowledged before closing.
            tokio::time::sleep(Duration::from_millis(300)).await;
            client.shutdown().await;
        }
        Command::Listen {
            duration,
            until_sent,
        } => {
            let client = resume(&cli).await?;
            let mut events = client.subscribe();
            // With --until-sent: what was queued at start must each reach a final status.
            let mut waiting: std::collections::HashSet<String> =
                client.unsent_ids().await?.into_iter().collect();
            let deadline =
                duration.map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d));
            loop {
                if *until_sent
                    && waiting.is_empty()
                    && client.connection_state() == ConnectionState::Online
                {
                    break;
                }
                let next = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, events.recv()).await {
                        Ok(e) => e,
                        Err(_) => break,
                    },
                    None => events.recv().await,
                };
                match next {
                    Ok(event) => {
                        if let Event::Status {
                            client_id, status, ..
                        } = &event
                        {
                            if !matches!(status, MessageStatus::Queued) {
                                waiting.remove(client_id);
                            }
                        }
                        print(event);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        print(serde_json::json!({"event": "lagged", "missed": n}));
                        // Missed events: fall back to the cache.
                        let left: std::collections::HashSet<String> =
                            client.unsent_ids().await?.into_iter().collect();
                        waiting.retain(|id| left.contains(id));
                    }
                    Err(_) => break,
                }
            }
            client.shutdown().await;
            if *until_sent && !waiting.is_empty() {
                std::process::exit(3);
            }
        }
    }
    Ok(())
}
