//! The connection supervisor: one task that owns the WebSocket for the client's whole life.
//!
//! It connects, runs a [`session`] until the link ends, then waits with exponential backoff and
//! jitter (`backon`) before the next attempt, publishing [`ConnectionState::Offline`] with the
//! time of that attempt so a UI can say "reconnecting in 4 s". A connection that stayed up for
//! [`crate::config::Timing::stable_after`] resets the backoff; [`Cmd::RetryNow`] cuts the wait
//! short. A refused token ends the loop in [`ConnectionState::SignedOut`].
//!
//! A session's parts: [`session`] (its loop), [`inbound`] (one handler per relay frame),
//! [`answers`] (acks, `ok`s and errors for what it asked), [`outbound`] (writes and the outbox
//! flush), [`sync`] (the catch-up after connecting), [`pending`] (what awaits an answer) and
//! [`failure`] (why a session ends, and whether that means reconnect or sign out). Opening the
//! socket is [`handshake`].

mod answers;
mod failure;
mod handshake;
mod inbound;
mod outbound;
mod pending;
mod session;
pub(crate) mod sync;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use tern_proto::{ClientFrame, ConversationId, RequestId, Seq, ServerFrame};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::events::{to_ms, ConnectionState};
use crate::shared::Shared;

/// What the client handle asks of the connection task.
/// How long a link has to answer a probe after a network change before it is replaced.
pub(crate) const PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) enum Cmd {
    /// Send a request and deliver its reply.
    Request {
        /// Builds the frame once an id is assigned.
        build: Box<dyn FnOnce(RequestId) -> ClientFrame + Send>,
        /// Where the reply goes.
        reply: oneshot::Sender<Result<ServerFrame>>,
    },
    /// Send a frame whose reply does not matter (typing).
    Fire(Box<dyn FnOnce(RequestId) -> ClientFrame + Send>),
    /// The outbox or read markers changed: send what is pending.
    Flush,
    /// The user read `conversation_id` up to `seq` (already in the cache): send just that.
    Read {
        /// The conversation.
        conversation_id: ConversationId,
        /// The new read marker.
        seq: Seq,
    },
    /// Stop waiting and reconnect now.
    RetryNow,
    /// The device's network changed: offline, try now; online, make sure the link still
    /// answers ([`PROBE_WAIT`]) instead of trusting it until the heartbeat timeout.
    Probe,
    /// Close the connection and stop.
    Shutdown(oneshot::Sender<()>),
}

/// How a session ended.
pub(crate) enum End {
    /// Asked to stop.
    Shutdown,
    /// The link broke; reconnect.
    Lost(String),
    /// The relay refused the token.
    SignedOut(String),
}

/// The waits between reconnection attempts: doubling from `backoff_min`, never longer than
/// `backoff_max`, each spread at random so that clients cut off together do not all come back
/// at once. The jitter adds up to the step's own length, so the steps stop at half the
/// maximum: at the top a wait is between half of `backoff_max` and all of it.
fn backoff(t: crate::config::Timing) -> impl Iterator<Item = Duration> {
    let max = t.backoff_max;
    ExponentialBuilder::default()
        .with_min_delay(t.backoff_min.min(max / 2))
        .with_max_delay(max / 2)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .map(move |delay| delay.min(max))
}

/// Run until shut down.
pub(crate) async fn run(shared: Arc<Shared>, mut cmds: mpsc::Receiver<Cmd>) {
    let mut delays = backoff(shared.config.timing);
    loop {
        shared.set_state(ConnectionState::Connecting);
        let end = match handshake::connect(&shared).await {
            Ok((ws, compression)) => {
                let started = Instant::now();
                let end = session::Session::new(&shared, compression)
                    .run(ws, &mut cmds)
                    .await;
                if started.elapsed() >= shared.config.timing.stable_after {
                    delays = backoff(shared.config.timing);
                }
                end
            }
            Err(e) => End::from(e),
        };
        let reason = match end {
            End::Shutdown => return,
            End::SignedOut(reason) => return signed_out(&shared, reason, cmds).await,
            End::Lost(reason) => reason,
        };
        // While disconnected nobody's presence is known: show contacts as offline.
        if let Ok(changed) = shared
            .cache
            .call(crate::cache::conversations::all_offline)
            .await
        {
            for presence in changed {
                shared.emit(crate::events::Event::Presence { presence });
            }
        }
        let delay = delays.next().unwrap_or(shared.config.timing.backoff_max);
        tracing::info!(%reason, ?delay, "disconnected; will reconnect");
        shared.set_state(ConnectionState::Offline {
            retry_at: to_ms(SystemTime::now() + delay),
            reason,
        });
        if !wait_offline(delay, &mut cmds).await {
            return;
        }
    }
}

/// Wait out a backoff delay while answering commands. Returns false on shutdown.
async fn wait_offline(delay: Duration, cmds: &mut mpsc::Receiver<Cmd>) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return true,
            cmd = cmds.recv() => match cmd {
                None => return false,
                Some(Cmd::Shutdown(done)) => {
                    let _ = done.send(());
                    return false;
                }
                Some(Cmd::RetryNow | Cmd::Probe) => return true,
                Some(Cmd::Request { reply, .. }) => {
                    let _ = reply.send(Err(Error::Offline));
                }
                // Queued work waits for the next connection.
                Some(Cmd::Fire(_) | Cmd::Flush | Cmd::Read { .. }) => {}
            },
        }
    }
}

async fn signed_out(shared: &Shared, reason: String, mut cmds: mpsc::Receiver<Cmd>) {
    tracing::warn!(%reason, "the relay refused this device's token");
    let (relay, user) = (&shared.config.relay, &shared.username);
    if let Err(e) = crate::keychain::off_loop(relay, user, crate::keychain::delete).await {
        tracing::warn!(error = %e, "could not delete the refused token");
    }
    shared.set_state(ConnectionState::SignedOut { reason });
    while let Some(cmd) = cmds.recv().await {
        match cmd {
            Cmd::Shutdown(done) => {
                let _ = done.send(());
                return;
            }
            Cmd::Request { reply, .. } => {
                let _ = reply.send(Err(Error::Offline));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Timing;

    /// "Reconnect waited 52 s" with a 30 s maximum: the jitter came on top of the step. No wait
    /// is longer than the maximum now, and the waits at the top still spread over its upper half.
    #[test]
    fn no_reconnect_wait_is_longer_than_the_maximum_and_the_top_ones_spread() {
        for max in [Duration::from_secs(10), Duration::from_secs(30)] {
            let timing = Timing {
                backoff_max: max,
                ..Timing::default()
            };
            let waits: Vec<Duration> = backoff(timing).take(500).collect();
            assert!(waits.iter().all(|&w| w <= max), "{max:?}: {waits:?}");
            assert!(waits[0] <= timing.backoff_min * 2, "the first is short");
            let top = &waits[20..];
            assert!(top.iter().all(|&w| w >= max / 2), "{top:?}");
            let (low, high) = (top.iter().min().unwrap(), top.iter().max().unwrap());
            assert!(high > low, "spread at random: {low:?}..{high:?}");
        }
    }
}
