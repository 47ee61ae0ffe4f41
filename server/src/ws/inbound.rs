//! What a connection does with what it reads: text and compressed frames are parsed,
//! rate-limited and size-checked, `ping` and `sync` are answered here, every other request goes
//! to [`crate::ops::dispatch`] and its reply joins the connection's in-order reply queue. Read
//! errors become the close codes the protocol promises (1007, 1009).

use std::sync::atomic::Ordering;

use axum::extract::ws::Message;
use tern_proto::{close, ClientFrame, ErrorCode, Ping, RequestId, ServerFrame, SyncRequest};

use super::connection::Conn;
use super::outbound::Outbound;
use super::sync;
use super::wire::WireError;
use crate::error::{Error, Result};
use crate::hub::CloseReason;
use crate::ops::{self, Ctx, Pending};

/// Longest a whole sync may take before the connection is considered too slow.
const SYNC_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// What the frame rate says about one frame.
enum Charge {
    Admitted,
    Refused,
    Close(CloseReason),
}

/// Rate-limited frames tolerated before the connection is closed.
const MAX_REJECTED_IN_A_ROW: u32 = 1000;

impl Conn {
    /// Handle one read from the socket; `Some(end)` ends the connection (`end` is the close
    /// to send, `None` when the peer left).
    pub(super) async fn on_message(
        &mut self,
        frame: Option<std::result::Result<Message, axum::Error>>,
        compression: bool,
    ) -> Option<Option<CloseReason>> {
        match frame {
            Some(Ok(Message::Text(text))) => match self.charge(Some(text.as_str())).await {
                Charge::Admitted => self.on_text(text.as_str()).await.map(Some),
                Charge::Refused => None,
                Charge::Close(reason) => Some(Some(reason)),
            },
            // Binary frames pay too, before any inflating.
            Some(Ok(Message::Binary(bytes))) => match self.charge(None).await {
                Charge::Admitted => self.on_binary(&bytes, compression).await.map(Some),
                Charge::Refused => None,
                Charge::Close(reason) => Some(Some(reason)),
            },
            // WebSocket pings and pongs are frames too: a flood of them is refused like any.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => match self.charge(None).await {
                Charge::Close(reason) => Some(Some(reason)),
                Charge::Admitted | Charge::Refused => None,
            },
            Some(Ok(Message::Close(_))) | None => Some(None),
            Some(Err(e)) => {
                tracing::debug!(conn = self.caller.conn_id, error = %e, "socket error");
                Some(read_error_close(e))
            }
        }
    }

    async fn reply_error(&mut self, id: Option<RequestId>, err: &Error) {
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

    /// Charge one frame to the connection's rate; a refused frame is answered
    /// `rate_limited` (with its id when `text` is within the frame size limit and has a
    /// readable one).
    async fn charge(&mut self, text: Option<&str>) -> Charge {
        self.state.metrics.frames_in.fetch_add(1, Ordering::Relaxed);
        if self.frames.try_take() {
            self.rejected_in_a_row = 0;
            return Charge::Admitted;
        }
        self.rejected_in_a_row += 1;
        if self.rejected_in_a_row > MAX_REJECTED_IN_A_ROW {
            return Charge::Close(close::POLICY);
        }
        // Only a frame within the size limit is read for its id: a refused frame must not
        // cost more than an admitted one (which is refused unread past the limit).
        let id = text
            .filter(|t| t.len() <= self.state.config.limits.max_frame_bytes)
            .and_then(|t| ClientFrame::parse(t).ok())
            .map(|f| f.id());
        self.reply_error(
            id,
            &Error::refused(ErrorCode::RateLimited, "too many frames; slow down"),
        )
        .await;
        Charge::Refused
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
        let max = self.state.config.limits.max_frame_bytes;
        if text.len() > max {
            let err = Error::refused(
                ErrorCode::FrameTooLarge,
                format!(
                    "frames may have at most {max} bytes; this one has {}",
                    text.len()
                ),
            );
            self.reply_error(id_of(text), &err).await;
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
        // Change versions are kept as signed 64-bit integers; a larger one was never handed out.
        if i64::try_from(request.changes_since).is_err() {
            return Err(crate::error::Error::refused(
                tern_proto::ErrorCode::BadRequest,
                "changes_since is not a version this relay handed out",
            ));
        }
        let patience = self.state.config.heartbeat.timeout;
        let request = sync::Request {
            user: self.caller.user_id,
            id: request.id,
            cursors: request.cursors,
            since: request.changes_since,
        };
        // A sync answers on the socket inline; a kick (logout, replacement, shutdown), the
        // token's expiry or the overall deadline ends it, and the loop then closes.
        let mailbox = self.mailbox.clone();
        let expiry = self.expiry_instant();
        let deadline = tokio::time::Instant::now() + SYNC_DEADLINE;
        let outcome = tokio::select! {
            done = sync::run(&self.state, request, &self.pushed, &mut self.out, patience) => done,
            _ = mailbox.kicked() => return Ok(()),
            _ = tokio::time::sleep_until(expiry) => return Ok(()),
            _ = tokio::time::sleep_until(deadline) => Err(sync::SyncError::TooSlow),
        };
        match outcome {
            Ok(done) => {
                for (&conv, &head) in &done.heads {
                    self.contiguous.reached(conv, head);
                }
                self.seen_version = Some(done.version);
                self.shapes.caught_up(done.version);
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

/// The close code for a failed read: 1007 for invalid UTF-8, 1009 for an oversized frame,
/// 1002 for bytes that break RFC 6455 (the peer learns why instead of reading 1006), nothing
/// for a plain I/O failure.
fn read_error_close(e: axum::Error) -> Option<CloseReason> {
    let inner = e.into_inner();
    match inner.downcast_ref::<WireError>()? {
        WireError::InvalidUtf8 => Some(close::INVALID_UTF8),
        WireError::TooBig(_) => Some(close::TOO_BIG),
        WireError::Protocol(_) => Some(close::PROTOCOL),
    }
}

/// The `id` of a frame too large to be served, when it is JSON with one: read without keeping
/// the rest (the frame is within the hard limit, so the read is bounded), so the client learns
/// which request was refused.
fn id_of(text: &str) -> Option<RequestId> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<RequestId>,
    }
    serde_json::from_str::<IdOnly>(text).ok()?.id
}
