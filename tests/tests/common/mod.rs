//! End-to-end harness: the real relay binary as a child process (so it can be `kill -9`ed and
//! restarted on the same port and database), engine clients in-process, and the `tern` CLI as
//! child processes. The tests run inside a private D-Bus session with gnome-keyring
//! (`scripts/with-keyring.sh`), so tokens go through the real Secret Service.

#![allow(dead_code)]

pub mod chaos;
pub mod webdriver;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tern_client::{Client, ClientConfig, ConnectionState, Timing};
pub use tern_testkit::{free_port, RelayProcess, RelaySpec};

pub const PASSWORD: &str = "correct horse battery";

/// A workspace binary (built by `cargo build --bins` before the tests).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The relay as a child process (started by the shared test kit).
pub struct Relay {
    process: RelayProcess,
    pub port: u16,
    /// Port of the separate `/metrics` listener.
    pub metrics_port: u16,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Relay {
    pub fn start() -> Relay {
        Self::start_with(&[])
    }

    /// Start with further flags.
    pub fn start_with(extra: &[&str]) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("relay.db");
        let spec = RelaySpec::new(bin("tern-server"), &db);
        // Two ports free a moment ago can be the same one: then the relay could never bind
        // both (every start of it failed with "address in use").
        let metrics_port = std::iter::repeat_with(free_port)
            .find(|&p| p != spec.port)
            .unwrap();
        let spec = spec
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .args([
                "--send-rate",
                "100000",
                "--send-burst",
                "100000",
                "--frame-rate",
                "100000",
                "--frame-burst",
                "100000",
            ])
            // Every test user registers from 127.0.0.1.
            .args(["--register-burst", "100000"])
            .args(extra.iter().copied());
        // Short heartbeats, unless the test sets its own.
        let spec = if extra.contains(&"--heartbeat-secs") {
            spec
        } else {
            spec.args(["--heartbeat-secs", "1", "--heartbeat-timeout-secs", "3"])
        };
        let process = RelayProcess::start(spec).unwrap();
        Relay {
            port: process.port(),
            process,
            metrics_port,
            db,
            dir,
        }
    }

    /// Restart on the same port and database; waits until it accepts connections.
    pub fn restart(&mut self) {
        self.process.restart().unwrap();
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.process.kill9();
    }

    /// SIGSTOP (`true`) or SIGCONT: a relay that accepts connections and answers nothing.
    pub fn pause(&self, stopped: bool) {
        let pid = self.process.pid().expect("running").to_string();
        let signal = if stopped { "-STOP" } else { "-CONT" };
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every stored message of a conversation, read straight from the relay's database.
    pub fn stored(&self, conv: tern_proto::ConversationId) -> Vec<(u64, String, String)> {
        let db = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = db
            .prepare(
                "SELECT seq, client_id, body FROM messages WHERE conversation_id = ?1 ORDER BY seq",
            )
            .unwrap();
        stmt.query_map([conv], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }
}

impl Relay {
    /// Each active member's read marker in a conversation as (user id, read seq), by user id,
    /// read straight from the relay's database.
    pub fn read_markers(&self, conv: tern_proto::ConversationId) -> Vec<(i64, u64)> {
        self.markers(conv, "read_seq")
    }

    /// Each active member's delivery marker in a conversation, as [`Relay::read_markers`].
    pub fn delivered_markers(&self, conv: tern_proto::ConversationId) -> Vec<(i64, u64)> {
        self.markers(conv, "delivered_seq")
    }

    fn markers(&self, conv: tern_proto::ConversationId, column: &str) -> Vec<(i64, u64)> {
        let db = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = db
            .prepare(&format!(
                "SELECT user_id, {column} FROM members WHERE conversation_id = ?1 AND active \
                 ORDER BY user_id"
            ))
            .unwrap();
        stmt.query_map([conv], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }
}

/// Short timers so reconnects happen in test time.
pub fn fast_timing() -> Timing {
    Timing {
        heartbeat_interval: Duration::from_millis(250),
        heartbeat_timeout: Duration::from_millis(1500),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        stable_after: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(10),
        transient_retry: Duration::from_millis(200),
        typing_expiry: Duration::from_secs(6),
    }
}

pub fn config(relay_url: &str, data: &Path) -> ClientConfig {
    let mut c = ClientConfig::new(relay_url.parse().expect("relay address"), data);
    c.timing = fast_timing();
    c.device_name = "e2e".into();
    c
}

/// Register and log in a user with its own data folder (one "device").
pub async fn signup(relay: &Relay, name: &str) -> (Client, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let cfg = config(&relay.url(), data.path());
    Client::register(&cfg, name, PASSWORD).await.unwrap();
    let client = Client::login(cfg, name, PASSWORD).await.unwrap();
    wait_online(&client).await;
    (client, data)
}

/// Another device of an existing user.
pub async fn device(relay: &Relay, name: &str) -> (Client, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let client = Client::login(config(&relay.url(), data.path()), name, PASSWORD)
        .await
        .unwrap();
    wait_online(&client).await;
    (client, data)
}

/// Poll `check` until it is true (up to 60 s).
/// Every file under `dir` (none if it cannot be read).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub async fn wait_online(client: &Client) {
    let c = client.clone();
    eventually("client online", move || {
        let c = c.clone();
        async move { c.connection_state() == ConnectionState::Online }
    })
    .await;
}

/// Wait until a client's outbox is empty and it is online and synced (up to 60 s; the panic
/// says where it stood).
pub async fn wait_settled(client: &Client) {
    let mut last = None;
    for _ in 0..1200 {
        let (state, unsent) = (client.connection_state(), client.unsent().await.unwrap());
        if state == ConnectionState::Online && unsent == 0 {
            return;
        }
        last = Some((state, unsent));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for the outbox to drain: (state, unsent) = {last:?}");
}

/// Run the `tern` CLI with `--json` output (what scripts use).
pub fn tern(relay: &Relay, data: &Path, args: &[&str]) -> Command {
    let mut cmd = tern_human(relay, data, &["--json"]);
    cmd.args(args);
    cmd
}

/// Run the `tern` CLI with its default, human-readable output.
pub fn tern_human(relay: &Relay, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin("tern"));
    cmd.env("TERN_RELAY", relay.url())
        .env("TERN_DATA_DIR", data)
        .env("TERN_PASSWORD", PASSWORD)
        .env("TERN_HEARTBEAT_TIMEOUT_SECS", "1.5")
        .env_remove("TERN_LOG")
        .env_remove("TERN_ALLOW_INSECURE_RELAY")
        .args(args);
    cmd
}

/// Run the CLI to completion; returns (exit code, stdout lines as JSON).
pub fn tern_output(
    relay: &Relay,
    data: &Path,
    args: &[&str],
) -> (i32, Vec<serde_json::Value>, String) {
    let out = tern(relay, data, args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The file in the opener's folder where [`recording_opener`] writes its environment.
pub const OPENER_ENV: &str = "opener-env.txt";

/// What the app sets for itself when it renders without a GPU, which programs it starts must
/// not inherit: the names of `SOFTWARE_ONLY` in src-tauri/src/rendering.rs, kept in step by
/// hand (this crate does not depend on the app's).
pub const SOFTWARE_RENDERING_VARS: [&str; 4] = [
    "WEBKIT_DISABLE_COMPOSITING_MODE",
    "GDK_GL",
    "WEBKIT_DISABLE_DMABUF_RENDERER",
    "WEBKIT_WEB_RENDER_DEVICE_FILE",
];

/// What the app sets for itself on Linux whatever it renders with, which programs it starts
/// must not inherit: the names and values of `COMPILE_LATER` in src-tauri/src/jit.rs (when the
/// web process compiles page code), kept in step by hand.
pub const JIT_VARS: [(&str, &str); 2] = [
    ("JSC_thresholdForJITAfterWarmUp", "20000"),
    ("JSC_thresholdForJITSoon", "2000"),
];

/// Whether OpenGL would be software here, as the app decides it: no GPU render node
/// (`/dev/dri/renderD*`), or `LIBGL_ALWAYS_SOFTWARE` asks for it.
pub fn software_rendering() -> bool {
    std::env::var("LIBGL_ALWAYS_SOFTWARE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        || !std::fs::read_dir("/dev/dri").is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
}

/// A script standing in for the system's link and file opener: it records each argument it is
/// given in the returned log file, and its environment in [`OPENER_ENV`] beside the script
/// (point `TERN_OPENER` at the script).
pub fn recording_opener(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join("opened.txt");
    let script = dir.join("opener.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > '{}'\nprintf '%s\\n' \"$1\" >> '{}'\n",
            dir.join(OPENER_ENV).display(),
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}
