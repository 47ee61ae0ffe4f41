//! The shell's state: the signed-in client (if any), settings, and what the user is looking at.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, RwLock};

use tern_client::Client;

use crate::error::CmdError;
use crate::notify::Attention;
use crate::settings::Settings;

/// Managed by Tauri; every command gets it.
pub struct AppState {
    /// The signed-in client. A `std` lock: held only to clone or swap the handle.
    client: RwLock<Option<Client>>,
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
}

impl AppState {
    /// A fresh state.
    pub fn new(settings_path: PathBuf, data_dir: PathBuf, default_relay: String) -> Self {
        AppState {
            client: RwLock::new(None),
            settings: Mutex::new(crate::settings::Settings::load(&settings_path)),
            settings_path,
            data_dir,
            attention: Mutex::new(Attention::default()),
            tray: AtomicBool::new(false),
            default_relay,
        }
    }

    /// The signed-in client, or `not_signed_in`.
    pub fn client(&self) -> Result<Client, CmdError> {
        self.client
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| CmdError::new("not_signed_in", "sign in first"))
    }

    /// The client, if signed in.
    pub fn try_client(&self) -> Option<Client> {
        self.client.read().unwrap().clone()
    }

    /// Replace the client; returns the previous one.
    pub fn set_client(&self, client: Option<Client>) -> Option<Client> {
        std::mem::replace(&mut *self.client.write().unwrap(), client)
    }

    /// Change and save the settings.
    pub fn update_settings(&self, f: impl FnOnce(&mut Settings)) -> Result<Settings, CmdError> {
        let mut s = self.settings.lock().unwrap();
        f(&mut s);
        s.save(&self.settings_path)
            .map_err(|e| CmdError::new("settings", format!("cannot save settings: {e}")))?;
        Ok(s.clone())
    }
}
