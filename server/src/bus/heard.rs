//! Which of the other relays' fan-out frames this relay heard, to notice ones NATS lost
//! without saying so.
//!
//! NATS core delivers at most once. Most losses announce themselves: this relay's link drops
//! (it catches up when it is back), NATS reports frames dropped for a slow subscriber, or the
//! sender could not publish (its [`super::wire::Control::Lost`]). Some do not: a route between
//! the servers of a NATS cluster that breaks and heals, a server restarted behind a proxy. A
//! lost message is noticed by the gap fill when a later one of its conversation arrives, but a
//! lost receipt, conversation change or last message of a burst would stay missing until the
//! client's next sync.
//!
//! So every relay numbers the fan-out frames it publishes (1, 2, 3, … for its lifetime), and
//! says in its presence lists (and its goodbye) how many it had published by then. A receiver
//! has lost frames, and catches up from the store, when it sees a number skipped; when frames a
//! list promised are still missing a grace period later (the heartbeat interval: a list on the
//! control subject may overtake frames on the fan-out subject, and lists can come back to back
//! when a relay joins); and when a relay it had taken for dead (silent past the heartbeat
//! timeout: a partition) is heard again.
//!
//! Relays of the version before numbering do not say in their lists that they read numbered
//! frames. While one is among the live relays, [`Heard::all_number`] is false and the
//! publisher sends frames (and lists) without numbers, in the old format, which such a relay
//! still reads (see [`super::wire`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::wire::RelayId;

/// How long a relay taken for dead is remembered, so that hearing it again (a partition that
/// healed) is a loss rather than a new relay.
const REMEMBER_DEAD: Duration = Duration::from_secs(24 * 3600);

/// Promises kept per relay awaiting their check; lists come once per heartbeat interval
/// (and once more when a relay joins), so a few are pending at a time.
const MAX_PROMISES: usize = 16;

/// What was heard from one relay.
#[derive(Debug)]
struct Track {
    /// The highest frame number heard (or taken as heard: caught up since).
    last: u64,
    /// The next numbered frame starts the count afresh (after a catch-up that covered
    /// everything until now, or when the relay starts numbering).
    rebase: bool,
    /// Counts its lists (or goodbye) promised, not checked yet, with when each came.
    promises: Vec<(u64, Instant)>,
    /// Its presence lists carry a count (it numbers its frames).
    counting: bool,
    /// It reads numbered frames (its lists say so).
    reads: bool,
    /// Taken for dead at this time (silent past the heartbeat timeout).
    dead_since: Option<Instant>,
    /// It said goodbye: forgotten once its last promise is checked.
    leaving: bool,
}

impl Track {
    fn new(last: u64, counting: bool, reads: bool) -> Track {
        Track {
            last,
            rebase: false,
            promises: Vec::new(),
            counting,
            reads,
            dead_since: None,
            leaving: false,
        }
    }

    /// Heard from again; whether it had been taken for dead (what it published meanwhile may
    /// be lost: the catch-up this triggers covers everything until now).
    fn revived(&mut self) -> bool {
        let dead = self.dead_since.take().is_some();
        if dead {
            self.rebase = true;
            self.promises.clear();
        }
        dead
    }

    fn promise(&mut self, count: u64, now: Instant) {
        let newer = self.promises.last().is_none_or(|&(n, _)| count > n);
        if newer && self.promises.len() < MAX_PROMISES {
            self.promises.push((count, now));
        }
    }
}

/// The frame numbers heard from every other relay.
#[derive(Debug, Default)]
pub struct Heard(HashMap<RelayId, Track>);

impl Heard {
    /// A frame numbered `number` from `relay`: whether frames were lost. Frames from a relay
    /// first heard now are not counted as lost: the catch-up at this relay's own connect
    /// covers what came before.
    pub fn frame(&mut self, relay: RelayId, number: u64) -> bool {
        if number == 0 {
            return false;
        }
        let track = self
            .0
            .entry(relay)
            .or_insert_with(|| Track::new(number - 1, true, true));
        let revived = track.revived();
        if std::mem::take(&mut track.rebase) {
            track.last = number;
            return revived;
        }
        let lost = number > track.last + 1;
        track.last = track.last.max(number);
        lost
    }

    /// A presence list from `relay`, saying it had published `published` frames (`None`: a
    /// relay that does not number them now) and whether it `reads` numbered frames. Whether
    /// `relay` had been taken for dead.
    pub fn beat(
        &mut self,
        relay: RelayId,
        published: Option<u64>,
        reads: bool,
        now: Instant,
    ) -> bool {
        let track = self
            .0
            .entry(relay)
            .or_insert_with(|| Track::new(published.unwrap_or(0), published.is_some(), reads));
        let revived = track.revived();
        track.reads = reads;
        match published {
            None => {
                track.counting = false;
                track.promises.clear();
            }
            Some(n) => {
                if !track.counting {
                    // It started numbering (the last relay that could not read numbered frames
                    // left, or it was upgraded): count afresh.
                    track.counting = true;
                    track.rebase = true;
                }
                if !revived {
                    track.promise(n, now);
                }
            }
        }
        revived
    }

    /// `relay` said goodbye, having published `published` frames: checked once its last
    /// frames had time to arrive, then forgotten.
    pub fn gone(&mut self, relay: RelayId, published: Option<u64>, now: Instant) {
        let Some(track) = self.0.get_mut(&relay) else {
            return;
        };
        match published {
            Some(n) if track.counting && track.dead_since.is_none() => {
                track.leaving = true;
                track.promise(n, now);
            }
            _ => {
                self.0.remove(&relay);
            }
        }
    }

    /// `relay` went silent past the heartbeat timeout.
    pub fn declared_dead(&mut self, relay: RelayId, now: Instant) {
        if let Some(track) = self.0.get_mut(&relay) {
            track.dead_since = Some(now);
            track.promises.clear();
        }
    }

    /// Check the promises at least `grace` old: whether frames one promised never came.
    /// Forgets relays that left, and relays dead for a day.
    pub fn check(&mut self, now: Instant, grace: Duration) -> bool {
        let mut lost = false;
        self.0.retain(|_, track| {
            let due = track
                .promises
                .iter()
                .take_while(|(_, at)| now.duration_since(*at) >= grace)
                .count();
            for (promised, _) in track.promises.drain(..due) {
                if std::mem::take(&mut track.rebase) {
                    // No frame since a catch-up: count from this promise. (Frames published
                    // after the catch-up and lost before it are not noticed: the one blind
                    // spot, against catching up again for frames it already covered.)
                    track.last = track.last.max(promised);
                } else if track.last < promised {
                    lost = true;
                    // The catch-up reads what they said from the store.
                    track.last = promised;
                }
            }
            if track.leaving && track.promises.is_empty() {
                return false;
            }
            track
                .dead_since
                .is_none_or(|at| now.duration_since(at) < REMEMBER_DEAD)
        });
        lost
    }

    /// This relay caught up from the store: everything published until now is covered, and
    /// each relay's next numbered frame starts its count afresh.
    pub fn caught_up(&mut self) {
        for track in self.0.values_mut() {
            if track.dead_since.is_none() {
                track.rebase = true;
                track.promises.clear();
            }
        }
    }

    /// Whether every live relay heard from numbers its frames (so frames in the numbered
    /// format reach them all).
    pub fn all_number(&self) -> bool {
        self.0
            .values()
            .all(|t| t.reads || t.dead_since.is_some() || t.leaving)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: RelayId = RelayId(1);
    const B: RelayId = RelayId(2);
    const GRACE: Duration = Duration::from_secs(1);

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn a_skipped_number_is_a_loss_and_late_or_repeated_ones_are_not() {
        let mut h = Heard::default();
        assert!(!h.frame(A, 7), "first heard: what came before is covered");
        assert!(!h.frame(A, 8));
        assert!(h.frame(A, 10), "9 was lost");
        assert!(!h.frame(A, 9), "late, not lost");
        assert!(!h.frame(A, 11));
        assert!(!h.frame(B, 1), "relays are counted apart");
        assert!(!h.frame(A, 0), "an unnumbered frame counts for nothing");
        assert!(!h.frame(A, 12));
    }

    /// The last frames of a burst: no later frame shows them missing; a promise checked a grace
    /// period later does, however many lists came meanwhile (a relay joining makes every relay
    /// send one at once).
    #[test]
    fn frames_a_list_promised_and_still_missing_after_the_grace_period_are_a_loss() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(!h.beat(A, Some(3), true, t0), "first heard");
        assert!(!h.frame(A, 4));
        assert!(!h.beat(A, Some(6), true, at(t0, 10)));
        assert!(!h.beat(A, Some(6), true, at(t0, 20)), "lists back to back");
        assert!(
            !h.check(at(t0, 500), GRACE),
            "5 and 6 may still be on their way"
        );
        assert!(
            h.check(at(t0, 1010), GRACE),
            "a grace period later they never came"
        );
        assert!(!h.check(at(t0, 3000), GRACE), "told once");
        assert!(!h.frame(A, 7), "the catch-up covered 5 and 6");
        assert!(!h.beat(A, Some(7), true, at(t0, 3000)));
        assert!(!h.check(at(t0, 5000), GRACE), "everything came");
        assert!(!h.frame(A, 6), "late");
    }

    /// After a catch-up, the first promise checked is the new starting count and the next
    /// one is held to it, also when both fall due at one check.
    #[test]
    fn after_a_catch_up_promises_are_checked_in_order() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(!h.frame(A, 1));
        h.caught_up();
        assert!(!h.beat(A, Some(3), true, t0));
        assert!(!h.beat(A, Some(5), true, at(t0, 5)));
        assert!(h.check(at(t0, 2000), GRACE), "4 and 5 never came");
    }

    #[test]
    fn after_a_catch_up_the_next_frame_starts_the_count_and_promises_are_covered() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(!h.frame(A, 1));
        assert!(!h.beat(A, Some(5), true, t0));
        h.caught_up();
        assert!(!h.check(at(t0, 2000), GRACE), "covered by the catch-up");
        assert!(
            !h.frame(A, 9),
            "6 to 8 were dropped before the catch-up read the store"
        );
        assert!(h.frame(A, 11));
    }

    /// A relay taken for dead and heard again was cut off (a partition that healed): what it
    /// published meanwhile may be lost, whatever number comes next.
    #[test]
    fn a_relay_heard_again_after_it_was_taken_for_dead_is_a_loss() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(!h.frame(A, 1));
        assert!(!h.frame(B, 1));
        h.declared_dead(A, t0);
        h.declared_dead(B, t0);
        assert!(h.frame(A, 2), "even the very next number");
        assert!(!h.frame(A, 3));
        assert!(h.beat(B, Some(40), true, at(t0, 10)), "a list too");
        assert!(!h.frame(B, 41));
        h.declared_dead(A, at(t0, 20));
        assert!(!h.check(at(t0, 1000), GRACE));
        assert!(
            h.0.contains_key(&A),
            "remembered while it could still come back"
        );
        assert!(!h.check(t0 + REMEMBER_DEAD + GRACE, GRACE));
        assert!(!h.0.contains_key(&A), "forgotten after a day");
    }

    #[test]
    fn a_goodbye_is_checked_for_the_frames_it_promised_then_forgotten() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(!h.frame(A, 1));
        h.gone(A, Some(3), t0);
        assert!(!h.check(at(t0, 100), GRACE));
        assert!(h.check(at(t0, 1000), GRACE), "2 and 3 never came");
        assert!(h.0.is_empty(), "forgotten");
        assert!(!h.frame(B, 1));
        h.gone(B, None, t0);
        assert!(h.0.is_empty(), "no count: forgotten at once");
    }

    /// Relays that read numbered frames but send none (while an older relay runs) keep
    /// everything numbered once the older relay is gone: not being counted is not contagious.
    #[test]
    fn a_relay_that_reads_numbered_frames_but_sends_none_does_not_hold_the_old_format() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(!h.beat(A, None, true, t0));
        assert!(h.all_number());
        assert!(!h.beat(B, None, false, t0));
        assert!(!h.all_number());
        h.gone(B, None, t0);
        assert!(h.all_number());
        assert!(!h.beat(A, Some(9), true, at(t0, 10)), "counting again");
        assert!(!h.frame(A, 10), "counted afresh");
    }

    /// A relay of the version before numbering sends lists without a count: while it is alive,
    /// frames go out in the format it reads; once it upgraded, its count starts afresh.
    #[test]
    fn an_unnumbered_relay_keeps_the_old_format_until_it_numbers() {
        let (mut h, t0) = (Heard::default(), Instant::now());
        assert!(h.all_number(), "alone");
        assert!(!h.beat(A, Some(2), true, t0));
        assert!(!h.beat(B, None, false, t0));
        assert!(!h.all_number());
        assert!(
            !h.check(at(t0, 5000), GRACE),
            "nothing promised by B; A's 2 were heard"
        );
        h.declared_dead(B, t0);
        assert!(h.all_number(), "a dead relay reads nothing");
        assert!(
            h.beat(B, Some(100), true, at(t0, 10)),
            "back, upgraded (after a partition)"
        );
        assert!(h.all_number());
        assert!(!h.frame(B, 101));
        let mut h = Heard::default();
        assert!(!h.beat(B, None, false, t0));
        assert!(!h.beat(B, Some(500), true, t0), "upgraded");
        assert!(!h.frame(B, 501), "counted afresh");
        assert!(!h.check(at(t0, 5000), GRACE));
    }
}
