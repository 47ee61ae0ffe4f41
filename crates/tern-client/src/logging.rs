//! The one log setup of every Tern client program (the `tern` CLI and the desktop app).
//!
//! Design decision: the user's filter (`TERN_LOG`) chooses what Tern itself logs, but never
//! how much the network libraries say. At `trace`/`debug`, tungstenite, hyper, reqwest, h2 and
//! rustls print request headers (including `Authorization: Bearer <token>`) and frame payloads
//! (message bodies). Those targets are capped at [`CAPPED_LEVEL`] by a second filter that the
//! user's directives cannot raise — not even a more specific one such as
//! `hyper::proto=trace`, which would beat a plain `hyper=info` directive appended to an
//! [`EnvFilter`]. Tern's own code logs ids, states and errors, never bodies or tokens.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Filter, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Dependencies whose verbose output carries secrets; they never log below this level.
pub const CAPPED_LEVEL: LevelFilter = LevelFilter::INFO;

/// Targets capped at [`CAPPED_LEVEL`] (prefixes: `hyper` covers `hyper::proto::h1`).
pub const CAPPED_TARGETS: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "h2",
    "http",
];

/// The filter for a program: `user` directives (`TERN_LOG` syntax; `default` when absent or
/// invalid), with the network libraries capped whatever `user` says.
pub fn filter<S>(user: Option<&str>, default: &str) -> impl Filter<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let user_filter = user
        .and_then(|u| EnvFilter::try_new(u).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED_TARGETS.iter().map(|t| (*t, CAPPED_LEVEL)));
    tracing_subscriber::filter::FilterExt::and(user_filter, caps)
}

/// Install the global subscriber: human-readable lines on stderr, filtered by `TERN_LOG`
/// (or `default`) through [`filter`].
pub fn init(default: &str) {
    let user = std::env::var("TERN_LOG").ok();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter(user.as_deref(), default));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_with(user: &str) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_filter(filter(Some(user), "warn"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "hyper::proto::h1::io", "authorization: Bearer s3cret-h1");
            tracing::debug!(target: "tungstenite::handshake::client", "Bearer s3cret-ws");
            tracing::trace!(target: "reqwest::connect", "Bearer s3cret-reqwest");
            tracing::trace!(target: "h2::codec", "Bearer s3cret-h2");
            tracing::info!(target: "hyper_util::client", "connection pool ready");
            tracing::trace!(target: "tern_client::connection", "tern trace line");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn trace_logging_never_shows_network_library_secrets() {
        for user in [
            "trace",
            "debug",
            "trace,hyper=trace,tungstenite=trace,reqwest=trace,h2=trace",
            "hyper::proto=trace,tungstenite::handshake=trace,tern_client=trace",
        ] {
            let text = logged_with(user);
            assert!(!text.contains("s3cret"), "{user}: {text}");
            assert!(!text.contains("Bearer"), "{user}: {text}");
        }
    }

    #[test]
    fn the_users_filter_still_chooses_tern_s_own_output() {
        let text = logged_with("trace");
        assert!(text.contains("tern trace line"), "{text}");
        assert!(
            text.contains("connection pool ready"),
            "info of libraries stays"
        );
        assert!(!logged_with("warn").contains("tern trace line"));
        // An invalid filter falls back to the default instead of failing.
        assert!(!logged_with("not a filter ===").contains("tern trace line"));
    }
}
