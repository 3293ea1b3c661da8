//! A simulated ingester under load, to check the admission law's timeline.
//!
//! Simulated time in milliseconds: pushes of a fixed size arrive at the offered rate; an
//! admitted push's bytes count as unflushed and become writable `trace_idle_period` later (the
//! flush loop runs every second); writable bytes are cut into blocks of an eighth of the bound,
//! written one after another by each of two writers at half the capacity each, and released
//! when a block is done. The decision is the ingester's: the bound, then [`Admission`] (or only
//! the proportional law, to compare), falling back to the proportional law while the drain rate
//! is unknown.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::{Admission, Verdict};
use crate::backpressure::{refuse_permille, Shedder};

const MIB: f64 = (1u64 << 20) as f64;
const LIMIT: f64 = 512.0 * MIB;
const PUSH: f64 = 0.15 * MIB;
const IDLE_MS: u64 = 5_000;

/// Which law decides in the upper half of the bound.
#[derive(Clone, Copy)]
enum Law {
    DrainRate,
    Proportional,
}

struct Run {
    /// Bytes accepted in each second.
    accepted: Vec<f64>,
    /// The most bytes held unflushed after the warm-up.
    max_held: f64,
}

impl Run {
    /// The accepted MiB of every second, for failure messages.
    fn timeline(&self) -> String {
        let per_s: Vec<String> = self
            .accepted
            .iter()
            .map(|b| format!("{:.0}", b / MIB))
            .collect();
        per_s.join(" ")
    }
}

/// `offered` and `capacity` in MiB/s, for `secs` seconds; `max_held` is tracked after
/// `warm_up` seconds.
fn simulate(law: Law, offered: f64, capacity: f64, secs: usize, warm_up: usize) -> Run {
    simulate_with(Admission::default(), law, offered, capacity, secs, warm_up)
}

/// [`simulate`] with `admission` (e.g. one [`Admission::assuming`] a drain rate).
fn simulate_with(
    admission: Admission,
    law: Law,
    offered: f64,
    capacity: f64,
    secs: usize,
    warm_up: usize,
) -> Run {
    let shedder = Shedder::default();
    let mut held = 0.0;
    let mut live: VecDeque<(u64, f64)> = VecDeque::new();
    let (mut head, mut queue) = (0.0, VecDeque::<f64>::new());
    // Each writer: (block bytes, bytes left to write).
    let mut writers: [Option<(f64, f64)>; 2] = [None, None];
    let mut run = Run {
        accepted: vec![0.0; secs],
        max_held: 0.0,
    };
    let every = PUSH / (offered * MIB) * 1_000.0;
    let mut next_push = 0.0;
    for ms in 0..(secs as u64 * 1_000) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        while next_push < (ms + 1) as f64 {
            next_push += every;
            let proportional = || !shedder.refuse(refuse_permille(held as u64, LIMIT as u64));
            let admit = held < LIMIT
                && match law {
                    Law::Proportional => proportional(),
                    Law::DrainRate => match admission.decide(now, held as u64, LIMIT as u64) {
                        Verdict::Admit => true,
                        Verdict::InDebt { .. } => false,
                        Verdict::Unknown => proportional(),
                    },
                };
            if admit {
                admission.charge(PUSH as u64);
                held += PUSH;
                live.push_back((ms, PUSH));
                run.accepted[(ms / 1_000) as usize] += PUSH;
            }
        }
        if ms % 1_000 == 0 {
            while live.front().is_some_and(|(t, _)| t + IDLE_MS <= ms) {
                head += live.pop_front().map_or(0.0, |(_, b)| b);
                if head >= LIMIT / 8.0 {
                    queue.push_back(head);
                    head = 0.0;
                }
            }
        }
        for w in &mut writers {
            if w.is_none() {
                *w = queue.pop_front().map(|b| (b, b));
            }
            if let Some((bytes, left)) = w {
                *left -= capacity * MIB / 2.0 / 1_000.0;
                if *left <= 0.0 {
                    held -= *bytes;
                    admission.released(now, *bytes as u64);
                    *w = None;
                }
            }
        }
        if ms >= warm_up as u64 * 1_000 {
            run.max_held = run.max_held.max(held);
        }
    }
    run
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn a_load_seven_times_the_capacity_is_accepted_at_a_steady_rate() {
    let (capacity, warm_up) = (30.0, 15);
    for offered in [1.2, 3.0, 7.0] {
        let run = simulate(Law::DrainRate, offered * capacity, capacity, 90, warm_up);
        let warm = &run.accepted[warm_up..];
        let med = median(warm);
        let timeline = run.timeline();
        assert!(
            warm.iter().all(|b| *b >= med / 2.0),
            "offered {offered}×: a second below half the median ({:.1} MiB/s): {timeline}",
            med / MIB
        );
        // Most of what the writers can drain is accepted, and the bound holds.
        assert!(
            med >= 0.8 * capacity * MIB,
            "offered {offered}×: median {:.1} MiB/s: {timeline}",
            med / MIB
        );
        assert!(run.max_held < LIMIT, "held {:.0} MiB", run.max_held / MIB);
    }
}

#[test]
fn a_load_within_the_capacity_is_accepted_whole_once_the_drain_rate_is_known() {
    let run = simulate(Law::DrainRate, 24.0, 30.0, 60, 0);
    // 0.15 MiB pushes at 24 MiB/s: 160 each second. Held bytes pass half the bound (traces wait
    // 5 s to be idle, then for a block to fill and be written), so while the drain rate is
    // still being learnt a few pushes are refused; after that, none.
    for (s, b) in run.accepted.iter().enumerate().skip(20) {
        assert!(
            (b / MIB - 24.0).abs() <= 0.16,
            "second {s}: {}",
            run.timeline()
        );
    }
    let total: f64 = run.accepted.iter().sum();
    assert!(total >= 0.97 * 24.0 * 60.0 * MIB, "{}", run.timeline());
}

#[test]
fn the_proportional_law_alone_swings_under_the_same_load() {
    // What the drain-rate law replaces, in the same model: the steadiness checked above is not
    // a property of the model.
    let run = simulate(Law::Proportional, 210.0, 30.0, 90, 15);
    let warm = &run.accepted[15..];
    let med = median(warm);
    assert!(warm.iter().any(|b| *b < med / 2.0), "{}", run.timeline());
}

#[test]
fn with_an_assumed_rate_a_load_at_start_is_paced_from_the_first_second() {
    // 16 MiB/s assumed (the default), writers that drain 45 MiB/s, seven times that offered.
    let assumed = 16.0;
    let run = simulate_with(
        Admission::assuming((assumed * MIB) as u64),
        Law::DrainRate,
        7.0 * 45.0,
        45.0,
        60,
        10,
    );
    let timeline = run.timeline();
    // The first second: at most the assumed rate times the factor with nothing held (2.5),
    // plus the bucket's burst and one push. Half the bound taken at once instead (256 MiB)
    // came back as a wave of blocks and a second below half the median after the warm-up.
    let first = 2.5 * assumed * (1.0 + super::BURST.as_secs_f64()) * MIB + PUSH;
    assert!(run.accepted[0] <= first, "{timeline}");
    let warm = &run.accepted[10..];
    let med = median(warm);
    assert!(warm.iter().all(|b| *b >= med / 2.0), "{timeline}");
    assert!(run.max_held < LIMIT, "held {:.0} MiB", run.max_held / MIB);
}
