//! One live connection: greet, sync, flush the outbox, then route frames both ways until the
//! link ends.
//!
//! This task is the only owner of the socket. It writes frames as they are produced and reads
//! every relay frame, applying it to the cache *before* telling subscribers, so an event always
//! describes something that is already stored. It detects a dead link itself: if nothing at all
//! arrives for the heartbeat timeout (the relay answers our pings), the link is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tern_proto::close;
use tern_proto::compression::COMPRESSION_THRESHOLD;
use tern_proto::{ClientFrame, ConversationId, ErrorCode, RequestId, Seq, ServerFrame};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Cmd, End};
use crate::cache::{conversations as convs, messages, meta_get, meta_set, outbox};
use crate::error::{Error, Result};
use crate::events::{ConnectionState, Event, MessageStatus};
use crate::shared::Shared;

/// The client's WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Outbox entries sent on this connection and not yet answered.
const MAX_IN_FLIGHT: usize = 256;

struct PendingRequest {
    reply: oneshot::Sender<Result<ServerFrame>>,
    deadline: Instant,
}

pub(crate) struct Session<'a> {
    shared: &'a Arc<Shared>,
    compression: bool,
    next_id: RequestId,
    requests: HashMap<RequestId, PendingRequest>,
    /// Request id of each in-flight outbox send, to its client id.
    sends: HashMap<RequestId, String>,
    in_flight: HashSet<String>,
    /// Outbox entries refused with a transient error: not resent before this instant.
    hold_until: Option<Instant>,
    reads: HashMap<RequestId, (ConversationId, Seq)>,
    sync_id: Option<RequestId>,
    synced_messages: usize,
    typing: HashMap<(ConversationId, i64), Instant>,
    last_heard: Instant,
}

impl<'a> Session<'a> {
    pub(crate) fn new(shared: &'a Arc<Shared>, compression: bool) -> Self {
        Session {
            shared,
            compression,
            next_id: 1,
            requests: HashMap::new(),
            sends: HashMap::new(),
            in_flight: HashSet::new(),
            hold_until: None,
            reads: HashMap::new(),
            sync_id: None,
            synced_messages: 0,
            typing: HashMap::new(),
            last_heard: Instant::now(),
        }
    }

    fn id(&mut self) -> RequestId {
        self.next_id += 1;
        self.next_id
    }

    fn encode(&self, frame: &ClientFrame) -> Message {
        let text = serde_json::to_string(frame).expect("client frames serialize");
        if self.compression && text.len() >= COMPRESSION_THRESHOLD {
            Message::Binary(tern_proto::compression::deflate(&text).into())
        } else {
            Message::Text(text.into())
        }
    }

    async fn write(&mut self, ws: &mut Ws, frame: ClientFrame) -> Result<(), String> {
        ws.send(self.encode(&frame))
            .await
            .map_err(|e| format!("write failed: {e}"))
    }

    pub(crate) async fn run(mut self, mut ws: Ws, cmds: &mut mpsc::Receiver<Cmd>) -> End {
        let end = match self.drive(&mut ws, cmds).await {
            Ok(end) | Err(end) => end,
        };
        for (_, pending) in self.requests.drain() {
            let _ = pending.reply.send(Err(Error::Offline));
        }
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

    async fn drive(&mut self, ws: &mut Ws, cmds: &mut mpsc::Receiver<Cmd>) -> Result<End, End> {
        let timing = self.shared.config.timing;
        self.await_welcome(ws).await?;
        self.shared.set_state(ConnectionState::Syncing);
        self.start_sync(ws).await.map_err(End::Lost)?;
        self.flush(ws).await.map_err(End::Lost)?;

        let mut heartbeat = tokio::time::interval(timing.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                frame = ws.next() => {
                    self.last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => self.on_text(ws, text.as_str()).await?,
                        Some(Ok(Message::Binary(bytes))) => match tern_proto::compression::inflate(&bytes, 64 << 20) {
                            Ok(text) => self.on_text(ws, &text).await?,
                            Err(e) => tracing::warn!(error = %e, "undecodable binary frame from the relay"),
                        },
                        Some(Ok(Message::Close(frame))) => return Err(close_end(frame)),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(End::Lost(format!("connection lost ({e})"))),
                        None => return Err(End::Lost("the relay closed the connection".into())),
                    }
                }
                cmd = cmds.recv() => match cmd {
                    None => return Ok(End::Shutdown),
                    Some(Cmd::Shutdown(done)) => {
                        let _ = done.send(());
                        return Ok(End::Shutdown);
                    }
                    Some(cmd) => self.on_cmd(ws, cmd).await.map_err(End::Lost)?,
                },
                _ = heartbeat.tick() => {
                    if self.last_heard.elapsed() >= timing.heartbeat_timeout {
                        return Err(End::Lost(format!("no answer from the relay for {} s", timing.heartbeat_timeout.as_secs_f32())));
                    }
                    ws.send(Message::Ping(Default::default())).await.map_err(|e| End::Lost(format!("write failed: {e}")))?;
                }
                _ = housekeeping.tick() => self.housekeeping(ws).await.map_err(End::Lost)?,
            }
        }
    }

    async fn await_welcome(&mut self, ws: &mut Ws) -> Result<(), End> {
        let deadline = self.shared.config.timing.connect_timeout;
        loop {
            let frame = tokio::time::timeout(deadline, ws.next())
                .await
                .map_err(|_| End::Lost("the relay sent no welcome".into()))?;
            match frame {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerFrame>(t.as_str())
                {
                    Ok(ServerFrame::Welcome { .. }) => return Ok(()),
                    _ => return Err(End::Lost("unexpected first frame from the relay".into())),
                },
                Some(Ok(Message::Close(f))) => return Err(close_end(f)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(End::Lost(e.to_string())),
                None => return Err(End::Lost("closed before welcome".into())),
            }
        }
    }

    async fn start_sync(&mut self, ws: &mut Ws) -> Result<(), String> {
        let (cursors, since) = self
            .shared
            .cache
            .call(|txn| {
                let since = meta_get(txn, "changes_version")?
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok((convs::cursors(txn)?, since))
            })
            .await
            .map_err(|e| e.to_string())?;
        let id = self.id();
        self.sync_id = Some(id);
        self.synced_messages = 0;
        self.write(
            ws,
            ClientFrame::Sync(tern_proto::SyncRequest {
                id,
                cursors,
                changes_since: since,
            }),
        )
        .await
    }

    /// Send every queued outbox entry not already in flight, and unacknowledged read markers.
    async fn flush(&mut self, ws: &mut Ws) -> Result<(), String> {
        if self.hold_until.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        self.hold_until = None;
        let me = self.shared.user_id;
        let (queued, reads) = self
            .shared
            .cache
            .call(move |txn| Ok((outbox::queued(txn)?, convs::reads_to_send(txn, me)?)))
            .await
            .map_err(|e| e.to_string())?;
        for item in queued {
            if self.in_flight.len() >= MAX_IN_FLIGHT {
                break;
            }
            if self.in_flight.contains(&item.client_id) {
                continue;
            }
            let id = self.id();
            self.sends.insert(id, item.client_id.clone());
            self.in_flight.insert(item.client_id.clone());
            let frame = ClientFrame::Send(tern_proto::SendMessage {
                id,
                conversation_id: item.conversation_id,
                client_id: item.client_id,
                body: item.body,
            });
            ws.feed(self.encode(&frame))
                .await
                .map_err(|e| format!("write failed: {e}"))?;
        }
        for (conv, seq) in reads {
            if self.reads.values().any(|r| *r == (conv, seq)) {
                continue;
            }
            let id = self.id();
            self.reads.insert(id, (conv, seq));
            ws.feed(self.encode(&ClientFrame::Read(tern_proto::MarkRead {
                id,
                conversation_id: conv,
                seq,
            })))
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        }
        ws.flush().await.map_err(|e| format!("write failed: {e}"))
    }

    async fn on_cmd(&mut self, ws: &mut Ws, cmd: Cmd) -> Result<(), String> {
        match cmd {
            Cmd::Request { build, reply } => {
                let id = self.id();
                let deadline = Instant::now() + self.shared.config.timing.request_timeout;
                self.requests.insert(id, PendingRequest { reply, deadline });
                self.write(ws, build(id)).await
            }
            Cmd::Fire(build) => {
                let id = self.id();
                self.write(ws, build(id)).await
            }
            Cmd::Flush => self.flush(ws).await,
            Cmd::RetryNow | Cmd::Shutdown(_) => Ok(()),
        }
    }

    async fn housekeeping(&mut self, ws: &mut Ws) -> Result<(), String> {
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
        let late: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            if let Some(p) = self.requests.remove(&id) {
                let _ = p.reply.send(Err(Error::Timeout));
            }
        }
        if self.hold_until.is_some_and(|t| now >= t) {
            self.flush(ws).await?;
        }
        Ok(())
    }

    async fn on_text(&mut self, ws: &mut Ws, text: &str) -> Result<(), End> {
        let frame: ServerFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                // A newer relay may send frames this client does not know; skip them.
                tracing::debug!(error = %e, "ignoring unknown frame");
                return Ok(());
            }
        };
        self.on_frame(ws, frame)
            .await
            .map_err(|e| End::Lost(format!("local failure: {e}")))
    }

    async fn on_frame(&mut self, ws: &mut Ws, frame: ServerFrame) -> Result<(), String> {
        let shared = self.shared.clone();
        let me = shared.user_id;
        let cache = &shared.cache;
        let err = |e: Error| e.to_string();
        match frame {
            ServerFrame::Ack {
                id,
                client_id,
                message_id,
                conversation_id,
                seq,
                sent_at,
                ..
            } => {
                self.sends.remove(&id);
                self.in_flight.remove(&client_id);
                let username = shared.username.clone();
                let cid = client_id.clone();
                let chat = cache
                    .call(move |txn| {
                        let Some(body) = outbox::body(txn, &cid)? else {
                            return Ok(None);
                        };
                        let record = tern_proto::MessageRecord {
                            message_id,
                            conversation_id,
                            seq,
                            sender_id: me,
                            sender: username,
                            client_id: cid,
                            body,
                            sent_at,
                        };
                        messages::acked(txn, me, &record).map(Some)
                    })
                    .await
                    .map_err(err)?;
                if let Some(chat) = chat {
                    shared.emit(Event::Status {
                        conversation_id,
                        client_id,
                        seq: Some(seq),
                        status: chat.status,
                    });
                }
                if self.in_flight.len() < MAX_IN_FLIGHT / 2 {
                    self.flush(ws).await?;
                }
            }
            ServerFrame::Error { id, code, message } => self.on_error(id, code, message).await?,
            ServerFrame::Message { message } => {
                let new = self.store(vec![message]).await?;
                self.ack_delivered(ws, new).await?;
            }
            ServerFrame::SyncPage {
                conversations,
                removed,
                receipts,
                messages,
                ..
            } => {
                let (c2, r2, rc2) = (conversations.clone(), removed.clone(), receipts.clone());
                cache
                    .call(move |txn| {
                        for c in &conversations {
                            convs::upsert(txn, c)?;
                        }
                        for c in &removed {
                            convs::deactivate(txn, *c)?;
                        }
                        for r in &receipts {
                            convs::apply_receipt(txn, r)?;
                        }
                        Ok(())
                    })
                    .await
                    .map_err(err)?;
                for conversation in c2 {
                    shared.emit(Event::Conversation { conversation });
                }
                for conversation_id in r2 {
                    shared.emit(Event::ConversationRemoved { conversation_id });
                }
                for receipt in rc2 {
                    shared.emit(Event::Receipt { receipt });
                }
                self.synced_messages += messages.len();
                let new = self.store(messages).await?;
                shared.emit(Event::SyncProgress {
                    messages: self.synced_messages,
                    done: false,
                });
                self.ack_delivered(ws, new).await?;
            }
            ServerFrame::SyncDone {
                id,
                changes_version,
                presence,
            } => {
                if self.sync_id == Some(id) {
                    let p = presence.clone();
                    cache
                        .call(move |txn| {
                            meta_set(txn, "changes_version", &changes_version.to_string())?;
                            for p in &p {
                                convs::set_presence(txn, p)?;
                            }
                            Ok(())
                        })
                        .await
                        .map_err(err)?;
                    for p in presence {
                        shared.emit(Event::Presence { presence: p });
                    }
                    shared.emit(Event::SyncProgress {
                        messages: self.synced_messages,
                        done: true,
                    });
                    shared.set_state(ConnectionState::Online);
                    self.flush(ws).await?;
                }
            }
            ServerFrame::Receipt { receipt } => {
                cache
                    .call(move |txn| convs::apply_receipt(txn, &receipt))
                    .await
                    .map_err(err)?;
                shared.emit(Event::Receipt { receipt });
            }
            ServerFrame::Typing {
                conversation_id,
                user_id,
                active,
                expires_in_ms,
            } => {
                let key = (conversation_id, user_id);
                if active {
                    let ttl = if expires_in_ms > 0 {
                        Duration::from_millis(expires_in_ms)
                    } else {
                        shared.config.timing.typing_expiry
                    };
                    self.typing.insert(key, Instant::now() + ttl);
                } else {
                    self.typing.remove(&key);
                }
                shared.emit(Event::Typing {
                    conversation_id,
                    user_id,
                    active,
                });
            }
            ServerFrame::Presence { presence } => {
                let p = presence.clone();
                cache
                    .call(move |txn| convs::set_presence(txn, &p))
                    .await
                    .map_err(err)?;
                shared.emit(Event::Presence { presence });
            }
            ServerFrame::Conversation { id, conversation } => {
                let c = conversation.clone();
                cache
                    .call(move |txn| convs::upsert(txn, &c))
                    .await
                    .map_err(err)?;
                shared.emit(Event::Conversation {
                    conversation: conversation.clone(),
                });
                if let Some(id) = id {
                    self.reply(
                        id,
                        Ok(ServerFrame::Conversation {
                            id: Some(id),
                            conversation,
                        }),
                    );
                }
            }
            ServerFrame::ConversationRemoved { conversation_id } => {
                cache
                    .call(move |txn| convs::deactivate(txn, conversation_id))
                    .await
                    .map_err(err)?;
                shared.emit(Event::ConversationRemoved { conversation_id });
            }
            ServerFrame::Ok { id } => {
                if let Some((conv, seq)) = self.reads.remove(&id) {
                    cache
                        .call(move |txn| convs::read_sent(txn, conv, seq))
                        .await
                        .map_err(err)?;
                } else {
                    self.reply(id, Ok(ServerFrame::Ok { id }));
                }
            }
            f @ (ServerFrame::Pong { .. }
            | ServerFrame::Conversations { .. }
            | ServerFrame::History { .. }) => {
                if let Some(id) = f.reply_id() {
                    self.reply(id, Ok(f));
                }
            }
            ServerFrame::Welcome { .. } => {}
        }
        Ok(())
    }

    fn reply(&mut self, id: RequestId, result: Result<ServerFrame>) {
        if let Some(p) = self.requests.remove(&id) {
            let _ = p.reply.send(result);
        }
    }

    async fn on_error(
        &mut self,
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    ) -> Result<(), String> {
        let Some(id) = id else {
            tracing::warn!(%code, %message, "relay reported an error");
            return Ok(());
        };
        if let Some(client_id) = self.sends.remove(&id) {
            self.in_flight.remove(&client_id);
            if code.is_transient() {
                // Keep it queued; resend after a pause.
                self.hold_until = Some(Instant::now() + self.shared.config.timing.transient_retry);
                return Ok(());
            }
            let reason = format!("{message} ({code})");
            let cid = client_id.clone();
            let conv = self
                .shared
                .cache
                .call(move |txn| outbox::fail(txn, &cid, &reason))
                .await
                .map_err(|e| e.to_string())?;
            if let Some(conversation_id) = conv {
                let reason = format!("{message} ({code})");
                self.shared.emit(Event::Status {
                    conversation_id,
                    client_id,
                    seq: None,
                    status: MessageStatus::Failed { reason },
                });
            }
            return Ok(());
        }
        if self.reads.remove(&id).is_some() {
            tracing::debug!(%code, "read marker refused");
            return Ok(());
        }
        self.reply(id, Err(Error::Relay { code, message }));
        Ok(())
    }

    /// Store messages; emit events for new ones; return conversations with new messages from
    /// others and their new cursors (to acknowledge delivery).
    async fn store(
        &mut self,
        records: Vec<tern_proto::MessageRecord>,
    ) -> Result<Vec<(ConversationId, Seq)>, String> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let me = self.shared.user_id;
        let (chats, cursors) = self
            .shared
            .cache
            .call(move |txn| {
                let fresh = messages::store(txn, me, &records)?;
                let chats = messages::to_chats(txn, me, &fresh)?;
                let mut convs: Vec<ConversationId> = fresh
                    .iter()
                    .filter(|m| m.sender_id != me)
                    .map(|m| m.conversation_id)
                    .collect();
                convs.sort_unstable();
                convs.dedup();
                let cursors = convs
                    .into_iter()
                    .map(|c| Ok((c, messages::synced_seq(txn, c)?)))
                    .collect::<Result<Vec<_>>>()?;
                Ok((chats, cursors))
            })
            .await
            .map_err(|e| e.to_string())?;
        for chat in chats {
            self.shared.emit(Event::Message { message: chat });
        }
        Ok(cursors)
    }

    async fn ack_delivered(
        &mut self,
        ws: &mut Ws,
        cursors: Vec<(ConversationId, Seq)>,
    ) -> Result<(), String> {
        for (conv, seq) in cursors {
            if seq > 0 {
                let id = self.id();
                ws.feed(
                    self.encode(&ClientFrame::Delivered(tern_proto::MarkDelivered {
                        id,
                        conversation_id: conv,
                        seq,
                    })),
                )
                .await
                .map_err(|e| e.to_string())?;
            }
        }
        ws.flush().await.map_err(|e| e.to_string())
    }
}

fn close_end(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> End {
    match frame {
        Some(f) if u16::from(f.code) == close::REVOKED.code => {
            End::SignedOut("signed out: the session was revoked".into())
        }
        Some(f) if u16::from(f.code) == close::EXPIRED.code => {
            End::SignedOut("signed out: the session expired; sign in again".into())
        }
        Some(f) => End::Lost(format!(
            "closed by the relay: {} ({})",
            f.reason,
            u16::from(f.code)
        )),
        None => End::Lost("closed by the relay".into()),
    }
}
