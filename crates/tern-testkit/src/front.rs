//! HAProxy in front of relays, with the deployment's own configuration
//! (deploy/cluster/haproxy-tern.cfg, which reads its addresses from the environment): the
//! cluster tests connect through exactly what an operator runs. Debian's `haproxy` package
//! (scripts/setup.sh installs it), in the foreground on a free loopback port; killed on drop.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;

/// The deployment's HAProxy configuration in this checkout.
pub fn deploy_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/cluster/haproxy-tern.cfg")
}

/// A running HAProxy.
#[derive(Debug)]
pub struct Front {
    port: u16,
    child: Child,
}

impl Front {
    /// Start `config` in front of exactly three relays; waits until it accepts connections.
    pub fn start(config: &Path, relays: [SocketAddr; 3]) -> io::Result<Front> {
        let port = free_port();
        let mut cmd = Command::new("haproxy");
        cmd.arg("-db")
            .arg("-f")
            .arg(config)
            .env("TERN_FRONT", format!("127.0.0.1:{port}"))
            .env_remove("TERN_TLS_CERT")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (i, addr) in relays.iter().enumerate() {
            cmd.env(format!("TERN_RELAY_{}", i + 1), addr.to_string());
        }
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::other(format!("haproxy: {e} (scripts/setup.sh installs it)"))
        })?;
        for _ in 0..400 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Front { port, child });
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!("haproxy exited: {status}")));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        Err(io::Error::other("haproxy did not start"))
    }

    /// The address clients use.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
