//! `tern`: a command-line Tern client on the same engine as the desktop app, for scripting and
//! debugging. It keeps its own cache and outbox; the token lives in the OS keychain.
//!
//! Output is human-readable lines by default; `--json` prints one JSON object per line for
//! scripts and tests ([`output`]). A failure prints one `error: …` line on stderr and exits
//! non-zero (1; `send` uses 3 for "still queued" and 4 for "refused").

mod output;
mod privacy;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tern_proto::{ConversationId, Seq};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tern_client::{
    private_fs, ClearText, Client, ClientConfig, ConnectionState, Event, MessageStatus,
    RelayAddress,
};

use crate::output::{Output, Sent};

/// Tern command-line client.
#[derive(Debug, Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// Relay address: `https://host[:port]` (the default when no scheme is given), or
    /// `http://` for a relay on this machine.
    #[arg(long, env = "TERN_RELAY", default_value = "http://127.0.0.1:7878")]
    relay: String,
    /// Accept an unencrypted `http://` relay on another machine: the password, session token
    /// and messages then cross the network readable by anyone on the path.
    #[arg(
        long,
        global = true,
        env = "TERN_ALLOW_INSECURE_RELAY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    allow_insecure_relay: bool,
    /// Print one JSON object per line instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
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
        /// Reply to the message with this sequence number.
        #[arg(long)]
        reply_to: Option<Seq>,
    },
    /// Send a file (to a conversation id or `@username`), with an optional caption; waits
    /// until the relay stored the message (exit 3: still uploading or queued).
    SendFile {
        to: String,
        path: PathBuf,
        caption: Vec<String>,
        /// Seconds to wait for the upload and the relay.
        #[arg(long, default_value_t = 120.0)]
        wait: f64,
    },
    /// Download the file attached to a message (resumes a partial download); prints where.
    Download {
        conversation: ConversationId,
        seq: Seq,
        /// Copy it here as well.
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Replace the text of one of your messages.
    Edit {
        conversation: ConversationId,
        seq: Seq,
        text: Vec<String>,
        /// Seconds to wait for the relay (exit code 3 if it stays queued).
        #[arg(long, default_value_t = 10.0)]
        wait: f64,
    },
    /// Delete a message for everyone (yours, or any in a group you administer), or with
    /// --for-me only on this device.
    Delete {
        conversation: ConversationId,
        seq: Seq,
        #[arg(long)]
        for_me: bool,
        /// Seconds to wait for the relay (exit code 3 if it stays queued).
        #[arg(long, default_value_t = 10.0)]
        wait: f64,
    },
    /// Toggle your reaction to a message.
    React {
        conversation: ConversationId,
        seq: Seq,
        emoji: String,
        /// Seconds to wait for the relay (exit code 3 if it stays queued).
        #[arg(long, default_value_t = 10.0)]
        wait: f64,
    },
    /// Set the name others see instead of your username (blank clears it) and/or your picture.
    Profile {
        #[arg(long)]
        display_name: Option<String>,
        /// Your picture, from an image file: cropped to the centre square and scaled; its
        /// location and other metadata are not sent.
        #[arg(long, conflicts_with = "remove_avatar")]
        avatar: Option<PathBuf>,
        /// Remove your picture.
        #[arg(long)]
        remove_avatar: bool,
    },
    /// Set a group's picture from an image file, or remove it (any member may).
    GroupAvatar {
        conversation: ConversationId,
        /// The image; without it, the picture is removed.
        image: Option<PathBuf>,
    },
    /// Find people: your contacts by username prefix or display name, anyone by exact username.
    Find { query: Vec<String> },
    /// List conversations from the cache.
    Conversations,
    /// Show a conversation's messages from the cache.
    History {
        conversation: ConversationId,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Search cached messages.
    Search { query: Vec<String> },
    /// Mark a conversation read up to a sequence number.
    Read {
        conversation: ConversationId,
        seq: Seq,
    },
    #[command(flatten)]
    Privacy(privacy::PrivacyCommand),
    /// Print events as they happen (JSON lines with --json).
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

fn config(cli: &Cli) -> anyhow::Result<ClientConfig> {
    let clear_text = if cli.allow_insecure_relay {
        ClearText::Allow
    } else {
        ClearText::LoopbackOnly
    };
    let relay = RelayAddress::parse(&cli.relay, clear_text)?;
    let mut c = ClientConfig::new(relay, data_dir(cli));
    c.device_name = "tern cli".into();
    if let Some(t) = cli.heartbeat_timeout_secs {
        c.timing.heartbeat_timeout = Duration::from_secs_f64(t);
        c.timing.heartbeat_interval = Duration::from_secs_f64(t / 3.0);
    }
    Ok(c)
}

pub(crate) fn password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("TERN_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub(crate) fn last_user_file(cli: &Cli) -> PathBuf {
    data_dir(cli).join("last-user")
}

pub(crate) async fn resume(cli: &Cli) -> anyhow::Result<Client> {
    let user = match &cli.user {
        Some(u) => u.clone(),
        None => std::fs::read_to_string(last_user_file(cli))
            .map_err(|_| {
                anyhow::anyhow!("not logged in here: run `tern login <username>` or pass --user")
            })?
            .trim()
            .to_owned(),
    };
    Ok(Client::resume(config(cli)?, &user).await?)
}

pub(crate) async fn wait_online(
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
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tern_client::logging::init("warn");
    match run(&cli).await {
        Ok(code) => code,
        Err(e) => {
            // One line: the message and its causes, no debug dump.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let out = Output { json: cli.json };
    match &cli.command {
        Command::Register { username } => register(cli, &out, username).await,
        Command::Login { username } => login(cli, &out, username).await,
        Command::Logout { all } => logout(cli, &out, all).await,
        Command::Direct { username } => direct(cli, &out, username).await,
        Command::Group { name, members } => group(cli, &out, name, members).await,
        Command::Send {
            to,
            text,
            wait,
            reply_to,
        } => send(cli, &out, to, text, wait, *reply_to).await,
        Command::SendFile {
            to,
            path,
            caption,
            wait,
        } => send_file(cli, &out, to, path, &caption.join(" "), *wait).await,
        Command::Download {
            conversation,
            seq,
            to,
        } => download(cli, &out, *conversation, *seq, to.as_deref()).await,
        Command::Edit {
            conversation,
            seq,
            text,
            wait,
        } => {
            act(
                cli,
                &out,
                *conversation,
                *seq,
                Action::Edit(text.join(" ")),
                *wait,
            )
            .await
        }
        Command::Delete {
            conversation,
            seq,
            for_me,
            wait,
        } => {
            let action = if *for_me {
                Action::DeleteForMe
            } else {
                Action::Delete
            };
            act(cli, &out, *conversation, *seq, action, *wait).await
        }
        Command::React {
            conversation,
            seq,
            emoji,
            wait,
        } => {
            act(
                cli,
                &out,
                *conversation,
                *seq,
                Action::React(emoji.clone()),
                *wait,
            )
            .await
        }
        Command::Profile {
            display_name,
            avatar,
            remove_avatar,
        } => {
            let avatar = match (avatar, remove_avatar) {
                (Some(path), _) => Some(Some(path.as_path())),
                (None, true) => Some(None),
                (None, false) => None,
            };
            profile(cli, &out, display_name.as_deref(), avatar).await
        }
        Command::GroupAvatar {
            conversation,
            image,
        } => group_avatar(cli, &out, *conversation, image.as_deref()).await,
        Command::Find { query } => find(cli, &out, &query.join(" ")).await,
        Command::Conversations => conversations(cli, &out).await,
        Command::Privacy(cmd) => privacy::run(cli, &out, cmd).await,
        Command::History {
            conversation,
            limit,
        } => history(cli, &out, conversation, limit).await,
        Command::Search { query } => search(cli, &out, query).await,
        Command::Read { conversation, seq } => read(cli, &out, conversation, seq).await,
        Command::Listen {
            duration,
            until_sent,
        } => listen(cli, &out, duration, until_sent).await,
    }
}

async fn register(cli: &Cli, out: &Output, username: &str) -> anyhow::Result<ExitCode> {
    Client::register(&config(cli)?, username, &password()?).await?;
    out.show(&serde_json::json!({"registered": username}), || {
        format!("registered {username}")
    });
    Ok(ExitCode::SUCCESS)
}

async fn login(cli: &Cli, out: &Output, username: &str) -> anyhow::Result<ExitCode> {
    let client = Client::login(config(cli)?, username, &password()?).await?;
    private_fs::create_dir(&data_dir(cli))?;
    private_fs::write_file(&last_user_file(cli), client.username().as_bytes())?;
    out.show(
        &serde_json::json!({"logged_in": client.username(), "user_id": client.user_id()}),
        || {
            format!(
                "logged in as {} (user {})",
                client.username(),
                client.user_id()
            )
        },
    );
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn logout(cli: &Cli, out: &Output, all: &bool) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let name = client.username().to_owned();
    client.logout(*all).await?;
    out.show(
        &serde_json::json!({"logged_out": name, "everywhere": all}),
        || {
            if *all {
                format!("logged out {name} on every device")
            } else {
                format!("logged out {name}")
            }
        },
    );
    Ok(ExitCode::SUCCESS)
}

async fn direct(cli: &Cli, out: &Output, username: &str) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    let conv = client.start_direct(username).await?;
    out.show(&conv, || output::conversation(&conv));
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn group(
    cli: &Cli,
    out: &Output,
    name: &str,
    members: &[String],
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let conv = client.create_group(name, &members).await?;
    out.show(&conv, || output::conversation(&conv));
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn send(
    cli: &Cli,
    out: &Output,
    to: &str,
    text: &[String],
    wait: &f64,
    reply_to: Option<Seq>,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
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
    let echo = client.send_text(conv, &text.join(" "), reply_to).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(*wait);
    let (seq, status) = loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => break (None, MessageStatus::Queued),
            Ok(Ok(Event::Status {
                client_id,
                seq,
                status,
                ..
            })) if client_id == echo.client_id => break (seq, status),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                break (None, MessageStatus::Queued)
            }
            Ok(_) => {}
        }
    };
    let result = Sent {
        conversation_id: conv,
        client_id: echo.client_id,
        seq,
        status,
    };
    out.show(&result, || output::sent(&result, *wait));
    client.shutdown().await;
    match result.status {
        MessageStatus::Queued => return Ok(ExitCode::from(3)),
        MessageStatus::Failed { .. } => return Ok(ExitCode::from(4)),
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The conversation `to` names: an id, or `@username` (found or started online).
async fn target(
    client: &Client,
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    to: &str,
    wait: f64,
) -> anyhow::Result<ConversationId> {
    Ok(match to.strip_prefix('@') {
        Some(user) => {
            wait_online(client, events, Duration::from_secs_f64(wait)).await?;
            client.start_direct(user).await?.conversation_id
        }
        None => to
            .parse()
            .context("send to a conversation id or @username")?,
    })
}

async fn send_file(
    cli: &Cli,
    out: &Output,
    to: &str,
    path: &std::path::Path,
    caption: &str,
    wait: f64,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    let conv = target(&client, &mut events, to, wait).await?;
    let echo = client.send_file(conv, path, caption, None).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(wait);
    let (seq, status) = loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                break (None, MessageStatus::Queued)
            }
            Ok(Ok(Event::Status {
                client_id,
                seq,
                status,
                ..
            })) if client_id == echo.client_id => break (seq, status),
            Ok(Ok(Event::Transfer {
                client_id,
                done,
                total,
                ..
            })) if client_id == echo.client_id && !out.json => {
                eprint!("\ruploading… {}%", done * 100 / total.max(1));
            }
            Ok(_) => {}
        }
    };
    if !out.json {
        eprintln!();
    }
    let result = Sent {
        conversation_id: conv,
        client_id: echo.client_id,
        seq,
        status,
    };
    out.show(&result, || output::sent(&result, wait));
    client.shutdown().await;
    Ok(match result.status {
        MessageStatus::Queued => ExitCode::from(3),
        MessageStatus::Failed { .. } => ExitCode::from(4),
        _ => ExitCode::SUCCESS,
    })
}

async fn download(
    cli: &Cli,
    out: &Output,
    conversation: ConversationId,
    seq: Seq,
    to: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    let mut path = client.download(conversation, seq).await?;
    if let Some(dest) = to {
        std::fs::copy(&path, dest)?;
        path = dest.to_owned();
    }
    let shown = path.display().to_string();
    out.show(&serde_json::json!({"path": shown}), || shown.clone());
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// What `tern edit`, `tern delete` and `tern react` do to a message.
enum Action {
    Edit(String),
    Delete,
    DeleteForMe,
    React(String),
}

/// Act on a message, then wait (up to `wait` seconds) until the relay has it: prints the
/// message as it then shows. Exit code 3 if it is still queued, 4 if the relay refused it.
async fn act(
    cli: &Cli,
    out: &Output,
    conv: ConversationId,
    seq: Seq,
    action: Action,
    wait: f64,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    let mut shown = match action {
        Action::Edit(text) => client.edit(conv, seq, &text).await?,
        Action::Delete => client.delete_for_everyone(conv, seq).await?,
        Action::React(emoji) => client.react(conv, seq, &emoji).await?,
        Action::DeleteForMe => {
            client.delete_for_me(conv, seq).await?;
            out.show(
                &serde_json::json!({"conversation_id": conv, "seq": seq, "hidden": true}),
                || format!("#{seq} deleted on this device"),
            );
            client.shutdown().await;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(wait);
    let mut code = ExitCode::SUCCESS;
    while client.unsent().await? > 0 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                eprintln!("queued: the relay did not confirm in time; it goes out later");
                code = ExitCode::from(3);
                break;
            }
            Ok(Ok(Event::MessageChanged { message, .. })) if message.seq == Some(seq) => {
                shown = message;
            }
            Ok(Ok(Event::ActionRefused { reason, seq: s, .. })) if s == seq => {
                eprintln!("refused: {reason}");
                code = ExitCode::from(4);
            }
            Ok(_) => {}
        }
    }
    out.show(&shown, || output::message(&shown));
    client.shutdown().await;
    Ok(code)
}

/// `avatar`: `None` leaves the picture, `Some(None)` removes it, `Some(Some(path))` sets it.
async fn profile(
    cli: &Cli,
    out: &Output,
    display_name: Option<&str>,
    avatar: Option<Option<&Path>>,
) -> anyhow::Result<ExitCode> {
    if display_name.is_none() && avatar.is_none() {
        anyhow::bail!("nothing to change: give --display-name, --avatar or --remove-avatar");
    }
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    if let Some(display_name) = display_name {
        client.set_display_name(Some(display_name)).await?;
        let name = display_name.trim();
        out.show(&serde_json::json!({"display_name": name}), || {
            if name.is_empty() {
                "display name cleared".into()
            } else {
                format!("display name set to {name:?}")
            }
        });
    }
    if let Some(path) = avatar {
        client.set_avatar(path).await?;
        out.show(&serde_json::json!({"avatar": path.is_some()}), || {
            if path.is_some() {
                "picture set"
            } else {
                "picture removed"
            }
            .into()
        });
    }
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn group_avatar(
    cli: &Cli,
    out: &Output,
    conversation: ConversationId,
    image: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    client.set_group_avatar(conversation, image).await?;
    out.show(
        &serde_json::json!({"conversation_id": conversation, "avatar": image.is_some()}),
        || {
            if image.is_some() {
                "group picture set"
            } else {
                "group picture removed"
            }
            .into()
        },
    );
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn find(cli: &Cli, out: &Output, query: &str) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    for p in client.find_people(query).await? {
        out.show(&p, || match &p.display_name {
            Some(d) => format!("{}  ({d})", p.username),
            None => p.username.clone(),
        });
    }
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn conversations(cli: &Cli, out: &Output) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    for c in client.conversations().await? {
        out.show(&c, || output::conversation_view(&c));
    }
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn history(
    cli: &Cli,
    out: &Output,
    conversation: &ConversationId,
    limit: &usize,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    for m in client.messages(*conversation, None, *limit).await? {
        out.show(&m, || output::message(&m));
    }
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn search(cli: &Cli, out: &Output, query: &[String]) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    for m in client.search(&query.join(" "), 100).await? {
        out.show(&m, || output::message(&m));
    }
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn read(
    cli: &Cli,
    _out: &Output,
    conversation: &ConversationId,
    seq: &Seq,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    client.mark_read(*conversation, *seq).await?;
    wait_online(&client, &mut events, Duration::from_secs(15)).await?;
    // Give the marker a moment to be acknowledged before closing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn listen(
    cli: &Cli,
    out: &Output,
    duration: &Option<f64>,
    until_sent: &bool,
) -> anyhow::Result<ExitCode> {
    let client = resume(cli).await?;
    let mut events = client.subscribe();
    // With --until-sent: what was queued at start must each reach a final status.
    let mut waiting: std::collections::HashSet<String> =
        client.unsent_ids().await?.into_iter().collect();
    let deadline = duration.map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d));
    loop {
        if *until_sent && waiting.is_empty() && client.connection_state() == ConnectionState::Online
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
                out.show(&event, || output::event(&event));
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                out.show(&serde_json::json!({"event": "lagged", "missed": n}), || {
                    format!("missed {n} events; re-reading the outbox")
                });
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
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
