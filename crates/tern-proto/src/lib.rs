//! Wire types of the Tern protocol, shared by the relay and every client.
//!
//! The protocol is described for humans in `docs/protocol.md`; this crate is its executable
//! form. Every WebSocket frame carries one JSON object whose `type` field selects a variant of
//! [`ClientFrame`] (client to relay) or [`ServerFrame`] (relay to client). Requests carry an
//! `id` chosen by the client; the reply or [`ServerFrame::Error`] echoes it.
//!
//! Nothing here does I/O: the crate only defines shapes, limits that are part of the protocol,
//! and the deflate framing in [`compression`].

pub mod close;
pub mod compression;
mod error;
mod frames;
mod http;
mod ids;
mod model;
pub mod requests;

pub use error::ErrorCode;
pub use frames::{
    cursor_map, escapes_nul, now_ms, ClientFrame, Cursor, FrameRejection, ServerFrame, SyncCursors,
    CLIENT_FRAME_TYPES, NUL_REFUSED,
};
pub use http::{
    ChangePasswordRequest, DeleteAccountRequest, ErrorBody, LoginRequest, LoginResponse,
    RegisterRequest, RegisterResponse, SessionInfo, SessionsResponse, COMPRESSION_HEADER,
    INSTANCE_HEADER, PROTOCOL_HEADER,
};
pub use ids::ClientId;
pub use model::{
    is_blob_id, is_sha256_hex, Attachment, ChatPrefs, ChatPrefsChange, ConversationId,
    ConversationInfo, ConversationKind, ConversationSummary, Member, MemberRole, MessageId,
    MessageKind, MessageRecord, Mute, Notice, NoticeAction, NoticeUser, Person, Picture, Pin,
    Presence, PresenceVisibility, Privacy, Reaction, ReceiptState, RequestId, Seq, SessionId,
    Timestamp, UserId, DELETED_ACCOUNT,
};
pub use requests::{
    AcceptRequest, AddMembers, Block, CreateGroup, FindPeople, HistoryRequest, LeaveGroup,
    ListConversations, MarkDelivered, MarkRead, Ping, RemoveMember, RenameGroup, SendMessage,
    SetAvatar, SetChatPrefs, SetPrivacy, SetProfile, SetTyping, StartDirect, SyncRequest, Unblock,
    MAX_PICTURE_BYTES, MAX_PINNED,
};

/// The protocol version this crate speaks. Sent by the relay in [`ServerFrame::Welcome`] and
/// requested by clients with the [`PROTOCOL_HEADER`] handshake header.
pub const PROTOCOL_VERSION: u32 = 1;

/// Path of the WebSocket endpoint on the relay.
pub const WS_PATH: &str = "/v1/ws";

/// Longest client-chosen message id accepted (bytes).
pub const MAX_CLIENT_ID_LEN: usize = 64;
