//! Where Tern's web-process extension (`crates/tern-webext`) is, for WebKitGTK to load.
//!
//! The extension gives the web process's freed C heap back to the system (after scrolling
//! through a long chat it held hundreds of megabytes of it; docs/benchmarks.md). WebKit loads
//! every shared library in the folder it is given, so that folder holds the extension alone:
//! an installed package puts it in `<prefix>/lib/tern/webext/` (the deb, rpm and AppImage
//! `files` in tauri.conf.json), while a cargo build leaves it beside the executable among other
//! files, so from there it is first copied into the app's data folder. Without it the app runs
//! as before, holding more memory.

use std::path::{Path, PathBuf};

/// The extension's file name.
pub const FILE: &str = "libtern_webext.so";

/// The folder to give WebKit, or `None` when the extension is not found. `exe` is the running
/// executable, `data_dir` the app's data folder.
pub fn folder(exe: &Path, data_dir: &Path) -> Option<PathBuf> {
    let bin_dir = exe.parent()?;
    if let Some(prefix) = bin_dir.parent() {
        let installed = prefix.join("lib").join("tern").join("webext");
        if installed.join(FILE).is_file() {
            return Some(installed);
        }
    }
    let built = bin_dir.join(FILE);
    if !built.is_file() {
        return None;
    }
    let dir = data_dir.join("webext");
    match copy_if_changed(&built, &dir.join(FILE)) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(error = %e, "could not copy the web-process extension");
            None
        }
    }
}

/// Copy `from` to `to` unless `to` already has its length and modification time. A web process
/// still running from an earlier start may have `to` mapped, so the copy is written beside it
/// and renamed over it (the old file lives on until it is unmapped), never rewritten in place.
fn copy_if_changed(from: &Path, to: &Path) -> std::io::Result<()> {
    let source = std::fs::metadata(from)?;
    if let Ok(current) = std::fs::metadata(to) {
        if current.len() == source.len() && current.modified()? == source.modified()? {
            return Ok(());
        }
    }
    std::fs::create_dir_all(to.parent().unwrap_or(Path::new(".")))?;
    let partial = to.with_extension("so.partial");
    std::fs::copy(from, &partial)?;
    std::fs::File::options()
        .write(true)
        .open(&partial)?
        .set_modified(source.modified()?)?;
    std::fs::rename(&partial, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_extension_is_used_where_it_is() {
        let root = tempfile::tempdir().unwrap();
        let webext = root.path().join("lib/tern/webext");
        std::fs::create_dir_all(&webext).unwrap();
        std::fs::write(webext.join(FILE), b"so").unwrap();
        std::fs::create_dir_all(root.path().join("bin")).unwrap();
        let data = root.path().join("data");
        assert_eq!(
            folder(&root.path().join("bin/tern-desktop"), &data),
            Some(webext)
        );
        assert!(!data.exists(), "nothing copied");
    }

    #[test]
    fn a_built_extension_is_copied_into_a_folder_of_its_own_and_refreshed_when_rebuilt() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("target/debug");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join(FILE), b"first").unwrap();
        std::fs::write(target.join("libother.so"), b"not ours").unwrap();
        let data = root.path().join("data");
        let exe = target.join("tern-desktop");

        let dir = folder(&exe, &data).unwrap();
        assert_eq!(dir, data.join("webext"));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE], "the extension alone");
        assert_eq!(std::fs::read(dir.join(FILE)).unwrap(), b"first");

        std::fs::write(target.join(FILE), b"second build").unwrap();
        folder(&exe, &data).unwrap();
        assert_eq!(std::fs::read(dir.join(FILE)).unwrap(), b"second build");
    }

    #[test]
    fn without_the_extension_there_is_no_folder() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(
            folder(&root.path().join("bin/tern-desktop"), root.path()),
            None
        );
    }
}
