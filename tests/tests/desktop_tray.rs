//! The tray icon in the real desktop app (Xvfb, WebDriver) with a tray host on the session bus
//! (tests/support/snwatcher.py, a StatusNotifier watcher): the app registers its item there,
//! and the icon the item names carries the unread count — a red badge saying how many while
//! messages wait, none once they are read — and a menu whose "Do not disturb" mark agrees with
//! the window's switch, whichever of the two was used. The icon is read as a host reads it:
//! the item's `IconName` and `IconThemePath` properties over D-Bus, then the PNG file they
//! name; the menu as a host reads it, over com.canonical.dbusmenu.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// The watcher, killed on drop.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn watcher(log: &Path) -> Watcher {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/snwatcher.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(log)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with its D-Bus bindings (scripts/setup.sh installs them)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the watcher did not start");
    Watcher(child)
}

/// One string property of the tray item, as `gdbus` prints it (`(<'value'>,)`).
fn property(sender: &str, path: &str, name: &str) -> Option<String> {
    let out = Command::new("gdbus")
        .args(["call", "--session", "--dest", sender, "--object-path", path])
        .args(["--method", "org.freedesktop.DBus.Properties.Get"])
        .args(["org.kde.StatusNotifierItem", name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find('\'')? + 1;
    let end = text.rfind('\'')?;
    (end > start).then(|| text[start..end].to_owned())
}

/// The registered item: its bus name and object path.
fn item(log: &Path) -> Option<(String, String)> {
    let entry: serde_json::Value = std::fs::read_to_string(log)
        .ok()?
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())?;
    let sender = entry["sender"].as_str()?;
    let item = entry["item"].as_str()?;
    // An item registers by its object path (the sender is its bus name) or by a bus name
    // (then at the specification's path).
    let path = if item.starts_with('/') {
        item
    } else {
        "/StatusNotifierItem"
    };
    Some((sender.to_owned(), path.to_owned()))
}

/// A `gdbus call` to the registered item's menu object (its `Menu` property), to finish with
/// the method and its arguments.
fn menu_call(log: &Path) -> Option<Command> {
    let (sender, path) = item(log)?;
    let menu = property(&sender, &path, "Menu")?;
    let mut call = Command::new("gdbus");
    call.args([
        "call",
        "--session",
        "--dest",
        &sender,
        "--object-path",
        &menu,
    ]);
    Some(call)
}

/// The tray menu's "Do not disturb" entry as a host reads it (com.canonical.dbusmenu's
/// `GetLayout`, printed by `gdbus`): its id and whether it is checked.
fn dnd_entry(log: &Path) -> Option<(i32, bool)> {
    let out = menu_call(log)?
        .args([
            "--method",
            "com.canonical.dbusmenu.GetLayout",
            "0",
            // (A bare -1 would read as an option.)
            "int32 -1",
            "@as []",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Each entry prints as `<(id, {properties}, [children])>`.
    let entry = text.split("<(").find(|e| e.contains("'Do not disturb'"))?;
    let id = entry.split(',').next()?.trim().parse().ok()?;
    let state = entry.split("'toggle-state': <").nth(1)?;
    Some((id, state.starts_with('1')))
}

/// Click menu entry `id` as a host does (com.canonical.dbusmenu's `Event`).
fn click_entry(log: &Path, id: i32) {
    let done = menu_call(log)
        .expect("the tray item's menu")
        .args(["--method", "com.canonical.dbusmenu.Event", &id.to_string()])
        .args(["clicked", "<int32 0>", "0"])
        .status()
        .unwrap();
    assert!(done.success(), "the menu took the click");
}

/// Wait until the tray menu shows do-not-disturb as `on`; returns its entry's id.
async fn dnd_becomes(log: &Path, on: bool, what: &str) -> i32 {
    for _ in 0..100 {
        if let Some((id, checked)) = dnd_entry(log) {
            if checked == on {
                return id;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what} ({:?})", dnd_entry(log));
}

/// The PNG file the registered item shows now.
fn icon_file(log: &Path) -> Option<PathBuf> {
    let (sender, path) = item(log)?;
    let (sender, path) = (sender.as_str(), path.as_str());
    let name = property(sender, path, "IconName")?;
    let file = if name.starts_with('/') {
        PathBuf::from(&name)
    } else {
        PathBuf::from(property(sender, path, "IconThemePath")?).join(format!("{name}.png"))
    };
    let file = if file.extension().is_none() {
        file.with_extension("png")
    } else {
        file
    };
    file.exists().then_some(file)
}

/// Whether the icon's top-right corner, where the badge goes, is red; `None` while the file
/// cannot be read (being written).
fn badged(file: &Path) -> Option<bool> {
    let img = image::open(file).ok()?.to_rgba8();
    let (w, h) = img.dimensions();
    // The badge's disc is centred 30 % in from the top-right corner; look above its digits.
    let p = img.get_pixel(w * 69 / 100, h * 5 / 100);
    Some(w == h && p[3] > 200 && p[0] > 180 && p[1] < 100 && p[2] < 100)
}

/// Whether the badge's digit reads 3 on the 64-pixel icon: each cell of the badge's 3×5 pixel
/// font (4 pixels square, its top-left at (38, 10)) is white where a 3 has ink and red where
/// it has none, which no other digit matches.
fn says_three(file: &Path) -> bool {
    const THREE: [u8; 5] = [0b111, 0b001, 0b111, 0b001, 0b111];
    let img = image::open(file).unwrap().to_rgba8();
    if img.dimensions() != (64, 64) {
        return false;
    }
    THREE.iter().enumerate().all(|(row, bits)| {
        (0..3).all(|col| {
            let p = img.get_pixel(40 + 4 * col, 12 + 4 * row as u32);
            if bits & (0b100 >> col) != 0 {
                p.0 == [255, 255, 255, 255]
            } else {
                p[0] > 180 && p[1] < 100 && p[2] < 100
            }
        })
    })
}

async fn icon_becomes(log: &Path, badge: bool, what: &str) -> PathBuf {
    for _ in 0..200 {
        if let Some(file) = icon_file(log) {
            if badged(&file) == Some(badge) {
                return file;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what} (icon {:?})", icon_file(log));
}

#[tokio::test]
async fn the_tray_icon_carries_the_unread_count_and_drops_it_once_read() {
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _bob_dir) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let log = work.path().join("tray.jsonl");
    let _watcher = watcher(&log);
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // A chat with bob, open and read: no badge.
    let direct = bob.start_direct("alice").await.unwrap().conversation_id;
    bob.send(direct, "hello").await.unwrap();
    wait_settled(&bob).await;
    app.accept_first_request().await;
    icon_becomes(&log, false, "the tray icon without a badge").await;

    // Three messages in a group alice is not looking at: the badge appears.
    let group = bob
        .create_group("Tray", &["alice"])
        .await
        .unwrap()
        .conversation_id;
    for i in 0..3 {
        bob.send(group, &format!("g{i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    app.wait_until(
        "document.title === '(3) Tern'",
        "three unread in the window title",
    )
    .await;
    // The native window carries it: the title bar, taskbar and window switcher show it.
    eventually("the native window's title says 3", || async {
        xvfb.window_titles().iter().any(|t| t == "(3) Tern")
    })
    .await;
    // The tray follows the title through the shell and the indicator library: it may show
    // the count of one or two first.
    icon_becomes(&log, true, "the badge on the tray icon").await;
    let mut three = false;
    for _ in 0..200 {
        if icon_file(&log).is_some_and(|f| says_three(&f)) {
            three = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(three, "the badge says 3: {:?}", icon_file(&log));

    // Reading them takes it away.
    app.js("[...document.querySelectorAll('#conversations .conv')].find(c => c.querySelector('.title').textContent === 'Tray').click()").await;
    app.wait_until("document.title === 'Tern'", "nothing unread")
        .await;
    eventually("the native window's title without a count", || async {
        let titles = xvfb.window_titles();
        titles.iter().any(|t| t == "Tern") && !titles.iter().any(|t| t.ends_with(") Tern"))
    })
    .await;
    icon_becomes(&log, false, "the badge gone once read").await;

    // Do not disturb, switched in the window, shows in the tray's menu; switched off from the
    // menu, the window's switch follows.
    dnd_becomes(&log, false, "do not disturb off in the menu").await;
    app.click("#dnd").await;
    let id = dnd_becomes(&log, true, "the menu's mark follows the window's switch").await;
    click_entry(&log, id);
    app.wait_until(
        "!document.getElementById('dnd').checked",
        "the window's switch follows the menu",
    )
    .await;
    dnd_becomes(&log, false, "and the menu shows it off").await;
}
