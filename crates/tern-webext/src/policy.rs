//! When to give the allocator's free pages back, as data and a pure decision.

/// Trim once the process's anonymous resident memory has moved by `step` bytes in all since
/// the last trim and has then settled (moved by less than an eighth of a step between two
/// checks), or at once when it has moved by four steps without settling; after such a trim,
/// trim again at the settled checks of [`TrimPolicy::FOLLOW_UPS`].
///
/// Resident memory does not fall when the allocator is handed memory back, so a freed heap is
/// invisible to it; what is visible is the movement that came before. A burst of work
/// (scrolling through a long chat) moves it, and the memory it leaves behind is freed during the
/// following seconds (by the page's garbage collector and WebKit's timers, as they come):
/// hence a trim when it settles and a few more over the next minute. Work that goes on without
/// settling is trimmed every four steps, so the heap does not grow without bound meanwhile. An
/// idle process is never touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimPolicy {
    step: u64,
    last: u64,
    moved: u64,
    /// The next follow-up: its index in `FOLLOW_UPS` and the settled checks still to wait
    /// (0 once `check` has asked for it).
    follow_up: Option<(usize, u32)>,
}

impl TrimPolicy {
    /// The movement between trims by default: 32 MiB.
    pub const DEFAULT_STEP: u64 = 32 << 20;
    /// How often the web process checks, in seconds.
    pub const CHECK_SECS: u32 = 2;
    /// Settled checks to wait before each follow-up trim: at 2, 4, 6, 10, 18, 34 and 66 s
    /// after a trim with checks every 2 s. A trim of a heap with nothing more to give back
    /// costs a walk over its free chunks (0.1 to 1 ms measured), so these are cheap.
    pub const FOLLOW_UPS: [u32; 7] = [1, 1, 1, 2, 4, 8, 16];

    /// A policy for a process holding `resident` bytes now.
    pub fn new(step: u64, resident: u64) -> Self {
        Self {
            step,
            last: resident,
            moved: 0,
            follow_up: None,
        }
    }

    /// Whether to trim now, the process holding `resident` bytes.
    pub fn check(&mut self, resident: u64) -> bool {
        let delta = resident.abs_diff(self.last);
        self.last = resident;
        self.moved = self.moved.saturating_add(delta);
        let settled = delta < self.step / 8;
        if self.moved >= self.step && (settled || self.moved >= self.step.saturating_mul(4)) {
            return true;
        }
        match &mut self.follow_up {
            Some((_, wait)) if settled => {
                *wait -= 1;
                *wait == 0
            }
            _ => false,
        }
    }

    /// Record the trim `check` asked for, after which the process held `resident` bytes.
    pub fn trimmed(&mut self, resident: u64) {
        self.last = resident;
        self.moved = 0;
        // A follow-up that came due leads to the next one; any other trim starts them over.
        let next = match self.follow_up {
            Some((i, 0)) => i + 1,
            _ => 0,
        };
        self.follow_up = Self::FOLLOW_UPS.get(next).map(|&wait| (next, wait));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn policy() -> TrimPolicy {
        TrimPolicy::new(32 * MIB, 100 * MIB)
    }

    #[test]
    fn an_idle_process_is_left_alone() {
        let mut p = policy();
        for _ in 0..100 {
            assert!(!p.check(100 * MIB));
        }
    }

    /// Drive `p` through `resident` (MiB), trimming when asked (to `after(resident)`); the
    /// checks at which it trimmed.
    fn run(p: &mut TrimPolicy, resident: &[u64], after: impl Fn(u64) -> u64) -> Vec<usize> {
        let mut at = Vec::new();
        for (i, &r) in resident.iter().enumerate() {
            if p.check(r * MIB) {
                p.trimmed(after(r) * MIB);
                at.push(i);
            }
        }
        at
    }

    #[test]
    fn a_burst_is_trimmed_when_it_settles_and_followed_up_over_the_next_minute() {
        let mut p = policy();
        let mut resident = vec![150, 200, 201];
        resident.extend([120; 40]);
        let at = run(&mut p, &resident, |r| if r == 201 { 120 } else { r });
        // Settled at check 2; follow-ups after 1, 1, 1, 2, 4, 8 and 16 more checks; then quiet.
        assert_eq!(at, [2, 3, 4, 5, 7, 11, 19, 35]);
    }

    #[test]
    fn movement_during_the_follow_ups_starts_them_again() {
        let mut p = policy();
        let at = run(&mut p, &[150, 151, 151, 151, 250, 251, 251], |r| r);
        assert_eq!(
            at,
            [1, 2, 3, 5, 6],
            "the second burst settles at 5, then follows up from 1"
        );
    }

    #[test]
    fn slow_growth_is_trimmed_from_a_step_on_and_boundedly() {
        let mut p = policy();
        let resident: Vec<u64> = (101..=200).collect();
        let at = run(&mut p, &resident, |r| r);
        assert_eq!(at[0], 31, "the first trim at 32 MiB of growth");
        assert!(
            at.len() <= 3 * (1 + TrimPolicy::FOLLOW_UPS.len()),
            "at most a trim and its follow-ups per step: {at:?}"
        );
    }

    #[test]
    fn work_that_never_settles_is_trimmed_every_four_steps() {
        let mut p = policy();
        let moves: Vec<bool> = (1..=7).map(|i| p.check((100 + 20 * i) * MIB)).collect();
        assert_eq!(
            moves,
            [false, false, false, false, false, false, true],
            "140 MiB moved in 20 MiB leaps, never settled"
        );
    }

    #[test]
    fn falling_counts_as_movement_too() {
        let mut p = policy();
        assert!(!p.check(160 * MIB));
        assert!(!p.check(100 * MIB), "back down: 120 MiB moved, not settled");
        assert!(p.check(101 * MIB));
    }
}
