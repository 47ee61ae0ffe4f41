//! The Tern relay: accounts over HTTP, messaging over WebSocket, persistence in SQLite.
//!
//! [`run`] serves one listener until a shutdown future resolves, then stops accepting, closes
//! every WebSocket with "going away", waits for connection tasks, and lets the store finish its
//! queued writes before returning. The binary (`tern-server`) wraps it with flags and signals;
//! tests call it directly on `127.0.0.1:0`.
//!
//! Module map: [`http`] and [`ws`] speak to clients; [`ops`] are the operations; [`store`]
//! persists; [`fanout`] is the boundary to delivery, implemented in-process by [`hub`].

pub mod admin;
pub mod auth;
pub mod client_addr;
pub mod config;
pub mod error;
pub mod fanout;
pub mod guards;
pub mod http;
pub mod hub;
pub mod json_body;
pub mod kdf;
pub mod limits;
pub mod login;
pub mod metrics;
pub mod ops;
pub mod register;
pub mod state;
pub mod store;
pub mod tls;
pub mod ws;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use config::Config;
pub use error::{Error, Result};

use crate::guards::AccountGuards;
use crate::hub::{CloseReason, Hub};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{Store, StoreConfig};

/// Serve on `listener` until `shutdown` resolves, then shut down gracefully.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let metrics = Arc::new(Metrics::default());
    let hub = Hub::new(
        config.limits.connection_queue,
        config.limits.send_rate,
        metrics.clone(),
    );
    let (store, store_thread) = Store::open(
        StoreConfig {
            path: config.db_path.clone(),
            synchronous_full: config.synchronous_full,
            max_batch: config.max_batch,
            commit_window: config.commit_window,
        },
        Arc::new(hub.clone()),
    )?;
    let acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let (conn_guard, mut conns_done) = mpsc::channel::<()>(1);
    let state = AppState {
        accounts: Arc::new(AccountGuards::new(&config.limits)?),
        config: Arc::new(config),
        store,
        hub: hub.clone(),
        metrics,
        shutting_down: Arc::new(AtomicBool::new(false)),
        conn_guard,
    };
    let addr = listener.local_addr()?;
    tracing::info!(%addr, tls = acceptor.is_some(), "relay listening");

    let flag = state.shutting_down.clone();
    let kicker = hub.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: closing connections");
        flag.store(true, Ordering::SeqCst);
        kicker.kick_all(CloseReason::GOING_AWAY);
    };
    let app = http::router(state.clone());
    match acceptor {
        None => {
            // Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm and the
            // peer's delayed ACKs hold some of them back for tens of milliseconds.
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(signal)
            .await?
        }
        Some(acceptor) => tls::serve(listener, app, acceptor, signal).await?,
    }
    // Connections upgraded just before the flag was set are kicked here too.
    hub.kick_all(CloseReason::GOING_AWAY);
    drop(state);
    if tokio::time::timeout(Duration::from_secs(10), conns_done.recv())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within 10 s");
    }
    // Every Store handle is gone once connections are; the thread drains its queue and exits.
    tokio::task::spawn_blocking(move || store_thread.join())
        .await
        .ok();
    tracing::info!("relay stopped");
    Ok(())
}
