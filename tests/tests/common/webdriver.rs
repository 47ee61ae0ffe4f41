//! A small WebDriver client for driving the real desktop app through WebKitWebDriver.
//!
//! One keep-alive HTTP connection for every command (a fresh connection per command was seen
//! to fail intermittently), and the app process is killed by the driver's session teardown and
//! by the harness's own cleanup.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A virtual X display.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// The titles of the display's windows, as a window manager or taskbar reads them
    /// (`xwininfo -root -tree`).
    pub fn window_titles(&self) -> Vec<String> {
        let out = std::process::Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &self.display])
            .output()
            .expect("xwininfo (x11-utils, installed by scripts/setup.sh)");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let start = l.find(" \"")? + 2;
                let end = start + l[start..].find("\": (")?;
                Some(l[start..end].to_owned())
            })
            .collect()
    }

    pub fn start() -> Xvfb {
        for n in 90..140 {
            clear_stale_display(n);
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                || Path::new(&format!("/tmp/.X{n}-lock")).exists()
            {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .args([
                    format!(":{n}"),
                    "-screen".into(),
                    "0".into(),
                    "1280x800x24".into(),
                    "-nolisten".into(),
                    "tcp".into(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb is installed (scripts/setup.sh)");
            for _ in 0..100 {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Xvfb {
                        child,
                        display: format!(":{n}"),
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
        panic!("could not start Xvfb");
    }
}

/// Free display `n` if its lock names a server that no longer runs. A killed Xvfb (as `Drop`
/// does) leaves its lock and socket behind; without this, every run used up one of the 50
/// displays for good and the tests stopped starting.
fn clear_stale_display(n: u32) {
    let lock = format!("/tmp/.X{n}-lock");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return;
    };
    if Path::new(&format!("/proc/{pid}")).exists() {
        return;
    }
    let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
    let _ = std::fs::remove_file(lock);
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment of an app under test: the virtual display, its data folder (settings,
/// cache, downloads) and the relay it offers. Tests add their own (`TERN_TEST_PICK`, …).
/// The webview keeps its storage (the UI's drafts, its last open chat) under the user's data
/// home: one beside the data folder keeps each test's apart from every other run's.
/// A script that right-clicks the element `el` (a JavaScript expression) at a point inside it
/// and returns whether the page took the click (cancelled the browser's own menu).
pub fn right_click(el: &str) -> String {
    format!("const el = {el}; const r = el.getBoundingClientRect(); return !el.dispatchEvent(new MouseEvent('contextmenu', {{bubbles: true, cancelable: true, clientX: r.left + 10, clientY: r.top + 10}}));")
}

pub fn app_env(xvfb: &Xvfb, data_dir: &Path, relay_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DISPLAY", xvfb.display.clone()),
        ("TERN_DATA_DIR", data_dir.display().to_string()),
        (
            "XDG_DATA_HOME",
            data_dir.with_extension("xdg-data").display().to_string(),
        ),
        ("TERN_RELAY", relay_url.to_owned()),
    ]
}

/// The files process `pid` has mapped (its libraries among them).
fn mapped_files(pid: u32) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut files: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|f| f.starts_with('/'))
        .map(str::to_owned)
        .collect();
    files.dedup();
    files
}

/// Every process below `pid`, found through each process's parent in `/proc`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.split_off(1)
}

/// WebKitWebDriver plus one session on the app.
pub struct Driver {
    child: Child,
    http: reqwest::Client,
    base: String,
    session: String,
    /// The app's own log (it inherits the driver's stderr), shown when a test fails.
    log: std::path::PathBuf,
}

impl Driver {
    /// Start WebKitWebDriver and launch `app` with `env` in a new session.
    pub async fn launch(app: &Path, env: &[(&str, String)]) -> Driver {
        let port = super::free_port();
        let log = std::env::temp_dir().join(format!("tern-desktop-test-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("a log file for the app");
        let mut cmd = Command::new("WebKitWebDriver");
        cmd.arg(format!("--port={port}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("TERN_LOG", "info,tern_client=debug")
            .stdout(Stdio::null())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("WebKitWebDriver is installed (webkit2gtk-driver)");
        let base = format!("http://127.0.0.1:{port}");
        // A command that never answers (the web process died) fails the test instead of
        // hanging the whole run; the longest legitimate command waits 20 s (script timeout).
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap();
        let mut listening = false;
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                listening = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            listening,
            "WebKitWebDriver did not listen on port {port} within 30 s"
        );
        let caps = json!({"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {"binary": app, "args": []}}}});
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_owned();
        let d = Driver {
            child,
            http,
            base,
            session,
            log,
        };
        d.cmd(
            "POST",
            "/timeouts",
            json!({"implicit": 10000, "script": 20000}),
        )
        .await;
        d
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = res["value"].get("error") {
            panic!(
                "webdriver {method} {path}: {err} {}",
                res["value"]["message"]
            );
        }
        res["value"].clone()
    }

    /// Find an element by CSS selector (waits up to the implicit timeout).
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/click"), json!({}))
            .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn clear(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/clear"), json!({}))
            .await;
    }

    /// The role and the name the browser's accessibility tree gives the element `css` finds
    /// (WebDriver's Get Computed Role and Get Computed Label): what a screen reader is told,
    /// after the engine has applied ARIA, native semantics and name computation.
    pub async fn accessible(&self, css: &str) -> (String, String) {
        let el = self.find(css).await;
        let role = self
            .cmd("GET", &format!("/element/{el}/computedrole"), json!({}))
            .await;
        let label = self
            .cmd("GET", &format!("/element/{el}/computedlabel"), json!({}))
            .await;
        (
            role.as_str().unwrap_or_default().to_owned(),
            label.as_str().unwrap_or_default().to_owned(),
        )
    }

    /// The lines of the app's log (its and its web processes' standard error) that contain
    /// `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// The pid of the descendant of this driver whose name starts with `comm`.
    fn descendant(&self, comm: &str) -> Option<u32> {
        descendants(self.child.id()).into_iter().find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.starts_with(comm))
        })
    }

    /// The pid of the app's web process (a descendant of this driver named `WebKitWebProcess`).
    pub fn web_process(&self) -> u32 {
        self.descendant("WebKitWebProces")
            .expect("the app has a web process")
    }

    /// The pid of the app's own process.
    pub fn app_process(&self) -> u32 {
        self.descendant("tern-desktop")
            .expect("the driver started the app")
    }

    /// The files the app's web process has mapped (its libraries among them).
    pub fn web_process_files(&self) -> Vec<String> {
        mapped_files(self.web_process())
    }

    /// The files the app's own process has mapped.
    pub fn app_process_files(&self) -> Vec<String> {
        mapped_files(self.app_process())
    }

    /// The value of `name` in the environment of the app's web process, or `None` when it is
    /// not set there.
    pub fn web_process_env(&self, name: &str) -> Option<String> {
        let web = self.web_process();
        let environ = std::fs::read(format!("/proc/{web}/environ")).unwrap();
        let prefix = format!("{name}=");
        environ
            .split(|b| *b == 0)
            .map(String::from_utf8_lossy)
            .find_map(|v| v.strip_prefix(&prefix).map(str::to_owned))
    }

    /// Run JavaScript in the page and return its result.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Wait until a JavaScript expression is truthy (up to 30 s); panics with `what` otherwise.
    pub async fn wait_until(&self, expr: &str, what: &str) {
        for _ in 0..300 {
            let v = self.js(&format!("return !!({expr});")).await;
            if v == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for: {what} ({expr})");
    }

    /// Create account `name` from the sign-in screen (password `PASSWORD`) and wait for the
    /// main screen.
    pub async fn register(&self, name: &str) {
        self.submit_signin(name, "#register-button").await;
    }

    /// Sign in as the existing user `name` from the sign-in screen (password `PASSWORD`) and
    /// wait for the main screen.
    pub async fn sign_in(&self, name: &str) {
        self.submit_signin(name, "#signin-button").await;
    }

    async fn submit_signin(&self, name: &str, button: &str) {
        self.wait_until("!document.getElementById('signin').hidden", "sign-in")
            .await;
        self.type_into("#username", name).await;
        self.type_into("#password", super::PASSWORD).await;
        self.click(button).await;
        self.wait_until("!document.getElementById('app').hidden", "main screen")
            .await;
    }

    /// Open the (first) message request in the sidebar and accept it from its bar; returns
    /// once the composer shows.
    pub async fn accept_first_request(&self) {
        self.wait_until(
            "document.querySelector('#requests .conv')",
            "a message request",
        )
        .await;
        self.click("#requests .conv").await;
        self.click("#request-accept").await;
        self.wait_until(
            "!document.getElementById('composer-form').hidden",
            "request accepted",
        )
        .await;
    }

    /// Resize the window (the layout follows the page width).
    pub async fn set_size(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Save a PNG screenshot of the window.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The app and its web processes first: the driver's death does not take them along,
        // and an app left running holds the session bus's single-instance name, so the next
        // test's app would step aside for it and never open.
        let below = descendants(self.child.id());
        for pid in &below {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        for _ in 0..100 {
            if below
                .iter()
                .all(|p| !std::path::Path::new(&format!("/proc/{p}/exe")).exists())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "--- the app's log, last {} lines ---\n{}",
                lines.len().min(80),
                lines[lines.len().saturating_sub(80)..].join("\n")
            );
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The recording notification daemon; stopped when dropped, so a failing test does not leave
/// it holding the bus name for the tests after it.
pub struct Notifyd(std::process::Child);

impl Notifyd {
    /// Stop it now.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }

    /// Wait for it to end.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Notifyd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the recording D-Bus notification daemon (`support/notifyd.py`); returns it and the
/// file where it logs each notification as a JSON line.
pub fn notifyd(dir: &Path) -> (Notifyd, std::path::PathBuf) {
    use std::io::BufRead;
    let log = dir.join("notifications.jsonl");
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/notifyd.py");
    let mut child = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "notification daemon did not start");
    (Notifyd(child), log)
}

/// The notifications the daemon recorded so far.
pub fn notifications(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
