//! How the web view draws on Linux, chosen before anything starts.
//!
//! WebKitGTK composites the page with OpenGL. On a machine without a GPU render node (a virtual
//! machine, a remote or headless X server) that OpenGL is Mesa's software rasterizer, which is
//! slower and heavier than WebKit's own non-composited painting. Measured under Xvfb (software
//! rendering), scrolling back through a chat of 10,000 messages drew frames of 99 ms median with
//! compositing and 54 ms without, and the app held 127 MiB less (docs/benchmarks.md). So without
//! a render node, compositing is turned off (`WEBKIT_DISABLE_COMPOSITING_MODE`, which the web
//! processes inherit); a machine with a GPU keeps it, and a value the user set wins.

use std::path::Path;

/// The variable WebKitGTK reads, in its web process, to paint without compositing.
pub const DISABLE_COMPOSITING: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Turn compositing off when only software OpenGL is available. Call first thing in `main`,
/// while the process has a single thread (it sets an environment variable).
pub fn choose() {
    if cfg!(target_os = "linux")
        && std::env::var_os(DISABLE_COMPOSITING).is_none()
        && software_only(
            Path::new("/dev/dri"),
            std::env::var("LIBGL_ALWAYS_SOFTWARE").ok(),
        )
    {
        std::env::set_var(DISABLE_COMPOSITING, "1");
    }
}

/// Whether OpenGL would be software: no render node (`renderD*`) under `dri`, or software
/// asked for in `libgl_always_software`.
pub fn software_only(dri: &Path, libgl_always_software: Option<String>) -> bool {
    if libgl_always_software.is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        return true;
    }
    let render_node = std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    !render_node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_only_without_a_render_node_or_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let dri = dir.path().join("dri");
        assert!(software_only(&dri, None), "no /dev/dri at all");
        std::fs::create_dir(&dri).unwrap();
        std::fs::write(dri.join("card0"), "").unwrap();
        assert!(software_only(&dri, None), "a card but no render node");
        std::fs::write(dri.join("renderD128"), "").unwrap();
        assert!(!software_only(&dri, None), "a render node");
        assert!(
            software_only(&dri, Some("1".into())),
            "LIBGL_ALWAYS_SOFTWARE=1"
        );
        assert!(!software_only(&dri, Some("0".into())));
    }
}
