//! When to give the allocator's free pages back, as data and a pure decision.

/// Trim once the process's anonymous resident memory has moved by `step` bytes in all since
/// the last trim and has then settled (moved by less than an eighth of a step between two
/// checks), or at once when it has moved by four steps without settling.
///
/// Resident memory does not fall when the allocator is handed memory back, so a freed heap is
/// invisible to it; what is visible is the movement that came before. A burst of work
/// (scrolling through a long chat) moves it, and once the burst is over the memory it freed is
/// free: that is when a trim gives the most back. Work that goes on without settling is
/// trimmed every four steps, so the heap does not grow without bound meanwhile. An idle
/// process is never touched, and a trim (a walk over the allocator's free chunks) happens at
/// most once per step of movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimPolicy {
    step: u64,
    last: u64,
    moved: u64,
}

impl TrimPolicy {
    /// The movement between trims by default: 32 MiB.
    pub const DEFAULT_STEP: u64 = 32 << 20;
    /// How often the web process checks, in seconds.
    pub const CHECK_SECS: u32 = 2;

    /// A policy for a process holding `resident` bytes now.
    pub fn new(step: u64, resident: u64) -> Self {
        Self {
            step,
            last: resident,
            moved: 0,
        }
    }

    /// Whether to trim now, the process holding `resident` bytes.
    pub fn check(&mut self, resident: u64) -> bool {
        let delta = resident.abs_diff(self.last);
        self.last = resident;
        self.moved = self.moved.saturating_add(delta);
        let settled = delta < self.step / 8;
        self.moved >= self.step && (settled || self.moved >= self.step.saturating_mul(4))
    }

    /// Record a trim after which the process held `resident` bytes.
    pub fn trimmed(&mut self, resident: u64) {
        self.last = resident;
        self.moved = 0;
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

    #[test]
    fn a_burst_is_trimmed_once_it_has_settled() {
        let mut p = policy();
        assert!(!p.check(150 * MIB), "still moving");
        assert!(!p.check(200 * MIB), "still moving");
        assert!(p.check(201 * MIB), "settled after 101 MiB of movement");
        p.trimmed(120 * MIB);
        assert!(!p.check(120 * MIB));
        assert!(!p.check(121 * MIB), "nothing moved since the trim");
    }

    #[test]
    fn slow_growth_is_trimmed_once_per_step() {
        let mut p = policy();
        let mut trims = 0;
        for mib in 101..=200 {
            if p.check(mib * MIB) {
                trims += 1;
                p.trimmed(mib * MIB);
            }
        }
        assert_eq!(trims, 3, "100 MiB of growth, a trim per 32");
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
