//! What the kernel did for the relay during a run, when `perf` may trace it: its system calls
//! and its fsyncs, so a figure per message can say how many of each a message took.
//!
//! The kernel's own threads (writeback, journal) are not counted: the busy time of all CPUs
//! from `/proc/stat` minus the relay's and this generator's was tried and came out between 0
//! and 54 µs per message on the same load, which is no measurement.

use std::process::{Child, Command, Stdio};

/// Started before the measured window, finished after it.
pub struct KernelWatch {
    perf: Option<Child>,
}

/// The figures of one window, per delivered message.
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelFigures {
    /// System calls the relay made.
    pub syscalls: Option<f64>,
    /// Messages per `fsync`/`fdatasync` of the relay (the inverse, per message).
    pub messages_per_fsync: Option<f64>,
}

impl KernelWatch {
    /// Start watching relay `pid`.
    pub fn start(pid: u32) -> Self {
        let perf = Command::new("perf")
            .args(["stat", "-x", ",", "-p", &pid.to_string()])
            .args(["-e", "raw_syscalls:sys_enter"])
            .args(["-e", "syscalls:sys_enter_fsync"])
            .args(["-e", "syscalls:sys_enter_fdatasync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok();
        KernelWatch { perf }
    }

    /// Stop and report per message, for `messages` delivered in the window.
    pub fn finish(self, messages: u64) -> KernelFigures {
        let per = |x: f64| (messages > 0).then(|| x / messages as f64);
        let mut out = KernelFigures::default();
        if let Some(counts) = self.perf.and_then(stop_perf) {
            let syscalls = counts.iter().find(|c| c.0.contains("raw_syscalls"));
            let fsyncs: Option<f64> = counts
                .iter()
                .filter(|c| c.0.contains("fsync") || c.0.contains("fdatasync"))
                .map(|c| c.1)
                .reduce(|a, b| a + b);
            out.syscalls = syscalls.and_then(|c| per(c.1));
            out.messages_per_fsync = fsyncs.filter(|n| *n > 0.0).map(|n| messages as f64 / n);
        }
        out
    }
}

/// Interrupt `perf stat` and read its counts: (event, count); `None` if it could not count
/// (no permission, no tracepoints).
fn stop_perf(child: Child) -> Option<Vec<(String, f64)>> {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().ok()?;
    let counts: Vec<(String, f64)> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(2)?.to_string(), f.first()?.parse().ok()?))
        })
        .collect();
    (!counts.is_empty()).then_some(counts)
}
