//! The session token in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows), under a service name per relay and an entry per account.
//!
//! The token never touches SQLite, files or logs: it lives in [`Token`], which has no `Debug`
//! or `Display`. When no keychain is reachable the caller gets [`Error::NoKeychain`] with what
//! to install — never a silent plaintext fallback.

use crate::error::{Error, Result};

/// A session token. Deliberately not `Debug`/`Display`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wrap a token received from the relay.
    pub fn new(token: String) -> Self {
        Token(token)
    }

    /// The token text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The keychain service name for a relay.
pub fn service_name(relay: &str) -> String {
    format!("tern:{relay}")
}

fn entry(relay: &str, username: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(&service_name(relay), &username.to_lowercase()).map_err(map_err)
}

fn map_err(e: keyring::Error) -> Error {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => Error::NoKeychain(format!(
            "{inner}. Tern keeps its sign-in token only in the OS keychain; on Linux install and \
             unlock a Secret Service provider (e.g. gnome-keyring or KeePassXC) in your desktop session"
        )),
        other => Error::NoKeychain(other.to_string()),
    }
}

/// Store the token for `username` on `relay`, replacing any previous one.
pub fn store(relay: &str, username: &str, token: &Token) -> Result<()> {
    entry(relay, username)?
        .set_password(token.expose())
        .map_err(map_err)
}

/// Load the token, or `None` if this device is not logged in.
pub fn load(relay: &str, username: &str) -> Result<Option<Token>> {
    match entry(relay, username)?.get_password() {
        Ok(t) => Ok(Some(Token(t))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_err(e)),
    }
}

/// Delete the token (log out). Deleting a missing token is not an error.
pub fn delete(relay: &str, username: &str) -> Result<()> {
    match entry(relay, username)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}
