//! HAProxy in front of relays, with the deployment's own configuration
//! (deploy/cluster/haproxy-tern.cfg, which reads its addresses from the environment): the
//! cluster tests connect through exactly what an operator runs. Debian's `haproxy` package
//! (scripts/setup.sh installs it), in the foreground on a free loopback port; killed on drop.
//! Several HAProxy processes can share the port (HAProxy binds with `SO_REUSEPORT`, and the
//! kernel spreads new connections over them): a process holds two descriptors per client, so
//! where the descriptor limit cannot be raised, more clients need more processes.

use std::io;
use std::net::SocketAddr;
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
    children: Vec<Child>,
}

impl Front {
    /// Start `config` in front of exactly three relays; waits until it accepts connections.
    pub fn start(config: &Path, relays: [SocketAddr; 3]) -> io::Result<Front> {
        Self::start_processes(config, relays, 1)
    }

    /// Start `processes` HAProxy processes of `config` on one port in front of exactly three
    /// relays; waits until each accepts connections.
    pub fn start_processes(
        config: &Path,
        relays: [SocketAddr; 3],
        processes: usize,
    ) -> io::Result<Front> {
        let mut front = Front {
            port: free_port(),
            children: Vec::new(),
        };
        for _ in 0..processes.max(1) {
            let child = Self::spawn(config, relays, front.port)?;
            front.children.push(child);
        }
        Ok(front)
    }

    fn spawn(config: &Path, relays: [SocketAddr; 3], port: u16) -> io::Result<Child> {
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
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!("haproxy exited: {status}")));
            }
            // Ready once it holds its own listening socket on the port.
            if listens(child.id(), port) {
                return Ok(child);
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

/// Whether process `pid` holds a socket listening on `port` (from `/proc`: several processes
/// share the port, so a connection that succeeds says nothing about one of them).
fn listens(pid: u32, port: u16) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let inodes: Vec<String> = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let local = format!(":{port:04X}");
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // local_address, state (0A: listening), inode.
        f.len() > 9 && f[1].ends_with(&local) && f[3] == "0A" && inodes.iter().any(|i| i == f[9])
    })
}

impl Drop for Front {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
