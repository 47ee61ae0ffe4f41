//! Presence: who is online (on any relay of a cluster), introductions when users start sharing a
//! conversation, and announcements when a user's first device connects or last one leaves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tern_proto::{ErrorCode, Presence, ServerFrame, Timestamp, UserId};

use super::visibility::Rules;
use crate::error::{Error, Result};
use crate::fanout::Publish;
use crate::hub::Hub;
use crate::state::AppState;
use crate::store::{ReadTx, Tx};

/// Current presence of `users`, as this relay sees it.
pub fn presence_of(txn: &dyn ReadTx, hub: &Hub, users: &[UserId]) -> Result<Vec<Presence>> {
    Ok(txn
        .last_seen(users)?
        .into_iter()
        .map(|(user_id, last_seen)| Presence {
            user_id,
            online: hub.is_online(user_id),
            last_seen,
        })
        .collect())
}

/// Publish every member's presence to the other members who may now see it (after they
/// start sharing a conversation, or accept one): contacts the privacy rules allow.
pub(super) fn introduce(
    txn: &dyn Tx,
    hub: &Hub,
    members: &[UserId],
    out: &mut Vec<Publish>,
) -> Result<()> {
    let rules = Rules::new(txn);
    for p in presence_of(txn, hub, members)? {
        let contacts: Vec<UserId> = txn.contacts(p.user_id)?.into_iter().map(|c| c.0).collect();
        let mut audience = Vec::new();
        for &viewer in members {
            if viewer != p.user_id
                && contacts.contains(&viewer)
                && rules.sees_presence(viewer, p.user_id)?
            {
                audience.push(viewer);
            }
        }
        if !audience.is_empty() {
            out.push(Publish::new(
                audience,
                &ServerFrame::Presence { presence: p },
            ));
        }
    }
    Ok(())
}

/// The presence of `viewer`'s contacts that the privacy rules let them see.
pub fn visible_presence(txn: &dyn ReadTx, hub: &Hub, viewer: UserId) -> Result<Vec<Presence>> {
    let rules = Rules::new(txn);
    let mut shown = Vec::new();
    for (contact, _) in txn.contacts(viewer)? {
        if rules.sees_presence(viewer, contact)? {
            shown.push(contact);
        }
    }
    presence_of(txn, hub, &shown)
}

/// How retries of an announcement are spaced: doubling from 250 ms to 2 s, each wait
/// lengthened by a random part of itself (backon's jitter: up to as much again) so that many
/// waiting announcements do not all land on a database that just came back; given up after
/// about two minutes of waiting. A database back after an outage is so heard within about 4 s.
fn retry_spacing() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(2))
        .with_jitter()
        .with_total_delay(Some(Duration::from_secs(120)))
        .without_max_times()
        .build()
}

/// Whether a failed announcement is worth trying again: the database is away or the store's
/// queue is full, not something about the user.
fn transient(e: &Error) -> bool {
    matches!(e.code(), ErrorCode::Internal | ErrorCode::Busy)
}

/// Sleep for `wait`, or less if the relay starts shutting down: whether the wait was whole.
async fn sleep_unless_stopping(stopping: &AtomicBool, wait: Duration) -> bool {
    let end = tokio::time::Instant::now() + wait;
    while !stopping.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        tokio::time::sleep(left.min(Duration::from_millis(100))).await;
    }
    false
}

/// The later of two departures (`None`: the user came online, or no time is known).
fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    a.max(b)
}

/// Announce as [`announce_presence`] does, trying again while the store cannot run the job
/// (the database is away, or the store's queue is full): otherwise contacts would keep the old
/// state until the user's next change. Every attempt publishes the presence of the moment it
/// runs, so one task retries per user ([`AppState::presence_retries`]): a later announcement
/// for a user already waiting only hands over its departure time, and the retrying task's next
/// attempt covers both. Retries are spaced by [`retry_spacing`] and stop when the relay shuts
/// down.
pub async fn announce_presence_retrying(
    state: &AppState,
    user: UserId,
    left_at: Option<Timestamp>,
) {
    match announce_presence(state, user, left_at).await {
        Ok(()) => return,
        Err(e) if !transient(&e) => {
            tracing::warn!(error = %e, %user, "presence announcement failed");
            return;
        }
        Err(_) => {}
    }
    {
        let mut waiting = state.presence_retries.lock().unwrap();
        if let Some(slot) = waiting.get_mut(&user) {
            *slot = later(*slot, left_at);
            return;
        }
        waiting.insert(user, left_at);
    }
    let mut spacing = retry_spacing();
    let outcome = loop {
        let Some(wait) = spacing.next() else {
            break Err("gave up");
        };
        if !sleep_unless_stopping(&state.shutting_down, wait).await {
            break Err("the relay is shutting down");
        }
        let asked = state
            .presence_retries
            .lock()
            .unwrap()
            .get(&user)
            .copied()
            .flatten();
        match announce_presence(state, user, asked).await {
            Ok(()) => {
                let mut waiting = state.presence_retries.lock().unwrap();
                // A departure handed over meanwhile needs one more attempt.
                if waiting.get(&user).copied().flatten() == asked {
                    waiting.remove(&user);
                    break Ok(());
                }
            }
            Err(e) if transient(&e) => {
                tracing::debug!(error = %e, %user, "presence announcement failed; retrying");
            }
            Err(e) => {
                tracing::warn!(error = %e, %user, "presence announcement failed");
                break Err("refused");
            }
        }
    };
    if let Err(why) = outcome {
        state.presence_retries.lock().unwrap().remove(&user);
        tracing::warn!(%user, why, "a presence change was not announced");
    }
}

/// Record that the user's last device went away at `left_at` and tell their contacts; or, on
/// connect (`None`), that they came online. The state published is read from the hub when the
/// job runs, so a quick disconnect-reconnect cannot leave contacts with a stale "offline".
/// Only this relay's connections are told: in a cluster the others announce what they hear on
/// the bus.
pub async fn announce_presence(
    state: &AppState,
    user: UserId,
    left_at: Option<Timestamp>,
) -> Result<()> {
    let hub = state.hub.clone();
    state
        .store
        .call(move |txn: &dyn Tx, out: &mut Vec<Publish>| {
            if let Some(at) = left_at.filter(|_| !hub.is_online(user)) {
                txn.set_last_seen(user, at)?;
            }
            let rules = Rules::new(txn);
            let mut audience = Vec::new();
            for (contact, _) in txn.contacts(user)? {
                if rules.sees_presence(contact, user)? {
                    audience.push(contact);
                }
            }
            if !audience.is_empty() {
                let presence = presence_of(txn, &hub, &[user])?.remove(0);
                let mut p = Publish::new(audience, &ServerFrame::Presence { presence });
                // Every relay of a cluster announces what it hears to its own connections.
                p.local = true;
                out.push(p);
            }
            Ok(())
        })
        .await
}
