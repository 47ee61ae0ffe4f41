//! The engine's error type.

use tern_proto::ErrorCode;

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the client engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The relay refused the request.
    #[error("{message} ({code})")]
    Relay {
        /// Stable code.
        code: ErrorCode,
        /// The relay's explanation.
        message: String,
    },
    /// Not connected; the request needs the relay (sends are queued instead).
    #[error("not connected to the relay")]
    Offline,
    /// The relay did not answer in time.
    #[error("the relay did not answer in time")]
    Timeout,
    /// No OS keychain is reachable.
    #[error("no keychain available: {0}")]
    NoKeychain(String),
    /// Not logged in on this device (no token in the keychain).
    #[error("not logged in as {0} on this device")]
    NotLoggedIn(String),
    /// The HTTP request could not be made.
    #[error("cannot reach the relay: {0}")]
    Http(#[from] reqwest::Error),
    /// The local cache failed.
    #[error("local cache error: {0}")]
    Cache(#[from] rusqlite::Error),
    /// File-system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The engine has shut down.
    #[error("the client has shut down")]
    Closed,
    /// The account was deleted on the relay, but some of what this device kept of it could
    /// not be removed (a file held open by another program, a keychain that went away).
    #[error("the account is deleted, but this device's copy could not all be removed: {0}")]
    LeftBehind(String),
    /// The relay address cannot be used as typed.
    #[error("invalid relay address {address:?}: {reason}")]
    InvalidRelay {
        /// What was typed.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Clear-text `http://` to another machine without the user's explicit opt-in.
    #[error(
        "refusing {address}: http:// is not encrypted, so your password, session token and \
         messages would cross the network readable by anyone on the path. Use https:// (the \
         default when no scheme is given), or accept the risk explicitly (CLI: \
         --allow-insecure-relay or TERN_ALLOW_INSECURE_RELAY=1; desktop: \"Allow unencrypted \
         connection\")"
    )]
    InsecureRelay {
        /// The refused address.
        address: String,
    },
    /// Invalid input from the caller.
    #[error("{0}")]
    Invalid(String),
    /// A bug or an unexpected answer.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The relay's error code, if the relay refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Relay { code, .. } => Some(*code),
            _ => None,
        }
    }
}
