//! Presence: who is online as this relay sees it, introductions when users start sharing a
//! conversation, and announcements when a user's first device connects or last one leaves.

use tern_proto::{Presence, ServerFrame, UserId};

use crate::error::Result;
use crate::fanout::Publish;
use crate::hub::Hub;
use crate::state::AppState;
use crate::store::Tx;

/// Current presence of `users`, as this relay sees it.
pub fn presence_of(txn: &dyn Tx, hub: &Hub, users: &[UserId]) -> Result<Vec<Presence>> {
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

/// Publish every member's presence to every other member (after they start sharing a
/// conversation, each may now see the other).
pub(super) fn introduce(
    txn: &dyn Tx,
    hub: &Hub,
    members: &[UserId],
    out: &mut Vec<Publish>,
) -> Result<()> {
    for p in presence_of(txn, hub, members)? {
        let others: Vec<UserId> = members
            .iter()
            .copied()
            .filter(|u| *u != p.user_id)
            .collect();
        out.push(Publish::new(others, &ServerFrame::Presence { presence: p }));
    }
    Ok(())
}

/// Record that the user's last device went away and tell their contacts; or, on connect, that
/// they came online. The state published is read from the hub when the job runs, so a quick
/// disconnect-reconnect cannot leave contacts with a stale "offline".
pub async fn announce_presence(state: &AppState, user: UserId, went_offline: bool) -> Result<()> {
    let hub = state.hub.clone();
    state
        .store
        .call(move |txn: &dyn Tx, out: &mut Vec<Publish>| {
            if went_offline && !hub.is_online(user) {
                txn.set_last_seen(user, tern_proto::now_ms())?;
            }
            let contacts: Vec<UserId> = txn.contacts(user)?.into_iter().map(|c| c.0).collect();
            if !contacts.is_empty() {
                let presence = presence_of(txn, &hub, &[user])?.remove(0);
                out.push(Publish::new(contacts, &ServerFrame::Presence { presence }));
            }
            Ok(())
        })
        .await
}
