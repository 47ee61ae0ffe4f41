//! Settings that outlive a run: relay address, last account, do-not-disturb, muted
//! conversations (for good, or until a time: an hour, a day, a week…) and pinned ones (per
//! account). Stored as JSON in the app's config folder; never holds a secret (the token
//! is in the OS keychain). The file is private (`0600` in a `0700` folder on unix): it names
//! the account and its relay.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tern_client::{private_fs, ClearText};
use tern_proto::{ConversationId, Timestamp};

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
    /// When the mutes of conversations muted for a while end (ms since the epoch); one in
    /// `muted` without an end here stays muted until unmuted. (A separate map keeps settings
    /// files written before timed mutes valid.)
    pub mute_ends: BTreeMap<ConversationId, Timestamp>,
    /// Mentions in a muted conversation stay silent too.
    pub mute_mentions: bool,
    /// Conversations pinned to the top of the list, in the order shown (at most
    /// [`MAX_PINNED`]), per account ([`account_key`]): conversation ids are an account's own.
    pub pinned: BTreeMap<String, Vec<ConversationId>>,
}

/// The key of an account's entries: its user id at its relay.
pub fn account_key(relay: &str, user: tern_proto::UserId) -> String {
    format!("{}@{relay}", user.0)
}

/// How many conversations can be pinned (the UI's `pins.js` says the same).
pub const MAX_PINNED: usize = 5;

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

    /// Whether `conv` is muted at `now` (ms since the epoch).
    pub fn is_muted(&self, conv: ConversationId, now: Timestamp) -> bool {
        self.muted.contains(&conv) && self.mute_ends.get(&conv).is_none_or(|end| *end > now)
    }

    /// Mute `conv` until `until` (`None`: until unmuted), or unmute it.
    pub fn set_mute(&mut self, conv: ConversationId, muted: bool, until: Option<Timestamp>) {
        self.mute_ends.remove(&conv);
        if !muted {
            self.muted.remove(&conv);
            return;
        }
        self.muted.insert(conv);
        if let Some(end) = until {
            self.mute_ends.insert(conv, end);
        }
    }

    /// The conversations muted at `now`, each with its end (`None`: until unmuted).
    pub fn mutes(&self, now: Timestamp) -> Vec<(ConversationId, Option<Timestamp>)> {
        self.muted
            .iter()
            .filter(|c| self.is_muted(**c, now))
            .map(|c| (*c, self.mute_ends.get(c).copied()))
            .collect()
    }

    /// Forget the mutes that ended by `now`; whether any did.
    pub fn drop_ended_mutes(&mut self, now: Timestamp) -> bool {
        let ended: Vec<ConversationId> = self
            .mute_ends
            .iter()
            .filter(|(_, end)| **end <= now)
            .map(|(c, _)| *c)
            .collect();
        for c in &ended {
            self.set_mute(*c, false, None);
        }
        !ended.is_empty()
    }

    /// The conversations `account` pinned, first shown first.
    pub fn pinned_by(&self, account: &str) -> Vec<ConversationId> {
        self.pinned.get(account).cloned().unwrap_or_default()
    }

    /// Pin `order` for `account` (the whole list, first shown first), or say why not.
    pub fn set_pinned(&mut self, account: &str, order: Vec<ConversationId>) -> Result<(), String> {
        if order.len() > MAX_PINNED {
            return Err(format!("You can pin up to {MAX_PINNED} chats."));
        }
        let distinct: BTreeSet<_> = order.iter().collect();
        if distinct.len() != order.len() {
            return Err("A chat can be pinned only once.".into());
        }
        if order.is_empty() {
            self.pinned.remove(account);
        } else {
            self.pinned.insert(account.to_owned(), order);
        }
        Ok(())
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
            mute_ends: [(ConversationId(7), 1_710_252_180_000)]
                .into_iter()
                .collect(),
            mute_mentions: true,
            pinned: [(
                "2@http://relay:7878".to_owned(),
                vec![ConversationId(7), ConversationId(3)],
            )]
            .into_iter()
            .collect(),
        };
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path), s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("token"));
    }

    #[test]
    fn a_settings_file_from_before_timed_mutes_still_loads_its_mutes() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        std::fs::write(
            &path,
            r#"{"relay":"http://r:1","muted":[3,7],"mute_mentions":false}"#,
        )
        .unwrap();
        let s = Settings::load(&path);
        assert_eq!(
            s.mutes(0),
            vec![(ConversationId(3), None), (ConversationId(7), None)]
        );
    }

    #[test]
    fn a_mute_for_a_while_ends_by_itself_and_is_forgotten() {
        let mut s = Settings::default();
        let (c1, c2) = (ConversationId(1), ConversationId(2));
        s.set_mute(c1, true, Some(1_000));
        s.set_mute(c2, true, None);
        assert!(s.is_muted(c1, 999) && s.is_muted(c2, 999));
        assert_eq!(s.mutes(999), vec![(c1, Some(1_000)), (c2, None)]);
        assert!(!s.is_muted(c1, 1_000), "over at its end");
        assert_eq!(s.mutes(1_000), vec![(c2, None)]);
        assert!(!s.drop_ended_mutes(999));
        assert!(s.drop_ended_mutes(1_000));
        assert!(!s.muted.contains(&c1) && s.mute_ends.is_empty());
        // Muting again for good replaces an end; unmuting forgets both.
        s.set_mute(c1, true, Some(5));
        s.set_mute(c1, true, None);
        assert!(s.is_muted(c1, 1_000_000));
        s.set_mute(c1, false, None);
        assert!(!s.is_muted(c1, 0) && s.mute_ends.is_empty());
    }

    #[test]
    fn pins_keep_their_order_at_most_five_each_once_per_account() {
        let mut s = Settings::default();
        let ids = |v: &[i64]| v.iter().map(|i| ConversationId(*i)).collect::<Vec<_>>();
        let (a, b) = (
            account_key("https://r.example", tern_proto::UserId(1)),
            account_key("https://r.example", tern_proto::UserId(2)),
        );
        s.set_pinned(&a, ids(&[4, 2, 9])).unwrap();
        s.set_pinned(&b, ids(&[4])).unwrap();
        assert_eq!(s.pinned_by(&a), ids(&[4, 2, 9]));
        assert_eq!(s.pinned_by(&b), ids(&[4]), "each account its own");
        assert!(s.set_pinned(&a, ids(&[1, 2, 3, 4, 5, 6])).is_err());
        assert!(s.set_pinned(&a, ids(&[1, 1])).is_err());
        assert_eq!(
            s.pinned_by(&a),
            ids(&[4, 2, 9]),
            "a refused order changes nothing"
        );
        s.set_pinned(&a, Vec::new()).unwrap();
        assert!(s.pinned_by(&a).is_empty());
        assert_eq!(s.pinned_by(&b), ids(&[4]));
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
