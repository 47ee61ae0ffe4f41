//! Links in messages: opened by the system (browser, mail client), never inside the app's
//! window.
//!
//! The UI turns `http`, `https` and `mailto` text into links and asks [`open`] to open them;
//! anything else (`javascript:`, `file:`, `data:`, custom schemes) is refused here too, since
//! the UI's check is not a boundary. The window itself may only ever show the app's own pages:
//! [`navigation_guard`] cancels every other navigation, so even a link the UI failed to catch
//! cannot replace the app with a web page that would then hold the IPC bridge.
//!
//! The program that opens links is `xdg-open` on Linux, `open` on macOS and the URL handler
//! of `rundll32` on Windows; `TERN_OPENER` names another one (tests point it at a script that
//! records what it was given).

use tauri::plugin::TauriPlugin;
use tauri::{Runtime, Url};

/// Schemes the system may open.
const OPENABLE: &[&str] = &["http", "https", "mailto"];

/// A link the system may open, parsed; or why not.
pub fn check(link: &str) -> Result<Url, String> {
    let url = Url::parse(link.trim()).map_err(|e| format!("not a link: {e}"))?;
    if !OPENABLE.contains(&url.scheme()) {
        return Err(format!(
            "{}: links are opened only for http, https and mailto",
            url.scheme()
        ));
    }
    if url.scheme() != "mailto" && url.host_str().is_none_or(str::is_empty) {
        return Err("a web link needs a host".into());
    }
    Ok(url)
}

/// Open `link` with the system's handler, without waiting for it.
pub fn open(link: &str) -> Result<(), String> {
    let url = check(link)?;
    let mut command = opener();
    command.arg(url.as_str());
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command
        .spawn()
        .map_err(|e| format!("no program to open links: {e}"))?;
    // Reap it off the async runtime so it leaves no zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// Open a local file with the system's application for it.
pub fn open_path(path: &std::path::Path) -> Result<(), String> {
    let mut command = opener();
    command.arg(path);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command
        .spawn()
        .map_err(|e| format!("no program to open files: {e}"))?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// The system's opener (or `TERN_OPENER`), with the environment the user started the app in.
fn opener() -> std::process::Command {
    let mut command = system_opener();
    crate::web_env::restore_for_child(&mut command);
    command
}

fn system_opener() -> std::process::Command {
    if let Some(program) = std::env::var_os("TERN_OPENER") {
        return std::process::Command::new(program);
    }
    if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(target_os = "windows") {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    }
}

/// Whether the window may navigate to `url`: only the app's own pages.
pub fn is_app_page(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => true,
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// A plugin that cancels every navigation of the window away from the app's own pages.
pub fn navigation_guard<R: Runtime>() -> TauriPlugin<R> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|_, url| {
            let allowed = is_app_page(url);
            if !allowed {
                tracing::warn!(
                    scheme = url.scheme(),
                    "blocked a navigation away from the app"
                );
            }
            allowed
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_and_mail_links_are_opened() {
        assert!(check("https://example.com/a?b=c").is_ok());
        assert!(check("http://xn--e1afmkfd.xn--p1ai/").is_ok());
        assert!(check("mailto:bob@example.com").is_ok());
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "tauri://localhost/index.html",
            "https://",
            "not a link",
        ] {
            assert!(check(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn the_window_stays_on_the_apps_own_pages() {
        let ok = |s: &str| is_app_page(&Url::parse(s).unwrap());
        assert!(ok("tauri://localhost/index.html"));
        assert!(ok("http://tauri.localhost/index.html"));
        assert!(!ok("https://example.com/"));
        assert!(!ok("http://localhost:8080/"));
        assert!(!ok("javascript:alert(1)"));
    }
}
