//! Accepting connections: the relay's own accept loop over plain TCP or TLS, with the limits
//! that keep an unauthenticated peer from exhausting it.
//!
//! Every accepted socket must first win a slot: one of [`ConnPolicy::max_connections`] relay-wide
//! (kept below the descriptor limit) and one of [`ConnPolicy::max_per_address`] for its address
//! (IPv6 counted per /64; peers listed as trusted proxies are exempt, since every client behind
//! them shares their address). A socket without a slot is closed at once, before TLS or HTTP
//! costs anything. The slot is carried *inside* the socket ([`Tracked`]), so a connection that
//! upgrades to a WebSocket keeps holding it until the socket itself is closed.
//!
//! HTTP is served by hyper directly (not `axum::serve`) so every phase has a deadline: the TLS
//! handshake and each request's headers must arrive within [`ConnPolicy::header_read_timeout`]
//! (slowloris), and a connection must finish its business or upgrade within
//! [`ConnPolicy::upgrade_deadline`]. On shutdown the loop stops accepting, asks every HTTP
//! connection to finish its current request, and drops whatever is still open after
//! [`ConnPolicy::shutdown_grace`], so a half-sent request can never hold the process up.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::client_addr::AddrKey;
use crate::config::ConnPolicy;
use crate::metrics::Metrics;

/// Hands out connection slots.
pub struct Gate {
    policy: ConnPolicy,
    global: Arc<Semaphore>,
    per_address: Mutex<HashMap<AddrKey, usize>>,
    metrics: Arc<Metrics>,
}

/// A connection's claim on the relay-wide and per-address limits; released when dropped.
pub struct Slot {
    gate: Arc<Gate>,
    key: Option<AddrKey>,
    _global: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut map = self.gate.per_address.lock().unwrap();
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        self.gate
            .metrics
            .sockets_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gate {
    /// A gate enforcing `policy`.
    pub fn new(policy: ConnPolicy, metrics: Arc<Metrics>) -> Arc<Gate> {
        Arc::new(Gate {
            global: Arc::new(Semaphore::new(policy.max_connections.max(1))),
            policy,
            per_address: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// Claim a slot for a socket from `ip`, or `None` when a limit is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let Ok(global) = self.global.clone().try_acquire_owned() else {
            self.metrics.refused_connection("global_limit");
            return None;
        };
        let key = if (self.policy.exempt)(ip) {
            None
        } else {
            let key = AddrKey::from(ip);
            let mut map = self.per_address.lock().unwrap();
            let n = map.entry(key).or_insert(0);
            if *n >= self.policy.max_per_address {
                drop(map);
                self.metrics.refused_connection("address_limit");
                return None;
            }
            *n += 1;
            Some(key)
        };
        self.metrics.sockets_open.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            gate: self.clone(),
            key,
            _global: global,
        })
    }
}

/// A socket that carries its [`Slot`]: the slot is released exactly when the socket is
/// dropped, whether it served HTTP requests or was upgraded to a WebSocket.
pub struct Tracked<S> {
    io: S,
    _slot: Slot,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Serve `app` on `listener` (TLS when `tls` is set) until `shutdown` resolves; then stop
/// accepting and return once every HTTP connection has finished or been dropped (at most
/// [`ConnPolicy::shutdown_grace`] later). Upgraded WebSockets are not waited for here.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    gate: Arc<Gate>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop, stopped) = watch::channel(false);
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = gate.admit(addr.ip()) else {
            continue;
        };
        // Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm and the
        // peer's delayed ACKs hold some of them back for tens of milliseconds.
        let _ = tcp.set_nodelay(true);
        let io = Tracked {
            io: tcp,
            _slot: slot,
        };
        let conn = Conn {
            app: app.clone(),
            addr,
            policy: gate.policy.clone(),
            stopped: stopped.clone(),
            _alive: alive.clone(),
        };
        match &tls {
            None => {
                tokio::spawn(conn.serve(io));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let handshake = acceptor.accept(io);
                    match tokio::time::timeout(conn.policy.header_read_timeout, handshake).await {
                        Ok(Ok(stream)) => conn.serve(stream).await,
                        _ => tracing::debug!(%addr, "tls handshake failed or timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    let grace = gate.policy.shutdown_grace + Duration::from_secs(1);
    if tokio::time::timeout(grace, all_done.recv()).await.is_err() {
        tracing::warn!("some HTTP connections were still open after the shutdown grace");
    }
}

/// One HTTP connection's context.
struct Conn {
    app: Router,
    addr: SocketAddr,
    policy: ConnPolicy,
    stopped: watch::Receiver<bool>,
    /// Held until the connection ends; shutdown waits for every clone to be dropped.
    _alive: mpsc::Sender<()>,
}

impl Conn {
    async fn serve<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let app = self.app.clone();
        let addr = self.addr;
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
                app.clone().oneshot(req)
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.policy.header_read_timeout)
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        let deadline = tokio::time::sleep(self.policy.upgrade_deadline);
        tokio::pin!(deadline);
        // Already shutting down (accepted in the last instant): go straight to the grace.
        let shutting_down = *self.stopped.borrow();
        if !shutting_down {
            tokio::select! {
                // Finished: the client closed, or the connection was upgraded and handed over.
                _ = conn.as_mut() => return,
                // Upgraded sockets never reach here; a plain HTTP connection has had its time.
                _ = &mut deadline => tracing::debug!(%addr, "HTTP connection deadline"),
                _ = self.stopped.changed() => {}
            }
        }
        conn.as_mut().graceful_shutdown();
        if tokio::time::timeout(self.policy.shutdown_grace, conn)
            .await
            .is_err()
        {
            tracing::debug!(%addr, "HTTP connection dropped after the grace period");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_slash_64_shares_one_allowance() {
        let policy = ConnPolicy {
            max_per_address: 1,
            ..ConnPolicy::default()
        };
        let gate = Gate::new(policy, Arc::new(Metrics::default()));
        let _a = gate.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(gate
            .admit("2001:db8:1:2:ffff::9".parse().unwrap())
            .is_none());
        assert!(gate.admit("2001:db8:1:3::1".parse().unwrap()).is_some());
    }

    #[test]
    fn slots_are_limited_per_address_and_returned_when_dropped() {
        let policy = ConnPolicy {
            max_connections: 3,
            max_per_address: 2,
            ..ConnPolicy::default()
        };
        let gate = Gate::new(policy, Arc::new(Metrics::default()));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = gate.admit(a).unwrap();
        let _s2 = gate.admit(a).unwrap();
        assert!(gate.admit(a).is_none(), "third from one address");
        let _s3 = gate.admit(b).unwrap();
        assert!(gate.admit(b).is_none(), "relay-wide limit");
        drop(s1);
        assert!(gate.admit(a).is_some(), "a dropped slot is free again");
    }
}
