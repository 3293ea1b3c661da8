//! TraceQL metrics over batches: every function against values computed by hand, `by()`
//! with missing values, second stages, and partial answers merging to the same result as one
//! pass.

mod common;

use common::{batch, i, s, sp, Sp};
use strata_engine::metrics::{MetricsAccumulator, MetricsJob, MetricsRange};
use strata_proto::otlp::common::any_value::Value;
use strata_proto::tempopb::{QueryRangeRequest, QueryRangeResponse};

const S: u64 = 1_000_000_000;

/// 12 spans in 4 traces between t=1000s and t=1240s; durations 1..12 ms; services a/b;
/// `span.n` on even spans only.
fn spans() -> Vec<Sp> {
    (0..12u8)
        .map(|k| {
            let start = 1000 * S + u64::from(k) * 20 * S + 1;
            let dur = (u64::from(k) + 1) * 1_000_000;
            let mut x = sp(k / 3 + 1, k + 1, 0, "op", start, start + dur).svc(if k % 2 == 0 {
                "a"
            } else {
                "b"
            });
            if k % 2 == 0 {
                x = x.attr("n", i(i64::from(k)));
            }
            x
        })
        .collect()
}

fn req(q: &str) -> QueryRangeRequest {
    let r = MetricsRange::aligned(1000 * S, 1240 * S, 60 * S);
    QueryRangeRequest {
        query: q.into(),
        start: r.start,
        end: r.end,
        step: r.step,
        exemplars: 10,
        ..Default::default()
    }
}

fn run(q: &str) -> QueryRangeResponse {
    let job = MetricsJob::new(&req(q)).unwrap();
    let mut acc = job.accumulator();
    job.observe_batch(&projected(&job, &batch(&spans())), &mut acc)
        .unwrap();
    job.finish(&acc)
}

/// `b` with only the columns the job reads, as a block scan gives it.
fn projected(job: &MetricsJob, b: &arrow_array::RecordBatch) -> arrow_array::RecordBatch {
    let schema = b.schema();
    let idx: Vec<usize> = job
        .columns()
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    b.project(&idx).unwrap()
}

fn label_str(v: &Option<strata_proto::otlp::common::AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// `labels → [(timestamp s, value)]`.
fn table(r: &QueryRangeResponse) -> Vec<(String, Vec<(i64, f64)>)> {
    r.series
        .iter()
        .map(|s| {
            let l = s
                .labels
                .iter()
                .map(|l| format!("{}={}", l.key, label_str(&l.value)))
                .collect::<Vec<_>>()
                .join(",");
            let v = s
                .samples
                .iter()
                .map(|x| (x.timestamp_ms / 1000, (x.value * 1e12).round() / 1e12))
                .collect();
            (l, v)
        })
        .collect()
}

#[test]
fn count_over_time_by_service() {
    // Grid: start 900s (1000 aligned down to 960, minus a step); intervals (900,960],
    // (960,1020], ... Span k starts at 1000+20k s + 1ns: (960,1020] holds k=0 (a),
    // (1020,1080] k=1 (b), 2 (a), 3 (b), and so on.
    let t = table(&run("{ } | count_over_time() by (resource.service.name)"));
    assert_eq!(
        t,
        vec![
            (
                "resource.service.name=a".into(),
                vec![
                    (960, 0.0),
                    (1020, 1.0),
                    (1080, 1.0),
                    (1140, 2.0),
                    (1200, 1.0),
                    (1260, 1.0)
                ]
            ),
            (
                "resource.service.name=b".into(),
                vec![
                    (960, 0.0),
                    (1020, 0.0),
                    (1080, 2.0),
                    (1140, 1.0),
                    (1200, 2.0),
                    (1260, 1.0)
                ]
            ),
        ]
    );
}

#[test]
fn rate_divides_by_the_step_and_ungrouped_series_are_named() {
    let t = table(&run("{ } | rate()"));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, "__name__=rate");
    let counts: Vec<f64> = t[0].1.iter().map(|(_, v)| (v * 60.0).round()).collect();
    assert_eq!(counts, vec![0.0, 1.0, 3.0, 3.0, 3.0, 2.0]);
    assert_eq!(counts.iter().sum::<f64>(), 12.0);
}

#[test]
fn sum_min_max_avg_of_duration_in_seconds() {
    // Interval (1020,1080]: spans k=1,2,3 → 2,3,4 ms.
    let at = |q: &str| {
        let t = table(&run(q));
        assert_eq!(t.len(), 1, "{q}");
        t[0].1.iter().find(|(ts, _)| *ts == 1080).unwrap().1
    };
    assert!((at("{ } | sum_over_time(duration)") - 0.009).abs() < 1e-12);
    assert!((at("{ } | min_over_time(duration)") - 0.002).abs() < 1e-12);
    assert!((at("{ } | max_over_time(duration)") - 0.004).abs() < 1e-12);
    assert!((at("{ } | avg_over_time(duration)") - 0.003).abs() < 1e-12);
    // Intervals without spans have no sample (NaN skipped).
    let t = table(&run("{ } | max_over_time(duration)"));
    assert_eq!(t[0].1.first().unwrap().0, 1020);
}

#[test]
fn by_with_missing_attributes_drops_nil_labels() {
    let t = table(&run("{ } | sum_over_time(span.n) by (span.n)"));
    // Only even spans have n; the value is n itself.
    assert_eq!(t.len(), 6);
    let t = table(&run("{ } | count_over_time() by (span.missing)"));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, "span.missing=nil");
    let t = table(&run(
        "{ } | count_over_time() by (span.n, resource.service.name)",
    ));
    assert!(
        t.iter().any(|(l, _)| l == "resource.service.name=b"),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|(l, _)| l == "span.n=0,resource.service.name=a"),
        "{t:?}"
    );
}

#[test]
fn filters_select_spans() {
    let t = table(&run(
        "{ resource.service.name = \"b\" } | count_over_time()",
    ));
    let total: f64 = t[0].1.iter().map(|x| x.1).sum();
    assert_eq!(total, 6.0);
    let t = table(&run("{ duration > 6ms } | count_over_time()"));
    let total: f64 = t[0].1.iter().map(|x| x.1).sum();
    assert_eq!(total, 6.0);
}

#[test]
fn histogram_and_quantiles_use_power_of_two_buckets() {
    let t = table(&run("{ } | histogram_over_time(duration)"));
    // 1 ms → 2^20 ns bucket ≈ 0.001048576 s; 12 ms → 2^24 ns.
    let total: f64 = t.iter().flat_map(|(_, v)| v).map(|x| x.1).sum();
    assert_eq!(total, 12.0);
    assert!(t.iter().all(|(l, _)| l.starts_with("__bucket=")), "{t:?}");
    let r = run("{ } | quantile_over_time(duration, .5, .9)");
    let t = table(&r);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].0, "p=0.5");
    assert_eq!(t[1].0, "p=0.9");
    // (1020,1080]: 2,3,4 ms; p50 is the 2nd sample, 3 ms → bucket (2^21, 2^22] ns.
    let p50 = t[0].1.iter().find(|x| x.0 == 1080).unwrap().1;
    assert!(p50 > 0.002 && p50 <= 4_194_304e-9, "{p50}");
}

#[test]
fn second_stages() {
    let t = table(&run(
        "{ } | count_over_time() by (resource.service.name) | topk(1)",
    ));
    // At 1080 b (2) beats a (1); at 1140 a (2) beats b (1).
    let b = &t.iter().find(|x| x.0.ends_with("=b")).unwrap().1;
    assert!(b.contains(&(1080, 2.0)));
    assert!(!b.iter().any(|x| x.0 == 1140));
    let t = table(&run(
        "{ } | count_over_time() by (resource.service.name) | bottomk(1)",
    ));
    let a = &t.iter().find(|x| x.0.ends_with("=a")).unwrap().1;
    assert!(a.contains(&(1080, 1.0)));
    let t = table(&run(
        "{ } | count_over_time() by (resource.service.name) > 1",
    ));
    for (_, v) in &t {
        assert!(v.iter().all(|x| x.1 > 1.0));
    }
}

#[test]
fn partial_answers_merge_to_the_single_pass_answer() {
    for q in [
        "{ } | rate() by (resource.service.name)",
        "{ } | avg_over_time(duration)",
        "{ } | min_over_time(duration) by (span.n)",
        "{ } | quantile_over_time(duration, .5, .99)",
        "{ } | histogram_over_time(duration)",
        "{ } | compare({ resource.service.name = \"a\" }, 3)",
        "({ } | rate() by (resource.service.name)) / ({ } | avg_over_time(duration))",
        "2 * ({ } | min_over_time(duration)) - ({ } | quantile_over_time(duration, .5))",
    ] {
        let job = MetricsJob::new(&req(q)).unwrap();
        let all = spans();
        let mut whole = job.accumulator();
        job.observe_batch(&batch(&all), &mut whole).unwrap();
        let mut merged = job.accumulator();
        for part in [&all[..5], &all[5..]] {
            let mut acc = job.accumulator();
            job.observe_batch(&batch(part), &mut acc).unwrap();
            // Through the wire form, as ingesters send it.
            let mut wire = MetricsAccumulator::clone(&job.accumulator());
            wire.merge(acc.to_partial());
            merged.merge_acc(wire);
        }
        assert_eq!(
            table(&job.finish(&whole)),
            table(&job.finish(&merged)),
            "{q}"
        );
    }
}

#[test]
fn exemplars_carry_trace_and_span_ids_and_are_capped() {
    let r = run("{ } | quantile_over_time(duration, .5)");
    let ex: Vec<_> = r.series.iter().flat_map(|s| &s.exemplars).collect();
    assert!(!ex.is_empty());
    assert!(ex.len() <= 10);
    for e in ex {
        let keys: Vec<&str> = e.labels.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, vec!["trace:id", "span:id"]);
        assert!(e.value > 0.0);
    }
    let mut q = req("{ } | count_over_time()");
    q.exemplars = 1;
    let job = MetricsJob::new(&q).unwrap();
    let mut acc = job.accumulator();
    job.observe_batch(&batch(&spans()), &mut acc).unwrap();
    let r = job.finish(&acc);
    assert_eq!(r.series[0].exemplars.len(), 1);
    // A count's exemplar takes its interval's value.
    assert!(r.series[0].exemplars[0].value >= 1.0);
}

#[test]
fn instant_queries_cover_the_whole_range() {
    let q = QueryRangeRequest {
        query: "{ } | count_over_time() by (resource.service.name)".into(),
        start: 1000 * S,
        end: 1240 * S,
        instant: Some(true),
        ..Default::default()
    };
    let job = MetricsJob::new(&q).unwrap();
    let mut acc = job.accumulator();
    job.observe_batch(&batch(&spans()), &mut acc).unwrap();
    let r = job.finish_instant(&acc);
    let vals: Vec<f64> = r.series.iter().map(|s| s.value).collect();
    assert_eq!(vals, vec![6.0, 6.0]);
    let rate = QueryRangeRequest {
        query: "{ } | rate()".into(),
        ..q
    };
    let job = MetricsJob::new(&rate).unwrap();
    let mut acc = job.accumulator();
    job.observe_batch(&batch(&spans()), &mut acc).unwrap();
    assert_eq!(job.finish_instant(&acc).series[0].value, 12.0 / 240.0);
}

#[test]
fn series_limit_marks_the_answer_partial() {
    let mut q = req("{ } | count_over_time() by (span:id)");
    q.max_series = 3;
    let job = MetricsJob::new(&q).unwrap();
    let mut acc = job.accumulator();
    job.observe_batch(&batch(&spans()), &mut acc).unwrap();
    let r = job.finish(&acc);
    assert_eq!(r.series.len(), 3);
    assert_eq!(r.status, 1);
    assert!(
        r.message.contains("maximum series limit of 3"),
        "{}",
        r.message
    );
}

#[test]
fn bad_queries_are_refused_with_a_message() {
    for q in [
        "{ }",
        "{ } | rate(",
        "{ .a = } | rate()",
        "{ } | quantile_over_time(duration, 2)",
    ] {
        let e = MetricsJob::new(&req(q))
            .err()
            .unwrap_or_else(|| panic!("{q}"));
        assert!(!e.to_string().is_empty());
    }
    let mut r = req("{ } | rate()");
    r.start += 1;
    assert!(MetricsJob::new(&r).is_err());
}

#[test]
fn string_by_values_are_strings_and_ints_ints() {
    let r = run("{ } | count_over_time() by (span.n)");
    let l = &r.series[0].labels[0];
    assert!(matches!(
        l.value.as_ref().unwrap().value,
        Some(Value::IntValue(_))
    ));
    let _ = s("x");
}

#[test]
fn compare_splits_selection_from_baseline_per_attribute_value() {
    let r = run("{ } | compare({ resource.service.name = \"b\" }, 2)");
    let t = table(&r);
    let total = |k: &str| -> f64 {
        t.iter()
            .find(|(l, _)| l == k)
            .unwrap_or_else(|| panic!("{k} missing in {t:?}"))
            .1
            .iter()
            .map(|x| x.1)
            .sum()
    };
    // 6 spans of service b are the selection, 6 of service a the baseline.
    assert_eq!(total("__meta_type=selection,resource.service.name=b"), 6.0);
    assert_eq!(total("__meta_type=baseline,resource.service.name=a"), 6.0);
    assert_eq!(
        total("__meta_type=selection_total,resource.service.name=nil"),
        6.0
    );
    assert_eq!(total("__meta_type=baseline_total,name=nil"), 6.0);
    assert_eq!(total("__meta_type=baseline,name=op"), 6.0);
    // span.n: even spans (all in a) have values 0..10, more than topN=2: only the top 2 kept.
    let n_series = t
        .iter()
        .filter(|(l, _)| l.starts_with("__meta_type=baseline,span.n="))
        .count();
    assert_eq!(n_series, 2);
    assert!(t
        .iter()
        .all(|(l, _)| !l.contains("span.n") || !l.contains("selection,")));
    // Exemplars (trace and span IDs) only on the totals, as Tempo attaches them.
    let label = |s: &strata_proto::tempopb::TimeSeries| -> String {
        s.labels
            .iter()
            .map(|l| format!("{}={}", l.key, label_str(&l.value)))
            .collect::<Vec<_>>()
            .join(",")
    };
    for s in &r.series {
        let l = label(s);
        if l.contains("_total,") {
            assert!(!s.exemplars.is_empty(), "{l} has no exemplar");
            for e in &s.exemplars {
                let keys: Vec<&str> = e.labels.iter().map(|l| l.key.as_str()).collect();
                assert_eq!(keys, ["trace:id", "span:id"], "{l}");
                assert!(
                    e.value >= 1.0,
                    "{l}: {} is not the value of its step",
                    e.value
                );
            }
        } else {
            assert!(s.exemplars.is_empty(), "{l} has exemplars");
        }
    }
    // A selection window outside the data selects nothing.
    let r = run("{ } | compare({ resource.service.name = \"b\" }, 10, 1, 2)");
    assert!(table(&r).iter().all(|(l, _)| !l.contains("selection")));
}

/// Every metrics query among Tempo's own examples (`test_examples.yaml`, shared at
/// `/work/shared/reference/traceql_test_examples.yaml`; skipped when absent) either compiles
/// and evaluates without error, or is refused with a message; every valid one compiles.
/// Nothing panics.
#[test]
fn tempo_example_metrics_queries_compile_and_run() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/traceql_test_examples.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let b = batch(&spans());
    let mut ran = 0;
    for section in ["valid", "parse_fails", "validate_fails", "unsupported"] {
        for q in doc[section].as_sequence().into_iter().flatten() {
            let Some(q) = q.as_str() else { continue };
            let Ok(parsed) = strata_traceql::parse_and_validate(q) else {
                assert!(MetricsJob::new(&req(q)).is_err(), "{q}");
                continue;
            };
            let strata_traceql::RootExpr::Metrics(m) = &parsed.root else {
                continue;
            };
            match MetricsJob::new(&req(q)) {
                Ok(job) => {
                    let mut acc = job.accumulator();
                    job.observe_batch(&projected(&job, &b), &mut acc)
                        .unwrap_or_else(|e| panic!("{q}: {e}"));
                    job.finish(&acc);
                    ran += 1;
                }
                Err(e) => {
                    let _ = m;
                    assert!(section != "valid", "{q}: {e}")
                }
            }
        }
    }
    assert!(ran > 50, "only {ran} metrics examples ran");
}

#[test]
fn arithmetic_between_queries_matches_series_by_labels() {
    let total = |q: &str| -> Vec<(String, f64)> {
        table(&run(q))
            .into_iter()
            .map(|(l, v)| (l, v.iter().map(|x| x.1).sum::<f64>()))
            .collect()
    };
    // An ungrouped side applies to every series of the other; names combine.
    assert_eq!(
        total("({ } | count_over_time()) - ({ } | count_over_time())"),
        vec![("__name__=(count_over_time - count_over_time)".into(), 0.0)]
    );
    assert_eq!(
        total("({ } | count_over_time() by (resource.service.name)) * 2"),
        vec![
            ("resource.service.name=a".into(), 12.0),
            ("resource.service.name=b".into(), 12.0)
        ]
    );
    // Per service: count / total count = the service's share of each step's spans.
    let t = table(&run(
        "({ } | count_over_time() by (resource.service.name)) / ({ } | count_over_time())",
    ));
    assert_eq!(t.len(), 2);
    let a = &t[0].1;
    let b = &t[1].1;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0);
        assert!((x.1 + y.1 - 1.0).abs() < 1e-9, "{x:?} {y:?}");
    }
    // Same labels on both sides: matched series; 100 * rate.
    let t = total("({ } | count_over_time() by (resource.service.name)) + ({ resource.service.name = \"a\" } | count_over_time() by (resource.service.name))");
    assert_eq!(t, vec![("resource.service.name=a".into(), 12.0)]);
    let t = total("100 * ({ } | rate())");
    assert!((t[0].1 - 100.0 * 12.0 / 60.0).abs() < 1e-9, "{t:?}");
    // Second stages after arithmetic.
    let t = table(&run(
        "(({ } | count_over_time() by (resource.service.name)) * 1) | topk(1)",
    ));
    assert!(!t.is_empty());
}
