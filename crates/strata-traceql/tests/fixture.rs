//! Tempo's own TraceQL examples (`test_examples.yaml`), shared at
//! `/work/shared/reference/traceql_test_examples.yaml`. Skipped when the file is absent.

mod common;

use std::path::Path;

use strata_traceql::{parse, validate, ValidateError};

#[derive(serde::Deserialize)]
struct Examples {
    valid: Vec<String>,
    parse_fails: Vec<String>,
    validate_fails: Vec<String>,
    unsupported: Vec<String>,
}

#[test]
fn tempo_examples() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/traceql_test_examples.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let examples: Examples = match serde_yaml_ng::from_str(&text) {
        Ok(e) => e,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    let mut failures = Vec::new();
    let mut passed = [0usize; 4];

    for q in &examples.valid {
        match parse(q).map(|p| validate(&p)) {
            Ok(Ok(())) => match common::round_trip_problem(q) {
                None => passed[0] += 1,
                Some(p) => failures.push(format!("valid {q:?}: {p}")),
            },
            Ok(Err(e)) => failures.push(format!("valid {q:?}: validation failed: {e}")),
            Err(e) => failures.push(format!("valid {q:?}: {e}")),
        }
    }
    for q in &examples.parse_fails {
        match parse(q) {
            Err(_) => passed[1] += 1,
            Ok(p) => failures.push(format!("parse_fails {q:?}: parsed as {p}")),
        }
    }
    for q in &examples.validate_fails {
        match parse(q).map(|p| validate(&p)) {
            Ok(Err(ValidateError::Invalid(_))) => passed[2] += 1,
            Ok(Err(e)) => failures.push(format!("validate_fails {q:?}: wrong error: {e}")),
            Ok(Ok(())) => failures.push(format!("validate_fails {q:?}: validated")),
            Err(e) => failures.push(format!("validate_fails {q:?}: {e}")),
        }
    }
    for q in &examples.unsupported {
        match parse(q).map(|p| validate(&p)) {
            Ok(Err(ValidateError::Unsupported(_)) | Ok(())) => {
                match common::round_trip_problem(q) {
                    None => passed[3] += 1,
                    Some(p) => failures.push(format!("unsupported {q:?}: {p}")),
                }
            }
            Ok(Err(e)) => failures.push(format!("unsupported {q:?}: wrong error: {e}")),
            Err(e) => failures.push(format!("unsupported {q:?}: {e}")),
        }
    }
    eprintln!(
        "fixture: valid {}/{}, parse_fails {}/{}, validate_fails {}/{}, unsupported {}/{}",
        passed[0],
        examples.valid.len(),
        passed[1],
        examples.parse_fails.len(),
        passed[2],
        examples.validate_fails.len(),
        passed[3],
        examples.unsupported.len()
    );
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
