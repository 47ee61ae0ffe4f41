//! Where an account's local data lives on this device, and which account a username means.
//!
//! Layout under the data folder:
//! ```text
//! <data_dir>/<relay as [A-Za-z0-9_]>/accounts.json        username -> user id
//! <data_dir>/<relay as [A-Za-z0-9_]>/users/<user id>/cache.db
//! ```
//! Design decision: folders are keyed by the numeric user id, never by a name. The username in
//! the login reply is chosen by the relay; when it became a folder name, a hostile relay could
//! answer `../../x` and make the client create and write files outside its data folder. A user
//! id is an integer, so it can only ever be one plain path component; the username is kept as
//! data (inside `accounts.json` and the cache's `meta` table), never as a path.
//!
//! Older versions used `<relay>/<lowercased username>/cache.db`. Such a folder is moved to the
//! new place the first time the account logs in or resumes, when its name is a plain name
//! ([`is_plain_name`]); anything else is left alone and never read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tern_proto::UserId;

use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::private_fs;

/// The folder holding everything Tern keeps for one relay.
pub fn relay_dir(config: &ClientConfig) -> PathBuf {
    let relay: String = config
        .relay
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    config.data_dir.join(relay)
}

/// The folder of one account on a relay.
pub fn account_dir(config: &ClientConfig, user_id: UserId) -> PathBuf {
    relay_dir(config).join("users").join(user_id.to_string())
}

/// The cache database of one account on a relay.
pub fn cache_path(config: &ClientConfig, user_id: UserId) -> PathBuf {
    account_dir(config, user_id).join("cache.db")
}

/// Remove everything this device keeps of an account (its cache of messages, downloaded and
/// staged files); the account must be signed out (its engine stopped). Missing is not an error.
pub fn remove_account_data(config: &ClientConfig, user_id: UserId) -> Result<()> {
    let dir = account_dir(config, user_id);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::Internal(format!(
            "{} could not be removed: {e}",
            dir.display()
        ))),
    }
}

/// Create the data, relay and account folders, all private.
pub(crate) fn create_account_dir(config: &ClientConfig, user_id: UserId) -> Result<()> {
    let relay = relay_dir(config);
    for dir in [
        config.data_dir.clone(),
        relay.clone(),
        relay.join("users"),
        account_dir(config, user_id),
    ] {
        private_fs::create_dir(&dir)?;
    }
    Ok(())
}

/// Whether `name` is safe as one path component: 1 to 64 ASCII letters, digits, `_`, `-`, `.`,
/// not starting with a dot (so never `.`, `..` or a hidden file).
pub fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn index_path(config: &ClientConfig) -> PathBuf {
    relay_dir(config).join("accounts.json")
}

fn read_index(config: &ClientConfig) -> BTreeMap<String, UserId> {
    std::fs::read(index_path(config))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The user id a username had when it last signed in here.
pub(crate) fn lookup(config: &ClientConfig, username: &str) -> Option<UserId> {
    read_index(config).get(&username.to_lowercase()).copied()
}

/// Record which user id a username is (after a login).
pub(crate) fn remember(config: &ClientConfig, username: &str, user_id: UserId) -> Result<()> {
    let mut index = read_index(config);
    if index.insert(username.to_lowercase(), user_id) == Some(user_id) {
        return Ok(());
    }
    private_fs::create_dir(&relay_dir(config))?;
    let json = serde_json::to_vec_pretty(&index)
        .map_err(|e| Error::Internal(format!("account index: {e}")))?;
    private_fs::write_file(&index_path(config), &json)?;
    Ok(())
}

/// The pre-id folder of `username`, if its name is plain and it holds a cache.
fn legacy_dir(config: &ClientConfig, username: &str) -> Option<PathBuf> {
    let name = username.to_lowercase();
    // `users` is the parent of the new layout; a legacy folder of that name cannot move into
    // itself and is left in place.
    if !is_plain_name(&name) || name == "users" {
        return None;
    }
    let dir = relay_dir(config).join(name);
    dir.join("cache.db").is_file().then_some(dir)
}

/// Move an older version's folder of this account to its id folder (when there is one and the
/// id folder does not exist yet).
pub(crate) fn adopt_legacy(config: &ClientConfig, username: &str, user_id: UserId) -> Result<()> {
    let Some(old) = legacy_dir(config, username) else {
        return Ok(());
    };
    if crate::cache::recorded_user_id(&old.join("cache.db")) != Some(user_id) {
        return Ok(());
    }
    let new = account_dir(config, user_id);
    if new.exists() {
        return Ok(());
    }
    private_fs::create_dir(&relay_dir(config).join("users"))?;
    std::fs::rename(&old, &new)?;
    tracing::info!(%user_id, "moved the cache to its per-id folder");
    Ok(())
}

/// For a username with no index entry: the user id of its pre-id cache, moving it into place.
pub(crate) fn find_legacy(config: &ClientConfig, username: &str) -> Result<Option<UserId>> {
    let Some(old) = legacy_dir(config, username) else {
        return Ok(None);
    };
    let Some(user_id) = crate::cache::recorded_user_id(&old.join("cache.db")) else {
        return Ok(None);
    };
    adopt_legacy(config, username, user_id)?;
    remember(config, username, user_id)?;
    Ok(Some(user_id))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::relay_address::RelayAddress;

    fn config(dir: &Path) -> ClientConfig {
        ClientConfig::new("http://127.0.0.1:7878".parse().unwrap(), dir)
    }

    #[test]
    fn a_hostile_username_cannot_choose_where_the_cache_goes() {
        let data = tempfile::tempdir().unwrap();
        let c = config(data.path());
        // Whatever the relay calls the account, only its numeric id reaches the path.
        remember(&c, "../../x", UserId(7)).unwrap();
        let path = cache_path(&c, lookup(&c, "../../x").unwrap());
        assert_eq!(path, relay_dir(&c).join("users/7/cache.db"));
        assert!(path.starts_with(data.path()));
        assert!(!path.components().any(|p| p.as_os_str() == ".."));
        // And a legacy folder is only ever looked for under a plain name.
        for name in ["../../x", "..", ".", "a/b", "a\\b", "", ".hidden", "users"] {
            assert!(legacy_dir(&c, name).is_none(), "{name:?}");
            assert!(find_legacy(&c, name).unwrap().is_none(), "{name:?}");
        }
    }

    #[test]
    fn plain_names_are_what_usernames_look_like() {
        for ok in ["alice", "bob_2", "a.b-c", "X"] {
            assert!(is_plain_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            ".x",
            "a b",
            "ä",
            &"x".repeat(65),
        ] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_relay_folder_is_a_plain_name() {
        let data = tempfile::tempdir().unwrap();
        let relay: RelayAddress = "https://relay.example:8443/../tern".parse().unwrap();
        let c = ClientConfig::new(relay, data.path());
        let dir = relay_dir(&c);
        assert_eq!(dir.parent().unwrap(), data.path());
        assert!(is_plain_name(dir.file_name().unwrap().to_str().unwrap()));
    }

    #[test]
    fn an_older_username_folder_is_moved_to_the_id_folder_and_stays_readable() {
        let data = tempfile::tempdir().unwrap();
        let c = config(data.path());
        let old = relay_dir(&c).join("alice");
        std::fs::create_dir_all(&old).unwrap();
        crate::cache::write_old_cache(&old.join("cache.db"), UserId(42), "alice").unwrap();
        assert_eq!(lookup(&c, "Alice"), None);
        assert_eq!(find_legacy(&c, "Alice").unwrap(), Some(UserId(42)));
        assert!(cache_path(&c, UserId(42)).is_file());
        assert!(!old.exists());
        assert_eq!(lookup(&c, "alice"), Some(UserId(42)));
    }
}
