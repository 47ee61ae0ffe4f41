//! One live connection: greet, sync, flush the outbox, then route frames both ways until the
//! link ends.
//!
//! This task is the only owner of the socket. It writes frames as they are produced and reads
//! every relay frame, applying it to the cache *before* telling subscribers, so an event always
//! describes something that is already stored. It detects a dead link itself: if nothing at all
//! arrives for the heartbeat timeout (the relay answers our pings), the link is dropped.
//!
//! The work is split by direction: [`super::inbound`] handles each relay frame and
//! [`super::answers`] the answers to what this session asked, [`super::outbound`] writes frames
//! and flushes the outbox, [`super::sync`] runs the catch-up after connecting; what is awaited
//! lives in one [`PendingTable`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tern_proto::{ConversationId, RequestId, Seq, ServerFrame, UserId};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::failure::SessionError;
use super::pending::{Pending, PendingTable};
use super::{Cmd, End};
use crate::events::{ConnectionState, Event};
use crate::shared::Shared;

/// The client's WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a session step returns; any error ends the session.
pub(super) type Step<T = ()> = std::result::Result<T, SessionError>;

/// The state of one connection, from the welcome to the end of the link.
pub(crate) struct Session<'a> {
    /// The engine's shared state: config, cache handle, event channel.
    pub(super) shared: &'a Arc<Shared>,
    /// Whether the relay agreed to deflate large frames.
    pub(super) compression: bool,
    /// Everything sent whose answer is awaited.
    pub(super) pending: PendingTable,
    /// Outbox entries refused with a transient error: not resent before this instant.
    pub(super) hold_until: Option<Instant>,
    /// A message brought an archived chat back here: the next flush tells the relay.
    pub(super) prefs_changed: bool,
    /// Conversations with messages missing right above their gap-free cursor, and the seq to
    /// read history before (noted while storing pushed messages; filled with `history`).
    pub(super) gaps: Vec<(ConversationId, Seq)>,

    /// Messages received by the sync so far, for progress events.
    pub(super) synced_messages: usize,
    /// Who is typing where, until when; cleared (with events) when the link ends.
    pub(super) typing: HashMap<(ConversationId, UserId), Instant>,
    /// When anything last arrived from the relay: the heartbeat's measure of a live link.
    pub(super) last_heard: Instant,
    /// After a network change: the link must have answered by then (anything heard clears it).
    pub(super) probe_deadline: Option<Instant>,
    /// Read markers the relay acknowledged, not yet recorded in the cache: written with the
    /// next flush rather than one cache transaction per answer (if the app stops first, they
    /// are sent again, which moves nothing).
    pub(super) acked_reads: HashMap<ConversationId, Seq>,
    /// Delivery markers sent on this connection, highest per conversation (the relay does
    /// not echo them back to it).
    pub(super) delivered_sent: HashMap<ConversationId, Seq>,
    /// The latest delivery markers sent, by request id: the relay answers one only to refuse
    /// it, so no entry of [`PendingTable`] could ever be settled. A refusal for a moment (rate,
    /// a busy relay) finds its marker here, and the next flush says it again.
    pub(super) delivered_ids: VecDeque<(RequestId, ConversationId, Seq)>,
    /// A delivery marker was refused for a moment: the next flush sends those behind.
    pub(super) delivered_owed: bool,
    /// Largest frame the relay takes (its welcome says): a longer one is refused without its
    /// id, so it is never sent.
    pub(super) max_frame_bytes: usize,
    /// How far the relay's clock is ahead of this device's (ms), as its welcome said: what a
    /// message written offline carries as the time it was written is on the relay's clock.
    pub(super) clock_offset_ms: i64,
    /// When this session's link opened (this device's clock): a message written before it
    /// waited for the relay, one written since only for its own turn (an upload before it).
    pub(super) opened_at: tern_proto::Timestamp,
}

impl<'a> Session<'a> {
    /// A session over a freshly opened socket.
    pub(crate) fn new(shared: &'a Arc<Shared>, compression: bool) -> Self {
        Session {
            shared,
            compression,
            pending: PendingTable::new(),
            hold_until: None,
            prefs_changed: false,
            gaps: Vec::new(),

            synced_messages: 0,
            typing: HashMap::new(),
            last_heard: Instant::now(),
            probe_deadline: None,
            acked_reads: HashMap::new(),
            delivered_sent: HashMap::new(),
            delivered_ids: VecDeque::new(),
            delivered_owed: false,
            max_frame_bytes: usize::MAX,
            clock_offset_ms: 0,
            opened_at: tern_proto::now_ms(),
        }
    }

    /// Run until the link ends or a shutdown is asked, then settle what was pending.
    pub(crate) async fn run(mut self, mut ws: Ws, cmds: &mut mpsc::Receiver<Cmd>) -> End {
        let end = match self.drive(&mut ws, cmds).await {
            Ok(()) => End::Shutdown,
            Err(e) => End::from(e),
        };
        self.pending.close();
        // Typing indications die with the link.
        for (conv, user) in self.typing.drain().map(|(k, _)| k) {
            self.shared.emit(Event::Typing {
                conversation_id: conv,
                user_id: user,
                active: false,
            });
        }
        if matches!(end, End::Shutdown) {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        }
        end
    }

    /// The session proper; `Ok` means a shutdown was asked.
    async fn drive(&mut self, ws: &mut Ws, cmds: &mut mpsc::Receiver<Cmd>) -> Step {
        let timing = self.shared.config.timing;
        self.await_welcome(ws).await?;
        self.shared.set_state(ConnectionState::Syncing);
        self.start_sync(ws).await?;
        self.flush(ws).await?;

        let mut heartbeat = tokio::time::interval(timing.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                frame = ws.next() => {
                    self.last_heard = Instant::now();
                    self.probe_deadline = None;
                    self.on_message(ws, frame).await?;
                }
                cmd = cmds.recv() => match cmd {
                    // The client handle is gone: nobody is left to serve.
                    None => return Ok(()),
                    Some(Cmd::Shutdown(done)) => {
                        let _ = done.send(());
                        return Ok(());
                    }
                    Some(cmd) => self.on_cmd(ws, cmd).await?,
                },
                _ = heartbeat.tick() => {
                    if self.last_heard.elapsed() >= timing.heartbeat_timeout {
                        return Err(SessionError::Silent(timing.heartbeat_timeout));
                    }
                    // The relay answers with a pong, which refreshes `last_heard`.
                    self.bounded(ws.send(Message::Ping(Default::default()))).await?;
                }
                // Typing expiry, request deadlines and the transient-error pause.
                _ = housekeeping.tick() => self.housekeeping(ws).await?,
            }
        }
    }

    /// Wait for the relay's welcome, the first frame of every connection.
    async fn await_welcome(&mut self, ws: &mut Ws) -> Step {
        let deadline = self.shared.config.timing.connect_timeout;
        loop {
            let frame = tokio::time::timeout(deadline, ws.next())
                .await
                .map_err(|_| SessionError::NoWelcome)?;
            match frame {
                Some(Ok(Message::Text(t))) => {
                    return match serde_json::from_str::<ServerFrame>(t.as_str()) {
                        Ok(ServerFrame::Welcome { protocol, .. })
                            if protocol != tern_proto::PROTOCOL_VERSION =>
                        {
                            Err(SessionError::OtherProtocol(protocol))
                        }
                        Ok(ServerFrame::Welcome {
                            max_frame_bytes,
                            max_message_bytes,
                            edit_window_ms,
                            max_attachment_bytes,
                            server_time,
                            ..
                        }) => {
                            self.max_frame_bytes = max_frame_bytes;
                            self.shared.set_max_message_bytes(max_message_bytes);
                            // How far the relay's clock is from this device's, kept for the
                            // edit times of chat settings (also those made offline later), and
                            // the relay's limits, for the app to say before sending.
                            let offset = server_time - tern_proto::now_ms();
                            self.clock_offset_ms = offset;
                            self.shared
                                .cache
                                .call(move |txn| {
                                    crate::cache::prefs::note_welcome(
                                        txn,
                                        max_message_bytes,
                                        edit_window_ms,
                                        max_attachment_bytes,
                                        offset,
                                    )
                                })
                                .await?;
                            Ok(())
                        }
                        _ => Err(SessionError::NotWelcome),
                    };
                }
                Some(Ok(Message::Close(f))) => return Err(SessionError::closed(f)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(SessionError::Handshake(e)),
                None => return Err(SessionError::EndedBeforeWelcome),
            }
        }
    }

    /// Carry out what the client handle asked.
    async fn on_cmd(&mut self, ws: &mut Ws, cmd: Cmd) -> Step {
        match cmd {
            Cmd::Request { build, reply } => {
                let deadline = Instant::now() + self.shared.config.timing.request_timeout;
                let id = self.pending.insert(Pending::Request { reply, deadline });
                self.write(ws, build(id)).await
            }
            Cmd::Fire(build) => {
                let id = self.pending.next_id();
                self.write(ws, build(id)).await
            }
            Cmd::Flush => self.flush(ws).await,
            Cmd::Read {
                conversation_id,
                seq,
            } => {
                self.feed_read(ws, conversation_id, seq).await?;
                self.bounded(ws.flush()).await
            }
            // The network changed: a link over an interface that went away may be dead
            // without a word; the relay answers a ping at once if it is not.
            Cmd::Probe => {
                self.probe_deadline = Some(Instant::now() + super::PROBE_WAIT);
                self.bounded(ws.send(Message::Ping(Default::default())))
                    .await
            }
            Cmd::RetryNow | Cmd::Shutdown(_) => Ok(()),
        }
    }

    /// Expire typing indications and late requests; resend after a transient refusal; flush
    /// when a flush was asked for while the command queue was full.
    async fn housekeeping(&mut self, ws: &mut Ws) -> Step {
        let now = Instant::now();
        let expired: Vec<_> = self
            .typing
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            self.typing.remove(&key);
            self.shared.emit(Event::Typing {
                conversation_id: key.0,
                user_id: key.1,
                active: false,
            });
        }
        if self.probe_deadline.is_some_and(|t| now >= t) {
            return Err(SessionError::Unanswered);
        }
        self.pending.expire(now);
        let resend = self.pending.expire_sends(now);
        let owed = self.shared.take_flush_owed();
        if resend || owed || self.hold_until.is_some_and(|t| now >= t) {
            self.flush(ws).await?;
        }
        Ok(())
    }
}
