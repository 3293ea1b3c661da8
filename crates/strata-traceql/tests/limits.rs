//! Error positions and messages, nesting limits and hostile inputs.

mod common;

use strata_traceql::{parse, validate, ParseError, MAX_EXPR_DEPTH, MAX_NESTING, MAX_QUERY_BYTES};

fn err(text: &str) -> ParseError {
    match parse(text) {
        Err(e) => e,
        Ok(q) => panic!("{text:?} parsed as {q}"),
    }
}

#[test]
fn error_messages_name_expected_and_found() {
    assert_eq!(
        err("{ .a = 10").to_string(),
        "parse error at line 1, col 10: expected '}' but found end of query"
    );
    assert_eq!(
        err("{ .a = 1 } | count() >").to_string(),
        "parse error at line 1, col 23: expected a spanset filter, an aggregate, a number or '(' \
         after '>' but found end of query"
    );
    let e = err("{ (.a < 3 }");
    assert_eq!((e.line, e.column), (1, 11));
    assert_eq!(e.message, "expected ')' but found '}'");
    let e = err("{ attribute = 4 }");
    assert!(e.message.contains("unknown identifier 'attribute'"), "{e}");
    let e = err("{ trace:status = error }");
    assert_eq!(e.message, "unknown intrinsic 'trace:status'");
    let e = err("{ .a == 1 }");
    assert_eq!(
        (e.column, e.message.as_str()),
        (6, "'==' is not an operator; use '=' for equality")
    );
}

#[test]
fn error_positions_count_lines_and_characters() {
    let e = err("{ .a = 1\n  && .b = }");
    assert_eq!((e.line, e.column, e.offset), (2, 11, 19));
    assert_eq!(e.message, "expected a field expression but found '}'");

    // Columns count characters, offsets count bytes.
    let e = err("{ .é = 1 && }");
    assert_eq!((e.line, e.column, e.offset), (1, 13, 13));

    // Unterminated literals point at their start.
    let e = err("{ .a = 1 }\n| { .b = \"open }");
    assert_eq!((e.line, e.column), (2, 10));
    assert_eq!(e.message, "unterminated string");
    let e = err("{ .\"open = 1 }");
    assert_eq!((e.line, e.column), (1, 4));
    let e = err("{ .a } /* never closed");
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (1, 8, "comment not terminated")
    );
}

/// Runs `f` on a thread with the default stack size, as server worker threads have.
fn on_default_stack(f: impl FnOnce() + Send + 'static) {
    if let Err(panic) = std::thread::spawn(f).join() {
        std::panic::resume_unwind(panic);
    }
}

/// Parses, validates, prints, re-parses, clones, compares and drops `text`.
fn exercise(text: &str) -> Result<(), ParseError> {
    let q = parse(text)?;
    let _ = validate(&q);
    let printed = q.to_string();
    let copy = q.clone();
    assert!(copy == q);
    drop(copy);
    assert!(common::round_trip_problem(text).is_none(), "{printed}");
    Ok(())
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    on_default_stack(|| {
        let deep = [
            "(".repeat(100_000),
            "{".repeat(100_000),
            format!("{{ {} }}", "(".repeat(100_000)),
            format!("{{ {}true }}", "!".repeat(100_000)),
            format!("{{ .a = {}1 }}", "-".repeat(100_000)),
            format!("({{}} | rate()) * {}1", "-".repeat(100_000)),
            format!("{{ 2{} = 1 }}", "^2".repeat(40_000)),
            format!("count(){} > 1", "^count()".repeat(10_000)),
            "({} | ".repeat(20_000),
            "({} && ".repeat(20_000),
            format!("by({}.a", "(".repeat(100_000)),
            format!("{{ .a }}{}", " && { .a }".repeat(10_000)),
            format!("{{ .a = 1{} }}", " || .a = 1".repeat(10_000)),
            format!("({{}} | rate()){}", " + ({} | rate())".repeat(5_000)),
            format!("count(){} > 1", " + count()".repeat(10_000)),
        ];
        for text in &deep {
            let text = &text[..text.len().min(MAX_QUERY_BYTES)];
            let e = err(text);
            assert!(
                e.message.contains("deeply") || e.message.starts_with("expected"),
                "{}: {e}",
                &text[..20]
            );
        }
        let e = err(&"(".repeat(100_000));
        assert_eq!(
            e.message,
            format!("query nests too deeply (the limit is {MAX_NESTING} levels)")
        );
    });
}

#[test]
fn nesting_just_under_the_limits_works() {
    on_default_stack(|| {
        let n = MAX_NESTING - 2;
        let ok = [
            format!("{}{{ .a }}{}", "(".repeat(n), ")".repeat(n)),
            format!("{{ {}.a{} }}", "(".repeat(n), ")".repeat(n)),
            format!("{{ {}.a }}", "!".repeat(n)),
            format!("{{ .a = 2{} }}", "^2".repeat(n)),
            format!("{}{{ }}{}", "({ } | ".repeat(n / 2), ")".repeat(n / 2)),
            format!("{}{{ }}{}", "({ } && ".repeat(n / 2), ")".repeat(n / 2)),
            format!("{{ }} | by({}.a{})", "(".repeat(n), ")".repeat(n)),
            format!("({{}} | rate()) * {}1{}", "(".repeat(n), ")".repeat(n)),
        ];
        for text in &ok {
            if let Err(e) = exercise(text) {
                panic!("{}...: {e}", &text[..30]);
            }
        }
        let h = MAX_EXPR_DEPTH - 2;
        let chains = [
            format!("{{ .a = 1{} }}", " || .a = 1".repeat(h / 2)),
            format!("{{ .a }}{}", " && { .a }".repeat(h - 1)),
            format!("({{}} | rate()){}", " + ({} | rate())".repeat(h - 1)),
            format!("count(){} > 1", " + count()".repeat(h - 2)),
            format!("{{ .a{} }}", " + 1".repeat(h - 1)),
        ];
        for text in &chains {
            if let Err(e) = exercise(text) {
                panic!("{}...: {e}", &text[..30]);
            }
        }
    });
}

#[test]
fn long_chains_over_the_limit_are_refused() {
    let text = format!("{{ .a{} }}", " + 1".repeat(MAX_EXPR_DEPTH + 1));
    let e = err(&text);
    assert!(e.message.contains("too deeply nested"), "{e}");
}

#[test]
fn validation_errors_name_the_problem() {
    let invalid = |text: &str| match parse(text).map(|q| validate(&q)) {
        Ok(Err(e)) => e.to_string(),
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        invalid("{ 1 + 1 }"),
        "invalid query: a spanset filter must be a boolean expression, not an int: { 1 + 1 }"
    );
    assert_eq!(
        invalid("{ .a = 1 + \"x\" }"),
        "invalid query: operands of '+' must have compatible types, not int and string: 1 + \"x\""
    );
    assert!(invalid("{ .a =~ \"[\" }").starts_with("invalid query: invalid regular expression"));
    assert_eq!(
        invalid("{ parent.a = 1 }"),
        "unsupported: parent attributes (parent.a) are not supported"
    );
}

#[test]
fn parse_and_validate_wraps_both_errors() {
    use strata_traceql::{parse_and_validate, QueryError, ValidateError};
    assert!(parse_and_validate("{ .a = 1 }").is_ok());
    assert!(matches!(
        parse_and_validate("{ .a = }"),
        Err(QueryError::Parse(_))
    ));
    assert!(matches!(
        parse_and_validate("{ 1 }"),
        Err(QueryError::Validate(ValidateError::Invalid(_)))
    ));
    assert!(matches!(
        parse_and_validate("{ parent.a = 1 }"),
        Err(QueryError::Validate(ValidateError::Unsupported(_)))
    ));
    let e = parse_and_validate("{ .a = 10").unwrap_err();
    assert_eq!(
        e.to_string(),
        "parse error at line 1, col 10: expected '}' but found end of query"
    );
}

/// `.5` is a number (as Go's scanner reads it in Tempo), so `quantile_over_time(duration, .5)`
/// parses; an unscoped attribute whose name starts with a digit prints quoted.
#[test]
fn leading_dot_numbers() {
    let q =
        strata_traceql::parse_and_validate("{ } | quantile_over_time(duration, .5, .99)").unwrap();
    assert_eq!(
        q.to_string(),
        "{ } | quantile_over_time(duration, 0.5, 0.99)"
    );
    let q = strata_traceql::parse(r#"{ ."5x" = 1 }"#).unwrap();
    let again = strata_traceql::parse(&q.to_string()).unwrap();
    let (mut a, mut b) = (q, again);
    a.clear_positions();
    b.clear_positions();
    assert_eq!(a, b);
}
