//! Fuzzes the TraceQL parser: arbitrary UTF-8 must never panic in `parse`, `validate` or
//! `parse_identifier`, and every query that parses must print as text that parses back to
//! an equal query.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = strata_traceql::parse_identifier(text);
    let Ok(mut query) = strata_traceql::parse(text) else {
        return;
    };
    let _ = strata_traceql::validate(&query);
    let printed = query.to_string();
    let mut reparsed = match strata_traceql::parse(&printed) {
        Ok(q) => q,
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
    };
    query.clear_positions();
    reparsed.clear_positions();
    assert_eq!(query, reparsed, "{text:?} printed as {printed:?}");
});
