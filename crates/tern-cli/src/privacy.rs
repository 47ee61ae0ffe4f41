//! Privacy and account security commands: block, unblock, blocked, privacy, accept, hide,
//! password, sessions, revoke-session, delete-account.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;
use tern_proto::{ConversationId, SessionId};

use clap::Subcommand;
use tern_client::{Client, PresenceVisibility};

use crate::output::{self, Output};
use crate::{resume, wait_online, Cli};

/// The privacy and account commands.
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Block a user: they cannot message you directly, add you to groups or see your
    /// presence (they are not told).
    Block { username: String },
    /// Lift a block.
    Unblock { username: String },
    /// List the users you block.
    Blocked,
    /// Show privacy settings, or change them.
    Privacy {
        /// Who sees when you are online and when you were last seen.
        #[arg(long, value_parser = ["contacts", "nobody"])]
        presence: Option<String>,
        /// Send read receipts (off also hides others' from you).
        #[arg(long, value_parser = ["on", "off"])]
        read_receipts: Option<String>,
        /// Whether photos sent from this device keep where they were taken (EXIF GPS, XMP).
        /// Removed unless set to keep; a setting of this device only.
        #[arg(long, value_parser = ["remove", "keep"])]
        photo_location: Option<String>,
    },
    /// Accept a message request.
    Accept { conversation: ConversationId },
    /// Hide a conversation on this device until a new message arrives in it.
    Hide {
        conversation: ConversationId,
        /// Also delete its messages on this device (other devices and members keep them).
        #[arg(long)]
        delete_messages: bool,
    },
    /// Change your password; every other device is signed out. The old password comes from
    /// TERN_PASSWORD or the first line of stdin, the new one from TERN_NEW_PASSWORD or the
    /// next line.
    Password,
    /// List the devices signed in to your account.
    Sessions,
    /// Sign out one of your devices (an id from `tern sessions`).
    RevokeSession { session: SessionId },
    /// Delete your account: every device is signed out, you leave every conversation, your
    /// messages stay for the others as "Deleted account", and this device's copy is removed.
    /// The password comes from TERN_PASSWORD or the first line of stdin.
    DeleteAccount {
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// Run one of the commands.
pub async fn run(cli: &Cli, out: &Output, cmd: &PrivacyCommand) -> anyhow::Result<ExitCode> {
    if let PrivacyCommand::DeleteAccount { yes } = cmd {
        if !yes {
            anyhow::bail!("deleting an account cannot be undone; add --yes to confirm");
        }
        let client = resume(cli).await?;
        let mut events = client.subscribe();
        wait_online(&client, &mut events, Duration::from_secs(15)).await?;
        let password = crate::password()?;
        client.delete_account(&password).await?;
        std::fs::remove_file(crate::last_user_file(cli)).ok();
        out.show(&serde_json::json!({"deleted": true}), || {
            "account deleted".into()
        });
        return Ok(ExitCode::SUCCESS);
    }
    let client = resume(cli).await?;
    let result = match cmd {
        PrivacyCommand::Hide {
            conversation,
            delete_messages,
        } => {
            if *delete_messages {
                client.delete_chat(*conversation).await?;
            } else {
                client.hide_conversation(*conversation).await?;
            }
            out.show(&serde_json::json!({"hidden": conversation}), || {
                format!("conversation {conversation} hidden until a new message")
            });
            Ok(ExitCode::SUCCESS)
        }
        PrivacyCommand::Blocked => {
            for p in client.privacy().await?.blocked {
                out.show(&p, || p.username.clone());
            }
            Ok(ExitCode::SUCCESS)
        }
        online => {
            let mut events = client.subscribe();
            wait_online(&client, &mut events, Duration::from_secs(15)).await?;
            run_online(&client, out, online).await
        }
    };
    client.shutdown().await;
    result
}

async fn run_online(
    client: &Client,
    out: &Output,
    cmd: &PrivacyCommand,
) -> anyhow::Result<ExitCode> {
    match cmd {
        PrivacyCommand::Block { username } => {
            client.block(username).await?;
            out.show(&serde_json::json!({"blocked": username}), || {
                format!("{username} blocked")
            });
        }
        PrivacyCommand::Unblock { username } => {
            client.unblock(username).await?;
            out.show(&serde_json::json!({"unblocked": username}), || {
                format!("{username} unblocked")
            });
        }
        PrivacyCommand::Privacy {
            presence,
            read_receipts,
            photo_location,
        } => {
            if let Some(choice) = photo_location {
                client.set_keeps_photo_location(choice == "keep").await?;
            }
            let keeps_location = client.keeps_photo_location().await?;
            let presence = presence.as_deref().map(|p| {
                if p == "nobody" {
                    PresenceVisibility::Nobody
                } else {
                    PresenceVisibility::Contacts
                }
            });
            let receipts = read_receipts.as_deref().map(|r| r == "on");
            if presence.is_some() || receipts.is_some() {
                client.set_privacy(presence, receipts).await?;
                wait_for_privacy(client, presence, receipts).await?;
            }
            let p = client.privacy().await?;
            let mut shown = serde_json::to_value(&p)?;
            shown["photo_location"] = if keeps_location { "keep" } else { "remove" }.into();
            out.show(&shown, || {
                format!(
                    "presence: {}; read receipts: {}; blocked: {}; photo location: {}",
                    p.presence.as_str(),
                    if p.read_receipts { "on" } else { "off" },
                    p.blocked.len(),
                    if keeps_location { "kept" } else { "removed" }
                )
            });
        }
        PrivacyCommand::Accept { conversation } => {
            let c = client.accept_request(*conversation).await?;
            out.show(&c, || output::conversation(&c));
        }
        PrivacyCommand::Password => {
            let (old, new) = passwords()?;
            client.change_password(&old, &new).await?;
            out.show(&serde_json::json!({"password_changed": true}), || {
                "password changed; your other devices are signed out".into()
            });
        }
        PrivacyCommand::Sessions => {
            for s in client.sessions().await? {
                out.show(&s, || {
                    format!(
                        "{}  {}{}  signed in {}  last seen {}",
                        s.session_id,
                        s.device_name,
                        if s.current { " (this device)" } else { "" },
                        output::time(s.created_at),
                        s.last_seen_at
                            .map(output::time)
                            .unwrap_or_else(|| "never".into()),
                    )
                });
            }
        }
        PrivacyCommand::RevokeSession { session } => {
            client.revoke_session(*session).await?;
            out.show(&serde_json::json!({"revoked": session}), || {
                format!("session {session} signed out")
            });
        }
        PrivacyCommand::Hide { .. }
        | PrivacyCommand::Blocked
        | PrivacyCommand::DeleteAccount { .. } => unreachable!("handled in run"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The settings come back as a push; wait for it so the printed state is the new one.
async fn wait_for_privacy(
    client: &Client,
    presence: Option<PresenceVisibility>,
    receipts: Option<bool>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let p = client.privacy().await?;
        if presence.is_none_or(|v| v == p.presence) && receipts.is_none_or(|r| r == p.read_receipts)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the relay did not confirm the new settings");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The old and the new password: from the environment, else two lines of stdin.
fn passwords() -> anyhow::Result<(String, String)> {
    let mut lines = std::io::stdin().lock().lines();
    let mut next = |var: &str| -> anyhow::Result<String> {
        if let Ok(p) = std::env::var(var) {
            return Ok(p);
        }
        Ok(lines.next().transpose()?.unwrap_or_default())
    };
    let old = next("TERN_PASSWORD")?;
    let new = next("TERN_NEW_PASSWORD")?;
    Ok((old, new))
}
