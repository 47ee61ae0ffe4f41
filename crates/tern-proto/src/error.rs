//! Stable error codes carried by error frames and HTTP error bodies.

use serde::{Deserialize, Serialize};

/// A machine-readable reason a request was refused. Codes never change meaning; new ones may
/// be added, so clients must treat unknown codes as generic failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is not a JSON object with a `type`, or a binary frame could not be inflated.
    #[error("bad_frame")]
    BadFrame,
    /// The `type` is not one the relay knows.
    #[error("unknown_type")]
    UnknownType,
    /// A known frame with missing or wrongly typed fields, or invalid values.
    #[error("bad_request")]
    BadRequest,
    /// The frame exceeds the relay's frame size limit.
    #[error("frame_too_large")]
    FrameTooLarge,
    /// The message body exceeds the relay's message length limit.
    #[error("message_too_long")]
    MessageTooLong,
    /// Too many requests; slow down and retry later.
    #[error("rate_limited")]
    RateLimited,
    /// The caller is not a member of that conversation.
    #[error("not_member")]
    NotMember,
    /// The conversation or user does not exist.
    #[error("not_found")]
    NotFound,
    /// The caller lacks the right (e.g. not a group admin, or the conversation is direct).
    #[error("forbidden")]
    Forbidden,
    /// The group would exceed the relay's group size limit.
    #[error("group_too_large")]
    GroupTooLarge,
    /// No token was presented.
    #[error("unauthorized")]
    Unauthorized,
    /// The token is unknown or malformed.
    #[error("invalid_token")]
    InvalidToken,
    /// The token has expired; log in again.
    #[error("token_expired")]
    TokenExpired,
    /// The token was revoked by a log out.
    #[error("token_revoked")]
    TokenRevoked,
    /// Registration with a username that exists.
    #[error("username_taken")]
    UsernameTaken,
    /// Wrong username or password.
    #[error("invalid_credentials")]
    InvalidCredentials,
    /// Too many login attempts from this address or for this account.
    #[error("too_many_attempts")]
    TooManyAttempts,
    /// The account has as many active sessions as allowed; log out elsewhere first.
    #[error("session_limit")]
    SessionLimit,
    /// The requested protocol version is not supported.
    #[error("unsupported_version")]
    UnsupportedVersion,
    /// The relay failed internally; the request may be retried.
    #[error("internal")]
    Internal,
    /// The relay is shutting down; reconnect shortly.
    #[error("shutting_down")]
    ShuttingDown,
    /// The relay is at its capacity for password checks; retry shortly.
    #[error("busy")]
    Busy,
    /// This relay does not accept new accounts.
    #[error("registration_closed")]
    RegistrationClosed,
    /// This relay registers by invitation only, and the invite code is missing, unknown or
    /// used up.
    #[error("invalid_invite")]
    InvalidInvite,
    /// The request body is not `Content-Type: application/json`.
    #[error("unsupported_media_type")]
    UnsupportedMediaType,
    /// The request body is larger than the relay accepts.
    #[error("body_too_large")]
    BodyTooLarge,
}

impl ErrorCode {
    /// Whether retrying the same request later may succeed. Clients use this to decide
    /// between keeping a message queued and marking it failed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::Internal
                | ErrorCode::ShuttingDown
                | ErrorCode::TooManyAttempts
                | ErrorCode::Busy
        )
    }
}
