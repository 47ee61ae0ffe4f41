//! One connection's life: register with the hub, greet, then read frames, forward pushes and
//! keep the heartbeat until the client leaves, the link dies, or the relay kicks it.
//!
//! Requests are dispatched to [`crate::ops`] as they arrive; their replies are awaited in a
//! queue (in request order) so a client can pipeline many sends without waiting for each
//! commit. When that queue is full the task stops reading the socket: back-pressure reaches the
//! client through TCP instead of relay memory. A `sync` is answered inline; while it runs, pushes
//! wait in the hub queue and are then filtered against the sync's heads so nothing arrives twice,
//! and receipt pushes older than the markers the sync sent are dropped, so markers only move
//! forward on every connection.
//!
//! The loop never awaits the peer: frames go through an [`OutQueue`] whose backlog is bounded;
//! a peer that does not read is closed with 4008 (or times out its heartbeat), and the
//! heartbeat, kick, token-expiry and shutdown arms always run. Closing is bounded too: the last
//! replies and the close frame get a few seconds, then the socket is dropped.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::FuturesOrdered;
use futures_util::StreamExt;
use tern_proto::{
    close, ClientFrame, ConversationId, ErrorCode, Ping, Seq, ServerFrame, SyncRequest,
    PROTOCOL_VERSION,
};
use tokio::sync::mpsc;

use super::markers::SentMarkers;
use super::outq::{OutQueue, TooSlow};
use super::sync;
use super::writer::{self, Outbound};
use crate::error::{Error, Result};
use crate::fanout::Tag;
use crate::hub::{CloseReason, Live};
use crate::limits::TokenBucket;
use crate::ops::{self, Caller, Ctx, Pending};
use crate::state::AppState;
use crate::store::accounts::AuthSession;

/// Rate-limited frames tolerated before the connection is closed.
const MAX_REJECTED_IN_A_ROW: u32 = 1000;
/// Time the last replies and the close frame get to leave before the socket is dropped.
const CLOSING_PATIENCE: Duration = Duration::from_secs(3);

/// Replies being awaited, in request order; `None` for requests with no reply on success.
type InFlight =
    FuturesOrdered<std::pin::Pin<Box<dyn std::future::Future<Output = Option<Outbound>> + Send>>>;

struct Conn {
    state: AppState,
    caller: Caller,
    out: OutQueue,
    /// Set when the peer stopped keeping up; the loop closes with 4008.
    too_slow: bool,
    /// Newest receipt markers sent on this connection per (conversation, member), so an
    /// older receipt push held during a sync is not delivered after the sync's newer one.
    receipts: SentMarkers,
    in_flight: InFlight,
    frames: TokenBucket,
    rejected_in_a_row: u32,
    /// Heads of the last sync: live messages at or below these were already sent by it.
    synced: HashMap<ConversationId, Seq>,
    /// First and last sequence pushed live per conversation. Pushes of one conversation reach
    /// a connection contiguously (a connection that misses one is kicked), so a later sync
    /// can skip exactly this range instead of sending it twice.
    pushed: HashMap<ConversationId, (Seq, Seq)>,
}

/// Serve one upgraded socket until it closes.
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    session: AuthSession,
    instance: Option<String>,
    compression: bool,
) {
    let _guard = state.conn_guard.clone();
    let reg = state
        .hub
        .register(session.user_id, session.session_id, instance);
    let metrics = state.metrics.clone();
    metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        user = session.user_id,
        session = session.session_id,
        conn = reg.conn_id,
        "connected"
    );

    let (sink, mut stream) = socket.split();
    let (out, out_rx) = mpsc::channel(64);
    let mut writer = tokio::spawn(writer::run(sink, out_rx, compression));
    let limits = state.config.limits.clone();
    let heartbeat = state.config.heartbeat;
    let mut conn = Conn {
        caller: Caller {
            user_id: session.user_id,
            username: session.username.clone(),
            session_id: session.session_id,
            conn_id: reg.conn_id,
        },
        out: OutQueue::new(out, limits.connection_queue),
        too_slow: false,
        receipts: SentMarkers::default(),
        in_flight: FuturesOrdered::new(),
        frames: TokenBucket::new(limits.frame_rate),
        rejected_in_a_row: 0,
        synced: HashMap::new(),
        pushed: HashMap::new(),
        state: state.clone(),
    };
    let welcome = ServerFrame::Welcome {
        protocol: PROTOCOL_VERSION,
        user_id: session.user_id,
        username: session.username.clone(),
        session_id: session.session_id,
        server_time: tern_proto::now_ms(),
        heartbeat_interval_ms: heartbeat.interval.as_millis() as u64,
        compression,
        max_frame_bytes: limits.max_frame_bytes,
        max_message_bytes: limits.max_message_bytes,
    };
    conn.emit(Outbound::own(welcome));
    if reg.came_online {
        let st = state.clone();
        let user = session.user_id;
        tokio::spawn(async move {
            if let Err(e) = ops::announce_presence(&st, user, false).await {
                tracing::warn!(error = %e, "presence announcement failed");
            }
        });
    }
    if state.shutting_down.load(Ordering::Relaxed) {
        reg.kick.kick(close::GOING_AWAY);
    }

    let mut live = reg.live;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + heartbeat.interval,
        heartbeat.interval,
    );
    // The token stops working at its expiry; so does this connection.
    let expiry = tokio::time::sleep(Duration::from_millis(
        (session.expires_at - tern_proto::now_ms()).max(0) as u64,
    ));
    tokio::pin!(expiry);
    let mut last_heard = Instant::now();
    let close = loop {
        if conn.too_slow {
            metrics.slow_closed.fetch_add(1, Ordering::Relaxed);
            break Some(close::TOO_SLOW);
        }
        // Stop reading while replies pile up: back-pressure reaches the peer through TCP.
        let can_read = conn.in_flight.len() < limits.max_in_flight
            && conn.out.backlog() < limits.max_in_flight;
        tokio::select! {
            reason = reg.kick.kicked() => break Some(reason),
            _ = &mut expiry => break Some(close::EXPIRED),
            _ = ticker.tick() => {
                if last_heard.elapsed() >= heartbeat.timeout {
                    tracing::debug!(conn = conn.caller.conn_id, "heartbeat timeout");
                    break Some(close::HEARTBEAT_TIMEOUT);
                }
                conn.emit(Outbound::Ping);
            }
            // Move waiting frames to the writer as it makes room.
            _ = conn.out.ready() => {}
            Some(reply) = conn.in_flight.next(), if !conn.in_flight.is_empty() => {
                if let Some(reply) = reply {
                    conn.emit(reply);
                }
            }
            Some(item) = live.recv() => conn.forward(item),
            frame = stream.next(), if can_read => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(reason) = conn.on_text(text.as_str()).await { break Some(reason) }
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Some(reason) = conn.on_binary(&bytes, compression).await { break Some(reason) }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(e)) => {
                        tracing::debug!(conn = conn.caller.conn_id, error = %e, "socket error");
                        break read_error_close(e);
                    }
                }
            }
        }
    };
    // Finish replying to what was already accepted (those writes are committed or about to
    // be), unless the peer is the problem; either way within a bounded time.
    if close != Some(close::TOO_SLOW) {
        let out = &mut conn.out;
        let in_flight = &mut conn.in_flight;
        let _ = tokio::time::timeout(CLOSING_PATIENCE, async {
            while let Some(reply) = in_flight.next().await {
                if let Some(reply) = reply {
                    if out.send(reply, CLOSING_PATIENCE).await.is_err() {
                        break;
                    }
                }
            }
        })
        .await;
    }
    if let Some(reason) = close {
        let _ = conn
            .out
            .send(Outbound::Close(reason), CLOSING_PATIENCE)
            .await;
    }
    drop(conn.out);
    // A writer stuck on a peer that does not read is dropped, closing the socket.
    if tokio::time::timeout(CLOSING_PATIENCE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    drop(stream);

    metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    if state.hub.unregister(session.user_id, reg.conn_id) {
        if let Err(e) = ops::announce_presence(&state, session.user_id, true).await {
            tracing::debug!(error = %e, "offline announcement failed");
        }
    }
    tracing::debug!(conn = reg.conn_id, ?close, "disconnected");
}

impl Conn {
    /// Hand a frame to the writer; a peer too slow to take it gets closed.
    fn emit(&mut self, item: Outbound) {
        if self.out.push(item) == Err(TooSlow) {
            self.too_slow = true;
        }
    }

    /// Forward a pushed frame unless a sync on this connection already sent it or newer.
    fn forward(&mut self, item: Live) {
        match item.tag {
            Tag::Message(conv, seq) => {
                if self.synced.get(&conv).is_some_and(|head| seq <= *head) {
                    return;
                }
                self.pushed
                    .entry(conv)
                    .and_modify(|r| r.1 = seq)
                    .or_insert((seq, seq));
            }
            Tag::Receipt(r) => {
                if !self.receipts.admit(&r) {
                    return;
                }
            }
            Tag::Other => {}
        }
        self.emit(Outbound::Shared(item.payload));
    }

    async fn reply_error(&mut self, id: Option<u64>, err: &Error) {
        if matches!(err, Error::Refused(..)) {
            tracing::debug!(conn = self.caller.conn_id, code = %err.code(), "request refused");
        } else {
            tracing::error!(conn = self.caller.conn_id, error = %err, "request failed");
        }
        self.state.metrics.error(err.code());
        self.emit(Outbound::own(ServerFrame::error(
            id,
            err.code(),
            err.client_message(),
        )));
    }

    async fn on_binary(&mut self, bytes: &[u8], compression: bool) -> Option<CloseReason> {
        if !compression {
            let err = Error::refused(
                ErrorCode::BadFrame,
                "binary frames need the deflate compression agreed at the handshake",
            );
            self.reply_error(None, &err).await;
            return None;
        }
        match tern_proto::compression::inflate(bytes, self.state.config.limits.max_frame_bytes) {
            Ok(text) => self.on_text(&text).await,
            Err(tern_proto::compression::InflateError::TooLarge(n)) => {
                self.reply_error(
                    None,
                    &Error::refused(
                        ErrorCode::FrameTooLarge,
                        format!("frames may have at most {n} bytes"),
                    ),
                )
                .await;
                None
            }
            Err(e) => {
                self.reply_error(
                    None,
                    &Error::refused(ErrorCode::BadFrame, format!("binary frame rejected: {e}")),
                )
                .await;
                None
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Option<CloseReason> {
        self.state.metrics.frames_in.fetch_add(1, Ordering::Relaxed);
        if !self.frames.try_take() {
            self.rejected_in_a_row += 1;
            if self.rejected_in_a_row > MAX_REJECTED_IN_A_ROW {
                return Some(close::POLICY);
            }
            let id = ClientFrame::parse(text).ok().map(|f| f.id());
            self.reply_error(
                id,
                &Error::refused(ErrorCode::RateLimited, "too many frames; slow down"),
            )
            .await;
            return None;
        }
        self.rejected_in_a_row = 0;
        let max = self.state.config.limits.max_frame_bytes;
        if text.len() > max {
            let err = Error::refused(
                ErrorCode::FrameTooLarge,
                format!(
                    "frames may have at most {max} bytes; this one has {}",
                    text.len()
                ),
            );
            self.reply_error(None, &err).await;
            return None;
        }
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(rejection) => {
                self.reply_error(
                    rejection.id,
                    &Error::Refused(rejection.code, rejection.message),
                )
                .await;
                return None;
            }
        };
        let id = frame.id();
        match self.dispatch(frame).await {
            Ok(Some(pending)) => {
                let metrics = self.state.metrics.clone();
                self.in_flight.push_back(Box::pin(async move {
                    match pending.await {
                        Ok(reply) => reply.map(Outbound::own),
                        Err(e) => {
                            if !matches!(e, Error::Refused(..)) {
                                tracing::error!(error = %e, "request failed");
                            }
                            metrics.error(e.code());
                            Some(Outbound::own(ServerFrame::error(
                                Some(id),
                                e.code(),
                                e.client_message(),
                            )))
                        }
                    }
                }))
            }
            Ok(None) => {}
            Err(e) => self.reply_error(Some(id), &e).await,
        }
        None
    }

    /// Answer `ping` and `sync` here (they write to the socket directly); hand every other
    /// request to [`ops::dispatch`].
    async fn dispatch(&mut self, frame: ClientFrame) -> Result<Option<Pending>> {
        match frame {
            ClientFrame::Ping(Ping { id }) => {
                self.emit(Outbound::own(ServerFrame::Pong { id }));
                Ok(None)
            }
            ClientFrame::Sync(request) => {
                self.sync(request).await?;
                Ok(None)
            }
            request => {
                let ctx = Ctx {
                    state: &self.state,
                    caller: &self.caller,
                };
                ops::dispatch(ctx, request).await.map(Some)
            }
        }
    }

    /// Run a sync inline; pushes wait in the hub queue meanwhile and are filtered after it.
    async fn sync(&mut self, request: SyncRequest) -> Result<()> {
        let patience = self.state.config.heartbeat.timeout;
        let request = sync::Request {
            user: self.caller.user_id,
            id: request.id,
            cursors: request.cursors,
            since: request.changes_since,
        };
        match sync::run(&self.state, request, &self.pushed, &mut self.out, patience).await {
            Ok(done) => {
                self.synced = done.heads;
                for r in &done.receipts {
                    self.receipts.admit(r);
                }
                Ok(())
            }
            Err(sync::SyncError::TooSlow) => {
                self.too_slow = true;
                Ok(())
            }
            Err(sync::SyncError::Failed(e)) => Err(e),
        }
    }
}

/// The close code for a failed read: 1007 for invalid UTF-8, 1009 for an oversized frame
/// (the peer learns why instead of reading 1005), nothing for a plain I/O failure.
fn read_error_close(e: axum::Error) -> Option<CloseReason> {
    let inner = e.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Utf8(_)) => Some(close::INVALID_UTF8),
        Some(tungstenite::Error::Capacity(_)) => Some(close::TOO_BIG),
        _ => None,
    }
}
