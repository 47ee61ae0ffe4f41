//! The environment WebKit's processes start with: set first thing in `main`, while the process
//! has one thread, and taken back out for programs the app starts.
//!
//! What is set comes from [`crate::rendering`] (how the web view draws where OpenGL would be
//! software) and [`crate::jit`] (when page code is compiled); each leaves alone a variable the
//! user set. The web processes inherit it. Programs the app starts (the system's opener for
//! links and files) get the environment without it ([`restore_for_child`]), so a browser opened
//! from Tern runs as it would if the user had started it.

use std::path::Path;
use std::sync::OnceLock;

/// The variables [`prepare`] set, for [`restore_for_child`].
static SET: OnceLock<Vec<&'static str>> = OnceLock::new();

/// Set what the web view needs. Call first thing in `main`, while the process has a single
/// thread (it sets environment variables).
pub fn prepare() {
    let user_set = |name: &str| std::env::var_os(name).is_some();
    let mut set = Vec::new();
    if cfg!(target_os = "linux") {
        let software = crate::rendering::software_only(
            Path::new("/dev/dri"),
            std::env::var("LIBGL_ALWAYS_SOFTWARE").ok(),
        );
        set.extend(crate::rendering::plan(software, user_set));
    }
    set.extend(crate::jit::plan(user_set));
    for (name, value) in &set {
        std::env::set_var(name, value);
    }
    let _ = SET.set(set.into_iter().map(|(name, _)| name).collect());
}

/// Remove from `command`'s environment what [`prepare`] set, so a program the app starts (a
/// browser, a file viewer) runs as it would if started by the user.
pub fn restore_for_child(command: &mut std::process::Command) {
    for name in SET.get().into_iter().flatten() {
        command.env_remove(name);
    }
}
