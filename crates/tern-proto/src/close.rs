//! The WebSocket close codes of the protocol, defined once for the relay, the engine, tests and
//! docs/protocol.md ("Close codes"). Codes below 4000 are RFC 6455's; 4000–4999 are Tern's.

/// A close code with the short reason text the relay sends with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode {
    /// The WebSocket close code.
    pub code: u16,
    /// Short reason text.
    pub reason: &'static str,
}

/// The relay is shutting down; reconnect with backoff.
pub const GOING_AWAY: CloseCode = CloseCode {
    code: 1001,
    reason: "relay shutting down",
};
/// Bytes that break RFC 6455 (an unmasked frame, an unknown opcode, a bad close code, ...).
pub const PROTOCOL: CloseCode = CloseCode {
    code: 1002,
    reason: "WebSocket protocol error",
};
/// A text frame that is not UTF-8.
pub const INVALID_UTF8: CloseCode = CloseCode {
    code: 1007,
    reason: "invalid UTF-8 in a text frame",
};
/// An endless flood of refused frames.
pub const POLICY: CloseCode = CloseCode {
    code: 1008,
    reason: "too many rejected frames",
};
/// A frame over the hard size limit.
pub const TOO_BIG: CloseCode = CloseCode {
    code: 1009,
    reason: "frame too large",
};
/// The connection stopped answering heartbeats.
pub const HEARTBEAT_TIMEOUT: CloseCode = CloseCode {
    code: 4000,
    reason: "heartbeat timeout",
};
/// The session's token was revoked (logout); do not reconnect with it.
pub const REVOKED: CloseCode = CloseCode {
    code: 4001,
    reason: "token revoked",
};
/// A newer connection of the same session and client instance replaced this one.
pub const REPLACED: CloseCode = CloseCode {
    code: 4002,
    reason: "replaced by a newer connection",
};
/// The session's token expired while the connection was open; log in again.
pub const EXPIRED: CloseCode = CloseCode {
    code: 4003,
    reason: "token expired",
};
/// The connection could not keep up with its traffic; reconnect and sync.
pub const TOO_SLOW: CloseCode = CloseCode {
    code: 4008,
    reason: "connection too slow; reconnect and sync",
};

/// Whether a close with `code` ends the login session (the client must sign in again rather
/// than reconnect with the same token).
pub fn ends_session(code: u16) -> bool {
    code == REVOKED.code || code == EXPIRED.code
}
