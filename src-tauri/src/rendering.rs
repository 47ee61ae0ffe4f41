//! How the web view draws on Linux, chosen before anything starts.
//!
//! WebKitGTK composites the page with OpenGL. On a machine without a GPU render node (a virtual
//! machine, a remote or headless X server) that OpenGL is Mesa's software rasterizer, which is
//! slower and heavier than WebKit's own non-composited painting. Measured under Xvfb (software
//! rendering), scrolling back through a chat of 10,000 messages drew frames of 99 ms median with
//! compositing and 54 ms without, and the app held 127 MiB less (docs/benchmarks.md). So without
//! a render node, compositing is turned off (`WEBKIT_DISABLE_COMPOSITING_MODE`, which the web
//! processes inherit); a machine with a GPU keeps it.
//!
//! Painting without compositing needs no OpenGL in the app's own process, yet GTK and WebKit
//! each still loaded Mesa there (its software rasterizer and LLVM; the process held 26 MiB
//! more): GTK probes GLX when it opens the display, WebKit's DMA-BUF renderer check makes a GL
//! context, and WebKit asks EGL for the GPU's render node when it starts its first web process.
//! The other variables of [`SOFTWARE_ONLY`] turn those off (docs/benchmarks.md, "Idle memory
//! without Mesa in the app's process").
//!
//! A user who set `WEBKIT_DISABLE_COMPOSITING_MODE` has chosen how WebKit draws, and nothing is
//! set for them; any other variable the user set keeps the user's value. [`crate::web_env`]
//! sets what [`plan`] asks for, and takes it back out for programs the app starts.

use std::path::Path;

/// The variable WebKitGTK reads, in its web process, to paint without compositing.
pub const DISABLE_COMPOSITING: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// What is set when OpenGL would be software: each variable with its value.
pub const SOFTWARE_ONLY: [(&str, &str); 4] = [
    // The web process paints without compositing.
    (DISABLE_COMPOSITING, "1"),
    // GTK 3 probes GLX as it opens an X display (loading Mesa), unless told GL is off; nothing
    // in the app draws with GTK's OpenGL once WebKit does not composite.
    ("GDK_GL", "disable"),
    // WebKit checks whether the DMA-BUF renderer could work by making a GL context; it is
    // only used to hand composited frames over, and compositing is off.
    ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
    // Unless told which render node to use, WebKit initialises EGL to ask for it when it
    // starts its first web process. Nothing here draws with a GPU (there is none, or software
    // OpenGL was asked for), and a path that names no device says so without EGL.
    ("WEBKIT_WEB_RENDER_DEVICE_FILE", NO_RENDER_NODE),
];

/// A render node path that names no device.
pub const NO_RENDER_NODE: &str = "/dev/dri/none";

/// What to set: nothing with a render node or when the user chose about compositing
/// (`user_set(DISABLE_COMPOSITING)`), otherwise each of [`SOFTWARE_ONLY`] the user has not set.
pub fn plan(
    software_only: bool,
    user_set: impl Fn(&str) -> bool,
) -> Vec<(&'static str, &'static str)> {
    if !software_only || user_set(DISABLE_COMPOSITING) {
        return Vec::new();
    }
    SOFTWARE_ONLY
        .into_iter()
        .filter(|(name, _)| !user_set(name))
        .collect()
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

    #[test]
    fn software_rendering_turns_off_compositing_and_every_opengl_probe_the_user_left_alone() {
        let nothing_set = |_: &str| false;
        assert_eq!(plan(true, nothing_set), SOFTWARE_ONLY.to_vec());
        assert!(
            plan(false, nothing_set).is_empty(),
            "a GPU keeps compositing"
        );
        assert!(
            plan(true, |name| name == DISABLE_COMPOSITING).is_empty(),
            "the user chose about compositing: nothing is set"
        );
        let names: Vec<_> = plan(true, |name| name == "GDK_GL")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            names,
            [
                DISABLE_COMPOSITING,
                "WEBKIT_DISABLE_DMABUF_RENDERER",
                "WEBKIT_WEB_RENDER_DEVICE_FILE"
            ],
            "the user's own GDK_GL is kept"
        );
    }
}
