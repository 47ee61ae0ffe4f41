//! What a test can see of the files its own process holds open (Linux, through `/proc`).

use std::path::Path;

/// Descriptors of this process open on `path` or on files beside it whose names begin with its
/// own (SQLite's `-wal` and `-shm`): zero once a cache is really closed.
pub fn open_on(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| {
            target.parent() == path.parent()
                && target
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&name))
        })
        .count()
}
