//! The benchmark scenarios. Each seeds a fresh database, starts the relay, applies load and
//! returns a [`Figures`] record read from the relay process and the receivers.

pub mod cluster;
pub mod fanout;
pub mod idle;
pub mod ingest;
pub mod storm;

use serde::Serialize;

/// One scenario's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    /// Which system ran: "tern" or "socket.io".
    pub system: String,
    /// Scenario name.
    pub scenario: String,
    /// Connections used.
    pub conns: usize,
    /// Offered messages per second.
    pub rate_per_s: f64,
    /// Seconds of load.
    pub secs: f64,
    /// Messages sent.
    pub sent: u64,
    /// Deliveries expected (sent × recipients).
    pub expected: u64,
    /// Deliveries seen.
    pub delivered: u64,
    /// expected − delivered.
    pub lost: i64,
    /// Relay CPU seconds during the load.
    pub server_cpu_s: f64,
    /// Relay CPU microseconds per delivered message.
    pub cpu_us_per_delivery: Option<f64>,
    /// Relay resident memory per connection (bytes).
    pub rss_per_conn_bytes: Option<f64>,
    /// End-to-end latency percentiles (ms), measured from the *scheduled* send time.
    pub p50_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile.
    pub p999_ms: Option<f64>,
    /// Maximum.
    pub max_ms: Option<f64>,
    /// Deliveries per second.
    pub delivered_per_s: Option<f64>,
    /// Scenario-specific figure (e.g. storm resync time, ingest rate).
    pub extra: Option<(String, f64)>,
    /// The relay's system calls per delivered message (when `perf` may count them).
    pub syscalls_per_delivery: Option<f64>,
    /// Messages sent per fsync of the relay (when `perf` may count them).
    pub messages_per_fsync: Option<f64>,
    /// Latency curve for plots: (percentile, ms).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curve: Vec<(f64, f64)>,
}

/// Percentile figures from a histogram of microseconds.
pub fn fill_latency(f: &mut Figures, h: &hdrhistogram::Histogram<u64>) {
    if h.is_empty() {
        return;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    f.p50_ms = Some(ms(h.value_at_quantile(0.5)));
    f.p99_ms = Some(ms(h.value_at_quantile(0.99)));
    f.p999_ms = Some(ms(h.value_at_quantile(0.999)));
    f.max_ms = Some(ms(h.max()));
    f.curve = [
        0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0,
    ]
    .iter()
    .map(|q| (q * 100.0, ms(h.value_at_quantile(*q))))
    .collect();
}
