//! Presence: who is online (on any relay of a cluster), introductions when users start sharing a
//! conversation, and announcements when a user's first device connects or last one leaves.

use std::sync::atomic::Ordering;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tern_proto::{Presence, ServerFrame, UserId};

use super::visibility::Rules;
use crate::error::Result;
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

/// Announce as [`announce_presence`] does, trying again while the store cannot run the job
/// (the database is away, or the store's queue is full): otherwise contacts would keep the old
/// state until the user's next change. Every attempt publishes the presence of the moment it
/// runs, so a late attempt cannot undo a newer one. Retries wait from 250 ms up to 5 s apart,
/// for about two minutes in all, and stop when the relay shuts down.
pub async fn announce_presence_retrying(state: &AppState, user: UserId, went_offline: bool) {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(30);
    let announced = (|| announce_presence(state, user, went_offline))
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|_| !state.shutting_down.load(Ordering::Relaxed))
        .notify(|e, wait| tracing::debug!(error = %e, ?wait, %user, "presence announcement failed; retrying"))
        .await;
    if let Err(e) = announced {
        tracing::warn!(error = %e, %user, "presence announcement failed");
    }
}

/// Record that the user's last device went away and tell their contacts; or, on connect, that
/// they came online. The state published is read from the hub when the job runs, so a quick
/// disconnect-reconnect cannot leave contacts with a stale "offline". Only this relay's
/// connections are told: in a cluster the others announce what they hear on the bus.
pub async fn announce_presence(state: &AppState, user: UserId, went_offline: bool) -> Result<()> {
    let hub = state.hub.clone();
    state
        .store
        .call(move |txn: &dyn Tx, out: &mut Vec<Publish>| {
            if went_offline && !hub.is_online(user) {
                txn.set_last_seen(user, tern_proto::now_ms())?;
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
