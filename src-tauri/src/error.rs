//! The one error type that crosses the IPC boundary: `{ code, message }`.

use serde::Serialize;

/// An error as the UI receives it.
#[derive(Debug, Clone, Serialize)]
pub struct CmdError {
    /// Stable code: a relay error code, or one of `offline`, `no_keychain`, `not_signed_in`,
    /// `invalid`, `invalid_relay`, `insecure_relay`, `timeout`, `internal`, `settings`,
    /// `bad_link`, `account_changed`.
    pub code: String,
    /// Human-readable message, shown as is.
    pub message: String,
}

impl CmdError {
    /// An error with a code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CmdError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<tern_client::Error> for CmdError {
    fn from(e: tern_client::Error) -> Self {
        use tern_client::Error as E;
        let code = match &e {
            E::Relay { code, .. } => return CmdError::new(&code.to_string(), e.to_string()),
            E::Offline => "offline",
            E::Timeout => "timeout",
            E::NoKeychain(_) => "no_keychain",
            E::NotLoggedIn(_) => "not_signed_in",
            E::Http(_) => "unreachable",
            E::Invalid(_) => "invalid",
            E::InvalidRelay { .. } => "invalid_relay",
            E::InsecureRelay { .. } => "insecure_relay",
            E::LeftBehind(_) => "left_behind",
            _ => "internal",
        };
        CmdError::new(code, e.to_string())
    }
}
