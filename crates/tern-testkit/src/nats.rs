//! A private NATS server for relay cluster tests: Debian's `nats-server` (scripts/setup.sh
//! installs it) on a free loopback port, no configuration file, nothing persisted.
//! Restartable on the same port, to test relays riding out a bus outage; killed on drop.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::{free_port, spawn_listening};

/// A running (or stopped, restartable) `nats-server`.
#[derive(Debug)]
pub struct NatsServer {
    port: u16,
    child: Option<Child>,
}

fn exe() -> PathBuf {
    std::env::var_os("TERN_NATS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

impl NatsServer {
    /// Start on a free port and wait until it accepts connections.
    pub fn start() -> io::Result<NatsServer> {
        let mut server = NatsServer {
            port: free_port(),
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// (Re)start on the same port; waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let port = self.port.to_string();
        let spawn = || {
            Command::new(exe())
                .args(["-a", "127.0.0.1", "-p", &port])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    io::Error::other(format!(
                        "{}: {e} (scripts/setup.sh installs nats-server)",
                        exe().display()
                    ))
                })
        };
        self.child = spawn_listening(self.port, spawn)?;
        if self.child.is_none() {
            return Err(io::Error::other(format!(
                "nats-server did not start on port {}",
                self.port
            )));
        }
        Ok(())
    }

    /// SIGKILL: the bus is gone until [`NatsServer::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its `nats://` address.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
