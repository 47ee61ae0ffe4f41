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
//! A connection is one task: it owns the socket, and its loop both reads and writes it through
//! an [`OutQueue`]. The loop never awaits the peer: the queue's backlog is bounded, a peer that
//! does not read is closed with 4008 (or times out its heartbeat), and the heartbeat, kick,
//! token-expiry and shutdown arms always run. Closing is bounded too: the last replies and the
//! close frame get a few seconds, then the socket is dropped.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tern_proto::{close, ConversationId, Seq, ServerFrame};

use super::in_flight::InFlight;
use super::markers::{Contiguous, SentMarkers, SentShapes};
use super::outbound::Outbound;
use super::outq::{OutQueue, TooSlow};
use super::wire::handshake::Socket;
use crate::hub::{CloseReason, Mailbox};
use crate::limits::TokenBucket;
use crate::ops::{self, Caller};
use crate::state::AppState;
use crate::store::AuthSession;

/// Time the last replies and the close frame get to leave before the socket is dropped.
const CLOSING_PATIENCE: Duration = Duration::from_secs(3);

pub(super) struct Conn {
    pub(super) state: AppState,
    pub(super) caller: Caller,
    pub(super) out: OutQueue,
    /// Set when the peer stopped keeping up; the loop closes with 4008.
    pub(super) too_slow: bool,
    /// Newest receipt markers sent on this connection per (conversation, member), so an
    /// older receipt push held during a sync is not delivered after the sync's newer one.
    pub(super) receipts: SentMarkers,
    /// Newest conversation shapes sent, so an older one that comes late is not delivered.
    pub(super) shapes: SentShapes,
    pub(super) in_flight: InFlight,
    pub(super) frames: TokenBucket,
    pub(super) rejected_in_a_row: u32,
    /// Heads of the last sync: live messages at or below these were already sent by it.
    pub(super) synced: HashMap<ConversationId, Seq>,
    /// First and last sequence pushed live per conversation. Pushes of one conversation reach
    /// a connection contiguously (a connection that misses one is kicked), so a later sync
    /// can skip exactly this range instead of sending it twice.
    pub(super) pushed: HashMap<ConversationId, (Seq, Seq)>,
    /// In a cluster: per conversation, how far everything has been sent (see [`super::gaps`]).
    pub(super) contiguous: Contiguous,
    /// The change version this connection's client has been brought to (by its last sync or
    /// catch-up); `None` before its first sync.
    pub(super) seen_version: Option<u64>,
    /// What the hub pushes to this connection, and its close signal (also watched while a
    /// sync runs).
    pub(super) mailbox: std::sync::Arc<Mailbox>,
    /// When the session's token expires.
    pub(super) expires_at: tern_proto::Timestamp,
}

/// Serve one upgraded socket until it closes.
pub async fn serve(
    socket: Socket,
    state: AppState,
    session: AuthSession,
    instance: Option<String>,
    protocol: u32,
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
        user = %session.user_id,
        session = %session.session_id,
        conn = reg.conn_id,
        "connected"
    );
    let limits = &state.config.limits;
    let out = OutQueue::new(
        socket,
        compression,
        limits.connection_queue,
        limits.connection_queue_bytes,
    );
    let mut conn = Conn::new(&state, &session, reg.conn_id, out, reg.mailbox.clone());
    conn.greet(&session, protocol, compression);
    if reg.came_online {
        let (st, user) = (state.clone(), session.user_id);
        tokio::spawn(async move { ops::announce_presence_retrying(&st, user, None).await });
    }
    if state.shutting_down.load(Ordering::Relaxed) {
        reg.mailbox.kick(close::GOING_AWAY);
    }
    // A logout that committed between the handshake's token check and this registration
    // kicked nobody: check the session once more now that the connection can be found.
    let (sid, now) = (session.session_id, tern_proto::now_ms());
    if let Ok(false) = state.store.read(move |c| c.session_active(sid, now)).await {
        reg.mailbox.kick(close::REVOKED);
    }
    // The session list shows when each device was last connected, to the hour.
    let hour = now - now.rem_euclid(crate::account::LAST_SEEN_GRANULARITY_MS);
    let st = state.clone();
    tokio::spawn(async move {
        if let Err(e) = st
            .store
            .call(move |txn, _| txn.touch_session(sid, hour))
            .await
        {
            tracing::debug!(error = %e, "session last-seen not recorded");
        }
    });
    // The rarely running futures are boxed: held inline, each would make every idle
    // connection's task as large as the largest of them (serve was 16 KB, run 7 KB).
    let close = Box::pin(conn.run(compression)).await;
    // Pushes from now on would wait for nobody.
    reg.mailbox.close();
    // Too slow by its own queue or by the hub's: counted once, whichever noticed.
    if close == Some(close::TOO_SLOW) {
        metrics.slow_closed.fetch_add(1, Ordering::Relaxed);
    }
    Box::pin(conn.finish(close)).await;
    metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    if state.hub.unregister(session.user_id, reg.conn_id) {
        // Awaited, so a relay shutting down records when its users were last seen before it
        // closes the store; retried while the database is away (not once shutdown began).
        let left_at = Some(tern_proto::now_ms());
        Box::pin(ops::announce_presence_retrying(
            &state,
            session.user_id,
            left_at,
        ))
        .await;
    }
    tracing::debug!(conn = reg.conn_id, ?close, "disconnected");
}

impl Conn {
    fn new(
        state: &AppState,
        session: &AuthSession,
        conn_id: u64,
        out: OutQueue,
        mailbox: std::sync::Arc<Mailbox>,
    ) -> Conn {
        let limits = &state.config.limits;
        Conn {
            caller: Caller {
                user_id: session.user_id,
                username: session.username.clone(),
                session_id: session.session_id,
                conn_id,
            },
            out,
            too_slow: false,
            receipts: SentMarkers::default(),
            shapes: SentShapes::default(),
            in_flight: InFlight::default(),
            frames: TokenBucket::new(limits.frame_rate),
            rejected_in_a_row: 0,
            synced: HashMap::new(),
            pushed: HashMap::new(),
            contiguous: Contiguous::default(),
            seen_version: None,
            mailbox,
            expires_at: session.expires_at,
            state: state.clone(),
        }
    }

    /// The first frame on every connection.
    /// `protocol` is the version agreed at the handshake. (Only one exists yet; when a second
    /// does, the connection keeps it to hold back what an older client cannot read.)
    fn greet(&mut self, session: &AuthSession, protocol: u32, compression: bool) {
        let limits = &self.state.config.limits;
        let welcome = ServerFrame::Welcome {
            protocol,
            user_id: session.user_id,
            username: session.username.clone(),
            session_id: session.session_id,
            server_time: tern_proto::now_ms(),
            heartbeat_interval_ms: self.state.config.heartbeat.interval.as_millis() as u64,
            compression,
            max_frame_bytes: limits.max_frame_bytes,
            max_message_bytes: limits.max_message_bytes,
            edit_window_ms: Some(limits.edit_window.as_millis() as u64),
            max_attachment_bytes: Some(limits.max_attachment_bytes),
        };
        self.emit(Outbound::own(welcome));
    }

    /// Serve until the connection must close; returns why (`None`: the peer left).
    async fn run(&mut self, compression: bool) -> Option<CloseReason> {
        let mailbox = self.mailbox.clone();
        let heartbeat = self.state.config.heartbeat;
        let max_in_flight = self.state.config.limits.max_in_flight;
        // The token stops working at its expiry; so does this connection. One timer serves
        // both the heartbeat and the expiry (a timer entry per connection, not two).
        let expiry = self.expiry_instant();
        let mut next_beat = tokio::time::Instant::now() + heartbeat.interval;
        let timer = tokio::time::sleep_until(next_beat.min(expiry));
        tokio::pin!(timer);
        let mut last_heard = Instant::now();
        let close = loop {
            if self.too_slow {
                break Some(close::TOO_SLOW);
            }
            // Stop reading while replies pile up: back-pressure reaches the peer through TCP.
            // (The backlog's share of this is checked in `poll_io`, after it has written.)
            let can_read = self.in_flight.len() < max_in_flight;
            if self.in_flight.len() >= max_in_flight {
                // Paused for the store, not for the peer: its silence is not its fault.
                last_heard = Instant::now();
            }
            tokio::select! {
                reason = mailbox.kicked() => break Some(reason),
                () = &mut timer => {
                    let now = tokio::time::Instant::now();
                    if now >= expiry {
                        break Some(close::EXPIRED);
                    }
                    if now >= next_beat {
                        if last_heard.elapsed() >= heartbeat.timeout {
                            tracing::debug!(conn = self.caller.conn_id, "heartbeat timeout");
                            break Some(close::HEARTBEAT_TIMEOUT);
                        }
                        self.emit(Outbound::Ping);
                        self.recheck_session();
                        next_beat = now + heartbeat.interval;
                    }
                    timer.as_mut().reset(next_beat.min(expiry));
                }
                Some(reply) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    if let Some(reply) = reply {
                        let stale = self.note_reply(&reply);
                        self.emit(reply);
                        if let Some(conv) = stale {
                            Box::pin(self.resend_shape(conv)).await;
                        }
                    }
                }
                item = std::future::poll_fn(|cx| mailbox.poll_recv(cx)) => {
                    Box::pin(self.forward(item)).await
                }
                // Writes what waits, then reads a frame if the loop can take one.
                frame = std::future::poll_fn(|cx| self.out.poll_io(cx, can_read, max_in_flight)) => {
                    if let Some(end) = Box::pin(self.on_message(frame, compression)).await {
                        break end;
                    }
                    // Heard now. A sync is answered inline, nothing read meanwhile: its pages
                    // were taken (each within the timeout, or it ended), so the peer was there
                    // throughout.
                    last_heard = Instant::now();
                }
            }
        };
        close
    }

    /// Close this connection if its session was revoked elsewhere (another relay on the same
    /// database, or `tern-server admin reset-password`); checked on the read connection in
    /// the background, once per heartbeat.
    fn recheck_session(&self) {
        let (state, sid, mailbox) = (
            self.state.clone(),
            self.caller.session_id,
            self.mailbox.clone(),
        );
        tokio::spawn(async move {
            let now = tern_proto::now_ms();
            if let Ok(false) = state.store.read(move |c| c.session_active(sid, now)).await {
                mailbox.kick(close::REVOKED);
            }
        });
    }

    /// Finish replying to what was already accepted (those writes are committed or about to
    /// be) unless the peer is the problem, send the close frame, and close the socket; all
    /// within a bounded time, so a peer that does not read cannot hold the task.
    async fn finish(mut self, close: Option<CloseReason>) {
        if close != Some(close::TOO_SLOW) {
            let out = &mut self.out;
            let in_flight = &mut self.in_flight;
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
        } else {
            // What waits would only delay the close frame behind frames the peer cannot take.
            self.out.discard();
        }
        if let Some(reason) = close {
            let _ = self.out.push(Outbound::Close(Box::new(reason)));
        }
        // A peer that does not read is dropped with the socket, closing the connection.
        let _ = tokio::time::timeout(CLOSING_PATIENCE, self.out.close()).await;
    }
}

impl Conn {
    /// Queue a frame for the socket; a peer too slow to take it gets closed.
    pub(super) fn emit(&mut self, item: Outbound) {
        if self.out.push(item) == Err(TooSlow) {
            self.too_slow = true;
        }
    }

    /// The token's expiry on the runtime's clock.
    pub(super) fn expiry_instant(&self) -> tokio::time::Instant {
        let left = (self.expires_at - tern_proto::now_ms()).max(0) as u64;
        tokio::time::Instant::now() + Duration::from_millis(left)
    }
}
