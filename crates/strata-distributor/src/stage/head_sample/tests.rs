use rand::{Rng, SeedableRng};
use strata_config::TenantLimits;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_proto::tempopb;

use super::*;

fn ids(n: usize, seed: u64) -> Vec<TraceId> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| TraceId(rng.random())).collect()
}

#[test]
fn thresholds_follow_the_ratio() {
    assert_eq!(threshold(1.0), 0);
    assert_eq!(threshold(0.0), MAX);
    assert_eq!(threshold(0.5), 0x80_0000_0000_0000);
    assert_eq!(format_th(threshold(0.5)), "8");
    assert_eq!(format_th(threshold(0.25)), "c");
    assert_eq!(format_th(0), "0");
    for r in [0.1, 0.01, 0.333, 0.9999] {
        let t = threshold(r);
        assert_eq!(parse_th(&format!("ot=th:{}", format_th(t))), Some(t), "{r}");
    }
    assert!(
        threshold(0.1) > threshold(0.2),
        "stricter ratio, higher threshold"
    );
}

#[test]
fn tracestate_th_is_read_and_written_by_the_w3c_rules() {
    assert_eq!(parse_th("ot=th:8"), Some(0x80_0000_0000_0000));
    assert_eq!(
        parse_th("vendor=x, ot=rv:abcdef01234567;th:c"),
        Some(0xC0_0000_0000_0000)
    );
    assert_eq!(parse_th("ot=th:0"), Some(0));
    for bad in [
        "",
        "ot=rv:01",
        "ot=th:xyz",
        "ot=th:123456789012345",
        "other=th:8",
        "ot=th:",
    ] {
        assert_eq!(parse_th(bad), None, "{bad:?}");
    }
    assert_eq!(with_th("", 0x80_0000_0000_0000), "ot=th:8");
    assert_eq!(
        with_th("vendor=x,ot=rv:01;th:4", 0x80_0000_0000_0000),
        "ot=th:8;rv:01,vendor=x"
    );
}

#[test]
fn randomness_is_the_low_56_bits_of_the_trace_id() {
    let mut a = [0u8; 16];
    a[9..].copy_from_slice(&[0xff; 7]);
    assert_eq!(randomness(&TraceId(a)), MAX - 1);
    let mut b = a;
    b[..9].copy_from_slice(&[0x42; 9]);
    assert_eq!(randomness(&TraceId(b)), MAX - 1, "high bytes do not count");
}

#[test]
fn a_trace_kept_at_a_ratio_is_kept_at_every_higher_ratio() {
    let ratios = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.99, 1.0];
    for id in ids(5000, 1) {
        let kept: Vec<bool> = ratios
            .iter()
            .map(|r| keep(&id, threshold(*r), None))
            .collect();
        let first = kept.iter().position(|k| *k).unwrap_or(kept.len());
        assert!(kept[first..].iter().all(|k| *k), "{id:?}: {kept:?}");
        assert!(!kept[0] && kept[kept.len() - 1]);
    }
}

#[test]
fn the_kept_fraction_matches_the_ratio() {
    let n = 20_000;
    let t = threshold(0.1);
    let kept = ids(n, 2).iter().filter(|id| keep(id, t, None)).count();
    let frac = kept as f64 / n as f64;
    let sigma = (0.1f64 * 0.9 / n as f64).sqrt();
    assert!((frac - 0.1).abs() < 4.0 * sigma, "kept {frac}");
}

fn trace_of(id: TraceId, spans: usize, tracestate: &str) -> TraceSpans {
    let spans: Vec<Span> = (0..spans)
        .map(|i| Span {
            trace_id: id.as_bytes().to_vec(),
            span_id: vec![i as u8 + 1; 8],
            trace_state: tracestate.to_string(),
            ..Default::default()
        })
        .collect();
    TraceSpans {
        trace_id: id,
        span_count: spans.len() as u32,
        start_unix_nano: 0,
        end_unix_nano: 0,
        trace: tempopb::Trace {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        },
    }
}

fn sampler(ratio: f64) -> Arc<HeadSampler> {
    let mut limits = TenantLimits::default();
    limits.sampling.head_ratio = ratio;
    HeadSampler::new(Overrides::fixed(limits))
}

#[test]
fn the_sampler_keeps_whole_traces_marks_them_and_counts_the_rest() {
    let all = ids(400, 3);
    let t = threshold(0.1);
    let traces: Vec<_> = all.iter().map(|id| trace_of(*id, 3, "vendor=x")).collect();
    let out = sampler(0.1).sample(&TenantId::single(), traces);
    let expected: Vec<_> = all.iter().filter(|id| keep(id, t, None)).collect();
    assert_eq!(
        out.kept.iter().map(|k| &k.trace_id).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(out.dropped.len(), all.len() - expected.len());
    assert!(out.dropped.iter().all(|d| *d == (REASON, 3)));
    for k in &out.kept {
        let spans = &k.trace.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 3, "whole");
        for s in spans {
            assert_eq!(s.trace_state, format!("ot=th:{},vendor=x", format_th(t)));
        }
    }
}

#[test]
fn upstream_sampling_at_this_ratio_or_below_is_not_repeated() {
    // Randomness 0: dropped at any ratio below 1 unless upstream already sampled it.
    let id = TraceId([0; 16]);
    let stricter = format!("ot=th:{}", format_th(threshold(0.05)));
    let out = sampler(0.1).sample(&TenantId::single(), vec![trace_of(id, 2, &stricter)]);
    assert_eq!(out.kept.len(), 1);
    let spans = &out.kept[0].trace.resource_spans[0].scope_spans[0].spans;
    assert_eq!(
        spans[0].trace_state, stricter,
        "its own, higher threshold stays"
    );

    let looser = format!("ot=th:{}", format_th(threshold(0.5)));
    let out = sampler(0.1).sample(&TenantId::single(), vec![trace_of(id, 2, &looser)]);
    assert!(
        out.kept.is_empty(),
        "sampled upstream at 50 %, not yet at 10 %"
    );
    assert_eq!(out.dropped, vec![(REASON, 2)]);
}

#[test]
fn ratio_one_changes_nothing() {
    let traces: Vec<_> = ids(10, 4)
        .into_iter()
        .map(|id| trace_of(id, 1, ""))
        .collect();
    let out = sampler(1.0).sample(&TenantId::single(), traces.clone());
    assert_eq!(out.kept, traces);
    assert!(out.dropped.is_empty());
}
