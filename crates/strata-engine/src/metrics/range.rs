//! The time grid of a metrics query (Tempo's `IntervalMapper`).
//!
//! # Invariants
//! * A range query's `start` and `end` are multiples of `step` (the caller aligns them, see
//!   [`MetricsRange::aligned`]), `step` is a whole number of milliseconds, so every sample
//!   timestamp is an exact millisecond and maps back to its interval.
//! * Range intervals are right-closed: interval `i` holds spans starting in
//!   `(start + i·step, start + (i+1)·step]` and its sample is stamped with the right edge
//!   `start + (i+1)·step`. A span starting exactly at `start` belongs to no interval.
//! * An instant query has one interval, `[start, end]` (both ends included), stamped `end`.

/// Nanoseconds per millisecond.
const MS: u64 = 1_000_000;

/// The time range, step and kind of a metrics query, in unix nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsRange {
    pub start: u64,
    pub end: u64,
    pub step: u64,
    pub instant: bool,
}

impl MetricsRange {
    /// A range query aligned as Tempo's frontend does (`AlignRequest`): `step` rounded to
    /// whole milliseconds (at least 1 ms), `start` down to a step multiple and then one more
    /// step earlier (an extra leading interval), `end` up to a step multiple.
    pub fn aligned(start: u64, end: u64, step: u64) -> Self {
        let step = (step / MS).max(1) * MS;
        let mut s = start - start % step;
        let e = match end % step {
            0 => end,
            m => end.saturating_add(step - m),
        };
        if s > step {
            s -= step;
        }
        Self {
            start: s,
            end: e,
            step,
            instant: false,
        }
    }

    /// An instant query over `[start, end]`, truncated to milliseconds.
    pub fn instant(start: u64, end: u64) -> Self {
        let (start, end) = (start - start % MS, end - end % MS);
        Self {
            start,
            end,
            step: end.saturating_sub(start).max(1),
            instant: true,
        }
    }

    /// Number of intervals (samples per series).
    pub fn intervals(&self) -> usize {
        if self.instant {
            return 1;
        }
        if self.step == 0 || self.end <= self.start {
            return 0;
        }
        ((self.end - self.start) / self.step) as usize
    }

    /// The interval of a span starting at `ts`, if any.
    pub fn interval_of(&self, ts: u64) -> Option<usize> {
        if self.instant {
            return (ts >= self.start && ts <= self.end && self.end != self.start).then_some(0);
        }
        if ts <= self.start || ts > self.end || self.step == 0 {
            return None;
        }
        let off = ts - self.start;
        let i = off.div_ceil(self.step) - 1;
        Some(i as usize)
    }

    /// The timestamp (unix ms) of interval `i`'s sample.
    pub fn timestamp_ms(&self, i: usize) -> i64 {
        let ns = if self.instant {
            self.end
        } else {
            self.start + (i as u64 + 1) * self.step
        };
        (ns / MS) as i64
    }

    /// The interval whose sample is stamped `ms` (inverse of [`timestamp_ms`](Self::timestamp_ms)).
    pub fn interval_of_ms(&self, ms: i64) -> Option<usize> {
        if self.instant {
            return (ms == self.timestamp_ms(0)).then_some(0);
        }
        let ns = u64::try_from(ms).ok()?.checked_mul(MS)?;
        if ns <= self.start || ns > self.end || !(ns - self.start).is_multiple_of(self.step) {
            return None;
        }
        Some(((ns - self.start) / self.step) as usize - 1)
    }

    /// The step in seconds (the divisor of `rate()`).
    pub fn step_seconds(&self) -> f64 {
        self.step as f64 / 1e9
    }
}

/// Tempo's default step for a range (`DefaultQueryRangeStep`): about 240 points, rounded
/// down to 1h, 5m, 1m, 15s, 5s or 1s (50 ms multiples below one minute).
pub fn default_step(start: u64, end: u64) -> u64 {
    const SEC: u64 = 1_000_000_000;
    let delta = end.saturating_sub(start);
    let baseline = delta / 240;
    if delta < 60 * SEC {
        let g = 50 * MS;
        return if baseline > g { baseline / g * g } else { g };
    }
    for g in [3600 * SEC, 300 * SEC, 60 * SEC, 15 * SEC, 5 * SEC, SEC] {
        if baseline > g {
            return baseline / g * g;
        }
    }
    SEC
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn alignment_adds_a_leading_step_and_rounds_end_up() {
        let r = MetricsRange::aligned(1000 * S + 7, 1100 * S + 1, 60 * S);
        assert_eq!(r.start, 900 * S); // 960 aligned down, minus one step
        assert_eq!(r.end, 1140 * S);
        assert_eq!(r.intervals(), 4);
        assert_eq!(r.timestamp_ms(0), 960_000);
    }

    #[test]
    fn intervals_are_right_closed() {
        let r = MetricsRange::aligned(120 * S, 240 * S, 60 * S); // start 60s
        assert_eq!(r.start, 60 * S);
        assert_eq!(r.interval_of(60 * S), None);
        assert_eq!(r.interval_of(60 * S + 1), Some(0));
        assert_eq!(r.interval_of(120 * S), Some(0));
        assert_eq!(r.interval_of(120 * S + 1), Some(1));
        assert_eq!(r.interval_of(240 * S), Some(2));
        assert_eq!(r.interval_of(240 * S + 1), None);
        for i in 0..r.intervals() {
            assert_eq!(r.interval_of_ms(r.timestamp_ms(i)), Some(i));
        }
        assert_eq!(r.interval_of_ms(61_000), None);
    }

    #[test]
    fn instant_includes_both_ends() {
        let r = MetricsRange::instant(10 * S, 20 * S);
        assert_eq!(r.intervals(), 1);
        assert_eq!(r.interval_of(10 * S), Some(0));
        assert_eq!(r.interval_of(20 * S), Some(0));
        assert_eq!(r.interval_of(20 * S + 1), None);
        assert_eq!(r.timestamp_ms(0), 20_000);
        assert_eq!(r.step_seconds(), 10.0);
    }

    #[test]
    fn default_steps_follow_tempo() {
        assert_eq!(default_step(0, 3600 * S), 15 * S);
        assert_eq!(default_step(0, 24 * 3600 * S), 300 * S);
        assert_eq!(default_step(0, 30 * S), 100 * MS);
        assert_eq!(default_step(0, S), 50 * MS);
        assert_eq!(default_step(0, 120 * S), S);
    }
}
