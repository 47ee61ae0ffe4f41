//! Settings that outlive a run: relay address, last account, do-not-disturb, and per account
//! its muted conversations (for good, or until a time: an hour, a day, a week…) and pinned
//! ones. Stored as JSON in the app's config folder; never holds a secret (the token
//! is in the OS keychain). The file is private (`0600` in a `0700` folder on unix): it names
//! the account and its relay.
//!
//! Mutes and pins are the account's on all its devices: the relay keeps them and the engine
//! syncs them ([`tern_client::Client::set_chat_prefs`]). What is here is the shell's copy,
//! replaced by every [`tern_client::Event::ChatPrefs`] ([`Settings::mirror_chat_prefs`]), so
//! the notification policy reads it without a trip to the cache. Mutes and pins kept here
//! before the relay kept them are merged into the account's once ([`Settings::unsynced`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tern_client::{private_fs, ClearText};
use tern_proto::{ChatPrefs, ConversationId, Timestamp};

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
    /// Muted conversations per account ([`account_key`]: conversation ids are an account's
    /// own), each with the end of its mute (ms since the epoch; `None`: until unmuted). Their
    /// messages raise no notification (except mentions of the user, unless `mute_mentions`).
    pub mutes: BTreeMap<String, BTreeMap<ConversationId, Option<Timestamp>>>,
    /// Mutes from before they were kept per account (they applied to whoever signed in):
    /// the first account to sign in since takes them ([`Settings::take_unclaimed_mutes`]).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub muted: BTreeSet<ConversationId>,
    /// Mentions in a muted conversation stay silent too.
    pub mute_mentions: bool,
    /// Conversations pinned to the top of the list, in the order shown (at most
    /// [`tern_client::MAX_PINNED`]), per account ([`account_key`]): conversation ids are an account's own.
    pub pinned: BTreeMap<String, Vec<ConversationId>>,
    /// Conversations the user marked unread, per account ([`account_key`]); the engine's copy
    /// ([`Settings::mirror_chat_prefs`]), kept here for the first screen.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unread_marks: BTreeMap<String, BTreeSet<ConversationId>>,
    /// Conversations the user archived, per account ([`account_key`]); the engine's copy.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub archived: BTreeMap<String, BTreeSet<ConversationId>>,
    /// Accounts whose mutes and pins kept here were merged into the relay's
    /// ([`Settings::unsynced`]).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub synced_prefs: BTreeSet<String>,
}

/// The ids kept for `account` in a per-account set.
fn ids_of(map: &BTreeMap<String, BTreeSet<ConversationId>>, account: &str) -> Vec<ConversationId> {
    map.get(account).into_iter().flatten().copied().collect()
}

/// Replace `account`'s set in `map` with the conversations of `all` that `has`; whether it
/// changed.
fn mirror_ids(
    map: &mut BTreeMap<String, BTreeSet<ConversationId>>,
    account: &str,
    all: &[ChatPrefs],
    has: impl Fn(&ChatPrefs) -> bool,
) -> bool {
    let ids: BTreeSet<_> = all
        .iter()
        .filter(|p| has(p))
        .map(|p| p.conversation_id)
        .collect();
    if map.get(account) == (!ids.is_empty()).then_some(&ids) {
        return false;
    }
    if ids.is_empty() {
        map.remove(account);
    } else {
        map.insert(account.to_owned(), ids);
    }
    true
}

/// The key of an account's entries: its user id at its relay.
pub fn account_key(relay: &str, user: tern_proto::UserId) -> String {
    format!("{}@{relay}", user.0)
}

/// The key of `client`'s account ([`account_key`]).
pub fn account_of(client: &tern_client::Client) -> String {
    account_key(client.config().relay.as_str(), client.user_id())
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

    /// Whether `account` has `conv` muted at `now` (ms since the epoch).
    pub fn is_muted(&self, account: &str, conv: ConversationId, now: Timestamp) -> bool {
        self.mutes
            .get(account)
            .and_then(|m| m.get(&conv))
            .is_some_and(|end| end.is_none_or(|end| end > now))
    }

    /// Mute `account`'s `conv` until `until` (`None`: until unmuted), or unmute it.
    pub fn set_mute(
        &mut self,
        account: &str,
        conv: ConversationId,
        muted: bool,
        until: Option<Timestamp>,
    ) {
        if muted {
            self.mutes
                .entry(account.to_owned())
                .or_default()
                .insert(conv, until);
        } else if let Some(m) = self.mutes.get_mut(account) {
            m.remove(&conv);
            if m.is_empty() {
                self.mutes.remove(account);
            }
        }
    }

    /// The conversations `account` has muted at `now`, each with its end (`None`: until
    /// unmuted).
    pub fn mutes_of(
        &self,
        account: &str,
        now: Timestamp,
    ) -> Vec<(ConversationId, Option<Timestamp>)> {
        self.mutes
            .get(account)
            .into_iter()
            .flatten()
            .filter(|(_, end)| end.is_none_or(|end| end > now))
            .map(|(c, end)| (*c, *end))
            .collect()
    }

    /// Forget the mutes of every account that ended by `now`; whether any did.
    pub fn drop_ended_mutes(&mut self, now: Timestamp) -> bool {
        let before: usize = self.mutes.values().map(BTreeMap::len).sum();
        for m in self.mutes.values_mut() {
            m.retain(|_, end| end.is_none_or(|end| end > now));
        }
        self.mutes.retain(|_, m| !m.is_empty());
        self.mutes.values().map(BTreeMap::len).sum::<usize>() != before
    }

    /// Forget what `account` kept here (its mutes and pins): its device data is removed.
    pub fn forget_account(&mut self, account: &str) {
        self.mutes.remove(account);
        self.pinned.remove(account);
        self.unread_marks.remove(account);
        self.archived.remove(account);
        self.synced_prefs.remove(account);
    }

    /// The conversations `account` marked unread.
    pub fn unread_marks_of(&self, account: &str) -> Vec<ConversationId> {
        ids_of(&self.unread_marks, account)
    }

    /// The conversations `account` archived.
    pub fn archived_by(&self, account: &str) -> Vec<ConversationId> {
        ids_of(&self.archived, account)
    }

    /// Replace `account`'s mutes, pins, unread marks and archived chats with the engine's
    /// list; whether anything changed.
    pub fn mirror_chat_prefs(&mut self, account: &str, all: &[ChatPrefs]) -> bool {
        let marks = mirror_ids(&mut self.unread_marks, account, all, |p| p.marked_unread);
        let archived = mirror_ids(&mut self.archived, account, all, |p| p.archived);
        self.mirror_mutes_and_pins(account, all) | marks | archived
    }

    fn mirror_mutes_and_pins(&mut self, account: &str, all: &[ChatPrefs]) -> bool {
        let mutes: BTreeMap<_, _> = all
            .iter()
            .filter(|p| p.muted)
            .map(|p| (p.conversation_id, p.muted_until))
            .collect();
        let mut pins: Vec<_> = all
            .iter()
            .filter_map(|p| p.pinned_at.map(|at| (at, p.conversation_id)))
            .collect();
        // The latest pin first; the same time (never from this app) by id, so every device
        // shows one order.
        pins.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let pins: Vec<_> = pins.into_iter().map(|(_, c)| c).collect();
        let before = (
            self.mutes.get(account).cloned(),
            self.pinned.get(account).cloned(),
        );
        let after = (
            (!mutes.is_empty()).then_some(mutes),
            (!pins.is_empty()).then_some(pins),
        );
        if before == after {
            return false;
        }
        let (mutes, pins) = after;
        match mutes {
            Some(m) => self.mutes.insert(account.to_owned(), m),
            None => self.mutes.remove(account),
        };
        match pins {
            Some(p) => self.pinned.insert(account.to_owned(), p),
            None => self.pinned.remove(account),
        };
        true
    }

    /// What `account` kept here before the relay kept it, until it was merged
    /// ([`Settings::mark_synced`]; empty after that): every mute, and every pin timed so that
    /// the order shown stays (the first shown the latest, `now`).
    pub fn unsynced(&self, account: &str, now: Timestamp) -> Vec<ChatPrefs> {
        if self.synced_prefs.contains(account) {
            return Vec::new();
        }
        let mut out: BTreeMap<ConversationId, ChatPrefs> = BTreeMap::new();
        for (conv, until) in self.mutes_of(account, now) {
            let p = out.entry(conv).or_insert(ChatPrefs::none(conv));
            p.muted = true;
            p.muted_until = until;
        }
        for (i, conv) in self.pinned_by(account).into_iter().enumerate() {
            out.entry(conv).or_insert(ChatPrefs::none(conv)).pinned_at = Some(now - i as i64);
        }
        out.into_values().collect()
    }

    /// `account`'s mutes and pins kept here were merged into the relay's.
    pub fn mark_synced(&mut self, account: &str) {
        self.synced_prefs.insert(account.to_owned());
    }

    /// `account` signs in: mutes kept before they were per account, if any are left, become
    /// its own.
    pub fn take_unclaimed_mutes(&mut self, account: &str) {
        for conv in std::mem::take(&mut self.muted) {
            self.set_mute(account, conv, true, None);
        }
    }

    /// The conversations `account` pinned, first shown first.
    pub fn pinned_by(&self, account: &str) -> Vec<ConversationId> {
        self.pinned.get(account).cloned().unwrap_or_default()
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
            mutes: [(
                "2@http://relay:7878".to_owned(),
                [
                    (ConversationId(3), None),
                    (ConversationId(7), Some(1_710_252_180_000)),
                ]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect(),
            muted: BTreeSet::new(),
            mute_mentions: true,
            pinned: [(
                "2@http://relay:7878".to_owned(),
                vec![ConversationId(7), ConversationId(3)],
            )]
            .into_iter()
            .collect(),
            unread_marks: [(
                "2@http://relay:7878".to_owned(),
                [ConversationId(9)].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
            archived: [(
                "2@http://relay:7878".to_owned(),
                [ConversationId(3)].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
            synced_prefs: ["2@http://relay:7878".to_owned()].into_iter().collect(),
        };
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path), s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("token"));
    }

    #[test]
    fn mutes_from_before_they_were_per_account_go_to_the_first_account_to_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        std::fs::write(
            &path,
            r#"{"relay":"http://r:1","username":"ann","muted":[3,7],"mute_mentions":false}"#,
        )
        .unwrap();
        let mut s = Settings::load(&path);
        let ann = account_key("http://r:1", tern_proto::UserId(5));
        assert!(s.mutes_of(&ann, 0).is_empty(), "not claimed yet");
        s.take_unclaimed_mutes(&ann);
        assert_eq!(
            s.mutes_of(&ann, 0),
            vec![(ConversationId(3), None), (ConversationId(7), None)]
        );
        assert!(s.muted.is_empty());
        s.save(&path).unwrap();
        assert!(!std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"muted\""));
    }

    #[test]
    fn mutes_and_pins_kept_here_go_to_the_relay_once_and_then_follow_its_word() {
        let mut s = Settings::default();
        let (a, b) = ("1@r", "2@r");
        let c = ConversationId;
        s.set_mute(a, c(1), true, Some(5_000));
        s.pinned.insert(a.into(), vec![c(3), c(1)]);
        s.set_mute(b, c(9), true, None);
        // Handed over once, in the order shown: the first pin the latest.
        let handed = s.unsynced(a, 1_000);
        assert_eq!(
            handed,
            vec![
                ChatPrefs {
                    muted: true,
                    muted_until: Some(5_000),
                    pinned_at: Some(999),
                    ..ChatPrefs::none(c(1))
                },
                ChatPrefs {
                    pinned_at: Some(1_000),
                    ..ChatPrefs::none(c(3))
                },
            ]
        );
        assert_eq!(s.unsynced(a, 1_000), handed, "until merged");
        s.mark_synced(a);
        assert!(s.unsynced(a, 2_000).is_empty(), "only once");
        // The engine's list replaces the account's copy, another account's stays.
        assert!(!s.mirror_chat_prefs(a, &handed), "the same as kept here");
        assert_eq!(s.pinned_by(a), vec![c(3), c(1)]);
        assert_eq!(s.mutes_of(a, 0), vec![(c(1), Some(5_000))]);
        assert!(s.mirror_chat_prefs(
            a,
            &[ChatPrefs {
                muted: true,
                ..ChatPrefs::none(c(2))
            }]
        ));
        assert_eq!(s.mutes_of(a, 0), vec![(c(2), None)]);
        assert!(s.pinned_by(a).is_empty());
        // A mark "unread" alone is a change too.
        assert!(s.mirror_chat_prefs(
            a,
            &[
                ChatPrefs {
                    muted: true,
                    ..ChatPrefs::none(c(2))
                },
                ChatPrefs {
                    marked_unread: true,
                    ..ChatPrefs::none(c(4))
                }
            ]
        ));
        assert_eq!(s.unread_marks_of(a), vec![c(4)]);
        assert!(s.mirror_chat_prefs(
            a,
            &[
                ChatPrefs {
                    muted: true,
                    ..ChatPrefs::none(c(2))
                },
                ChatPrefs {
                    marked_unread: true,
                    ..ChatPrefs::none(c(4))
                },
                ChatPrefs {
                    archived: true,
                    ..ChatPrefs::none(c(5))
                }
            ]
        ));
        assert_eq!(s.archived_by(a), vec![c(5)]);
        assert_eq!(s.mutes_of(a, 0), vec![(c(2), None)]);
        assert_eq!(s.mutes_of(b, 0), vec![(c(9), None)]);
        // A device whose data is removed hands over again what it keeps after (nothing).
        s.forget_account(a);
        assert!(s.unsynced(a, 3_000).is_empty());
        assert!(s.unread_marks_of(a).is_empty());
        assert!(s.archived_by(a).is_empty());
    }

    #[test]
    fn a_mute_for_a_while_ends_by_itself_and_is_forgotten_and_each_account_has_its_own() {
        let mut s = Settings::default();
        let (c1, c2) = (ConversationId(1), ConversationId(2));
        let (a, b) = ("1@r", "2@r");
        s.set_mute(a, c1, true, Some(1_000));
        s.set_mute(a, c2, true, None);
        assert!(s.is_muted(a, c1, 999) && s.is_muted(a, c2, 999));
        assert!(
            !s.is_muted(b, c1, 999),
            "another account's chat 1 is not muted"
        );
        assert_eq!(s.mutes_of(a, 999), vec![(c1, Some(1_000)), (c2, None)]);
        assert!(!s.is_muted(a, c1, 1_000), "over at its end");
        assert_eq!(s.mutes_of(a, 1_000), vec![(c2, None)]);
        assert!(!s.drop_ended_mutes(999));
        assert!(s.drop_ended_mutes(1_000));
        assert_eq!(s.mutes_of(a, 0), vec![(c2, None)]);
        // Muting again for good replaces an end; unmuting forgets both.
        s.set_mute(a, c1, true, Some(5));
        s.set_mute(a, c1, true, None);
        assert!(s.is_muted(a, c1, 1_000_000));
        s.set_mute(a, c1, false, None);
        s.set_mute(a, c2, false, None);
        assert!(!s.is_muted(a, c1, 0) && s.mutes.is_empty());
        // Removing an account's data here forgets its mutes and pins, not another's.
        s.set_mute(a, c1, true, None);
        s.set_mute(b, c1, true, None);
        s.pinned.insert(a.into(), vec![c1]);
        s.forget_account(a);
        assert!(!s.is_muted(a, c1, 0) && s.pinned_by(a).is_empty());
        assert!(s.is_muted(b, c1, 0));
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
