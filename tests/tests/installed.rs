//! The installed package: the app from the `.deb` starts, shows its window and answers a
//! WebDriver session. Run by `scripts/package.sh` after installing the package
//! (`TERN_INSTALLED_APP=/usr/bin/tern-desktop … -- --ignored`).

mod common;

use std::path::PathBuf;

use common::webdriver::{Driver, Xvfb};
use common::*;

#[tokio::test]
#[ignore = "needs the installed package; run by scripts/package.sh"]
async fn the_installed_app_starts_and_answers_webdriver() {
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
    driver.quit().await;
}
