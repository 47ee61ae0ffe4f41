//! Bodies of the HTTP JSON endpoints (`/v1/register`, `/v1/login`, `/v1/logout`,
//! `/v1/logout_all`) and the handshake headers.

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, SessionId, Timestamp, UserId};

/// Handshake header naming the protocol version the client speaks (defaults to 1).
pub const PROTOCOL_HEADER: &str = "tern-protocol";
/// Handshake header tagging the client process (a random string per process, at most 64
/// printable characters). A new connection replaces older connections of the same session
/// only when they carry the same tag, so two programs sharing one login do not knock each
/// other offline.
pub const INSTANCE_HEADER: &str = "tern-instance";
/// Handshake header by which a client offers `deflate` compressed binary frames.
pub const COMPRESSION_HEADER: &str = "tern-compression";

/// `POST /v1/register`.
#[derive(Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// 3–32 characters: letters, digits, `_`, `.`, `-`; case-insensitively unique.
    pub username: String,
    /// 8 to 1024 characters (Unicode scalar values, not bytes).
    pub password: String,
    /// Invite code, required when the relay registers by invitation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

/// Reply to a successful registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The new user's id.
    pub user_id: UserId,
    /// The username as stored.
    pub username: String,
}

/// `POST /v1/login`.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// A label for this device, shown in session lists.
    #[serde(default)]
    pub device_name: String,
    /// The `device_credential` of an earlier login from this device, if it has one. It lets
    /// the device log in while the account is being flooded with wrong guesses from elsewhere.
    /// Keep it secret, like the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_credential: Option<String>,
}

/// Reply to a successful login.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for the WebSocket handshake and logout. Keep it secret.
    pub token: String,
    /// When the token stops working.
    pub expires_at: Timestamp,
    /// This login session's id.
    pub session_id: SessionId,
    /// The user's id.
    pub user_id: UserId,
    /// The username as stored.
    pub username: String,
    /// A new secret proving this device logged in before; send it with the next login. It
    /// replaces the one the request carried. Keep it secret, like the token.
    #[serde(default)]
    pub device_credential: String,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("session_id", &self.session_id)
            .field("user_id", &self.user_id)
            .field("device_credential", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("invite", &self.invite.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("device_name", &self.device_name)
            .field(
                "device_credential",
                &self.device_credential.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `POST /v1/password`: change the password. Every other session of the account is revoked
/// (its connections closed with 4001); the session that asked stays signed in.
#[derive(Clone, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub old_password: String,
    /// The new one (the same rules as at registration).
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest { <redacted> }")
    }
}

/// `POST /v1/account/delete`: delete the caller's account (the password proves it is them).
#[derive(Clone, Serialize, Deserialize)]
pub struct DeleteAccountRequest {
    /// The account's password.
    pub password: String,
}

impl std::fmt::Debug for DeleteAccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeleteAccountRequest { <redacted> }")
    }
}

/// One signed-in device of the account, as `GET /v1/sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session id (what `POST /v1/sessions/{id}/revoke` takes).
    pub session_id: SessionId,
    /// The device name given at login.
    pub device_name: String,
    /// When it logged in.
    pub created_at: Timestamp,
    /// When it was last connected, to the hour (coarse on purpose).
    pub last_seen_at: Option<Timestamp>,
    /// When its token stops working.
    pub expires_at: Timestamp,
    /// The session that asked.
    pub current: bool,
}

/// Reply to `GET /v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionsResponse {
    /// Active sessions, newest first.
    pub sessions: Vec<SessionInfo>,
}

/// Body of every HTTP error response, and of a refused WebSocket handshake.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}
