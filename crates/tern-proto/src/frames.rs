//! The frames: [`ClientFrame`] (client to relay) and [`ServerFrame`] (relay to client).
//!
//! Each is a JSON object tagged by `type`. [`ClientFrame::parse`] turns a text payload into a
//! frame or a typed rejection that still carries the request id when one could be read, so the
//! relay can answer malformed requests with an error that the client can match.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::requests::{
    AcceptRequest, AddMembers, Block, CreateGroup, FindPeople, HistoryRequest, LeaveGroup,
    ListConversations, MarkDelivered, MarkRead, Ping, RemoveMember, RenameGroup, SendMessage,
    SetAvatar, SetChatPrefs, SetPrivacy, SetProfile, SetTyping, StartDirect, SyncRequest, Unblock,
};
use crate::{
    ChatPrefs, ConversationId, ConversationInfo, ConversationSummary, ErrorCode, MessageId,
    MessageRecord, Person, Presence, Privacy, ReceiptState, RequestId, Seq, SessionId, Timestamp,
    UserId,
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

/// A frame sent by a client: one request struct per `type` (see [`crate::requests`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Application-level ping; answered with [`ServerFrame::Pong`].
    Ping(Ping),
    /// Ask for everything missed since the given cursors; answered with zero or more
    /// [`ServerFrame::SyncPage`] and one [`ServerFrame::SyncDone`].
    Sync(SyncRequest),
    /// Send a message; answered with [`ServerFrame::Ack`] once stored.
    Send(SendMessage),
    /// Start (or find) the direct conversation with a user; answered with
    /// [`ServerFrame::Conversation`].
    StartDirect(StartDirect),
    /// Create a group with the caller as admin; answered with [`ServerFrame::Conversation`].
    CreateGroup(CreateGroup),
    /// Rename a group (any member); answered with [`ServerFrame::Conversation`].
    RenameGroup(RenameGroup),
    /// Add members to a group (admins only); answered with [`ServerFrame::Conversation`].
    AddMembers(AddMembers),
    /// Remove a member from a group (admins only); answered with [`ServerFrame::Conversation`].
    RemoveMember(RemoveMember),
    /// Leave a group; answered with [`ServerFrame::Ok`].
    LeaveGroup(LeaveGroup),
    /// List the caller's conversations; answered with [`ServerFrame::Conversations`].
    ListConversations(ListConversations),
    /// Page older messages; answered with [`ServerFrame::History`].
    History(HistoryRequest),
    /// Report that this device stored every message up to `seq`. No reply on success.
    Delivered(MarkDelivered),
    /// Mark everything up to `seq` read; answered with [`ServerFrame::Ok`].
    Read(MarkRead),
    /// Typing started (`active: true`) or stopped. Never stored. No reply on success.
    Typing(SetTyping),
    /// Set the caller's display name; answered with [`ServerFrame::Ok`].
    SetProfile(SetProfile),
    /// Set or remove the caller's or a group's picture; answered with [`ServerFrame::Ok`].
    SetAvatar(SetAvatar),
    /// Find people to chat with; answered with [`ServerFrame::People`].
    FindPeople(FindPeople),
    /// Block a user; answered with [`ServerFrame::Ok`].
    Block(Block),
    /// Unblock a user; answered with [`ServerFrame::Ok`].
    Unblock(Unblock),
    /// Change privacy settings; answered with [`ServerFrame::Ok`].
    SetPrivacy(SetPrivacy),
    /// Accept a message request; answered with [`ServerFrame::Conversation`].
    AcceptRequest(AcceptRequest),
    /// Mute or pin one of the caller's conversations; answered with [`ServerFrame::Ok`].
    SetChatPrefs(SetChatPrefs),
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
    "set_profile",
    "set_avatar",
    "find_people",
    "block",
    "unblock",
    "set_privacy",
    "accept_request",
    "set_chat_prefs",
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

/// Why text with a NUL character is refused.
pub const NUL_REFUSED: &str = "text may not contain the NUL character (U+0000)";

/// Whether the JSON text `json` has a string that holds a NUL character (written `\u0000`;
/// JSON cannot hold it unescaped). No text the relay keeps may hold one: PostgreSQL cannot
/// store it, and the two stores must take the same input. Backslashes are counted, so
/// `"\\u0000"` (a backslash, then the letters) is not one.
pub fn escapes_nul(json: &str) -> bool {
    const ESCAPE: &str = "\\u0000";
    let mut from = 0;
    while let Some(found) = json[from..].find(ESCAPE) {
        let at = from + found;
        // The backslashes that end at `at`: an odd run means the last one starts an escape.
        let run = json.as_bytes()[..=at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if run % 2 == 1 {
            return true;
        }
        from = at + ESCAPE.len();
    }
    false
}

impl ClientFrame {
    /// Parse a text payload, or explain precisely why it is not a valid frame.
    pub fn parse(text: &str) -> Result<Self, FrameRejection> {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) if escapes_nul(text) => Err(FrameRejection {
                id: Some(frame.id()),
                code: ErrorCode::BadRequest,
                message: NUL_REFUSED.into(),
            }),
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
        let id = probe
            .id
            .as_ref()
            .and_then(serde_json::Value::as_u64)
            .map(RequestId);
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
            ClientFrame::Ping(r) => r.id,
            ClientFrame::Sync(r) => r.id,
            ClientFrame::Send(r) => r.id,
            ClientFrame::StartDirect(r) => r.id,
            ClientFrame::CreateGroup(r) => r.id,
            ClientFrame::RenameGroup(r) => r.id,
            ClientFrame::AddMembers(r) => r.id,
            ClientFrame::RemoveMember(r) => r.id,
            ClientFrame::LeaveGroup(r) => r.id,
            ClientFrame::ListConversations(r) => r.id,
            ClientFrame::History(r) => r.id,
            ClientFrame::Delivered(r) => r.id,
            ClientFrame::Read(r) => r.id,
            ClientFrame::Typing(r) => r.id,
            ClientFrame::SetProfile(r) => r.id,
            ClientFrame::SetAvatar(r) => r.id,
            ClientFrame::FindPeople(r) => r.id,
            ClientFrame::Block(r) => r.id,
            ClientFrame::Unblock(r) => r.id,
            ClientFrame::SetPrivacy(r) => r.id,
            ClientFrame::AcceptRequest(r) => r.id,
            ClientFrame::SetChatPrefs(r) => r.id,
        }
    }
}

/// A frame sent by the relay.
// Frames live only between decoding and handling (or building and encoding); boxing the
// message variants would cost an allocation per message for no memory saved.
#[allow(clippy::large_enum_variant)]
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
        /// How long after sending its author may edit a message (ms); absent from a relay
        /// that does not say.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edit_window_ms: Option<u64>,
        /// Largest attachment the relay takes (bytes), for a client to refuse a larger file
        /// before copying and sending it; absent from a relay that does not say.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_attachment_bytes: Option<u64>,
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
        client_id: crate::ClientId,
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
    /// Reply to [`ClientFrame::FindPeople`].
    People {
        /// Echoed request id.
        id: RequestId,
        /// Matches, best first.
        people: Vec<Person>,
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
        /// The user's privacy settings and block list.
        #[serde(default)]
        privacy: Privacy,
        /// How the user's conversations behave on their devices: every one muted, pinned or
        /// marked unread. Absent from a relay that does not keep them (then nothing is known,
        /// which is not "nothing is set").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat_prefs: Option<Vec<ChatPrefs>>,
    },
    /// The user's privacy settings or block list changed (on any of their devices).
    Privacy {
        /// The settings now.
        privacy: Privacy,
    },
    /// How one of the user's conversations behaves changed (on any of their devices).
    ChatPrefs {
        /// What is set now (all unset: no longer muted or pinned).
        prefs: ChatPrefs,
    },
    /// How every conversation of the user behaves, replacing what the client holds: sent when
    /// the relay may have missed telling it of changes (its link to the other relays of a
    /// cluster was away), as `sync_done` carries it.
    ChatPrefsList {
        /// Every conversation the user is in that is muted, pinned, marked unread or archived.
        prefs: Vec<ChatPrefs>,
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

impl ServerFrame {
    /// The request id this frame answers, if it is a reply (errors without a readable id and
    /// pushes answer none).
    pub fn reply_id(&self) -> Option<RequestId> {
        match self {
            ServerFrame::Pong { id }
            | ServerFrame::Ok { id }
            | ServerFrame::Ack { id, .. }
            | ServerFrame::Conversations { id, .. }
            | ServerFrame::People { id, .. }
            | ServerFrame::History { id, .. }
            | ServerFrame::SyncPage { id, .. }
            | ServerFrame::SyncDone { id, .. } => Some(*id),
            ServerFrame::Error { id, .. } | ServerFrame::Conversation { id, .. } => *id,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageKind, MessageRecord};

    /// A NUL escaped in any string is found; a backslash followed by the letters is not one.
    #[test]
    fn nul_escapes_are_found_by_counting_backslashes() {
        let json = |body: &str| serde_json::json!({"type": "send", "body": body}).to_string();
        assert!(escapes_nul(&json("a\u{0}b")));
        assert!(escapes_nul(&json("\u{0}")));
        assert!(escapes_nul(&json("\\\u{0}")), "a backslash, then NUL");
        assert!(escapes_nul(&json("\"\u{0}")), "a quote, then NUL");
        assert!(
            !escapes_nul(&json("\\u0000")),
            "a backslash, then the letters"
        );
        assert!(!escapes_nul(&json("\\\\u0000")));
        assert!(!escapes_nul(&json("plain")));
        assert!(
            escapes_nul(r#"{"a":"\\u0000","b":"\u0000"}"#),
            "the second string's"
        );
        assert!(!escapes_nul(r#"{"a":"\u0001"}"#));
    }

    #[test]
    fn a_frame_with_a_nul_is_refused_with_its_request_id() {
        let text = serde_json::json!({
            "type": "send", "id": 9, "conversation_id": 1, "client_id": "c1", "body": "a\u{0}"
        })
        .to_string();
        let rejection = ClientFrame::parse(&text).unwrap_err();
        assert_eq!(
            (rejection.id, rejection.code),
            (Some(RequestId(9)), ErrorCode::BadRequest)
        );
    }

    #[test]
    fn a_send_frame_round_trips() {
        let text = r#"{"type":"send","id":7,"conversation_id":3,"client_id":"c1","body":"hi"}"#;
        let frame = ClientFrame::parse(text).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Send(SendMessage {
                id: RequestId(7),
                conversation_id: ConversationId(3),
                client_id: "c1".into(),
                body: "hi".into(),
                ..SendMessage::default()
            })
        );
        assert_eq!(frame.id(), RequestId(7));
        // A plain text send serializes as before: the new fields are left out.
        assert_eq!(serde_json::to_string(&frame).unwrap(), text);
    }

    #[test]
    fn an_edit_names_its_kind_and_target_and_a_record_omits_empty_rich_fields() {
        let text = r#"{"type":"send","id":8,"conversation_id":3,"client_id":"c2","body":"fixed","kind":"edit","target_seq":5}"#;
        let ClientFrame::Send(req) = ClientFrame::parse(text).unwrap() else {
            panic!("a send");
        };
        assert_eq!(
            (req.kind, req.target_seq),
            (MessageKind::Edit, Some(Seq(5)))
        );
        // A kind this version does not know parses (the relay refuses to send it).
        let unknown = r#"{"type":"send","id":8,"conversation_id":3,"client_id":"c2","body":"x","kind":"explode","target_seq":5}"#;
        let ClientFrame::Send(req) = ClientFrame::parse(unknown).unwrap() else {
            panic!("a send");
        };
        assert_eq!(req.kind, MessageKind::Unknown);
        let plain = serde_json::to_value(MessageRecord::default()).unwrap();
        let keys: Vec<&str> = plain
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys.len(), 8, "only the original eight fields: {keys:?}");
    }

    #[test]
    fn an_unknown_type_is_told_apart_from_a_malformed_known_type() {
        let unknown = ClientFrame::parse(r#"{"type":"teleport","id":4}"#).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::UnknownType);
        assert_eq!(unknown.id, Some(RequestId(4)));

        let malformed =
            ClientFrame::parse(r#"{"type":"send","id":5,"conversation_id":"x"}"#).unwrap_err();
        assert_eq!(malformed.code, ErrorCode::BadRequest);
        assert_eq!(malformed.id, Some(RequestId(5)));

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
