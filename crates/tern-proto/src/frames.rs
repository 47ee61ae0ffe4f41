//! The frames: [`ClientFrame`] (client to relay) and [`ServerFrame`] (relay to client).
//!
//! Each is a JSON object tagged by `type`. [`ClientFrame::parse`] turns a text payload into a
//! frame or a typed rejection that still carries the request id when one could be read, so the
//! relay can answer malformed requests with an error that the client can match.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    ConversationId, ConversationInfo, ConversationSummary, ErrorCode, MessageId, MessageRecord,
    Presence, ReceiptState, RequestId, Seq, SessionId, Timestamp, UserId,
};

/// What a client already holds in one conversation, sent with [`ClientFrame::Sync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Highest sequence held without gaps below it.
    pub seq: Seq,
}

/// Cursors of a sync request.
pub type SyncCursors = Vec<Cursor>;

/// Cursors as a map, for lookups.
pub fn cursor_map(cursors: &[Cursor]) -> BTreeMap<ConversationId, Seq> {
    cursors.iter().map(|c| (c.conversation_id, c.seq)).collect()
}

/// A frame sent by a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Application-level ping; answered with [`ServerFrame::Pong`].
    Ping {
        /// Request id.
        id: RequestId,
    },
    /// Ask for everything missed since the given cursors; answered with zero or more
    /// [`ServerFrame::SyncPage`] and one [`ServerFrame::SyncDone`].
    Sync {
        /// Request id.
        id: RequestId,
        /// Highest sequence held per conversation; absent conversations start at 0.
        #[serde(default)]
        cursors: SyncCursors,
        /// `changes_version` from the previous [`ServerFrame::SyncDone`], or 0.
        #[serde(default)]
        changes_since: u64,
    },
    /// Send a message; answered with [`ServerFrame::Ack`] once stored.
    Send {
        /// Request id.
        id: RequestId,
        /// Target conversation.
        conversation_id: ConversationId,
        /// Client-chosen id, unique per sender; resending it never stores a second copy.
        client_id: String,
        /// Message text.
        body: String,
    },
    /// Start (or find) the direct conversation with a user; answered with
    /// [`ServerFrame::Conversation`].
    StartDirect {
        /// Request id.
        id: RequestId,
        /// The other user's username.
        username: String,
    },
    /// Create a group with the caller as admin; answered with [`ServerFrame::Conversation`].
    CreateGroup {
        /// Request id.
        id: RequestId,
        /// Group name.
        name: String,
        /// Usernames of the other members.
        #[serde(default)]
        members: Vec<String>,
    },
    /// Rename a group (any member); answered with [`ServerFrame::Conversation`].
    RenameGroup {
        /// Request id.
        id: RequestId,
        /// The group.
        conversation_id: ConversationId,
        /// New name.
        name: String,
    },
    /// Add members to a group (admins only); answered with [`ServerFrame::Conversation`].
    AddMembers {
        /// Request id.
        id: RequestId,
        /// The group.
        conversation_id: ConversationId,
        /// Usernames to add.
        usernames: Vec<String>,
    },
    /// Remove a member from a group (admins only); answered with [`ServerFrame::Conversation`].
    RemoveMember {
        /// Request id.
        id: RequestId,
        /// The group.
        conversation_id: ConversationId,
        /// Username to remove.
        username: String,
    },
    /// Leave a group; answered with [`ServerFrame::Ok`].
    LeaveGroup {
        /// Request id.
        id: RequestId,
        /// The group.
        conversation_id: ConversationId,
    },
    /// List the caller's conversations; answered with [`ServerFrame::Conversations`].
    ListConversations {
        /// Request id.
        id: RequestId,
    },
    /// Page older messages; answered with [`ServerFrame::History`].
    History {
        /// Request id.
        id: RequestId,
        /// The conversation.
        conversation_id: ConversationId,
        /// Return messages strictly before this sequence; `None` means the newest.
        #[serde(default)]
        before_seq: Option<Seq>,
        /// At most this many messages (capped by the relay at 200).
        #[serde(default = "default_history_limit")]
        limit: u32,
    },
    /// Report that this device stored every message up to `seq`. No reply on success.
    Delivered {
        /// Request id.
        id: RequestId,
        /// The conversation.
        conversation_id: ConversationId,
        /// Cumulative: everything up to and including this sequence.
        seq: Seq,
    },
    /// Mark everything up to `seq` read; answered with [`ServerFrame::Ok`].
    Read {
        /// Request id.
        id: RequestId,
        /// The conversation.
        conversation_id: ConversationId,
        /// Cumulative: everything up to and including this sequence.
        seq: Seq,
    },
    /// Typing started (`active: true`) or stopped. Never stored. No reply on success.
    Typing {
        /// Request id.
        id: RequestId,
        /// The conversation.
        conversation_id: ConversationId,
        /// Whether the user is typing.
        active: bool,
    },
}

fn default_history_limit() -> u32 {
    50
}

/// Every `type` a client may send, for telling an unknown type from a malformed known one.
pub const CLIENT_FRAME_TYPES: &[&str] = &[
    "ping",
    "sync",
    "send",
    "start_direct",
    "create_group",
    "rename_group",
    "add_members",
    "remove_member",
    "leave_group",
    "list_conversations",
    "history",
    "delivered",
    "read",
    "typing",
];

/// A client frame that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRejection {
    /// The request id, when the payload had a readable numeric `id`.
    pub id: Option<RequestId>,
    /// Why it was rejected.
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    ty: Option<serde_json::Value>,
    id: Option<serde_json::Value>,
}

impl ClientFrame {
    /// Parse a text payload, or explain precisely why it is not a valid frame.
    pub fn parse(text: &str) -> Result<Self, FrameRejection> {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => Ok(frame),
            Err(err) => Err(Self::reject(text, err)),
        }
    }

    fn reject(text: &str, err: serde_json::Error) -> FrameRejection {
        let Ok(probe) = serde_json::from_str::<Probe>(text) else {
            return FrameRejection {
                id: None,
                code: ErrorCode::BadFrame,
                message: format!("frame is not a JSON object: {err}"),
            };
        };
        let id = probe.id.as_ref().and_then(serde_json::Value::as_u64);
        match probe.ty {
            Some(serde_json::Value::String(ty)) if !CLIENT_FRAME_TYPES.contains(&ty.as_str()) => {
                FrameRejection {
                    id,
                    code: ErrorCode::UnknownType,
                    message: format!("unknown frame type {ty:?}"),
                }
            }
            None => FrameRejection {
                id,
                code: ErrorCode::BadFrame,
                message: "frame has no \"type\" field".into(),
            },
            _ => FrameRejection {
                id,
                code: ErrorCode::BadRequest,
                message: format!("invalid frame: {err}"),
            },
        }
    }

    /// The request id this frame carries.
    pub fn id(&self) -> RequestId {
        match self {
            ClientFrame::Ping { id }
            | ClientFrame::Sync { id, .. }
            | ClientFrame::Send { id, .. }
            | ClientFrame::StartDirect { id, .. }
            | ClientFrame::CreateGroup { id, .. }
            | ClientFrame::RenameGroup { id, .. }
            | ClientFrame::AddMembers { id, .. }
            | ClientFrame::RemoveMember { id, .. }
            | ClientFrame::LeaveGroup { id, .. }
            | ClientFrame::ListConversations { id }
            | ClientFrame::History { id, .. }
            | ClientFrame::Delivered { id, .. }
            | ClientFrame::Read { id, .. }
            | ClientFrame::Typing { id, .. } => *id,
        }
    }
}

/// A frame sent by the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Welcome {
        /// Protocol version spoken ([`crate::PROTOCOL_VERSION`]).
        protocol: u32,
        /// The authenticated user.
        user_id: UserId,
        /// Their username.
        username: String,
        /// The login session (device) this connection belongs to.
        session_id: SessionId,
        /// Relay clock, for display offsets.
        server_time: Timestamp,
        /// How often the relay pings; a client should consider the link dead after about
        /// twice this without any traffic.
        heartbeat_interval_ms: u64,
        /// Whether the relay will send and accept deflate-compressed binary frames.
        compression: bool,
        /// Largest frame the relay accepts (bytes, after decompression).
        max_frame_bytes: usize,
        /// Longest message body the relay accepts (bytes of UTF-8).
        max_message_bytes: usize,
    },
    /// Reply to [`ClientFrame::Ping`].
    Pong {
        /// Echoed request id.
        id: RequestId,
    },
    /// Success reply with no payload.
    Ok {
        /// Echoed request id.
        id: RequestId,
    },
    /// A rejected request, or a connection-level problem when `id` is absent.
    Error {
        /// Echoed request id, if the request had a readable one.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        id: Option<RequestId>,
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// A message was stored: "sent".
    Ack {
        /// Echoed request id.
        id: RequestId,
        /// The client's id for the message.
        client_id: String,
        /// Relay id.
        message_id: MessageId,
        /// Conversation.
        conversation_id: ConversationId,
        /// Assigned sequence.
        seq: Seq,
        /// Relay timestamp.
        sent_at: Timestamp,
        /// True when this client id had already been stored; nothing new was stored or sent.
        duplicate: bool,
    },
    /// A new message in one of the user's conversations (also the user's own, from any device).
    Message {
        /// The message.
        message: MessageRecord,
    },
    /// A member's receipt markers moved.
    Receipt {
        /// The new markers.
        receipt: ReceiptState,
    },
    /// Someone started or stopped typing. Treat as stopped after `expires_in_ms`.
    Typing {
        /// Conversation.
        conversation_id: ConversationId,
        /// Who is typing.
        user_id: UserId,
        /// Started or stopped.
        active: bool,
        /// How long an `active` indication stays valid without a refresh.
        expires_in_ms: u64,
    },
    /// A contact came online or went offline.
    Presence {
        /// The new state.
        presence: Presence,
    },
    /// A conversation was created, renamed, or its members changed; or the reply to a
    /// conversation request.
    Conversation {
        /// Echoed request id when this is a reply.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        id: Option<RequestId>,
        /// The conversation as it is now.
        conversation: ConversationInfo,
    },
    /// The user is no longer a member of this conversation (left or removed).
    ConversationRemoved {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// Reply to [`ClientFrame::ListConversations`].
    Conversations {
        /// Echoed request id.
        id: RequestId,
        /// Every conversation the user is a member of, most recent activity first.
        conversations: Vec<ConversationSummary>,
    },
    /// Reply to [`ClientFrame::History`].
    History {
        /// Echoed request id.
        id: RequestId,
        /// Conversation.
        conversation_id: ConversationId,
        /// Messages in ascending sequence order.
        messages: Vec<MessageRecord>,
        /// Whether older messages exist.
        has_more: bool,
    },
    /// One page of a sync reply.
    SyncPage {
        /// Echoed request id.
        id: RequestId,
        /// Conversations created or changed since `changes_since` (full current shape).
        conversations: Vec<ConversationInfo>,
        /// Conversations the user left or was removed from since `changes_since`.
        removed: Vec<ConversationId>,
        /// Receipt markers changed since `changes_since`.
        receipts: Vec<ReceiptState>,
        /// Missed messages, ascending by sequence within each conversation.
        messages: Vec<MessageRecord>,
    },
    /// End of a sync reply.
    SyncDone {
        /// Echoed request id.
        id: RequestId,
        /// Pass as `changes_since` in the next sync.
        changes_version: u64,
        /// Current presence of everyone sharing a conversation with the user.
        presence: Vec<Presence>,
    },
}

impl ServerFrame {
    /// Serialize to the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string or integer.
        serde_json::to_string(self).expect("server frames always serialize")
    }

    /// An error reply.
    pub fn error(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            id,
            code,
            message: message.into(),
        }
    }
}

/// Convenience for timestamps in frames.
pub fn now_ms() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Timestamp)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_frame_round_trips() {
        let text = r#"{"type":"send","id":7,"conversation_id":3,"client_id":"c1","body":"hi"}"#;
        let frame = ClientFrame::parse(text).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Send {
                id: 7,
                conversation_id: 3,
                client_id: "c1".into(),
                body: "hi".into()
            }
        );
        assert_eq!(frame.id(), 7);
    }

    #[test]
    fn an_unknown_type_is_told_apart_from_a_malformed_known_type() {
        let unknown = ClientFrame::parse(r#"{"type":"teleport","id":4}"#).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::UnknownType);
        assert_eq!(unknown.id, Some(4));

        let malformed =
            ClientFrame::parse(r#"{"type":"send","id":5,"conversation_id":"x"}"#).unwrap_err();
        assert_eq!(malformed.code, ErrorCode::BadRequest);
        assert_eq!(malformed.id, Some(5));

        let garbage = ClientFrame::parse("not json").unwrap_err();
        assert_eq!(garbage.code, ErrorCode::BadFrame);
        assert_eq!(garbage.id, None);
    }

    #[test]
    fn every_listed_type_is_a_real_variant() {
        for ty in CLIENT_FRAME_TYPES {
            let err = ClientFrame::parse(&format!(r#"{{"type":"{ty}"}}"#));
            if let Err(rejection) = err {
                assert_ne!(rejection.code, ErrorCode::UnknownType, "{ty}");
            }
        }
    }
}
