//! Settings that outlive a run: relay address, last account, do-not-disturb and muted
//! conversations. Stored as JSON in the app's config folder; never holds a secret (the token
//! is in the OS keychain). The file is private (`0600` in a `0700` folder on unix): it names
//! the account and its relay.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tern_client::{private_fs, ClearText};
use tern_proto::ConversationId;

/// Persisted settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Relay base URL.
    pub relay: Option<String>,
    /// Account signed in last; used for silent sign-in.
    pub username: Option<String>,
    /// The user accepted an unencrypted `http://` relay on another machine.
    pub allow_insecure_relay: bool,
    /// Do not disturb: no notifications at all.
    pub do_not_disturb: bool,
    /// Conversations whose messages raise no notification (except mentions of the user,
    /// unless `mute_mentions` is set).
    pub muted: BTreeSet<ConversationId>,
    /// Mentions in a muted conversation stay silent too.
    pub mute_mentions: bool,
}

impl Settings {
    /// Load from `path`; a missing or unreadable file gives defaults.
    pub fn load(path: &Path) -> Settings {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Save atomically (write a temporary file, then rename), readable only by the user.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            private_fs::create_dir(dir)?;
        }
        private_fs::write_file(
            path,
            &serde_json::to_vec_pretty(self).expect("settings serialize"),
        )
    }

    /// Whether clear text to a remote relay is acceptable.
    pub fn clear_text(&self) -> ClearText {
        if self.allow_insecure_relay {
            ClearText::Allow
        } else {
            ClearText::LoopbackOnly
        }
    }
}

/// Where the settings file lives inside the config folder.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("settings.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        assert_eq!(Settings::load(&path), Settings::default());
        let s = Settings {
            relay: Some("http://relay:7878".into()),
            username: Some("alice".into()),
            allow_insecure_relay: true,
            do_not_disturb: true,
            muted: [ConversationId(3), ConversationId(7)].into_iter().collect(),
            mute_mentions: true,
        };
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path), s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("token"));
    }

    #[cfg(unix)]
    #[test]
    fn settings_are_readable_only_by_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(&dir.path().join("config"));
        Settings::default().save(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
}
