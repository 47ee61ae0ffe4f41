//! The Tern relay: accounts over HTTP, messaging over WebSocket, persistence in SQLite.
//!
//! [`run`] serves one listener until a shutdown future resolves, then stops accepting, closes
//! every WebSocket with "going away", waits for connection tasks, and lets the store finish its
//! queued writes before returning. The binary (`tern-server`) wraps it with flags and signals;
//! tests call it directly on `127.0.0.1:0`.
//!
//! Module map: [`http`] and [`ws`] speak to clients; [`ops`] are the operations; [`store`]
//! persists; [`fanout`] is the boundary to delivery, implemented in-process by [`hub`] and, in a
//! cluster of relays, by [`bus`] beside it.

pub mod account;
pub mod admin;
pub mod auth;
pub mod blobs;
pub mod bus;
pub mod client_addr;
pub mod config;
pub mod error;
pub mod extract;
pub mod fanout;
pub mod guards;
pub mod http;
pub mod hub;
pub mod json_body;
pub mod kdf;
pub mod limits;
pub mod listen;
pub mod login;
pub mod metrics;
pub mod object_blobs;
pub mod ops;
pub mod register;
pub mod state;
pub mod store;
pub mod tls;
pub mod transfers;
pub mod ws;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use config::Config;
pub use error::{Error, Result};

use crate::bus::Bus;
use crate::guards::AccountGuards;
use crate::hub::Hub;
use crate::limits::KeyedLimiter;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{Store, StoreConfig};
use tern_proto::close;

/// The sockets a relay serves: the public one, and optionally a separate one for `/metrics`
/// (loopback by default in the binary, so operational data is not public).
pub struct Listeners {
    /// Accounts, health and the WebSocket endpoint.
    pub main: TcpListener,
    /// `/metrics` and `/health` only; when absent `/metrics` is not served at all.
    pub metrics: Option<TcpListener>,
}

/// Serve on `listener` until `shutdown` resolves, then shut down gracefully (no metrics port).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    serve(
        Listeners {
            main: listener,
            metrics: None,
        },
        config,
        shutdown,
    )
    .await
}

/// Serve `/metrics` (and `/health`) on their own listener until `stop` resolves.
fn serve_metrics(
    listener: TcpListener,
    state: &AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "metrics listening");
    }
    let gate = listen::Gate::new(state.config.connections.clone(), state.metrics.clone());
    let app = http::metrics_router(state.clone());
    tokio::spawn(listen::serve(listener, app, None, gate, stop))
}

/// Serve `listeners` until `shutdown` resolves, then shut down within a bounded time: stop
/// accepting, close every WebSocket with "going away", give open HTTP requests
/// [`config::ConnPolicy::shutdown_grace`], wait (bounded) for connection tasks, and let the store
/// finish its queued writes.
pub async fn serve(
    listeners: Listeners,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let metrics = Arc::new(Metrics::default());
    let (bus, outbox) = match &config.bus {
        Some(_) => {
            let (bus, outbox) = Bus::clustered(metrics.clone(), config.bus_outbox);
            (bus, Some(outbox))
        }
        None => (Bus::alone(), None),
    };
    let hub = Hub::with_presence_hook(
        config.limits.connection_queue,
        metrics.clone(),
        bus.presence_hook(),
    );
    let fanout: Arc<dyn fanout::Fanout> = if bus.is_clustered() {
        Arc::new(bus::Delivery {
            hub: hub.clone(),
            bus: bus.clone(),
        })
    } else {
        Arc::new(hub.clone())
    };
    let (store, store_thread) = Store::open(
        StoreConfig {
            path: config.db_path.clone(),
            synchronous_full: config.synchronous_full,
            max_batch: config.max_batch,
            commit_window: config.commit_window,
            wal_limit_bytes: config.wal_limit_bytes,
            postgres: config.postgres.clone(),
        },
        fanout,
    )?;
    let acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
    // Every client behind a trusted proxy shares its address: the per-address cap must not
    // count them as one.
    let mut conn_policy = config.connections.clone();
    let trusted = config.trusted_proxies.clone();
    conn_policy.exempt = Arc::new(move |ip| trusted.contains(ip));
    let gate = listen::Gate::new(conn_policy, metrics.clone());
    let bus_url = config.bus.clone();
    let (state, conns_done) = app_state(config, store, hub.clone(), bus.clone(), metrics)?;
    let link = match (bus_url, outbox) {
        (Some(url), Some(outbox)) => Some(
            bus::link::start(&url, bus, outbox, state.clone())
                .await
                .map_err(|e| Error::Internal(e.to_string()))?,
        ),
        _ => None,
    };
    let sweeper = tokio::spawn(sweep_uploads(state.clone()));
    let addr = listeners.main.local_addr()?;
    tracing::info!(%addr, tls = acceptor.is_some(), "relay listening");

    // One shutdown signal, seen by the main listener and the metrics listener.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let flag = state.shutting_down.clone();
    let kicker = hub.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: closing connections");
        flag.store(true, Ordering::SeqCst);
        kicker.kick_all(close::GOING_AWAY);
        let _ = stop.send(true);
    });
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let metrics_task = listeners
        .metrics
        .map(|l| serve_metrics(l, &state, wait(stopped.clone())));
    let app = http::router(state.clone());
    listen::serve(listeners.main, app, acceptor, gate, wait(stopped)).await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    stop_all(hub, sweeper, state, conns_done, link, store_thread).await;
    tracing::info!("relay stopped");
    Ok(())
}

/// The state every handler shares, and the receiver that ends when the last connection task
/// drops its guard.
fn app_state(
    config: Config,
    store: Store,
    hub: Hub,
    bus: Bus,
    metrics: Arc<Metrics>,
) -> Result<(AppState, mpsc::Receiver<()>)> {
    let blobs = blobs::Blobs::open(&config.blob_dir)?;
    let objects = config
        .blob_store
        .as_deref()
        .map(object_blobs::ObjectBlobs::open)
        .transpose()?;
    let (conn_guard, conns_done) = mpsc::channel::<()>(1);
    let state = AppState::new(state::Shared {
        accounts: Arc::new(AccountGuards::new(&config.limits)?),
        sends: Arc::new(KeyedLimiter::new(config.limits.send_rate)),
        changes: Arc::new(KeyedLimiter::new(config.limits.change_rate)),
        config: Arc::new(config),
        store,
        hub,
        bus,
        metrics,
        shutting_down: Arc::new(AtomicBool::new(false)),
        presence_retries: Arc::default(),
        conn_guard,
        blobs,
        objects,
        writing: blobs::Writing::default(),
        health: Arc::default(),
    });
    Ok((state, conns_done))
}

/// After the listeners stopped: close what is still connected, wait (bounded) for the
/// connection tasks, say goodbye on the bus, then wait for the store thread to drain its queue.
async fn stop_all(
    hub: Hub,
    sweeper: tokio::task::JoinHandle<()>,
    state: AppState,
    mut conns_done: mpsc::Receiver<()>,
    link: Option<bus::link::Link>,
    store_thread: store::StoreThread,
) {
    // Connections upgraded just before the flag was set are kicked here too.
    hub.kick_all(close::GOING_AWAY);
    sweeper.abort();
    let _ = sweeper.await;
    drop(state);
    if tokio::time::timeout(Duration::from_secs(10), conns_done.recv())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within 10 s");
    }
    if let Some(link) = link {
        link.stop().await;
    }
    // Every Store handle is gone once connections are; the thread drains its queue and exits.
    // A connection task that did not finish still holds a handle: do not wait for it forever.
    let joined = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::task::spawn_blocking(move || store_thread.join()),
    )
    .await;
    if joined.is_err() {
        tracing::warn!(
            "the store was still referenced at exit; every commit already answered is durable"
        );
    }
}

/// How often leftover uploads are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// How often the blob folder is listed for files no upload accounts for (and at start).
const FOLDER_SWEEP_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Remove the files in this relay's blob folder that no upload accounts for, once nothing
/// has written to them for the upload TTL: a partial upload whose row another relay of a
/// cluster swept (each relay keeps the uploads in progress it was sent; a resumed upload may
/// have gone on through another), the local copy of a blob completed through another relay
/// and kept in the object store, or bytes whose row a sweep removed just before the relay
/// stopped. Without an object store a complete upload's file is the blob itself, and stays.
async fn sweep_local_files(state: &AppState) {
    let (blobs, ttl) = (state.blobs.clone(), state.config.limits.upload_ttl);
    let old = match tokio::task::spawn_blocking(move || blobs.untouched_for(ttl)).await {
        Ok(Ok(ids)) => ids,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not list the blob folder");
            return;
        }
        Err(_) => return,
    };
    if old.is_empty() {
        return;
    }
    let lookup = old.clone();
    let known = match state
        .store
        .read(move |conn| conn.uploads_among(&lookup))
        .await
    {
        Ok(rows) => rows
            .into_iter()
            .map(|(id, size, complete)| (id, (size, complete)))
            .collect::<std::collections::HashMap<_, _>>(),
        Err(e) => {
            tracing::warn!(error = %e, "could not look up the blob folder's uploads");
            return;
        }
    };
    let mut removed = 0;
    for id in old {
        let stale = match (known.get(&id), &state.objects) {
            (None, _) => true,
            // Without an object store a complete upload's file is the blob itself; an
            // incomplete one's goes with its row (the sweep above), as it does with one.
            (Some(_), None) | (Some((_, false)), Some(_)) => false,
            (Some((size, true)), Some(objects)) => in_store(state, objects, &id, *size).await,
        };
        if stale {
            match state.blobs.discard(&id).await {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(error = %e, "could not remove an attachment file"),
            }
        }
    }
    if removed > 0 {
        tracing::info!(
            removed,
            "removed attachment files no upload needs on this disk"
        );
    }
}

/// Whether the object store holds the whole of complete blob `id` (`size` bytes), so its
/// local copy may go. One the store lacks (kept on disk before the store was configured) is
/// moved there first.
async fn in_store(
    state: &AppState,
    objects: &object_blobs::ObjectBlobs,
    id: &str,
    size: u64,
) -> bool {
    let moved = match objects.size(id).await {
        Ok(Some(stored)) => return stored == size,
        Ok(None) => match state.blobs.path(id) {
            Ok(path) => objects.put_file(id, &path).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match moved {
        Ok(()) => {
            tracing::info!(blob = %id, "moved a blob kept on disk to the object store");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, blob = %id, "could not move a blob to the object store");
            false
        }
    }
}

/// Remove uploads no message refers to once they are older than the upload TTL (abandoned
/// half-way, never sent, or their messages deleted for everyone), rows and bytes; and free the
/// usernames of accounts deleted longer ago than their hold. Runs until aborted at shutdown.
async fn sweep_uploads(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    let mut folder_swept: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        let before = tern_proto::now_ms() - state.config.limits.upload_ttl.as_millis() as i64;
        match state
            .store
            .call(move |txn, _| txn.sweep_uploads(before))
            .await
        {
            Ok(ids) if !ids.is_empty() => {
                for id in &ids {
                    transfers::remove_bytes(&state, id).await;
                }
                tracing::info!(removed = ids.len(), "removed leftover uploads");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep uploads"),
        }
        // The folder's listing reads every file's metadata: at start, then now and then.
        if folder_swept.is_none_or(|at| at.elapsed() >= FOLDER_SWEEP_EVERY) {
            sweep_local_files(&state).await;
            folder_swept = Some(std::time::Instant::now());
        }
        // Names of deleted accounts become free once their hold has passed.
        let before =
            tern_proto::now_ms() - state.config.limits.deleted_name_hold.as_millis() as i64;
        match state
            .store
            .call(move |txn, _| txn.release_deleted_names(before))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "usernames of deleted accounts freed"),
            Err(e) => tracing::warn!(error = %e, "could not free deleted accounts' names"),
        }
    }
}
