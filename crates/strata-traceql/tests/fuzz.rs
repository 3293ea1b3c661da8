//! Fuzz target of the TraceQL parser (`strata-fuzzkit`; `make fuzz` runs it longer).
//!
//! Inputs are queries assembled from grammar fragments (spansets, field expressions, spanset
//! operators, pipeline stages, metrics functions) and the project corpus, then corrupted with
//! byte edits and TraceQL tokens. `parse`, `validate` and `parse_identifier` must never panic,
//! and every query that parses must print as text that parses back to the same query.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use strata_fuzzkit::proptest::prelude::*;
use strata_fuzzkit::{fuzz, mutated};

const VALID: &str = include_str!("corpus/valid.txt");

/// Tokens inserted by the mutator.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"(",
    b")",
    b"|",
    b"&&",
    b"||",
    b"!",
    b"=~",
    b"!~",
    b">>",
    b"<<",
    b"~",
    b"!>",
    b"&>>",
    b"<=",
    b"!=",
    b".a",
    b"span.",
    b"resource.",
    b"parent.",
    b"event.",
    b"link.",
    b"instrumentation.",
    b"\"",
    b"`",
    b"\\",
    b"1e308",
    b"-9223372036854775808",
    b"99999999999999999999",
    b"1ns",
    b"1000000h",
    b"0.",
    b"nil",
    b"by(",
    b"select(",
    b"count()",
    b"rate()",
    b"quantile_over_time(duration, ",
    b"compare(",
    b"topk(",
    b"with(",
    b"/*",
    b"*/",
    b"span:",
    b"trace:",
    b"event:",
    b"link:",
    b"\xc3\xa9",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[a-z \\\\\"]{0,6}\"",
        "`[a-z\"]{0,6}`",
        (-100i64..100_000).prop_map(|v| v.to_string()),
        (0.0f64..1e6).prop_map(|v| format!("{v}")),
        (
            0u32..100_000,
            prop::sample::select(&["ns", "us", "µs", "ms", "s", "m", "h"][..])
        )
            .prop_map(|(v, u)| format!("{v}{u}")),
        prop::sample::select(
            &[
                "true",
                "false",
                "nil",
                "ok",
                "error",
                "unset",
                "client",
                "server",
                "internal",
                "producer",
                "consumer",
                "unspecified"
            ][..]
        )
        .prop_map(str::to_string),
    ]
}

fn attribute() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "name",
                "status",
                "duration",
                "kind",
                "statusMessage",
                "rootName",
                "rootServiceName",
                "traceDuration",
                "span:id",
                "trace:id",
                "span:childCount",
                "event:name",
                "span:parentID",
                "nestedSetLeft",
                "instrumentation:name",
                "link:traceID"
            ][..]
        )
        .prop_map(str::to_string),
        (
            prop::sample::select(
                &[
                    ".",
                    "span.",
                    "resource.",
                    "parent.",
                    "parent.span.",
                    "event.",
                    "link.",
                    "instrumentation."
                ][..]
            ),
            prop_oneof!["[a-z][a-z0-9_.]{0,8}", "\"[a-z .]{1,6}\""],
        )
            .prop_map(|(scope, name)| format!("{scope}{name}")),
    ]
}

fn field_expr() -> impl Strategy<Value = String> {
    let op = prop::sample::select(&["=", "!=", "<", "<=", ">", ">=", "=~", "!~"][..]);
    let leaf = prop_oneof![
        (attribute(), op, value()).prop_map(|(a, o, v)| format!("{a} {o} {v}")),
        attribute(),
        value(),
    ];
    leaf.prop_recursive(4, 16, 2, |inner| {
        let bin = prop::sample::select(&["&&", "||", "+", "-", "*", "/", "%", "^", "="][..]);
        prop_oneof![
            (inner.clone(), bin, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.prop_map(|e| format!("!({e})")),
        ]
    })
}

fn spanset_expr() -> impl Strategy<Value = String> {
    let filter = prop_oneof![
        Just("{ }".to_string()),
        field_expr().prop_map(|e| format!("{{ {e} }}"))
    ];
    filter.prop_recursive(3, 8, 2, |inner| {
        let op = prop::sample::select(
            &[
                "&&", "||", ">", ">>", "<", "<<", "~", "!>", "!>>", "!~", "&>", "&>>", "&~",
            ][..],
        );
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

fn stage() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(
                &[
                    "count()",
                    "avg(duration)",
                    "max(span.x)",
                    "min(duration)",
                    "sum(.n)"
                ][..]
            ),
            prop::sample::select(&[">", "=", "<="][..]),
            value()
        )
            .prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        attribute().prop_map(|a| format!("by({a})")),
        (attribute(), attribute()).prop_map(|(a, b)| format!("select({a}, {b})")),
        Just("coalesce()".to_string()),
        spanset_expr(),
    ]
}

fn metrics() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("rate()".to_string()),
        Just("count_over_time()".to_string()),
        attribute().prop_map(|a| format!("sum_over_time({a})")),
        attribute().prop_map(|a| format!("histogram_over_time({a})")),
        (attribute(), 0.0f64..1.0).prop_map(|(a, q)| format!("quantile_over_time({a}, {q}, .99)")),
        spanset_expr().prop_map(|s| format!("compare({s}, 10)")),
    ]
    .prop_flat_map(|f| {
        (
            Just(f),
            prop::option::of(attribute()),
            prop::option::of((prop::sample::select(&["topk", "bottomk"][..]), 0u32..20)),
        )
    })
    .prop_map(|(f, by, top)| {
        let mut s = f;
        if let Some(by) = by {
            s = format!("{s} by ({by})");
        }
        if let Some((name, n)) = top {
            s = format!("{s} | {name}({n})");
        }
        s
    })
}

/// Whole queries: a pipeline of spanset stages, optionally ending in a metrics function, or a
/// corpus query.
fn query() -> impl Strategy<Value = String> {
    let corpus: Vec<String> = common::corpus_lines(VALID)
        .into_iter()
        .map(String::from)
        .collect();
    prop_oneof![
        3 => (spanset_expr(), prop::collection::vec(stage(), 0..3), prop::option::of(metrics()))
            .prop_map(|(first, stages, m)| {
                let mut parts = vec![first];
                parts.extend(stages);
                parts.extend(m);
                parts.join(" | ")
            }),
        1 => prop::sample::select(corpus),
        1 => attribute(),
    ]
}

/// Checks one input; `Ok(true)` when it parsed.
fn check(text: &str) -> Result<bool, TestCaseError> {
    let _ = strata_traceql::parse_identifier(text);
    let Ok(query) = strata_traceql::parse(text) else {
        return Ok(false);
    };
    let _ = strata_traceql::validate(&query);
    if let Some(problem) = common::round_trip_problem(text) {
        return Err(TestCaseError::fail(format!("{text:?}: {problem}")));
    }
    Ok(true)
}

#[test]
fn fuzz_traceql_parse() {
    let inputs = mutated(query().prop_map(String::into_bytes), TOKENS);
    let parsed = AtomicU64::new(0);
    let cases = fuzz("fuzz_traceql_parse", inputs, |(_, bytes)| {
        let ok = check(&String::from_utf8_lossy(&bytes))?;
        parsed.fetch_add(u64::from(ok), Ordering::Relaxed);
        Ok(())
    });
    // Structure-aware: a good share of the inputs must reach past the parser's first error.
    let parsed = parsed.into_inner();
    assert!(
        parsed * 10 >= cases,
        "only {parsed} of {cases} inputs parsed"
    );
}

#[test]
fn fuzz_traceql_byte_soup() {
    let soup = prop::collection::vec(any::<u8>(), 0..200);
    fuzz("fuzz_traceql_byte_soup", soup, |bytes| {
        check(&String::from_utf8_lossy(&bytes)).map(drop)
    });
}
