//! Helpers shared by the integration tests.
#![allow(dead_code)]

use strata_traceql::{parse, Query};

/// Parses `text`, prints it, parses the printed text again and checks both parses agree
/// (positions aside). Returns a description of the problem, if any.
pub fn round_trip_problem(text: &str) -> Option<String> {
    let mut first = match parse(text) {
        Ok(q) => q,
        Err(e) => return Some(format!("does not parse: {e}")),
    };
    let printed = first.to_string();
    let mut second = match parse(&printed) {
        Ok(q) => q,
        Err(e) => return Some(format!("printed as {printed:?}, which does not parse: {e}")),
    };
    first.clear_positions();
    second.clear_positions();
    if first != second {
        return Some(format!(
            "printed as {printed:?}, which parses differently:\n  {first:?}\n  {second:?}"
        ));
    }
    None
}

/// `q` with positions cleared.
pub fn normalized(mut q: Query) -> Query {
    q.clear_positions();
    q
}

/// Lines of a corpus file: trimmed, without blank lines and `#` comments.
pub fn corpus_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}
