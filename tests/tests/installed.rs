//! The installed package: the app from the `.deb` starts, shows its window and answers a
//! WebDriver session. Run by `scripts/package.sh` after installing the package
//! (`TERN_INSTALLED_APP=/usr/bin/tern-desktop … -- --ignored`).

mod common;

use std::path::PathBuf;

use common::webdriver::{Driver, Xvfb};
use common::*;

/// The app is single-instance (per D-Bus session): its tests must not overlap.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
#[ignore = "needs the installed package; run by scripts/package.sh"]
async fn the_installed_app_starts_and_answers_webdriver() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = PathBuf::from(
        std::env::var("TERN_INSTALLED_APP").expect("TERN_INSTALLED_APP names the installed binary"),
    );
    assert!(app.exists(), "{} is not installed", app.display());
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let xvfb = Xvfb::start();
    let env = [
        ("DISPLAY", xvfb.display.clone()),
        (
            "TERN_DATA_DIR",
            work.path().join("app").display().to_string(),
        ),
        ("TERN_RELAY", relay.url()),
    ];
    let driver = Driver::launch(&app, &env).await;
    driver
        .wait_until(
            "!document.getElementById('signin').hidden",
            "sign-in screen of the installed app",
        )
        .await;
    let title = driver.js("return document.title").await;
    assert_eq!(title, "Tern");
    assert!(
        driver
            .web_process_files()
            .iter()
            .any(|f| f == "/usr/lib/tern/webext/libtern_webext.so"),
        "the web process loads the packaged extension"
    );
    driver.quit().await;
}

/// The tray library made unloadable inside a private mount namespace (the file bind-mounted
/// over with an empty one), as on a desktop without it installed.
#[tokio::test]
#[ignore = "needs the installed package and mount namespaces (root); run by scripts/package.sh"]
async fn the_installed_app_starts_without_the_tray_library_and_keeps_running() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = PathBuf::from(
        std::env::var("TERN_INSTALLED_APP").expect("TERN_INSTALLED_APP names the installed binary"),
    );
    let lib = std::fs::read_dir("/usr/lib/x86_64-linux-gnu")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("libayatana-appindicator3.so.1")
        })
        .expect("the tray library is installed (it is a dependency of the package)");
    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("empty.so");
    std::fs::write(&empty, b"").unwrap();
    let xvfb = Xvfb::start();
    let script = format!(
        "mount --bind '{}' '{}' && exec '{}'",
        empty.display(),
        std::fs::canonicalize(&lib).unwrap().display(),
        app.display()
    );
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut cmd = if root {
        std::process::Command::new("unshare")
    } else {
        let mut c = std::process::Command::new("sudo");
        c.args(["-n", "-E", "unshare"]);
        c
    };
    let log = work.path().join("app.log");
    // The app logs to stderr, as do unshare and mount; stdout is kept apart.
    let mut child = cmd
        .args(["-m", "sh", "-c", &script])
        .env("DISPLAY", &xvfb.display)
        .env("TERN_DATA_DIR", work.path().join("app"))
        .stdout(std::fs::File::create(work.path().join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Alive well after start-up, where a missing tray library used to abort.
    let mut warned = false;
    for _ in 0..100 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the app exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        warned = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("continuing without a tray icon");
        if warned {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        warned,
        "no warning about the missing tray: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the app exited after the warning"
    );
    let _ = child.kill();
    let _ = child.wait();
    // `sh` exec'd the app, so killing the child killed the app.
    drop(xvfb);
}
