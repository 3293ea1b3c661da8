//! The project's own query corpus (`tests/corpus/*.txt`), plus generated huge inputs.

mod common;

use strata_traceql::{parse, validate, ValidateError, MAX_QUERY_BYTES};

const VALID: &str = include_str!("corpus/valid.txt");
const PARSE_FAILS: &str = include_str!("corpus/parse_fails.txt");
const VALIDATE_FAILS: &str = include_str!("corpus/validate_fails.txt");
const UNSUPPORTED: &str = include_str!("corpus/unsupported.txt");

fn report(section: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{section}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_is_large_enough() {
    let total: usize = [VALID, PARSE_FAILS, VALIDATE_FAILS, UNSUPPORTED]
        .iter()
        .map(|f| common::corpus_lines(f).len())
        .sum();
    assert!(total >= 60, "only {total} corpus queries");
}

#[test]
fn valid_queries_parse_validate_and_round_trip() {
    let mut failures = Vec::new();
    for q in common::corpus_lines(VALID) {
        match parse(q) {
            Err(e) => failures.push(format!("{q:?}: {e}")),
            Ok(parsed) => {
                if let Err(e) = validate(&parsed) {
                    failures.push(format!("{q:?}: {e}"));
                } else if let Some(p) = common::round_trip_problem(q) {
                    failures.push(format!("{q:?}: {p}"));
                }
            }
        }
    }
    report("valid", &failures);
}

#[test]
fn parse_failures_fail_to_parse() {
    let failures: Vec<String> = common::corpus_lines(PARSE_FAILS)
        .into_iter()
        .filter_map(|q| parse(q).ok().map(|p| format!("{q:?} parsed as {p}")))
        .collect();
    report("parse_fails", &failures);
}

#[test]
fn validation_failures_are_invalid() {
    let mut failures = Vec::new();
    for q in common::corpus_lines(VALIDATE_FAILS) {
        match parse(q).map(|p| validate(&p)) {
            Ok(Err(ValidateError::Invalid(_))) => {}
            other => failures.push(format!("{q:?}: {other:?}")),
        }
        if let Some(p) = common::round_trip_problem(q) {
            failures.push(format!("{q:?}: {p}"));
        }
    }
    report("validate_fails", &failures);
}

#[test]
fn unsupported_queries_are_unsupported() {
    let mut failures = Vec::new();
    for q in common::corpus_lines(UNSUPPORTED) {
        match parse(q).map(|p| validate(&p)) {
            Ok(Err(ValidateError::Unsupported(_))) => {}
            other => failures.push(format!("{q:?}: {other:?}")),
        }
    }
    report("unsupported", &failures);
}

/// `{ .a = "xxx…" }` padded to exactly `len` bytes.
fn padded_query(len: usize) -> String {
    let frame = r#"{ .a = "" }"#.len();
    format!(r#"{{ .a = "{}" }}"#, "x".repeat(len - frame))
}

#[test]
fn query_of_exactly_the_size_limit_parses() {
    let q = padded_query(MAX_QUERY_BYTES);
    assert_eq!(q.len(), MAX_QUERY_BYTES);
    assert!(parse(&q).is_ok());
}

#[test]
fn query_over_the_size_limit_is_refused() {
    let q = padded_query(MAX_QUERY_BYTES + 1);
    let err = parse(&q).unwrap_err();
    assert!(err.message.contains("too long"), "{err}");
    assert_eq!((err.line, err.column, err.offset), (1, 1, 0));
    assert!(strata_traceql::parse_identifier(&q).is_err());
}

#[test]
fn huge_generated_inputs_are_refused_cleanly() {
    let cases = [
        "{".repeat(100_000),
        "(".repeat(100_000),
        "}".repeat(100_000),
        format!("{{ {} }}", "!".repeat(100_000)),
        format!("{{ .a = {}1 }}", "-".repeat(100_000)),
        format!("{{ 2{} }}", "^2".repeat(30_000)),
        format!("{{ {}true }}", "(".repeat(60_000)),
        "{ .a } && ".repeat(10_000) + "{ .a }",
        format!("{{ .a = 1{} }}", " || .a = 1".repeat(10_000)),
    ];
    for q in &cases {
        let q = &q[..q.len().min(MAX_QUERY_BYTES)];
        assert!(parse(q).is_err(), "{}...", &q[..40.min(q.len())]);
    }
}

#[test]
fn long_but_reasonable_chains_parse() {
    let q = format!(
        "{{ .a = 0{} }}",
        (1..300)
            .map(|i| format!(" || .a = {i}"))
            .collect::<String>()
    );
    let parsed = parse(&q).expect("300 alternatives parse");
    assert!(validate(&parsed).is_ok());
    assert!(common::round_trip_problem(&q).is_none());
}
