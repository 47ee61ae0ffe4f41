//! The shell's state: the signed-in session (if any), settings, and what the user is looking at.
//!
//! A [`Session`] owns the engine client *and* the task forwarding its events to the UI, and
//! ends both: a forwarder left running after sign-out would keep the old engine (its cache
//! thread and SQLite file) alive for as long as the app runs.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, RwLock};

use tern_client::Client;

use crate::error::CmdError;
use crate::notify::Attention;
use crate::settings::Settings;

/// A signed-in engine client and the task that forwards its events to the UI.
pub struct Session {
    client: Client,
    forwarder: tauri::async_runtime::JoinHandle<()>,
}

impl Session {
    /// A session of `client` whose events `forwarder` forwards.
    pub fn new(client: Client, forwarder: tauri::async_runtime::JoinHandle<()>) -> Self {
        Session { client, forwarder }
    }

    /// Stop forwarding, then stop the client (its connection and cache thread).
    pub async fn end(self) {
        self.forwarder.abort();
        self.client.shutdown().await;
    }
}

/// Managed by Tauri; every command gets it.
pub struct AppState {
    /// The signed-in session. A `std` lock: held only to clone the client or swap the session.
    session: RwLock<Option<Session>>,
    /// Persisted settings (mirrors the file).
    pub settings: Mutex<Settings>,
    /// Settings file.
    pub settings_path: PathBuf,
    /// Folder for the engine's caches.
    pub data_dir: PathBuf,
    /// Focus and open conversation, for the notification policy.
    pub attention: Mutex<Attention>,
    /// Whether a tray icon exists (closing the window then hides instead of quitting).
    pub tray: AtomicBool,
    /// Default relay for the first-run screen.
    pub default_relay: String,
    /// Notifications, coalesced per conversation.
    pub notifier: std::sync::Arc<crate::notify::Notifier>,
}

impl AppState {
    /// A fresh state.
    pub fn new(settings_path: PathBuf, data_dir: PathBuf, default_relay: String) -> Self {
        let mut settings = crate::settings::Settings::load(&settings_path);
        // Mutes that ended while the app was closed are forgotten.
        if settings.drop_ended_mutes(tern_proto::now_ms()) {
            if let Err(e) = settings.save(&settings_path) {
                tracing::warn!(error = %e, "cannot save settings");
            }
        }
        AppState {
            session: RwLock::new(None),
            settings: Mutex::new(settings),
            settings_path,
            data_dir,
            attention: Mutex::new(Attention::default()),
            tray: AtomicBool::new(false),
            default_relay,
            notifier: std::sync::Arc::default(),
        }
    }

    /// The signed-in client, or `not_signed_in`.
    pub fn client(&self) -> Result<Client, CmdError> {
        self.try_client()
            .ok_or_else(|| CmdError::new("not_signed_in", "sign in first"))
    }

    /// The client, if signed in.
    pub fn try_client(&self) -> Option<Client> {
        self.session
            .read()
            .unwrap()
            .as_ref()
            .map(|s| s.client.clone())
    }

    /// Replace the session; returns the previous one, for the caller to [`Session::end`].
    pub fn set_session(&self, session: Option<Session>) -> Option<Session> {
        let signed_out = session.is_none();
        let old = std::mem::replace(&mut *self.session.write().unwrap(), session);
        if signed_out && old.is_some() {
            // The account's notifications show its messages: they go with it. (Signing in
            // switches the notifier to the new account before its events flow: `adopt`.)
            self.notifier.forget_all();
        }
        old
    }

    /// Refuse a command made for `account` (its key, `id@relay`) unless that account is the
    /// one signed in now.
    pub fn refuse_unless_signed_in_as(&self, account: &str) -> Result<(), CmdError> {
        let current = self.try_client().map(|c| crate::settings::account_of(&c));
        match current {
            Some(current) if current == account => Ok(()),
            Some(_) => Err(CmdError::new(
                "account_changed",
                "another account is signed in now; that was not done",
            )),
            None => Err(CmdError::new(
                "not_signed_in",
                "signed out; that was not done",
            )),
        }
    }

    /// This device is signed out (by the user, or by the relay): the session is let go of
    /// (the caller ends it) and the settings no longer name the account, so the next start
    /// asks to sign in. Signed out whatever the settings file says: one that cannot be written
    /// (a full disk) must not leave the session half ended.
    pub fn sign_out_here(&self) -> Option<Session> {
        let session = self.set_session(None);
        if let Err(e) = self.update_settings_if(|s| s.username.take().is_some()) {
            tracing::warn!(error = %e.message, "the settings file could not be written at sign-out");
        }
        session
    }

    /// Change and save the settings.
    ///
    /// A change that cannot be saved (a full disk, a read-only folder) is not made: the
    /// settings in memory stay what the file says, and the error says so (the user's choice
    /// did not take, instead of taking until the next start).
    pub fn update_settings(&self, f: impl FnOnce(&mut Settings)) -> Result<Settings, CmdError> {
        let mut s = self.settings.lock().unwrap();
        let mut next = s.clone();
        f(&mut next);
        self.save(&next)?;
        *s = next;
        Ok(s.clone())
    }

    /// Make the settings follow something that already happened (a sign-out, the engine's
    /// list of mutes): changed in memory whatever happens, saved only if `f` says it changed
    /// something; a failed save is returned.
    pub fn update_settings_if(
        &self,
        f: impl FnOnce(&mut Settings) -> bool,
    ) -> Result<(), CmdError> {
        let mut s = self.settings.lock().unwrap();
        if f(&mut s) {
            self.save(&s)?;
        }
        Ok(())
    }

    fn save(&self, s: &Settings) -> Result<(), CmdError> {
        s.save(&self.settings_path)
            .map_err(|e| CmdError::new("settings", format!("cannot save settings: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A settings file that cannot be written: a choice does not take, and memory keeps what
    /// the file says; a sign-out still signs out.
    #[test]
    fn a_change_that_cannot_be_saved_is_not_made() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, b"").unwrap();
        let state = AppState::new(
            blocker.join("settings.json"),
            dir.path().join("data"),
            "ws://relay.test".into(),
        );
        state.settings.lock().unwrap().username = Some("alice".into());
        assert!(state.update_settings(|s| s.do_not_disturb = true).is_err());
        assert!(!state.settings.lock().unwrap().do_not_disturb);
        assert!(state.sign_out_here().is_none());
        assert_eq!(state.settings.lock().unwrap().username, None);
    }
}
