//! The one way Tern's harnesses start a relay: the real `tern-server` binary as a child
//! process, on a chosen port and database, ready once it accepts connections, and restartable
//! on the same port and database after a `kill -9` (so clients reconnect to "the same relay").
//!
//! The relay integration tests, the end-to-end tests and the load generator each add their own
//! flags (rate limits, heartbeats, metrics address) through [`RelaySpec::args`]; how a process
//! is started, awaited, restarted and killed lives here only.

pub mod fds;
pub mod front;
pub mod link;
pub mod nats;
pub mod postgres;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

/// How to start a relay.
#[derive(Debug, Clone)]
pub struct RelaySpec {
    /// The `tern-server` binary.
    pub exe: PathBuf,
    /// Its SQLite database (kept across restarts).
    pub db: PathBuf,
    /// The loopback port it listens on (kept across restarts).
    pub port: u16,
    /// Further flags.
    pub args: Vec<String>,
    /// `TERN_LOG`.
    pub log: String,
    /// Keep the relay's stderr (its log) for [`RelayProcess::take_stderr`] instead of
    /// inheriting it.
    pub capture_stderr: bool,
}

impl RelaySpec {
    /// A relay of `exe` on a free port with database `db`, logging warnings.
    pub fn new(exe: impl Into<PathBuf>, db: impl Into<PathBuf>) -> Self {
        RelaySpec {
            exe: exe.into(),
            db: db.into(),
            port: free_port(),
            args: Vec::new(),
            log: "warn".into(),
            capture_stderr: false,
        }
    }

    /// Add flags.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
}

/// A running (or killed, restartable) relay process.
#[derive(Debug)]
pub struct RelayProcess {
    spec: RelaySpec,
    child: Option<Child>,
}

impl RelayProcess {
    /// Start and wait until it accepts connections.
    pub fn start(spec: RelaySpec) -> io::Result<RelayProcess> {
        let mut relay = RelayProcess { spec, child: None };
        relay.restart()?;
        Ok(relay)
    }

    /// (Re)start on the same port and database; waits until it accepts connections. A
    /// previous process may still hold the port for a moment, so early exits are retried.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill9();
        if let Some(child) = spawn_listening(self.spec.port, || self.command().spawn())? {
            self.child = Some(child);
            return Ok(());
        }
        Err(io::Error::other(format!(
            "relay {} did not start on port {}",
            self.spec.exe.display(),
            self.spec.port
        )))
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.spec.exe);
        c.args(["--listen", &format!("127.0.0.1:{}", self.spec.port), "--db"])
            .arg(&self.spec.db)
            .args(&self.spec.args)
            .env("TERN_LOG", &self.spec.log)
            .stdout(Stdio::null());
        if self.spec.capture_stderr {
            c.stderr(Stdio::piped());
        }
        c
    }

    /// SIGKILL: no shutdown code runs. Does nothing when it is not running.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Send SIGTERM (graceful shutdown) and wait up to `patience` for the exit; true if it
    /// exited successfully in time.
    pub fn terminate(&mut self, patience: Duration) -> io::Result<bool> {
        let Some(child) = self.child.as_mut() else {
            return Ok(true);
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(io::Error::other("kill -TERM failed"));
        }
        let deadline = std::time::Instant::now() + patience;
        while std::time::Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(false)
    }

    /// The running process's stderr, when the spec captures it (once per start).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.as_mut()?.stderr.take()
    }

    /// Its process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether a process is running (it may have exited on its own).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.spec.port
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.spec.port))
    }

    /// Its database file.
    pub fn db(&self) -> &std::path::Path {
        &self.spec.db
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Spawn a server until one accepts connections on loopback `port` (5 s per try); `None`
/// after 50 tries. A process that exits early is tried again: a previous one may still hold
/// the port for a moment.
pub(crate) fn spawn_listening(
    port: u16,
    mut spawn: impl FnMut() -> io::Result<Child>,
) -> io::Result<Option<Child>> {
    for _ in 0..50 {
        let mut child = spawn()?;
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Some(child));
            }
            if child.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(None)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
