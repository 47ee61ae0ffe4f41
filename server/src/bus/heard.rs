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
//! says in the first part of each presence list how many it had published by then. A receiver
//! that sees a number skipped, or by one list has still not heard the frames the list before
//! it promised (a list on the control subject may overtake frames on the fan-out subject, so
//! the check waits a heartbeat interval), has lost frames and catches up from the store.

use std::collections::HashMap;

use super::wire::RelayId;

/// What was heard from one relay.
#[derive(Debug)]
struct Track {
    /// The highest frame number heard (or taken as heard: caught up since).
    last: u64,
    /// What the relay's previous presence list said it had published.
    promised: u64,
}

/// The frame numbers heard from every other relay.
#[derive(Debug, Default)]
pub struct Heard(HashMap<RelayId, Track>);

impl Heard {
    /// A frame numbered `number` from `relay`: whether frames before it were lost. Frames from
    /// a relay first heard now are not counted as lost: the catch-up at this relay's own
    /// connect covers what came before.
    pub fn frame(&mut self, relay: RelayId, number: u64) -> bool {
        if number == 0 {
            return false;
        }
        let track = self.0.entry(relay).or_insert(Track {
            last: number - 1,
            promised: 0,
        });
        let lost = number > track.last + 1;
        track.last = track.last.max(number);
        lost
    }

    /// `relay`'s presence list says it had published `published` frames: whether frames its
    /// previous list promised never came.
    pub fn beat(&mut self, relay: RelayId, published: u64) -> bool {
        let track = self.0.entry(relay).or_insert(Track {
            last: published,
            promised: published,
        });
        let lost = track.last < track.promised;
        if lost {
            // The catch-up reads what they said from the store.
            track.last = track.promised;
        }
        track.promised = published;
        lost
    }

    /// This relay caught up from the store: everything published so far is covered.
    pub fn caught_up(&mut self) {
        for track in self.0.values_mut() {
            track.last = track.last.max(track.promised);
        }
    }

    /// `relay` is gone (stopped, or silent past the heartbeat timeout).
    pub fn forget(&mut self, relay: RelayId) {
        self.0.remove(&relay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: RelayId = RelayId(1);
    const B: RelayId = RelayId(2);

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

    /// The last frames of a burst: no later frame shows them missing, the next list does — a
    /// list after the one that promised them, since a list may overtake frames sent before it.
    #[test]
    fn frames_a_list_promised_and_the_next_list_still_misses_are_a_loss() {
        let mut h = Heard::default();
        assert!(!h.beat(A, 3), "first heard");
        assert!(!h.frame(A, 4));
        assert!(!h.beat(A, 6), "5 and 6 may still be on their way");
        assert!(h.beat(A, 6), "a list later they never came");
        assert!(!h.beat(A, 6), "told once: the catch-up covered them");
        assert!(!h.frame(A, 7));
        assert!(!h.beat(A, 7));
        assert!(!h.beat(A, 7), "everything came");
    }

    #[test]
    fn a_catch_up_covers_what_was_promised_and_a_forgotten_relay_starts_over() {
        let mut h = Heard::default();
        assert!(!h.beat(A, 2));
        assert!(!h.beat(A, 5));
        h.caught_up();
        assert!(!h.beat(A, 5), "the catch-up read 3 to 5 from the store");
        h.forget(A);
        assert!(!h.frame(A, 40), "heard anew");
    }
}
