//! Pipelines: scalar filters with aggregates, by(), select(), coalesce(), later filters,
//! spans per spanset.

mod common;

use common::*;
use strata_engine::TraceMatch;
use strata_proto::otlp::common::{any_value::Value, KeyValue};

fn data() -> arrow_array::RecordBatch {
    batch(&[
        sp(1, 1, 0, "a1", 0, 100).svc("api").attr("size", i(10)),
        sp(1, 2, 1, "a2", 10, 310).svc("api").attr("size", i(20)),
        sp(1, 3, 1, "d1", 20, 1020).svc("db").attr("size", f(5.5)),
        sp(1, 4, 3, "d2", 30, 2030).svc("db"),
        sp(1, 5, 1, "n1", 40, 90).no_resource(),
        sp(2, 1, 0, "x1", 0, 10).svc("api").attr("size", i(1)),
    ])
}

fn show(kvs: &[KeyValue]) -> Vec<String> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => format!("{s:?}"),
                Some(Value::IntValue(i)) => format!("{i}"),
                Some(Value::DoubleValue(d)) => format!("{d:.4}f"),
                Some(Value::BoolValue(b)) => format!("{b}"),
                other => format!("{other:?}"),
            };
            format!("{}={v}", kv.key)
        })
        .collect()
}

/// Per spanset: span names and spanset attributes.
type Sets<T> = Vec<(Vec<T>, Vec<T>)>;

/// Per trace: per spanset (span names, spanset attributes).
fn detail(ms: &[TraceMatch]) -> Vec<(u8, Sets<String>)> {
    ms.iter()
        .map(|m| {
            (
                m.trace_id.0[15],
                m.span_sets
                    .iter()
                    .map(|s| {
                        (
                            s.spans.iter().map(|sp| sp.name.clone()).collect(),
                            show(&s.attributes),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn check(q: &str, want: Vec<(u8, Sets<&str>)>) {
    let want: Vec<(u8, Sets<String>)> = want
        .into_iter()
        .map(|(t, ss)| {
            (
                t,
                ss.into_iter().map(|(n, a)| (strs(&n), strs(&a))).collect(),
            )
        })
        .collect();
    assert_eq!(detail(&run(&data(), q)), want, "{q}");
}

const T1: [&str; 5] = ["a1", "a2", "d1", "d2", "n1"];

#[test]
fn count() {
    check(
        "{ } | count() > 4",
        vec![(1, vec![(T1.to_vec(), vec!["count()=5"])])],
    );
    // A leading scalar filter applies to all spans.
    check(
        "count() > 4",
        vec![(1, vec![(T1.to_vec(), vec!["count()=5"])])],
    );
    check(
        "{ .size != nil } | count() = 3",
        vec![(1, vec![(vec!["a1", "a2", "d1"], vec!["count()=3"])])],
    );
    check("{ } | count() = 0", vec![]);
    check(
        "{ } | count() < 2",
        vec![(2, vec![(vec!["x1"], vec!["count()=1"])])],
    );
}

#[test]
fn avg_min_max_sum() {
    check(
        "{ } | avg(duration) > 500ns",
        vec![(1, vec![(T1.to_vec(), vec![r#"avg(duration)="690ns""#])])],
    );
    check(
        "{ } | avg(.size) > 11.8",
        vec![(1, vec![(T1.to_vec(), vec!["avg(.size)=11.8333f"])])],
    );
    check("{ } | avg(.size) > 11.9", vec![]);
    check(
        "{ } | sum(.size) = 35.5",
        vec![(1, vec![(T1.to_vec(), vec!["sum(.size)=35.5000f"])])],
    );
    check(
        "{ .size > 6 } | sum(.size) = 30",
        vec![(1, vec![(vec!["a1", "a2"], vec!["sum(.size)=30"])])],
    );
    check(
        "{ } | min(duration) = 50ns",
        vec![(1, vec![(T1.to_vec(), vec![r#"min(duration)="50ns""#])])],
    );
    check(
        "{ } | max(duration) >= 2us",
        vec![(1, vec![(T1.to_vec(), vec![r#"max(duration)="2µs""#])])],
    );
    check(
        "{ } | max(.size) = 20",
        vec![(1, vec![(T1.to_vec(), vec!["max(.size)=20"])])],
    );
    check(
        "{ } | min(.size) < 2",
        vec![(2, vec![(vec!["x1"], vec!["min(.size)=1"])])],
    );
    check(
        "{ } | sum(duration) = 3450ns",
        vec![(1, vec![(T1.to_vec(), vec![r#"sum(duration)="3.45µs""#])])],
    );
    // No values: no aggregate, the spanset is dropped.
    check("{ } | avg(.nope) > 0", vec![]);
    check("{ } | max(.nope) < 0", vec![]);
}

#[test]
fn by() {
    check(
        "{ } | by(resource.service.name)",
        vec![
            (
                1,
                vec![
                    (vec!["a1", "a2"], vec![r#"by(resource.service.name)="api""#]),
                    (vec!["d1", "d2"], vec![r#"by(resource.service.name)="db""#]),
                    (vec!["n1"], vec![r#"by(resource.service.name)="nil""#]),
                ],
            ),
            (
                2,
                vec![(vec!["x1"], vec![r#"by(resource.service.name)="api""#])],
            ),
        ],
    );
    check(
        "{ } | by(resource.service.name) | count() > 1",
        vec![(
            1,
            vec![
                (
                    vec!["a1", "a2"],
                    vec![r#"by(resource.service.name)="api""#, "count()=2"],
                ),
                (
                    vec!["d1", "d2"],
                    vec![r#"by(resource.service.name)="db""#, "count()=2"],
                ),
            ],
        )],
    );
    check(
        "{ } | by(resource.service.name) | avg(duration) > 1us",
        vec![(
            1,
            vec![(
                vec!["d1", "d2"],
                vec![
                    r#"by(resource.service.name)="db""#,
                    r#"avg(duration)="1.5µs""#,
                ],
            )],
        )],
    );
    check(
        "{ trace:rootName = \"a1\" } | by(.size > 6)",
        vec![(
            1,
            vec![
                (vec!["a1", "a2"], vec!["by(.size > 6)=true"]),
                // A comparison with a missing value is false, not nil.
                (vec!["d1", "d2", "n1"], vec!["by(.size > 6)=false"]),
            ],
        )],
    );
    check(
        "{ .size != nil } | by(.size)",
        vec![
            (
                1,
                vec![
                    (vec!["a1"], vec!["by(.size)=10"]),
                    (vec!["a2"], vec!["by(.size)=20"]),
                    (vec!["d1"], vec!["by(.size)=5.5000f"]),
                ],
            ),
            (2, vec![(vec!["x1"], vec!["by(.size)=1"])]),
        ],
    );
}

#[test]
fn coalesce_and_later_filters() {
    check(
        "{ } | by(resource.service.name) | coalesce()",
        vec![
            (1, vec![(T1.to_vec(), vec![])]),
            (2, vec![(vec!["x1"], vec![])]),
        ],
    );
    check(
        "{ } | by(resource.service.name) | { duration > 500ns }",
        vec![(
            1,
            vec![(vec!["d1", "d2"], vec![r#"by(resource.service.name)="db""#])],
        )],
    );
    check(
        "{ .size != nil } | count() > 2 | { duration > 200ns }",
        vec![(1, vec![(vec!["a2", "d1"], vec!["count()=3"])])],
    );
    check("{ } | { .nope = 1 }", vec![]);
}

#[test]
fn select() {
    let m = run(
        &data(),
        r#"{ name = "a1" } | select(.size, resource.service.name, status, span:id, duration)"#,
    );
    assert_eq!(
        show(&m[0].span_sets[0].spans[0].attributes),
        strs(&["size=10", r#"service.name="api""#, r#"status="unset""#])
    );
    // Spans lacking a selected attribute just don't carry it.
    let m = run(
        &data(),
        r#"{ name = "n1" } | select(resource.service.name)"#,
    );
    assert!(m[0].span_sets[0].spans[0].attributes.is_empty());
}

#[test]
fn spans_per_spanset() {
    let p = plan("{ }");
    let m = p.evaluate(&data(), 2).unwrap();
    let s = &m[0].span_sets[0];
    assert_eq!(s.matched, 5);
    let got: Vec<&str> = s.spans.iter().map(|sp| sp.name.as_str()).collect();
    assert_eq!(got, vec!["a1", "a2"]);
    let m = p.evaluate(&data(), 0).unwrap();
    assert_eq!(m[0].span_sets[0].matched, 5);
    assert!(m[0].span_sets[0].spans.is_empty());
    // Ordered by start time, not by row or operand order.
    let m = p.evaluate(&data(), 3).unwrap();
    let starts: Vec<u64> = m[0].span_sets[0]
        .spans
        .iter()
        .map(|s| s.start_time_unix_nano)
        .collect();
    assert_eq!(starts, vec![0, 10, 20]);
}
