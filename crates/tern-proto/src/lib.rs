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

/// The newest protocol version this crate speaks: what clients built from it offer with the
/// [`PROTOCOL_HEADER`] handshake header, and the relay's choice when a client offers it. The
/// relay says the version chosen in [`ServerFrame::Welcome`].
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest protocol version a relay built from this crate still serves. A relay serves
/// every version from this one to [`PROTOCOL_VERSION`], so that apps installed before a new
/// version keep working until the relay drops theirs; a new version is added beside the old
/// ones, never in their place.
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;

/// The version a relay serving `oldest..=newest` speaks with a client whose
/// [`PROTOCOL_HEADER`] offers `offer`: the newest of the comma-separated versions offered that
/// it serves (an entry that is not a number is no version it serves), or `None` when it
/// serves none of them.
pub fn choose_protocol(offer: &str, oldest: u32, newest: u32) -> Option<u32> {
    offer
        .split(',')
        .filter_map(|v| v.trim().parse::<u32>().ok())
        .filter(|v| (oldest..=newest).contains(v))
        .max()
}

/// Path of the WebSocket endpoint on the relay.
pub const WS_PATH: &str = "/v1/ws";

/// Longest client-chosen message id accepted (bytes).
pub const MAX_CLIENT_ID_LEN: usize = 64;

#[cfg(test)]
mod version_tests {
    use super::choose_protocol;

    #[test]
    fn the_newest_version_offered_that_the_relay_serves_is_chosen() {
        assert_eq!(choose_protocol("1", 1, 1), Some(1));
        assert_eq!(choose_protocol("3, 1, 2", 1, 2), Some(2));
        assert_eq!(choose_protocol(" 2 ,x, 9", 1, 3), Some(2));
        assert_eq!(choose_protocol("4, 5", 1, 3), None);
        assert_eq!(choose_protocol("0", 1, 3), None);
        assert_eq!(choose_protocol("", 1, 3), None);
        assert_eq!(choose_protocol("1.5, -1, 99999999999", 1, 3), None);
    }
}
