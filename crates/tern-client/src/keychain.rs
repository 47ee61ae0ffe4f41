//! The session token in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows), under a service name per relay and an entry per account.
//! Next to it, in an entry of its own (`<username>#device`), the device credential the relay
//! handed out at the last login: presented at the next login, it lets this device in while
//! the account is being flooded with wrong guesses from elsewhere. It survives logging out,
//! since it proves only that this device signed in before.
//!
//! The token never touches SQLite, files or logs: it lives in [`Token`], which has no `Debug`
//! or `Display`. When no keychain is reachable the caller gets [`Error::NoKeychain`] with what
//! to install — never a silent plaintext fallback.
//!
//! A keychain daemon can go away in the middle of a request (it crashed, or the session
//! restarted it); the next request starts it again (D-Bus activation). So a request whose
//! daemon went away is tried again a few times, a moment apart, before it fails: the new
//! daemon answers it. (A daemon that comes back locked says so, and the caller gets the
//! locked keychain's error.) Every operation here may be repeated (set, get and delete of one
//! entry), so a retry never does anything twice.

use std::time::Duration;

use backon::{BlockingRetryable, ExponentialBuilder};

use crate::error::{Error, Result};

/// How often a platform failure is tried again, and the first pause (it doubles): the
/// retries span about a second, long enough for a keyring daemon to start and unlock.
const RETRIES: usize = 4;
const RETRY_DELAY: Duration = Duration::from_millis(75);

/// Whether the keychain's daemon went away during the request (so a new one may answer the
/// next), as D-Bus and the Secret Service word it: the bus saw it leave, no reply came, the
/// new daemon does not know the old one's session, or the item a search just found is no
/// longer there (a restarted daemon, or another request that replaced or deleted it; the
/// retry searches again), matched without regard to case. A machine with no provider at all
/// fails at once, without the retries' wait.
fn provider_went_away(e: &keyring::Error) -> bool {
    const GONE: [&str; 4] = [
        "disconnected from message bus",
        "did not receive a reply",
        "does not exist",
        "no such interface",
    ];
    let keyring::Error::PlatformFailure(inner) = e else {
        return false;
    };
    let text = inner.to_string().to_lowercase();
    GONE.iter().any(|g| text.contains(g))
}

/// Run one keychain operation, again while its daemon is coming back (see the module header).
fn retried<T>(op: impl FnMut() -> keyring::Result<T>) -> keyring::Result<T> {
    op.retry(
        ExponentialBuilder::default()
            .with_min_delay(RETRY_DELAY)
            .with_max_times(RETRIES),
    )
    .when(provider_went_away)
    .notify(|e, after| tracing::debug!(error = %e, ?after, "keychain failed; trying again"))
    .call()
}

/// Run keychain calls for `username` on `relay` on tokio's blocking pool: each is a D-Bus
/// round trip to the keyring daemon (several, with the retries' pauses, while it restarts),
/// which must not hold up the engine's event loop and the connection it drives.
pub async fn off_loop<T: Send + 'static>(
    relay: &str,
    username: &str,
    work: impl FnOnce(&str, &str) -> Result<T> + Send + 'static,
) -> Result<T> {
    let (relay, username) = (relay.to_owned(), username.to_owned());
    tokio::task::spawn_blocking(move || work(&relay, &username))
        .await
        .map_err(|e| Error::Internal(format!("keychain task failed: {e}")))?
}

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

/// The device credential from the last login. Deliberately not `Debug`/`Display`.
#[derive(Clone)]
pub struct DeviceCredential(String);

impl DeviceCredential {
    /// Wrap a credential received from the relay.
    pub fn new(credential: String) -> Self {
        DeviceCredential(credential)
    }

    /// The credential text, for the login request only.
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

fn device_entry(relay: &str, username: &str) -> Result<keyring::Entry> {
    // '#' cannot occur in a username, so this never collides with a token entry.
    keyring::Entry::new(
        &service_name(relay),
        &format!("{}#device", username.to_lowercase()),
    )
    .map_err(map_err)
}

/// Store the device credential for `username` on `relay`, replacing any previous one.
pub fn store_device_credential(
    relay: &str,
    username: &str,
    credential: &DeviceCredential,
) -> Result<()> {
    let entry = device_entry(relay, username)?;
    retried(|| entry.set_password(credential.expose())).map_err(map_err)
}

/// Load the device credential, or `None` if this device never logged in to the account.
pub fn load_device_credential(relay: &str, username: &str) -> Result<Option<DeviceCredential>> {
    let entry = device_entry(relay, username)?;
    match retried(|| entry.get_password()) {
        Ok(c) => Ok(Some(DeviceCredential(c))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_err(e)),
    }
}

/// Forget the device credential (the account is gone). A missing one is not an error.
pub fn delete_device_credential(relay: &str, username: &str) -> Result<()> {
    let entry = device_entry(relay, username)?;
    match retried(|| entry.delete_credential()) {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
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
    let entry = entry(relay, username)?;
    retried(|| entry.set_password(token.expose())).map_err(map_err)
}

/// Load the token, or `None` if this device is not logged in.
pub fn load(relay: &str, username: &str) -> Result<Option<Token>> {
    let entry = entry(relay, username)?;
    match retried(|| entry.get_password()) {
        Ok(t) => Ok(Some(Token(t))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_err(e)),
    }
}

/// Delete the token (log out). Deleting a missing token is not an error.
pub fn delete(relay: &str, username: &str) -> Result<()> {
    let entry = entry(relay, username)?;
    match retried(|| entry.delete_credential()) {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(text: &str) -> keyring::Error {
        keyring::Error::PlatformFailure(text.to_owned().into())
    }

    /// Failures that say the daemon (or the item a search just found) went away are tried
    /// again; others, and a missing entry, are not.
    #[test]
    fn only_a_daemon_or_item_that_went_away_is_tried_again() {
        for gone in [
            "DBus error: org.freedesktop.DBus.Error.Disconnected: disconnected from message bus",
            "DBus error: Did not receive a reply. Possible causes include: the remote application did not send a reply",
            "DBus error: The session does not exist",
            "DBus error: No such interface \u{201c}org.freedesktop.Secret.Item\u{201d} on object at path /org/freedesktop/secrets/collection/login/213",
        ] {
            assert!(provider_went_away(&platform(gone)), "{gone}");
        }
        assert!(!provider_went_away(&platform(
            "DBus error: The name org.freedesktop.secrets was not provided by any .service files"
        )));
        assert!(!provider_went_away(&keyring::Error::NoEntry));
    }
}
