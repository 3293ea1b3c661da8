//! Admission at the block writers' drain rate, in the upper half of `max_unflushed_bytes`.
//!
//! [`crate::backpressure`]'s proportional law refuses a fraction of pushes that grows with
//! the unflushed bytes. Its gain scales with the *offered* load: when clients offer seven
//! times what the writers drain, the fraction has to settle near 6/7, and a small change in
//! held bytes swings the accepted rate by a large part of the offered load. Held bytes answer
//! only `trace_idle_period` later (a trace is written once it is idle), so that loop
//! overshoots: seconds accepting everything, then seconds refusing nearly everything.
//!
//! Once the writers' drain rate `D` is known, pushes are admitted instead by a token bucket
//! refilled at `D` times a factor that falls gently with the unflushed bytes `u` (bound `L`):
//!
//! | unflushed bytes            | admitted                                                   |
//! |----------------------------|------------------------------------------------------------|
//! | `u < L/2`                  | every push, once `D` is measured (until then, as below)    |
//! | `L/2 ≤ u < L`              | `D · g(u)` bytes/s, `g(u) = 1 + 2·(0.75 − u/L)`: 1.5 at `L/2`, 1 at `0.75·L`, 0.5 near `L` |
//! | `u ≥ L`                    | none (the bound itself, [`crate::Ingester`])              |
//!
//! The gain now scales with what the writers drain, not with what clients offer, so while the
//! held bytes are in the band the accepted rate stays between 0.4 and 2.4 times the drain
//! rate, second after second; the excess is refused evenly, as it arrives.
//!
//! The gain is low on purpose: the held bytes answer a change of the admitted rate only
//! `trace_idle_period` plus a block write later (6–8 s), and a loop whose gain times its delay
//! is well above 1 overshoots. With `g` falling by 4 per bound and a drain of about an eighth of
//! the bound per second, the held bytes swung into the bound every 10 s or so, where pushes
//! wait for a block to finish (seconds below half the median in most 60 s runs); at 2 per bound
//! they settle. The setpoint leaves room above it for that delay (the held bytes are at least
//! what arrives over `trace_idle_period` plus the blocks being written, so it cannot be much
//! lower without leaving the writers idle). Measured (2-vCPU machine, saturating gRPC load,
//! 60 s, three runs each, alternated): gain 4 / setpoint 0.85 had 2, 0 and 2 seconds below half
//! the median, lowest seconds 35k–85k spans/s; gain 2 / setpoint 0.75 had 0, 0 and 0, lowest
//! seconds 102k–105k against medians of 147k–151k, highest 212k–263k (against 276k–359k).
//!
//! `D` is the bytes released (written to blocks, or dropped) in the last [`WINDOW`], over the
//! time since the first of those releases; it is known once two releases fall in the window
//! and the first is at least [`MIN_SPAN`] old. Until it is first measured (the first blocks are
//! written several seconds after start) an assumed rate stands in, when the ingester is
//! configured with one ([`Admission::assuming`], `ingester.assumed_drain_bytes_per_second`),
//! and the bucket paces pushes below the band too: a saturating load at start is then paced
//! from the first second instead of filling half the bound at once (measured on a 2-vCPU
//! machine: 650k spans in the first second, whose blocks came back as a wave that left a
//! second below half the median 14 s in, in half the runs). Without one the caller falls
//! back to the proportional law. Afterwards, while the window holds too few releases
//! (big blocks written seldom, or writers that stopped), the last rate measured stands: falling
//! back to the proportional law there refused pushes in bursts, sending clients away for their
//! retry delay (measured: 5-second blackouts with clients honouring `RetryInfo`). Writers
//! that stopped cannot make it admit without bound: the held bytes grow, the factor falls, and
//! the bound itself refuses.
//!
//! A push is admitted while the bucket is not in debt; what it carries is debited when it is
//! decided ([`Admission::charge`]), so admitted pushes can overdraw the bucket by what they
//! carry and the next ones wait for the refill. The bucket holds at most [`BURST`] of the rate.
//! Time is the caller's (the ingester's injected clock); a clock going backwards refills
//! nothing.
//!
//! A push that finds the bucket in debt is told when the refill will have paid it
//! ([`Verdict::InDebt`]'s `refilled_in`): the ingester may then charge it and hold it that long
//! rather than refuse it (`crate::shed`).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

/// How far back releases count towards the drain rate.
pub const WINDOW: Duration = Duration::from_secs(15);
/// The least time the window's releases must span before their rate counts: two writers
/// finishing at once would otherwise look like a burst of drain.
pub const MIN_SPAN: Duration = Duration::from_secs(3);
/// The most the bucket holds, as time at the current rate.
pub const BURST: Duration = Duration::from_millis(250);
/// Where admitting exactly the drain rate holds the unflushed bytes, as a share of the bound.
const SETPOINT: f64 = 0.75;
/// How fast the admitted rate falls with the unflushed bytes (per bound; module docs).
const GAIN: f64 = 2.0;

/// What [`Admission::decide`] says of one push.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Admit it.
    Admit,
    /// Not now: the bucket is in debt at `rate` bytes/s; at that rate the debt is paid in
    /// `refilled_in` (`None` when the rate is 0: only a fall of the held bytes helps). The
    /// caller holds the push or refuses it.
    InDebt {
        rate: f64,
        refilled_in: Option<Duration>,
    },
    /// The drain rate is not known: decide by the proportional law.
    Unknown,
}

/// The token bucket and the drain-rate window (module docs). Shared by all pushes.
#[derive(Debug, Default)]
pub struct Admission {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Releases in the last [`WINDOW`]: when, and how many bytes.
    releases: VecDeque<(SystemTime, u64)>,
    /// Bytes that may still be admitted; negative: in debt.
    tokens: f64,
    /// When the bucket was last refilled.
    refilled: Option<SystemTime>,
    /// The drain rate last measured from a full enough window (or the assumed one).
    last_rate: Option<f64>,
    /// Whether `last_rate` was ever measured (not only assumed).
    measured: bool,
}

fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

impl State {
    fn expire(&mut self, now: SystemTime) {
        while self
            .releases
            .front()
            .is_some_and(|(t, _)| since(now, *t) > WINDOW)
        {
            self.releases.pop_front();
        }
    }

    /// Bytes/s released: all but the first release of the window, over the time since it; the
    /// last such rate while the window holds too few releases.
    fn drain_rate(&mut self, now: SystemTime) -> Option<f64> {
        self.expire(now);
        if let Some(rate) = self.window_rate(now) {
            self.last_rate = Some(rate);
            self.measured = true;
        }
        self.last_rate
    }

    fn window_rate(&self, now: SystemTime) -> Option<f64> {
        if self.releases.len() < 2 {
            return None;
        }
        let (first_at, first) = *self.releases.front()?;
        let total: u64 = self.releases.iter().map(|(_, b)| b).sum();
        let span = since(now, first_at);
        (span >= MIN_SPAN).then(|| (total - first) as f64 / span.as_secs_f64())
    }
}

/// The share of the drain rate admitted with `unflushed` of `limit` bytes held.
pub fn factor(unflushed: u64, limit: u64) -> f64 {
    let held = unflushed as f64 / limit.max(1) as f64;
    (1.0 + GAIN * (SETPOINT - held)).max(0.0)
}

impl Admission {
    /// An admission that assumes the writers drain `bytes_per_second` until it has measured
    /// them (module docs); 0 assumes nothing.
    pub fn assuming(bytes_per_second: u64) -> Self {
        let a = Self::default();
        if bytes_per_second > 0 {
            a.state.lock().last_rate = Some(bytes_per_second as f64);
        }
        a
    }

    /// `bytes` left memory at `now` (a block was written, or its data dropped).
    pub fn released(&self, now: SystemTime, bytes: u64) {
        let mut s = self.state.lock();
        s.releases.push_back((now, bytes));
        s.expire(now);
    }

    /// The writers' drain rate in bytes/s, if known (module docs).
    pub fn drain_rate(&self, now: SystemTime) -> Option<f64> {
        self.state.lock().drain_rate(now)
    }

    /// Whether a push arriving at `now` is admitted with `unflushed` of `limit` bytes held.
    pub fn decide(&self, now: SystemTime, unflushed: u64, limit: u64) -> Verdict {
        let mut s = self.state.lock();
        let Some(drain) = s.drain_rate(now) else {
            // The proportional law decides: what it admits is no debt of the bucket's.
            s.tokens = 0.0;
            s.refilled = None;
            return Verdict::Unknown;
        };
        let rate = drain * factor(unflushed, limit);
        let burst = rate * BURST.as_secs_f64();
        // u < L/2, exactly (L/2 rounded down would be 0 for a bound of 1 byte). While the rate
        // is only assumed, the bucket paces below the band too.
        if s.measured && u128::from(unflushed) * 2 < u128::from(limit) {
            // Below the band: admit, and enter it with a full bucket.
            s.tokens = burst;
            s.refilled = Some(now);
            return Verdict::Admit;
        }
        if !s.measured && s.refilled.is_none() {
            // Paced by an assumed rate from the first push: start with a full bucket, as the
            // band is entered once the rate is measured.
            s.tokens = burst;
        }
        let elapsed = s.refilled.map_or(Duration::ZERO, |t| since(now, t));
        s.tokens = (s.tokens + rate * elapsed.as_secs_f64()).min(burst);
        s.refilled = Some(now);
        if s.tokens > 0.0 {
            Verdict::Admit
        } else {
            let refilled_in = (rate > 0.0)
                .then(|| Duration::from_secs_f64((-s.tokens / rate).min(3600.0)))
                .map(|d| d.max(Duration::from_millis(1)));
            Verdict::InDebt { rate, refilled_in }
        }
    }

    /// An admitted push carried `bytes`.
    pub fn charge(&self, bytes: u64) {
        self.state.lock().tokens -= bytes as f64;
    }
}

#[cfg(test)]
mod sim;

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn the_drain_rate_is_known_from_two_releases_in_the_window() {
        let a = Admission::default();
        assert_eq!(a.drain_rate(at(0)), None);
        a.released(at(1_000), 64 * MIB);
        assert_eq!(a.drain_rate(at(2_000)), None);
        a.released(at(1_100), 64 * MIB);
        // Two writers finishing together: not yet a rate.
        assert_eq!(a.drain_rate(at(3_000)), None);
        assert_eq!(a.decide(at(2_000), 400 * MIB, 512 * MIB), Verdict::Unknown);
        // 64 MiB after the first release, 3 s after it.
        let rate = a.drain_rate(at(4_000)).expect("known");
        assert!((rate - (64 * MIB) as f64 / 3.0).abs() < 1.0, "{rate}");
        // Releases leave the window: the last rate measured stands.
        assert_eq!(a.drain_rate(at(1_100 + 15_001)), Some(rate));
        // A new window's rate replaces it once it is measurable.
        a.released(at(20_000), 8 * MIB);
        a.released(at(21_000), 8 * MIB);
        assert_eq!(a.drain_rate(at(22_000)), Some(rate));
        let now = a.drain_rate(at(24_000)).expect("known");
        assert!((now - (8 * MIB) as f64 / 4.0).abs() < 1.0, "{now}");
    }

    #[test]
    fn an_assumed_rate_stands_until_one_is_measured() {
        let a = Admission::assuming(4 * MIB);
        assert_eq!(a.drain_rate(at(0)), Some((4 * MIB) as f64));
        // In the band at once: admitted at the assumed rate, not by the proportional law.
        assert_ne!(a.decide(at(0), 600 * MIB, 1000 * MIB), Verdict::Unknown);
        a.released(at(1_000), 64 * MIB);
        a.released(at(2_000), 64 * MIB);
        let measured = a.drain_rate(at(4_000)).expect("known");
        assert!(
            (measured - (64 * MIB) as f64 / 3.0).abs() < 1.0,
            "{measured}"
        );
        assert_eq!(Admission::assuming(0).drain_rate(at(0)), None);
    }

    #[test]
    fn the_factor_falls_through_the_band() {
        let l = 1000;
        assert!((factor(500, l) - 1.5).abs() < 1e-9);
        assert!((factor(750, l) - 1.0).abs() < 1e-9);
        assert!((factor(1000, l) - 0.5).abs() < 1e-9);
        assert_eq!(factor(2000, l), 0.0);
    }

    #[test]
    fn in_the_band_the_bucket_admits_the_drain_rate_times_the_factor() {
        let a = Admission::default();
        // 10 MiB/s drained.
        for s in 0..=10 {
            a.released(at(s * 1_000), 10 * MIB);
        }
        let limit = 1000 * MIB;
        let held = 750 * MIB; // factor 1
        let (mut admitted, mut refused) = (0u64, 0u64);
        // 1 MiB pushes offered at 100 MiB/s for 4 s.
        for ms in (10_000..14_000).step_by(10) {
            match a.decide(at(ms), held, limit) {
                Verdict::Admit => {
                    a.charge(MIB);
                    admitted += MIB;
                }
                Verdict::InDebt { rate, refilled_in } => {
                    assert!(rate > 0.0);
                    // The debt is at most the one push that overdrew the bucket.
                    let wait = refilled_in.expect("a positive rate pays the debt");
                    assert!(wait.as_secs_f64() <= MIB as f64 / rate + 1e-6, "{wait:?}");
                    refused += 1;
                }
                Verdict::Unknown => panic!("rate is known"),
            }
        }
        // The drain rate at t s is 100 MiB / t (the first release does not count): the bucket
        // admits ∫ 100/t dt over 10..14 s = 100·ln 1.4 ≈ 33.6 MiB, plus at most one push.
        let mib = admitted as f64 / MIB as f64;
        assert!((32.0..=35.5).contains(&mib), "admitted {mib:.1} MiB");
        assert!(refused > 300, "the excess is refused: {refused}");
    }

    #[test]
    fn with_a_bound_of_one_byte_the_first_push_is_below_half() {
        let a = Admission::assuming(MIB);
        assert_eq!(a.decide(at(0), 0, 1), Verdict::Admit);
        assert!(matches!(
            a.decide(at(0), 100, 1),
            Verdict::InDebt {
                refilled_in: None,
                ..
            }
        ));
    }

    #[test]
    fn an_assumed_rate_paces_below_the_band_too_until_a_rate_is_measured() {
        let a = Admission::assuming(4 * MIB);
        // 1 MiB pushes offered at 100 MiB/s for 2 s with nothing held: the bucket admits the
        // assumed rate times the factor at 0 held (2.5), plus the bucket's 250 ms it starts
        // with, and at most one push more.
        let mut admitted = 0;
        for ms in (0..2_000).step_by(10) {
            if a.decide(at(ms), 0, 1000 * MIB) == Verdict::Admit {
                a.charge(MIB);
                admitted += MIB;
            }
        }
        let mib = admitted as f64 / MIB as f64;
        assert!((21.0..=23.5).contains(&mib), "admitted {mib:.1} MiB");
        // Measured: below the band everything is admitted again.
        a.released(at(2_000), MIB);
        a.released(at(3_000), MIB);
        assert!(a.drain_rate(at(5_000)).is_some());
        for ms in 5_000..5_100 {
            assert_eq!(a.decide(at(ms), 0, 1000 * MIB), Verdict::Admit);
            a.charge(10 * MIB);
        }
    }

    #[test]
    fn below_the_band_everything_is_admitted() {
        let a = Admission::default();
        a.released(at(0), MIB);
        a.released(at(1_000), MIB);
        for ms in 3_000..3_100 {
            assert_eq!(a.decide(at(ms), 100, 1000), Verdict::Admit);
            a.charge(10 * MIB);
        }
    }
}
