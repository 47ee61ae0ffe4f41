//! The relay's link to NATS: one task publishes what this relay queues (frames, its presence
//! changes, a full presence list every heartbeat interval), one receives what the others
//! publish and hands it to the hub. The NATS client owns the socket and reconnects by
//! itself; these tasks only react to its events.
//!
//! NATS can be away when the relay starts or at any time after: the relay serves its own
//! connections meanwhile (nothing it acknowledges depends on the bus), `/health` says
//! `"bus": "unavailable"`, and when NATS is back every connection catches up from the store.

use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tern_proto::UserId;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::heard::Heard;
use super::presence::Flip;
use super::wire::{Control, FanFrame, RelayId, BEAT_PART, CONTROL, FAN};
use super::{Bus, Out, Outbox};
use crate::fanout::{Payload, Publish};
use crate::state::AppState;

/// Longest wait between reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);
/// How long a stopping relay waits for its last messages to reach NATS.
const STOP_PATIENCE: Duration = Duration::from_secs(2);
/// How often the publisher looks whether something this relay stored did not reach the bus,
/// and says so with one [`Control::Lost`]: every one makes every other relay's connections
/// catch up from the store, so a relay whose queue keeps overflowing sends one per period, not
/// one per frame.
const LOST_EVERY: Duration = Duration::from_secs(1);

/// The running link; [`Link::stop`] tells the others this relay is going.
pub struct Link {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Why the link could not start.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The address is not a NATS address.
    #[error("bus address: {0}")]
    Address(String),
    /// Subscribing failed.
    #[error("bus: {0}")]
    Nats(String),
}

/// Connect (in the background: NATS may come later) and start both tasks.
pub async fn start(
    url: &str,
    bus: Bus,
    outbox: Outbox,
    state: AppState,
) -> Result<Link, LinkError> {
    let Outbox { rx: outbox, relay } = outbox;
    let (events_tx, events) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .name(format!("tern-relay-{relay}"))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| {
            let ms = 50u64.saturating_mul(1 << attempt.min(6));
            Duration::from_millis(ms).min(MAX_RECONNECT_DELAY)
        })
        .event_callback(move |event| {
            let tx = events_tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .connect(url)
        .await
        .map_err(|e| LinkError::Address(e.to_string()))?;
    let fan = client
        .subscribe(FAN)
        .await
        .map_err(|e| LinkError::Nats(e.to_string()))?;
    let control = client
        .subscribe(CONTROL)
        .await
        .map_err(|e| LinkError::Nats(e.to_string()))?;
    let (stop, stopping) = watch::channel(false);
    let beat_now = Arc::new(Notify::new());
    let publisher = Publisher {
        client: client.clone(),
        relay,
        state: state.clone(),
        published: 0,
    };
    let receiver = Receiver {
        client,
        bus,
        relay,
        state,
        beat_now: beat_now.clone(),
        heard: Heard::default(),
        last_catch_up: None,
        owed: false,
    };
    let tasks = vec![
        tokio::spawn(publisher.run(outbox, beat_now, stopping.clone())),
        tokio::spawn(receiver.run(fan, control, events, stopping)),
    ];
    Ok(Link { stop, tasks })
}

impl Link {
    /// Say goodbye on the bus (bounded in time) and stop both tasks.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(STOP_PATIENCE * 2, task).await;
        }
    }
}

struct Publisher {
    client: async_nats::Client,
    relay: RelayId,
    state: AppState,
    /// Fan-out frames published so far: the next one's number is one more.
    published: u64,
}

impl Publisher {
    async fn run(
        mut self,
        mut outbox: mpsc::Receiver<Out>,
        beat_now: Arc<Notify>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let every = self.state.config.heartbeat.interval;
        let mut beat = tokio::time::interval(every);
        let mut lost_check = tokio::time::interval(LOST_EVERY);
        // Ticks a busy publisher missed are not made up in a burst: one `Lost` per period.
        lost_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut list = 0u64;
        loop {
            tokio::select! {
                out = outbox.recv() => match out {
                    Some(out) => self.send(out).await,
                    None => break,
                },
                _ = beat.tick() => self.beat(&mut list).await,
                _ = beat_now.notified() => self.beat(&mut list).await,
                _ = lost_check.tick() => self.tell_lost().await,
                _ = stopping.changed() => break,
            }
        }
        // What is still queued (the last users' offline changes) and the goodbye.
        while let Ok(out) = outbox.try_recv() {
            self.send(out).await;
        }
        let gone = Control::Gone {
            relay: self.relay,
            published: self.state.bus.peers_number().then_some(self.published),
        };
        let _ = tokio::time::timeout(STOP_PATIENCE, async {
            self.send(Out::Control(gone)).await;
            let _ = self.client.flush().await;
        })
        .await;
    }

    /// This relay's full presence list (the next of them), in parts of at most
    /// [`BEAT_PART`] users.
    async fn beat(&mut self, list: &mut u64) {
        *list += 1;
        let list = *list;
        let users = self.state.hub.local_users();
        let parts: Vec<Vec<UserId>> = if users.is_empty() {
            vec![Vec::new()]
        } else {
            users.chunks(BEAT_PART).map(<[UserId]>::to_vec).collect()
        };
        let count = parts.len() as u32;
        // No count while a relay that does not number runs.
        let published = self.state.bus.peers_number().then_some(self.published);
        for users in parts {
            self.send(Out::Control(Control::Beat {
                relay: self.relay,
                list,
                parts: count,
                users,
                published,
                reads_numbered: true,
            }))
            .await;
        }
    }

    /// Tell the other relays that something stored here did not reach the bus, if so.
    async fn tell_lost(&mut self) {
        let bus = &self.state.bus;
        // Told once the link is up again (the others could not hear it before).
        if bus.is_up() == Some(false) || !bus.take_lost() {
            return;
        }
        tracing::warn!("frames this relay stored did not reach the bus; the other relays catch up");
        // A publish that fails notes the loss again, so it is told at the next check.
        self.send(Out::Control(Control::Lost { relay: self.relay }))
            .await;
    }

    async fn send(&mut self, out: Out) {
        let (subject, bytes) = match out {
            Out::Fan {
                users,
                tag,
                payload,
            } => {
                // Numbered whether or not the publish succeeds: a failed one is a gap the
                // others notice. Unnumbered while a relay of the version before runs.
                let number = self.state.bus.peers_number().then(|| {
                    self.published += 1;
                    self.published
                });
                let text = payload.text().as_bytes();
                (FAN, FanFrame::encode(self.relay, number, tag, &users, text))
            }
            Out::Control(c) => match serde_json::to_vec(&c) {
                Ok(v) => (CONTROL, v.into()),
                Err(_) => return,
            },
        };
        let metrics = &self.state.metrics;
        match self.client.publish(subject, bytes).await {
            Ok(()) => {
                metrics.bus_sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::debug!(error = %e, "bus publish failed");
                metrics.bus_dropped.fetch_add(1, Ordering::Relaxed);
                self.state.bus.note_lost();
            }
        }
    }
}

struct Receiver {
    client: async_nats::Client,
    bus: Bus,
    relay: RelayId,
    state: AppState,
    beat_now: Arc<Notify>,
    /// The other relays' frame numbers heard, to notice frames lost without a word.
    heard: Heard,
    /// When this relay's connections last caught up for frames found lost that way.
    last_catch_up: Option<Instant>,
    /// A loss found within [`LOST_EVERY`] of that catch-up: one more is owed.
    owed: bool,
}

impl Receiver {
    async fn run(
        mut self,
        mut fan: async_nats::Subscriber,
        mut control: async_nats::Subscriber,
        mut events: mpsc::UnboundedReceiver<async_nats::Event>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let timeout = self.state.config.heartbeat.timeout;
        let interval = self.state.config.heartbeat.interval;
        let mut expiry = tokio::time::interval(interval);
        let mut owed_check = tokio::time::interval(LOST_EVERY);
        // Polled only while a catch-up is owed: ticks missed meanwhile are not made up.
        owed_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                Some(m) = fan.next() => self.on_fan(m.payload),
                Some(m) = control.next() => self.on_control(m.payload),
                Some(event) = events.recv() => self.on_event(event),
                _ = expiry.tick() => {
                    let link_up = self.bus.is_up() != Some(false);
                    let now = Instant::now();
                    let (flips, dead) = self
                        .state
                        .hub
                        .remote(|r| r.tick(now, timeout, link_up));
                    for relay in dead {
                        tracing::warn!(%relay, "a relay went silent; its users are offline");
                        self.heard.declared_dead(relay, now);
                    }
                    self.announce(flips);
                    // A list's promise is checked a heartbeat interval after it came.
                    if self.heard.check(now, interval) {
                        self.lost_unannounced();
                    }
                    self.bus.set_peers_number(self.heard.all_number());
                }
                _ = owed_check.tick(), if self.owed => self.owed_catch_up(),
                _ = stopping.changed() => break,
            }
        }
    }

    /// Frames another relay published never came, and it could not know: this relay's
    /// connections catch up from the store, at most once per [`LOST_EVERY`] (a loss found
    /// sooner is made up at the end of the period).
    fn lost_unannounced(&mut self) {
        self.state
            .metrics
            .bus_unannounced_losses
            .fetch_add(1, Ordering::Relaxed);
        self.catch_up_unless_recent("frames from another relay never came over the bus");
    }

    /// The catch-up owed since a loss found within the last period.
    fn owed_catch_up(&mut self) {
        tracing::warn!("catching up from the store for frames lost on the bus");
        self.catch_up(Instant::now());
    }

    /// NATS dropped frames for this relay (it read too slowly): the same catch-up, at most
    /// once per [`LOST_EVERY`] however many frames each event reports dropped.
    fn dropped_here(&mut self) {
        self.catch_up_unless_recent("the bus dropped frames for this relay");
    }

    /// Catch up now (saying `why`), unless one ran within [`LOST_EVERY`]: then one is owed at
    /// the end of the period.
    fn catch_up_unless_recent(&mut self, why: &str) {
        let now = Instant::now();
        if self
            .last_catch_up
            .is_some_and(|at| now.duration_since(at) < LOST_EVERY)
        {
            self.owed = true;
            return;
        }
        tracing::warn!("{why}; catching up from the store");
        self.catch_up(now);
    }

    /// Every connection here catches up from the store, which covers every frame published
    /// until now: each relay's next frame starts its count afresh, and no catch-up is owed.
    fn catch_up(&mut self, now: Instant) {
        self.owed = false;
        self.last_catch_up = Some(now);
        self.heard.caught_up();
        self.state.hub.catch_up_all();
    }

    /// A frame another relay stored: to this relay's connections of its users.
    fn on_fan(&mut self, bytes: bytes::Bytes) {
        let frame = match FanFrame::decode(bytes) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "ignored a bus frame");
                return;
            }
        };
        if frame.origin == self.relay {
            return;
        }
        // Delivered first: the catch-up reads the store, whose state is at least this frame's.
        let lost = self.heard.frame(frame.origin, frame.number);
        let Ok(text) = Utf8Bytes::try_from(frame.text) else {
            return;
        };
        self.state
            .metrics
            .bus_received
            .fetch_add(1, Ordering::Relaxed);
        let publish = Publish {
            users: frame.users,
            payload: Payload::from_text(text),
            tag: frame.tag,
            except: None,
            local: true,
        };
        crate::fanout::Fanout::publish(&self.state.hub, publish);
        if lost {
            self.lost_unannounced();
        }
    }

    fn on_control(&mut self, bytes: bytes::Bytes) {
        let control: Control = match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "ignored a bus control message");
                return;
            }
        };
        let from = control.relay();
        if from == self.relay {
            return;
        }
        let now = Instant::now();
        let hub = self.state.hub.clone();
        let flips = match control {
            Control::Hello { relay } => {
                hub.remote(|r| r.heard(relay, now));
                self.beat_now.notify_one();
                Vec::new()
            }
            Control::Beat {
                relay,
                list,
                parts,
                users,
                published,
                reads_numbered,
            } => {
                if self.heard.beat(relay, published, reads_numbered, now) {
                    tracing::warn!(%relay, "a relay taken for dead is back; catching up");
                    self.lost_unannounced();
                }
                self.bus.set_peers_number(self.heard.all_number());
                hub.remote(|r| r.beat_part(relay, list, parts, users, now))
            }
            Control::Online { relay, user } => hub.remote(|r| r.online(relay, user, now)),
            Control::Offline { relay, user } => hub.remote(|r| r.offline(relay, user, now)),
            Control::Gone { relay, published } => {
                self.heard.gone(relay, published, now);
                self.bus.set_peers_number(self.heard.all_number());
                hub.remote(|r| r.gone(relay))
            }
            Control::Lost { relay } => {
                hub.remote(|r| r.heard(relay, now));
                self.catch_up(now);
                Vec::new()
            }
            Control::Revoked { relay, sessions } => {
                hub.remote(|r| r.heard(relay, now));
                hub.kick_sessions(&sessions, tern_proto::close::REVOKED);
                Vec::new()
            }
        };
        self.announce(flips);
    }

    /// Tell this relay's connections about users whose presence elsewhere flipped (unless
    /// they are connected here, which decides alone).
    fn announce(&self, flips: Vec<Flip>) {
        for (user, online) in flips {
            if self.state.hub.is_local(user) {
                continue;
            }
            let state = self.state.clone();
            let left_at = (!online).then(tern_proto::now_ms);
            tokio::spawn(async move {
                crate::ops::announce_presence_retrying(&state, user, left_at).await
            });
        }
    }

    fn on_event(&mut self, event: async_nats::Event) {
        match event {
            async_nats::Event::Connected => {
                tracing::info!("bus connected");
                // Once NATS has our subscriptions, say so, look for what the outage hid, and
                // ask the other relays for their presence lists.
                let (client, state, relay) = (self.client.clone(), self.state.clone(), self.relay);
                let bus = self.bus.clone();
                let event = bus.link_connected();
                tokio::spawn(async move {
                    // Once what this relay queued is written out (a flush), tried again while
                    // this connect is the link's latest event: a relay whose link stayed
                    // "down" would keep a dead relay's users online. A disconnect (or a newer
                    // connect, which starts this again) ends it.
                    loop {
                        if !bus.is_latest(event) {
                            return;
                        }
                        if let Ok(Ok(())) =
                            tokio::time::timeout(STOP_PATIENCE, client.flush()).await
                        {
                            if !bus.confirm_up(event) {
                                return;
                            }
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    state.hub.catch_up_all();
                    if let Ok(hello) = serde_json::to_vec(&Control::Hello { relay }) {
                        let _ = client.publish(CONTROL, hello.into()).await;
                    }
                });
            }
            async_nats::Event::Disconnected => {
                tracing::warn!("bus disconnected; serving this relay's connections alone");
                self.bus.link_down();
                // What was on its way when the link dropped may never reach the others: once
                // the bus takes publishes again they are told to catch up.
                self.bus.note_lost();
                // What the others publish meanwhile is lost here; the catch-up when the link
                // is back covers it, so their numbers are heard anew from then.
                self.heard = Heard::default();
            }
            async_nats::Event::SlowConsumer(_) => {
                // One event per frame dropped: thousands in an overload. Each asks the same
                // catch-up, at most once per period, so an overload is not made a read storm
                // (and a flood of catch-ups in every mailbox).
                self.dropped_here();
            }
            other => tracing::debug!(event = %other, "bus event"),
        }
    }
}
