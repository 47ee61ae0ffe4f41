//! Counters and a latency histogram, rendered in the Prometheus text format at `/metrics`.
//!
//! Hand-rolled on atomics: a handful of series does not justify a metrics framework, and
//! every hot-path update is a single relaxed `fetch_add`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tern_proto::ErrorCode;

/// Upper bounds (seconds) of the send-to-ack latency buckets.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// All relay metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// WebSocket connections accepted since start.
    pub connections_total: AtomicU64,
    /// WebSocket connections open now.
    pub connections_open: AtomicU64,
    /// Messages stored.
    pub messages_stored: AtomicU64,
    /// Sends answered from an earlier copy (duplicate client id).
    pub messages_duplicate: AtomicU64,
    /// Frames pushed to connections by fan-out.
    pub pushed: AtomicU64,
    /// Frames received from clients.
    pub frames_in: AtomicU64,
    /// Sockets (HTTP or WebSocket) holding a connection slot now.
    pub sockets_open: AtomicU64,
    /// Connections closed because they could not keep up (4008).
    pub slow_closed: AtomicU64,
    /// Frames sent to the other relays over the bus.
    pub bus_sent: AtomicU64,
    /// Frames from other relays received over the bus.
    pub bus_received: AtomicU64,
    /// Frames not sent to the bus (it was away or its queue full); the receivers' gap fill
    /// and catch-up make up for them.
    pub bus_dropped: AtomicU64,
    /// Messages a connection read from the store because the bus had not brought them (yet).
    pub bus_gap_fills: AtomicU64,
    /// Times this relay found frames of another relay lost on the bus without a word (a
    /// number skipped, or frames a presence list promised that never came) and caught up.
    pub bus_unannounced_losses: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    /// Password checks computed (argon2id verifications at login, wrong or right).
    pub password_verifications: AtomicU64,
    /// Password hashes computed for new accounts.
    pub password_hashes: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// Count one refused request.
    pub fn error(&self, code: ErrorCode) {
        *self
            .errors
            .lock()
            .unwrap()
            .entry(code.as_str())
            .or_default() += 1;
    }

    /// Count one socket closed at accept because a connection limit was reached.
    pub fn refused_connection(&self, reason: &'static str) {
        *self.refused.lock().unwrap().entry(reason).or_default() += 1;
    }

    /// Record the time from receiving a send to acknowledging it.
    pub fn ack_latency(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// The plain counters and gauges: name, help, type, value.
    fn series(&self) -> [(&'static str, &'static str, &'static str, &AtomicU64); 15] {
        [
            (
                "tern_connections_total",
                "WebSocket connections accepted.",
                "counter",
                &self.connections_total,
            ),
            (
                "tern_connections_open",
                "WebSocket connections open.",
                "gauge",
                &self.connections_open,
            ),
            (
                "tern_messages_stored_total",
                "Messages stored.",
                "counter",
                &self.messages_stored,
            ),
            (
                "tern_messages_duplicate_total",
                "Sends answered from an earlier copy.",
                "counter",
                &self.messages_duplicate,
            ),
            (
                "tern_frames_pushed_total",
                "Frames pushed by fan-out.",
                "counter",
                &self.pushed,
            ),
            (
                "tern_frames_received_total",
                "Frames received from clients.",
                "counter",
                &self.frames_in,
            ),
            (
                "tern_sockets_open",
                "Sockets holding a connection slot.",
                "gauge",
                &self.sockets_open,
            ),
            (
                "tern_slow_connections_closed_total",
                "Connections closed because they could not keep up.",
                "counter",
                &self.slow_closed,
            ),
            (
                "tern_bus_sent_total",
                "Frames sent to the other relays over the bus.",
                "counter",
                &self.bus_sent,
            ),
            (
                "tern_bus_received_total",
                "Frames from other relays received over the bus.",
                "counter",
                &self.bus_received,
            ),
            (
                "tern_bus_dropped_total",
                "Frames that could not be sent to the bus.",
                "counter",
                &self.bus_dropped,
            ),
            (
                "tern_bus_gap_fills_total",
                "Messages read from the store because the bus had not brought them.",
                "counter",
                &self.bus_gap_fills,
            ),
            (
                "tern_bus_unannounced_losses_total",
                "Times frames of another relay were found lost on the bus and this relay caught up.",
                "counter",
                &self.bus_unannounced_losses,
            ),
            (
                "tern_password_verifications_total",
                "Password checks computed at login.",
                "counter",
                &self.password_verifications,
            ),
            (
                "tern_password_hashes_total",
                "Password hashes computed for new accounts.",
                "counter",
                &self.password_hashes,
            ),
        ]
    }

    /// The send-to-ack latency histogram.
    fn render_histogram(&self, out: &mut String) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP tern_send_ack_seconds Time from receiving a send to acknowledging it.\n# TYPE tern_send_ack_seconds histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "tern_send_ack_seconds_bucket{{le=\"{bound}\"}} {}",
                load(&self.latency_buckets[i])
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(out, "tern_send_ack_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "tern_send_ack_seconds_sum {}",
            load(&self.latency_sum_us) as f64 / 1e6
        );
        let _ = writeln!(out, "tern_send_ack_seconds_count {count}");
    }

    /// Render every series in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, kind, value) in self.series() {
            let v = value.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tern_connections_refused_total Sockets closed at accept, by limit.\n# TYPE tern_connections_refused_total counter"
        );
        for (reason, n) in self.refused.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "tern_connections_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tern_errors_total Requests refused, by code.\n# TYPE tern_errors_total counter"
        );
        for (code, n) in self.errors.lock().unwrap().iter() {
            let _ = writeln!(out, "tern_errors_total{{code=\"{code}\"}} {n}");
        }
        self.render_histogram(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_rendered() {
        let m = Metrics::default();
        m.ack_latency(Duration::from_micros(300));
        m.ack_latency(Duration::from_millis(30));
        m.error(ErrorCode::RateLimited);
        let text = m.render();
        assert!(
            text.contains("tern_send_ack_seconds_bucket{le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tern_send_ack_seconds_bucket{le=\"0.05\"} 2"),
            "{text}"
        );
        assert!(text.contains("tern_send_ack_seconds_count 2"), "{text}");
        assert!(
            text.contains("tern_errors_total{code=\"rate_limited\"} 1"),
            "{text}"
        );
    }
}
