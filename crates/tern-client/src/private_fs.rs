//! Folders and files only the signed-in OS user may read: Tern's data folders are `0700`,
//! its files (cache databases, settings, account index) `0600` on unix.
//!
//! The cache holds every message in clear text, so the default umask's world-readable `0644`
//! would let any other local account read a user's history. Folders are tightened even when
//! they already exist, so installs from before this rule are fixed on their next start.
//! SQLite creates its `-wal`/`-shm` files with the database file's mode, so a `0600` database
//! inside a `0700` folder keeps them private too. On other systems these are plain
//! create/write calls (the per-user profile folders are already private there).

use std::io::Write;
use std::path::Path;

/// Create `dir` (and missing parents) as `0700`; an existing `dir` is tightened to `0700`.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    set_mode(dir, 0o700)
}

/// Restrict an existing file to `0600`; a missing file is not an error.
pub fn restrict_file(path: &Path) -> std::io::Result<()> {
    match set_mode(path, 0o600) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Create `path` empty as `0600` if it does not exist yet (before another library opens it).
pub fn touch_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    restrict_file(path)
}

/// Replace `path` atomically with `contents` as a `0600` file (temporary file, then rename).
pub fn write_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    // A temporary file left by an older version may have been created with a wider mode.
    restrict_file(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(path: &Path, _mode: u32) -> std::io::Result<()> {
    std::fs::metadata(path).map(|_| ())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_and_existing_folders_end_up_private() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("a/b/c");
        create_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&root.path().join("a/b")), 0o700);
        let old = root.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&old).unwrap();
        assert_eq!(mode(&old), 0o700);
    }

    #[test]
    fn written_and_touched_files_are_private_even_if_they_were_not() {
        let root = tempfile::tempdir().unwrap();
        let f = root.path().join("settings.json");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_file(&f, b"new").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(mode(&f), 0o600);
        let db = root.path().join("cache.db");
        touch_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        restrict_file(&root.path().join("missing")).unwrap();
    }
}
