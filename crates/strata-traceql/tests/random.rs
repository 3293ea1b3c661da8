//! Deterministic random testing: byte and token soup must never panic, and anything that
//! parses must round-trip through `Display`.

mod common;

use common::Rng;
use strata_traceql::*;

fn check_no_panic(text: &str) {
    if let Ok(q) = parse(text) {
        let _ = validate(&q);
    }
    let _ = parse_identifier(text);
}

#[test]
fn byte_soup_never_panics() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let alphabet = b"{}()[]|&!=~<>+-*/%^.,:\"`\\ \n\t0123456789abcdefghijklmnopqrstuvwxyz_$#@'";
    for _ in 0..20_000 {
        let len = rng.below(80);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.chance(90) {
                    *rng.pick(alphabet)
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        check_no_panic(&String::from_utf8_lossy(&bytes));
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "{ }",
    "(",
    ")",
    "(",
    ")",
    "|",
    ",",
    "=",
    "!=",
    "=~",
    "!~",
    "<",
    "<=",
    ">",
    ">=",
    ">>",
    "<<",
    "~",
    "!>",
    "!<",
    "!>>",
    "!<<",
    "&>",
    "&<",
    "&>>",
    "&<<",
    "&~",
    "&&",
    "||",
    "!",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    ".a",
    ".b",
    "span.http.method",
    "resource.service.name",
    "parent.x",
    "parent.span.y",
    ".\"q q\"",
    "event.e",
    "\"str\"",
    "\"a\\\"b\"",
    "`raw`",
    "1",
    "0",
    "2.5",
    "1e3",
    "10ms",
    "1h30m",
    "-1",
    "true",
    "false",
    "nil",
    "ok",
    "error",
    "unset",
    "client",
    "server",
    "status",
    "name",
    "duration",
    "kind",
    "parent",
    "span:id",
    "trace:id",
    "span:childCount",
    "event:name",
    "minInt",
    "count()",
    "avg(",
    "max(",
    "min(",
    "sum(",
    "rate()",
    "count_over_time()",
    "min_over_time(",
    "quantile_over_time(",
    "compare(",
    "histogram_over_time(",
    "by",
    "by(",
    "select(",
    "coalesce()",
    "topk(",
    "bottomk(",
    "with(",
    "sample",
    "0.5",
    "/* c */",
    "\n",
];

/// Seeds for mutation: the project corpus plus the fixture when it is available.
fn seeds() -> Vec<String> {
    let mut seeds: Vec<String> = common::corpus_lines(include_str!("corpus/valid.txt"))
        .into_iter()
        .chain(common::corpus_lines(include_str!(
            "corpus/validate_fails.txt"
        )))
        .map(str::to_string)
        .collect();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/traceql_test_examples.yaml");
    if let Ok(text) = std::fs::read_to_string(fixture) {
        seeds.extend(
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("- '"))
                .filter_map(|l| l.rfind('\'').map(|end| l[..end].to_string())),
        );
    }
    seeds
}

/// Splits into words at spaces and around brackets, so mutations hit whole tokens.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == ' ' || "{}()|".contains(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if c != ' ' {
                out.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn token_soup_never_panics_and_round_trips() {
    let mut rng = Rng(0x0bad_cafe_f00d_d00d);
    let seeds = seeds();
    let mut parsed = 0;
    let mut failures = Vec::new();
    for i in 0..40_000 {
        let mut w: Vec<String> = if i % 4 == 0 {
            (0..1 + rng.below(14))
                .map(|_| rng.pick(TOKENS).to_string())
                .collect()
        } else {
            words(rng.pick::<String>(&seeds))
        };
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(w.len() + 1);
            match rng.below(4) {
                0 if at < w.len() => {
                    w.remove(at);
                }
                1 if at < w.len() => w[at] = rng.pick(TOKENS).to_string(),
                2 if at < w.len() => {
                    let copy = w[at].clone();
                    w.insert(at, copy);
                }
                _ => w.insert(at, rng.pick(TOKENS).to_string()),
            }
        }
        let separator = if rng.chance(80) { " " } else { "" };
        let text = w.join(separator);
        check_no_panic(&text);
        if parse(&text).is_ok() {
            parsed += 1;
            if let Some(p) = common::round_trip_problem(&text) {
                failures.push(format!("{text:?}: {p}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(parsed > 500, "only {parsed} random queries parsed");
}
