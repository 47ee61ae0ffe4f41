//! Stable error codes carried by error frames and HTTP error bodies.

use serde::{Deserialize, Serialize};

/// A machine-readable reason a request was refused. Codes never change meaning; new ones may
/// be added, so clients must treat unknown codes as generic failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is not a JSON object with a `type`, or a binary frame could not be inflated.
    BadFrame,
    /// The `type` is not one the relay knows.
    UnknownType,
    /// A known frame with missing or wrongly typed fields, or invalid values.
    BadRequest,
    /// The frame exceeds the relay's frame size limit.
    FrameTooLarge,
    /// The message body exceeds the relay's message length limit.
    MessageTooLong,
    /// Too many requests; slow down and retry later.
    RateLimited,
    /// The caller is not a member of that conversation.
    NotMember,
    /// The conversation or user does not exist.
    NotFound,
    /// The caller lacks the right (e.g. not a group admin, or the conversation is direct).
    Forbidden,
    /// The group would exceed the relay's group size limit.
    GroupTooLarge,
    /// No token was presented.
    Unauthorized,
    /// The token is unknown or malformed.
    InvalidToken,
    /// The token has expired; log in again.
    TokenExpired,
    /// The token was revoked by a log out.
    TokenRevoked,
    /// Registration with a username that exists.
    UsernameTaken,
    /// Wrong username or password.
    InvalidCredentials,
    /// Too many login attempts from this address or for this account.
    TooManyAttempts,
    /// The account has as many active sessions as allowed; log out elsewhere first.
    SessionLimit,
    /// The requested protocol version is not supported.
    UnsupportedVersion,
    /// The relay failed internally; the request may be retried.
    Internal,
    /// The relay is shutting down; reconnect shortly.
    ShuttingDown,
    /// The relay is at its capacity for password checks; retry shortly.
    Busy,
    /// This relay does not accept new accounts.
    RegistrationClosed,
    /// This relay registers by invitation only, and the invite code is missing, unknown or
    /// used up.
    InvalidInvite,
    /// The request body is not `Content-Type: application/json`.
    UnsupportedMediaType,
    /// The request body is larger than the relay accepts.
    BodyTooLarge,
    /// The message acted on (edited, reacted to, replied to, deleted) was deleted for everyone.
    MessageDeleted,
    /// The message is older than the relay's edit window.
    EditWindowClosed,
    /// The attachment is larger than the relay accepts (or than its upload declared).
    AttachmentTooLarge,
    /// The user's attachments would pass the relay's storage quota.
    QuotaExceeded,
    /// An upload chunk does not start where the relay's copy ends; resume from its offset.
    OffsetMismatch,
    /// The uploaded bytes do not match the declared SHA-256.
    HashMismatch,
    /// A send named (`after`) an earlier message of the sender's that is not stored: it was
    /// refused or is still on its way. Send that one again first, then this one.
    OutOfOrder,
    /// A chat setting's change was made before a change of the same setting the relay
    /// already stored (from another device): the later edit holds, this one is not applied.
    Superseded,
    /// A code this build does not know (a newer relay's): read as a failure that retrying
    /// will not fix, so the frame carrying it still answers its request. Never sent.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Whether retrying the same request later may succeed. Clients use this to decide
    /// between keeping a message queued and marking it failed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::OutOfOrder
                | ErrorCode::Internal
                | ErrorCode::ShuttingDown
                | ErrorCode::TooManyAttempts
                | ErrorCode::Busy
        )
    }
}

impl ErrorCode {
    /// The wire name (as serialized), for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotMember => "not_member",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::GroupTooLarge => "group_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenRevoked => "token_revoked",
            ErrorCode::UsernameTaken => "username_taken",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::SessionLimit => "session_limit",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Internal => "internal",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Busy => "busy",
            ErrorCode::RegistrationClosed => "registration_closed",
            ErrorCode::InvalidInvite => "invalid_invite",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::MessageDeleted => "message_deleted",
            ErrorCode::EditWindowClosed => "edit_window_closed",
            ErrorCode::AttachmentTooLarge => "attachment_too_large",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::OffsetMismatch => "offset_mismatch",
            ErrorCode::HashMismatch => "hash_mismatch",
            ErrorCode::OutOfOrder => "out_of_order",
            ErrorCode::Superseded => "superseded",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newer relay's code reads as `Unknown`, a failure not worth retrying: an error frame
    /// carrying it still parses and answers its request.
    #[test]
    fn a_code_this_build_does_not_know_reads_as_unknown() {
        let code: ErrorCode = serde_json::from_str("\"poll_closed\"").unwrap();
        assert_eq!(code, ErrorCode::Unknown);
        assert!(!code.is_transient());
        let frame: crate::ServerFrame = serde_json::from_str(
            r#"{"type":"error","id":7,"code":"poll_closed","message":"that poll is closed"}"#,
        )
        .unwrap();
        assert!(matches!(
            frame,
            crate::ServerFrame::Error {
                code: ErrorCode::Unknown,
                ..
            }
        ));
    }

    #[test]
    fn the_name_is_the_serialized_form() {
        for code in [
            ErrorCode::BadFrame,
            ErrorCode::UnknownType,
            ErrorCode::BadRequest,
            ErrorCode::FrameTooLarge,
            ErrorCode::MessageTooLong,
            ErrorCode::RateLimited,
            ErrorCode::NotMember,
            ErrorCode::NotFound,
            ErrorCode::Forbidden,
            ErrorCode::GroupTooLarge,
            ErrorCode::Unauthorized,
            ErrorCode::InvalidToken,
            ErrorCode::TokenExpired,
            ErrorCode::TokenRevoked,
            ErrorCode::UsernameTaken,
            ErrorCode::InvalidCredentials,
            ErrorCode::TooManyAttempts,
            ErrorCode::SessionLimit,
            ErrorCode::UnsupportedVersion,
            ErrorCode::Internal,
            ErrorCode::ShuttingDown,
            ErrorCode::Busy,
            ErrorCode::RegistrationClosed,
            ErrorCode::InvalidInvite,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::BodyTooLarge,
            ErrorCode::MessageDeleted,
            ErrorCode::EditWindowClosed,
            ErrorCode::AttachmentTooLarge,
            ErrorCode::QuotaExceeded,
            ErrorCode::OffsetMismatch,
            ErrorCode::HashMismatch,
            ErrorCode::OutOfOrder,
            ErrorCode::Superseded,
            ErrorCode::Unknown,
        ] {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
