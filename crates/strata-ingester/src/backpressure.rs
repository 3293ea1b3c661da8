//! Proportional refusal of pushes as unflushed bytes approach `max_unflushed_bytes`.
//!
//! All-or-nothing refusal at the limit turns a saturating load into blackouts: every push is
//! refused until a whole block is written, then everything is accepted again. Instead, pushes
//! are shed in proportion to how far the unflushed bytes are into the upper half of the bound:
//!
//! | unflushed bytes `u` (limit `L`) | pushes refused           |
//! |---------------------------------|--------------------------|
//! | `u < L/2`                       | none                     |
//! | `L/2 ≤ u < L`                   | `(u − L/2) / (L/2)`      |
//! | `u ≥ L`                         | all                      |
//!
//! so the accepted rate settles where the block writers release bytes as fast as pushes add
//! them, and memory stays below `L` (pushes in flight can overshoot it by what they carry).
//!
//! Invariants: the decision is made before the WAL append, so a refused push is never written
//! anywhere; every refusal is counted by the caller; the refused pushes are spread evenly (the
//! `n`-th decision at fraction `f` refuses iff `⌊(n+1)·f⌋ > ⌊n·f⌋`, in thousandths), not
//! random, so the fraction is exact over any window of 1000 decisions and tests are
//! deterministic.

use std::sync::atomic::{AtomicU64, Ordering};

/// Thousandths of pushes to refuse with `unflushed` bytes held and a bound of `limit`.
pub fn refuse_permille(unflushed: u64, limit: u64) -> u64 {
    let soft = limit / 2;
    if unflushed >= limit {
        1000
    } else if unflushed < soft {
        0
    } else {
        // limit > soft here, since unflushed < limit.
        let span = u128::from(limit - soft);
        (u128::from(unflushed - soft) * 1000 / span) as u64
    }
}

/// Spreads refusals evenly over successive decisions.
#[derive(Debug, Default)]
pub struct Shedder {
    decisions: AtomicU64,
}

impl Shedder {
    /// Whether this push is refused, at `permille` thousandths refused.
    pub fn refuse(&self, permille: u64) -> bool {
        match permille {
            0 => false,
            p if p >= 1000 => true,
            p => {
                let n = self.decisions.fetch_add(1, Ordering::Relaxed) % 1000;
                (n + 1) * p / 1000 > n * p / 1000
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_fraction_grows_over_the_upper_half_of_the_bound() {
        assert_eq!(refuse_permille(0, 1000), 0);
        assert_eq!(refuse_permille(499, 1000), 0);
        assert_eq!(refuse_permille(500, 1000), 0);
        assert_eq!(refuse_permille(750, 1000), 500);
        assert_eq!(refuse_permille(999, 1000), 998);
        assert_eq!(refuse_permille(1000, 1000), 1000);
        assert_eq!(refuse_permille(u64::MAX, u64::MAX), 1000);
        assert_eq!(refuse_permille(1, 1), 1000);
        assert_eq!(refuse_permille(0, 1), 0);
        assert_eq!(refuse_permille(0, 0), 1000);
    }

    #[test]
    fn shedder_refuses_exactly_the_fraction_spread_evenly() {
        for p in [1, 250, 333, 500, 999] {
            let s = Shedder::default();
            let refused: Vec<bool> = (0..2000).map(|_| s.refuse(p)).collect();
            assert_eq!(refused.iter().filter(|r| **r).count() as u64, 2 * p, "{p}");
            // Evenly: no window of 100 decisions is off by more than one from the fraction.
            for w in refused.windows(100).step_by(50) {
                let n = w.iter().filter(|r| **r).count() as i64;
                assert!((n - p as i64 / 10).abs() <= 1, "p={p} n={n}");
            }
        }
        let s = Shedder::default();
        assert!((0..100).all(|_| !s.refuse(0)));
        assert!((0..100).all(|_| s.refuse(1000)));
    }
}
