//! Databases for relay tests on PostgreSQL. `scripts/with-postgres.sh` starts a private server
//! (temporary folder, free port) and exports its address as `TERN_TEST_POSTGRES`; each relay
//! under test then gets a fresh database of its own from [`test_database`], so tests stay
//! independent. Without that variable the tests use SQLite.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The private server's `host:port`, when the tests run against PostgreSQL.
pub fn server() -> Option<String> {
    std::env::var("TERN_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

fn psql() -> PathBuf {
    std::env::var_os("TERN_PG_BIN")
        .map(|d| PathBuf::from(d).join("psql"))
        .unwrap_or_else(|| PathBuf::from("psql"))
}

/// Run one SQL statement on the private server's `postgres` database.
pub fn admin(sql: &str) -> io::Result<String> {
    let server = server().ok_or_else(|| io::Error::other("TERN_TEST_POSTGRES is not set"))?;
    let (host, port) = server.rsplit_once(':').unwrap_or((&server, "5432"));
    let out = Command::new(psql())
        .args(["-h", host, "-p", port, "-U", "tern", "-d", "postgres"])
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A fresh, empty database on the private server, as a `postgres://` address; `None` when the
/// tests run against SQLite.
pub fn test_database() -> Option<String> {
    static CREATED: AtomicU32 = AtomicU32::new(0);
    let server = server()?;
    let name = format!(
        "tern_{}_{}",
        std::process::id(),
        CREATED.fetch_add(1, Ordering::SeqCst)
    );
    admin(&format!("CREATE DATABASE {name}")).expect("create a test database");
    Some(format!("postgres://tern@{server}/{name}"))
}

/// Run one SQL statement on a test database (by its address) and return the output rows.
pub fn query(url: &str, sql: &str) -> io::Result<String> {
    let out = Command::new(psql())
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Run `pg_ctl` on the private server (as the `postgres` user when running as root, as
/// scripts/with-postgres.sh does).
fn pg_ctl(args: &[&str]) -> io::Result<()> {
    let data = std::env::var("TERN_TEST_PG_DATA")
        .map_err(|_| io::Error::other("TERN_TEST_PG_DATA is not set"))?;
    let bin = std::env::var_os("TERN_PG_BIN")
        .map(|d| PathBuf::from(d).join("pg_ctl"))
        .unwrap_or_else(|| PathBuf::from("pg_ctl"));
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let mut cmd = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let status = cmd.args(["-D", &data, "-s", "-w"]).args(args).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("pg_ctl {args:?}: {status}")))
    }
}

/// Stop the private server (fast: open connections are cut). For a test of a database
/// outage; every relay test shares the server, so such a test must be alone in its binary.
pub fn stop_server() -> io::Result<()> {
    pg_ctl(&["stop", "-m", "fast"])
}

/// Start the private server again, with the options scripts/with-postgres.sh gave it.
pub fn start_server() -> io::Result<()> {
    let opts = std::env::var("TERN_TEST_PG_OPTS")
        .map_err(|_| io::Error::other("TERN_TEST_PG_OPTS is not set"))?;
    let log = std::env::var("TERN_TEST_PG_LOG")
        .map_err(|_| io::Error::other("TERN_TEST_PG_LOG is not set"))?;
    pg_ctl(&["start", "-l", &log, "-o", &opts])
}
