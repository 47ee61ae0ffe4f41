//! Who is online on the *other* relays, as learned from the bus: each relay's last full list
//! ([`Control::Beat`](super::wire::Control::Beat)) with the deltas since, and when it was
//! last heard from. A relay silent for the heartbeat timeout is taken for dead and its users
//! for offline, so a relay that crashes cannot leave its users "online" for ever.
//!
//! Every change reports the users whose cluster-wide remote presence flipped, so the relay can
//! announce them to its own connections (each relay tells only its own connections; the
//! announcements themselves never travel the bus).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tern_proto::UserId;

use super::wire::RelayId;

struct Relay {
    heard: Instant,
    users: HashSet<UserId>,
    /// A list arriving in parts: its number, the parts seen, and their users.
    assembling: Option<(u64, u32, HashSet<UserId>)>,
}

/// The other relays' online users.
#[derive(Default)]
pub struct Remote {
    relays: HashMap<RelayId, Relay>,
}

/// A user whose presence on the other relays changed: `true` when now online somewhere else.
pub type Flip = (UserId, bool);

impl Remote {
    /// Whether `user` has a connection on another relay.
    pub fn is_online(&self, user: UserId) -> bool {
        self.relays.values().any(|r| r.users.contains(&user))
    }

    /// Apply a change to one relay's set and report the users whose presence flipped.
    fn change(
        &mut self,
        relay: RelayId,
        now: Instant,
        edit: impl FnOnce(&mut HashSet<UserId>) -> Vec<UserId>,
    ) -> Vec<Flip> {
        let touched = {
            let entry = self.relays.entry(relay).or_insert_with(|| Relay {
                heard: now,
                users: HashSet::new(),
                assembling: None,
            });
            entry.heard = now;
            let before: HashSet<UserId> = entry.users.clone();
            let touched = edit(&mut entry.users);
            touched
                .into_iter()
                .map(|u| (u, before.contains(&u)))
                .collect::<Vec<_>>()
        };
        self.flips(relay, touched)
    }

    /// Of users whose membership in `relay`'s set may have changed (with whether they were in
    /// it before), those whose presence across all other relays flipped.
    fn flips(&self, relay: RelayId, touched: Vec<(UserId, bool)>) -> Vec<Flip> {
        let now_in = |u: &UserId| self.relays.get(&relay).is_some_and(|r| r.users.contains(u));
        let elsewhere = |u: &UserId| {
            self.relays
                .iter()
                .any(|(id, r)| *id != relay && r.users.contains(u))
        };
        touched
            .into_iter()
            .filter_map(|(u, was_in)| {
                let is_in = now_in(&u);
                (was_in != is_in && !elsewhere(&u)).then_some((u, is_in))
            })
            .collect()
    }

    /// A relay's full list.
    pub fn beat(&mut self, relay: RelayId, users: Vec<UserId>, now: Instant) -> Vec<Flip> {
        self.change(relay, now, |set| {
            let new: HashSet<UserId> = users.into_iter().collect();
            let touched = set.symmetric_difference(&new).copied().collect();
            *set = new;
            touched
        })
    }

    /// Part of a relay's list: applied as [`Remote::beat`] once all `parts` of list `list`
    /// arrived (a part lost on the bus leaves the previous list in force until the next one).
    pub fn beat_part(
        &mut self,
        relay: RelayId,
        list: u64,
        parts: u32,
        users: Vec<UserId>,
        now: Instant,
    ) -> Vec<Flip> {
        self.heard(relay, now);
        let Some(entry) = self.relays.get_mut(&relay) else {
            return Vec::new();
        };
        let (current, seen, gathered) = match &mut entry.assembling {
            Some(a) if a.0 == list => a,
            other => other.insert((list, 0, HashSet::new())),
        };
        debug_assert_eq!(*current, list);
        *seen += 1;
        gathered.extend(users);
        if *seen < parts {
            return Vec::new();
        }
        let full = std::mem::take(gathered);
        entry.assembling = None;
        self.beat(relay, full.into_iter().collect(), now)
    }

    /// A user came online on `relay`.
    pub fn online(&mut self, relay: RelayId, user: UserId, now: Instant) -> Vec<Flip> {
        self.change(relay, now, |set| {
            set.insert(user);
            vec![user]
        })
    }

    /// A user's last connection on `relay` closed.
    pub fn offline(&mut self, relay: RelayId, user: UserId, now: Instant) -> Vec<Flip> {
        self.change(relay, now, |set| {
            set.remove(&user);
            vec![user]
        })
    }

    /// Something else was heard from `relay`: it is alive.
    pub fn heard(&mut self, relay: RelayId, now: Instant) {
        self.change(relay, now, |_| Vec::new());
    }

    /// `relay` stopped (or died): forget it.
    pub fn gone(&mut self, relay: RelayId) -> Vec<Flip> {
        let Some(r) = self.relays.remove(&relay) else {
            return Vec::new();
        };
        let touched = r.users.into_iter().map(|u| (u, true)).collect();
        self.flips(relay, touched)
    }

    /// The heartbeat's tick: with this relay's own link to the bus up, forget every relay not
    /// heard from within `timeout` (see [`Remote::expire`]). With it down, the others' silence
    /// says nothing about them: each counts as heard now, so none is taken offline for the
    /// outage, and each has a whole `timeout` after the link returns to be heard again.
    pub fn tick(
        &mut self,
        now: Instant,
        timeout: Duration,
        link_up: bool,
    ) -> (Vec<Flip>, Vec<RelayId>) {
        if link_up {
            return self.expire(now, timeout);
        }
        for r in self.relays.values_mut() {
            r.heard = now;
        }
        (Vec::new(), Vec::new())
    }

    /// Forget every relay not heard from within `timeout`; returns the flips and the relays.
    pub fn expire(&mut self, now: Instant, timeout: Duration) -> (Vec<Flip>, Vec<RelayId>) {
        let dead: Vec<RelayId> = self
            .relays
            .iter()
            .filter(|(_, r)| now.duration_since(r.heard) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        let flips = dead.iter().flat_map(|id| self.gone(*id)).collect();
        (flips, dead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relay whose own bus link is down takes nobody offline for the silence, and after
    /// the link returns the others have a whole timeout to be heard again.
    #[test]
    fn a_relay_cut_off_from_the_bus_keeps_the_others_users_online() {
        let t = Instant::now();
        let timeout = Duration::from_secs(45);
        let mut r = Remote::default();
        r.beat(A, vec![U], t);
        let later = t + Duration::from_secs(60);
        assert_eq!(r.tick(later, timeout, false), (Vec::new(), Vec::new()));
        assert!(
            r.is_online(U),
            "still online while this relay's link is down"
        );
        let back = later + Duration::from_secs(30);
        assert_eq!(r.tick(back, timeout, true).1, Vec::<RelayId>::new());
        assert!(r.is_online(U));
        // Silent for a whole timeout with the link up: gone.
        let (_, dead) = r.tick(later + timeout, timeout, true);
        assert_eq!(dead, vec![A]);
        assert!(!r.is_online(U));
    }

    const A: RelayId = RelayId(1);
    const B: RelayId = RelayId(2);
    const U: UserId = UserId(10);
    const V: UserId = UserId(11);

    #[test]
    fn a_user_flips_only_when_no_other_relay_still_has_them() {
        let t = Instant::now();
        let mut r = Remote::default();
        assert_eq!(r.online(A, U, t), vec![(U, true)]);
        assert_eq!(r.online(B, U, t), vec![], "already online on A");
        assert_eq!(r.offline(A, U, t), vec![], "still on B");
        assert!(r.is_online(U));
        assert_eq!(r.offline(B, U, t), vec![(U, false)]);
        assert!(!r.is_online(U));
        assert_eq!(r.offline(B, U, t), vec![], "offline twice flips nothing");
    }

    #[test]
    fn a_beat_replaces_a_relays_list_and_reports_the_difference() {
        let t = Instant::now();
        let mut r = Remote::default();
        r.online(A, U, t);
        let mut flips = r.beat(A, vec![V], t);
        flips.sort();
        assert_eq!(flips, vec![(U, false), (V, true)]);
        assert_eq!(r.beat(A, vec![V], t), vec![], "the same list again");
    }

    #[test]
    fn a_list_in_parts_takes_effect_when_its_last_part_arrives() {
        let t = Instant::now();
        let mut r = Remote::default();
        assert_eq!(r.beat_part(A, 1, 2, vec![U], t), vec![], "half a list");
        assert!(!r.is_online(U));
        let mut flips = r.beat_part(A, 1, 2, vec![V], t);
        flips.sort();
        assert_eq!(flips, vec![(U, true), (V, true)]);
        // List 2 loses its second part: list 1 stays in force until list 3.
        assert_eq!(r.beat_part(A, 2, 2, vec![U], t), vec![]);
        assert!(r.is_online(V), "list 1 still holds");
        assert_eq!(r.beat_part(A, 3, 1, vec![U], t), vec![(V, false)]);
    }

    #[test]
    fn a_silent_relay_expires_with_its_users_and_a_stopping_one_leaves_at_once() {
        let t = Instant::now();
        let mut r = Remote::default();
        r.beat(A, vec![U], t);
        r.beat(B, vec![U, V], t + Duration::from_secs(30));
        let (flips, dead) = r.expire(t + Duration::from_secs(45), Duration::from_secs(45));
        assert_eq!(dead, vec![A]);
        assert_eq!(flips, vec![], "U is still on B");
        let mut flips = r.gone(B);
        flips.sort();
        assert_eq!(flips, vec![(U, false), (V, false)]);
        assert!(!r.is_online(U) && !r.is_online(V));
        r.heard(A, t);
        assert!(!r.is_online(U), "a relay heard again starts with nobody");
    }
}
