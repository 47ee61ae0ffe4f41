//! What the `tern` CLI prints: one line per item, human-readable by default, or one JSON object
//! per line with `--json` (for scripts and tests).
//!
//! Every command's JSON has one shape for a message status: flat, as in `history` and `listen`
//! (`"status": "sent"`, plus `"reason"` when failed), never nested.

use serde::Serialize;
use tern_client::{ChatMessage, ConnectionState, ConversationView, Event, MessageStatus};
use tern_proto::{ConversationId, ConversationInfo, ConversationKind, Seq, Timestamp};

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON object per line instead of text.
    pub json: bool,
}

impl Output {
    /// Print `value` as JSON, or `text()` as a line of text.
    pub fn show(&self, value: &impl Serialize, text: impl FnOnce() -> String) {
        if self.json {
            println!("{}", serde_json::to_string(value).expect("serializable"));
        } else {
            println!("{}", text());
        }
    }
}

/// The outcome of `tern send`.
#[derive(Debug, Serialize)]
pub struct Sent {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The message's client id.
    pub client_id: String,
    /// Sequence once the relay stored it.
    pub seq: Option<Seq>,
    /// Where the message stands (flat, like `history` and `listen`).
    #[serde(flatten)]
    pub status: MessageStatus,
}

/// `sent to conversation 3 (#12)`, `queued: …`.
pub fn sent(s: &Sent, waited_secs: f64) -> String {
    match &s.status {
        MessageStatus::Queued => format!(
            "queued: the relay did not confirm within {waited_secs}s; the message stays in the \
             outbox and goes out on the next `tern send` or `tern listen`"
        ),
        MessageStatus::Failed { reason } => format!("failed: {reason}"),
        other => format!(
            "{} to conversation {}{}",
            status_word(other),
            s.conversation_id,
            s.seq.map(|q| format!(" (#{q})")).unwrap_or_default()
        ),
    }
}

/// One word for a status.
pub fn status_word(s: &MessageStatus) -> &'static str {
    match s {
        MessageStatus::Queued => "queued",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Read => "read",
        MessageStatus::Failed { .. } => "failed",
        MessageStatus::Received => "received",
    }
}

/// `#12 2026-11-26 12:00 alice: hello [read]`, with `↪ #3` before the text of a reply,
/// `(edited)` after an edited text, `(message deleted)` for a tombstone and `👍 2` per
/// reaction.
pub fn message(m: &ChatMessage) -> String {
    let seq = m.seq.map(|s| format!("#{s}")).unwrap_or_else(|| "-".into());
    let status = match &m.status {
        MessageStatus::Received => String::new(),
        MessageStatus::Failed { reason } => format!(" [failed: {reason}]"),
        other => format!(" [{}]", status_word(other)),
    };
    let reply = m
        .reply_to
        .as_ref()
        .map(|q| format!("↪ #{} ", q.seq))
        .unwrap_or_default();
    if let Some(notice) = &m.notice {
        return format!(
            "{seq} {} [{}] * {}",
            time(m.sent_at),
            m.conversation_id,
            tern_client::notices::notice_text(&m.sender_name, notice)
        );
    }
    let body = if m.deleted {
        "(message deleted)".to_owned()
    } else if m.edited {
        format!("{} (edited)", m.body)
    } else {
        m.body.clone()
    };
    let file = m
        .attachment
        .as_ref()
        .map(|a| format!(" [file {} ({} bytes)]", a.name, a.size))
        .unwrap_or_default();
    let reactions: String = m
        .reactions
        .iter()
        .map(|r| format!(" {} {}", r.emoji, r.count))
        .collect();
    format!(
        "{seq} {} [{}] {}: {reply}{body}{file}{status}{reactions}",
        time(m.sent_at),
        m.conversation_id,
        m.sender,
    )
}

/// `3  direct with bob` or `4  group "team" (alice, bob)`.
pub fn conversation(c: &ConversationInfo) -> String {
    let names: Vec<&str> = c.members.iter().map(|m| m.username.as_str()).collect();
    match c.kind {
        ConversationKind::Direct => format!("{}  direct: {}", c.conversation_id, names.join(", ")),
        ConversationKind::Group | ConversationKind::Other => format!(
            "{}  group {:?} ({})",
            c.conversation_id,
            c.name.as_deref().unwrap_or(""),
            names.join(", ")
        ),
    }
}

/// A conversation as listed, with its unread count and newest message.
pub fn conversation_view(v: &ConversationView) -> String {
    let mut line = format!("{}  {}", v.info.conversation_id, v.title);
    if v.online == Some(true) {
        line.push_str(" (online)");
    }
    if v.request {
        line.push_str(" (message request)");
    }
    if v.unread > 0 {
        line.push_str(&format!("  {} unread", v.unread));
    }
    if let Some(m) = &v.last_message {
        line.push_str(&format!("  — {}: {}", m.sender, m.body));
    }
    line
}

/// One event of `tern listen`.
pub fn event(e: &Event) -> String {
    match e {
        Event::Connection { state } => match state {
            ConnectionState::Connecting => "connecting…".into(),
            ConnectionState::Syncing => "syncing…".into(),
            ConnectionState::Online => "online".into(),
            ConnectionState::Offline { retry_at, reason } => {
                format!("offline ({reason}); retrying at {}", time(*retry_at))
            }
            ConnectionState::SignedOut { reason } => format!("signed out: {reason}"),
        },
        Event::SyncProgress { messages, done } => {
            format!(
                "synced {messages} messages{}",
                if *done { " (done)" } else { "" }
            )
        }
        Event::Message { message: m } => message(m),
        Event::Status {
            conversation_id,
            client_id,
            seq,
            status,
            ..
        } => format!(
            "message {client_id} in conversation {conversation_id}: {}{}{}",
            status_word(status),
            seq.map(|s| format!(" (#{s})")).unwrap_or_default(),
            match status {
                MessageStatus::Failed { reason } => format!(": {reason}"),
                _ => String::new(),
            }
        ),
        Event::Deleted {
            conversation_id,
            client_id,
        } => format!("message {client_id} in conversation {conversation_id}: deleted"),
        Event::Receipt { receipt: r } => format!(
            "user {} in conversation {}: delivered up to #{}, read up to #{}",
            r.user_id, r.conversation_id, r.delivered_seq, r.read_seq
        ),
        Event::Typing {
            conversation_id,
            user_id,
            active,
        } => format!(
            "user {user_id} {} in conversation {conversation_id}",
            if *active {
                "is typing"
            } else {
                "stopped typing"
            }
        ),
        Event::Privacy { privacy: p } => format!(
            "privacy: presence {}, read receipts {}, {} blocked",
            p.presence.as_str(),
            if p.read_receipts { "on" } else { "off" },
            p.blocked.len()
        ),
        Event::ChatPrefs { all } => format!(
            "chats: {} muted, {} pinned",
            all.iter().filter(|p| p.muted).count(),
            all.iter().filter(|p| p.pinned_at.is_some()).count()
        ),
        Event::Presence { presence: p } => format!(
            "user {} is {}",
            p.user_id,
            if p.online { "online" } else { "offline" }
        ),
        Event::Conversation { conversation: c } => conversation(c),
        Event::ConversationRemoved { conversation_id } => {
            format!("conversation {conversation_id}: removed")
        }
        Event::MessageChanged { message: m, hidden } => {
            if *hidden {
                format!(
                    "#{} in conversation {}: deleted on this device",
                    m.seq.unwrap_or_default(),
                    m.conversation_id
                )
            } else {
                format!("changed: {}", message(m))
            }
        }
        Event::ActionRefused {
            conversation_id,
            seq,
            reason,
            ..
        } => format!("#{seq} in conversation {conversation_id}: refused: {reason}"),
        Event::Transfer {
            conversation_id,
            client_id,
            blob_id,
            done,
            total,
            upload,
        } => format!(
            "{} {} in conversation {conversation_id}: {done} of {total} bytes",
            if *upload { "upload" } else { "download" },
            if *upload { client_id } else { blob_id },
        ),
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn time(ms: Timestamp) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::UserId;

    #[test]
    fn send_prints_its_status_flat_like_history_and_listen() {
        let s = Sent {
            conversation_id: ConversationId(3),
            client_id: "c1".into(),
            seq: Some(Seq(12)),
            status: MessageStatus::Sent,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["status"], "sent");
        assert_eq!(v["seq"], 12);
        assert_eq!(sent(&s, 10.0), "sent to conversation 3 (#12)");
        let failed = Sent {
            status: MessageStatus::Failed {
                reason: "too long".into(),
            },
            ..s
        };
        let v = serde_json::to_value(&failed).unwrap();
        assert_eq!(
            (v["status"].as_str(), v["reason"].as_str()),
            (Some("failed"), Some("too long"))
        );
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(time(1_795_694_645_000), "2026-11-26 12:04:05");
    }

    #[test]
    fn a_message_line_shows_sender_body_and_ticks() {
        let m = ChatMessage {
            conversation_id: ConversationId(3),
            seq: Some(Seq(7)),
            client_id: "c".into(),
            sender_id: UserId(1),
            sender: "alice".into(),
            body: "hello".into(),
            sent_at: 0,
            mine: true,
            status: MessageStatus::Read,
            ..ChatMessage::default()
        };
        assert_eq!(
            message(&m),
            "#7 1970-01-01 00:00:00 [3] alice: hello [read]"
        );
        let rich = ChatMessage {
            reply_to: Some(tern_client::Quote::pending(Seq(2))),
            edited: true,
            reactions: vec![tern_client::ReactionView {
                emoji: "👍".into(),
                count: 2,
                mine: true,
                users: vec!["alice".into(), "bob".into()],
            }],
            ..m.clone()
        };
        assert_eq!(
            message(&rich),
            "#7 1970-01-01 00:00:00 [3] alice: ↪ #2 hello (edited) [read] 👍 2"
        );
        let gone = ChatMessage {
            deleted: true,
            body: String::new(),
            ..m
        };
        assert!(message(&gone).contains("alice: (message deleted)"));
    }
}
