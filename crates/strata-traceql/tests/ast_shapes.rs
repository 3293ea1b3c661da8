//! The shapes of parsed field expressions: precedence, associativity, folding, literals,
//! attributes and intrinsics.

mod common;

use common::*;
use strata_traceql::*;

#[test]
fn logical_operators_share_a_level_and_associate_left() {
    use BinaryOp::*;
    assert_eq!(
        filter_expr("{ .a = 1 || .b = 2 && .c = 3 }"),
        bin(
            And,
            bin(Or, bin(Eq, dot("a"), int(1)), bin(Eq, dot("b"), int(2))),
            bin(Eq, dot("c"), int(3))
        )
    );
}

#[test]
fn arithmetic_binds_tighter_than_comparison() {
    use BinaryOp::*;
    assert_eq!(
        filter_expr("{ .a + 1 * 2 = 3 }"),
        bin(Eq, bin(Add, dot("a"), bin(Mul, int(1), int(2))), int(3))
    );
    assert_eq!(
        filter_expr("{ .a - 1 - 2 > 0 }"),
        bin(Gt, bin(Sub, bin(Sub, dot("a"), int(1)), int(2)), int(0))
    );
    assert_eq!(
        filter_expr("{ .a % 3 / 2 * 4 = 0 }"),
        bin(
            Eq,
            bin(Mul, bin(Div, bin(Mod, dot("a"), int(3)), int(2)), int(4)),
            int(0)
        )
    );
}

#[test]
fn power_is_right_associative() {
    use BinaryOp::*;
    assert_eq!(
        filter_expr("{ 2 ^ 3 ^ .a = 1 }"),
        bin(Eq, bin(Pow, int(2), bin(Pow, int(3), dot("a"))), int(1))
    );
}

#[test]
fn prefix_operators_take_multiplicative_operands() {
    use BinaryOp::*;
    // As in Tempo's grammar: `-a * b` is `-(a * b)`, `-a + b` is `(-a) + b`, and `!a = b`
    // is `(!a) = b`.
    assert_eq!(
        filter_expr("{ -.a * 2 = 1 }"),
        bin(Eq, un(UnaryOp::Neg, bin(Mul, dot("a"), int(2))), int(1))
    );
    assert_eq!(
        filter_expr("{ -.a + 2 = 1 }"),
        bin(Eq, bin(Add, un(UnaryOp::Neg, dot("a")), int(2)), int(1))
    );
    assert_eq!(
        filter_expr("{ !.a = true }"),
        bin(
            Eq,
            un(UnaryOp::Not, dot("a")),
            FieldExpr::Static(Static::Bool(true))
        )
    );
    assert_eq!(
        filter_expr("{ !!.a }"),
        un(UnaryOp::Not, un(UnaryOp::Not, dot("a")))
    );
}

#[test]
fn negative_literals_are_folded() {
    use BinaryOp::*;
    assert_eq!(filter_expr("{ -1 = .a }"), bin(Eq, int(-1), dot("a")));
    assert_eq!(filter_expr("{ .a = --1 }"), bin(Eq, dot("a"), int(1)));
    assert_eq!(
        filter_expr("{ .a > -1.5 }"),
        bin(Gt, dot("a"), FieldExpr::Static(Static::Float(-1.5)))
    );
    assert_eq!(
        filter_expr("{ duration > -1s }"),
        bin(
            Gt,
            FieldExpr::Intrinsic(Intrinsic::Duration),
            FieldExpr::Static(Static::Duration(-1_000_000_000))
        )
    );
    // Only literals: a parenthesised expression stays an operation.
    assert_eq!(
        filter_expr("{ .a = -(1 + 2) }"),
        bin(Eq, dot("a"), un(UnaryOp::Neg, bin(Add, int(1), int(2))))
    );
}

#[test]
fn durations() {
    let d = |text: &str| match filter_expr(&format!("{{ duration > {text} }}")) {
        FieldExpr::Binary { rhs, .. } => match *rhs {
            FieldExpr::Static(Static::Duration(ns)) => ns,
            other => panic!("{text}: {other:?}"),
        },
        other => panic!("{text}: {other:?}"),
    };
    const S: i64 = 1_000_000_000;
    assert_eq!(d("1h30m"), 5400 * S);
    assert_eq!(d("250µs"), 250_000);
    assert_eq!(d("250us"), 250_000);
    assert_eq!(d("7ns"), 7);
    assert_eq!(d("100ms"), S / 10);
    assert_eq!(d("1.5s"), 3 * S / 2);
    assert_eq!(d("2m"), 120 * S);
    assert_eq!(d("3d"), 3 * 86_400 * S);
    assert_eq!(d("1w"), 7 * 86_400 * S);
    assert_eq!(d("1y"), 365 * 86_400 * S);
    assert_eq!(d("1m30s"), 90 * S);
    assert!(parse("{ duration > 1.5d }").is_err());
    assert!(parse("{ duration > 1x }").is_err());
}

#[test]
fn numbers() {
    assert_eq!(
        filter_expr("{ .a = 007 }"),
        bin(BinaryOp::Eq, dot("a"), int(7))
    );
    assert_eq!(
        filter_expr("{ .a = 2.5e3 }"),
        bin(
            BinaryOp::Eq,
            dot("a"),
            FieldExpr::Static(Static::Float(2500.0))
        )
    );
    assert_eq!(
        filter_expr("{ .a > minInt && .a < maxInt }"),
        bin(
            BinaryOp::And,
            bin(BinaryOp::Gt, dot("a"), int(i64::MIN)),
            bin(BinaryOp::Lt, dot("a"), int(i64::MAX))
        )
    );
    assert!(parse("{ .a = 9223372036854775808 }").is_err());
    assert!(parse("{ .a = 1e400 }").is_err());
}

#[test]
fn strings() {
    let s = |text: &str| match filter_expr(&format!("{{ .a = {text} }}")) {
        FieldExpr::Binary { rhs, .. } => match *rhs {
            FieldExpr::Static(Static::String(s)) => s,
            other => panic!("{text}: {other:?}"),
        },
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(s(r#""a\n\t\"\\b""#), "a\n\t\"\\b");
    assert_eq!(s(r#""\x41\101\u00e9\U0001F600""#), "AAé😀");
    assert_eq!(s(r#""\xc3\xa9""#), "é");
    assert_eq!(s("`raw \\n \"x\"`"), "raw \\n \"x\"");
    assert_eq!(s("\"héllo\""), "héllo");
    assert!(parse(r#"{ .a = "\q" }"#).is_err());
    assert!(parse(r#"{ .a = "\xff" }"#).is_err());
    assert!(parse("{ .a = \"line\nbreak\" }").is_err());
}

#[test]
fn attributes() {
    use AttributeScope::*;
    assert_eq!(filter_expr("{ .a }"), dot("a"));
    assert_eq!(
        filter_expr("{ .http.status_code }"),
        dot("http.status_code")
    );
    assert_eq!(filter_expr("{ span.http.url }"), attr(Span, "http.url"));
    assert_eq!(
        filter_expr("{ resource.service.name }"),
        attr(Resource, "service.name")
    );
    assert_eq!(
        filter_expr("{ event.exception.type }"),
        attr(Event, "exception.type")
    );
    assert_eq!(filter_expr("{ link.kind }"), attr(Link, "kind"));
    assert_eq!(
        filter_expr("{ instrumentation.lib }"),
        attr(Instrumentation, "lib")
    );
    assert_eq!(filter_expr("{ resource.span.x }"), attr(Resource, "span.x"));
    assert_eq!(filter_expr("{ .a-b+c/d:e }"), dot("a-b+c/d:e"));
}

#[test]
fn quoted_attribute_names() {
    use AttributeScope::*;
    assert_eq!(filter_expr(r#"{ ."foo bar" }"#), dot("foo bar"));
    assert_eq!(filter_expr(r#"{ span."a\"b" }"#), attr(Span, "a\"b"));
    assert_eq!(filter_expr(r#"{ ."a\\b" }"#), dot("a\\b"));
    assert_eq!(filter_expr(r#"{ .foo"x y"z }"#), dot("foox yz"));
    assert_eq!(
        filter_expr(r#"{ resource."k8s.pod name" }"#),
        attr(Resource, "k8s.pod name")
    );
    assert!(parse(r#"{ ."a\nb" }"#).is_err());
    assert!(parse(r#"{ ."open }"#).is_err());
}

#[test]
fn parent_attributes() {
    let p = |scope, name: &str| {
        FieldExpr::Attribute(Attribute {
            scope,
            parent: true,
            name: name.to_string(),
        })
    };
    assert_eq!(
        filter_expr("{ parent.resource.x }"),
        p(AttributeScope::Resource, "x")
    );
    assert_eq!(
        filter_expr("{ parent.span.a.b }"),
        p(AttributeScope::Span, "a.b")
    );
    assert_eq!(filter_expr("{ parent.x }"), p(AttributeScope::None, "x"));
    assert_eq!(
        filter_expr("{ parent.duration }"),
        p(AttributeScope::None, "duration")
    );
    assert_eq!(
        filter_expr(r#"{ parent."span.x" }"#),
        p(AttributeScope::None, "span.x")
    );
    assert_eq!(
        filter_expr("{ parent }"),
        FieldExpr::Intrinsic(Intrinsic::Parent)
    );
}

#[test]
fn intrinsics_and_their_spellings() {
    let cases = [
        ("duration", Intrinsic::Duration, "duration"),
        ("span:duration", Intrinsic::Duration, "duration"),
        ("name", Intrinsic::Name, "name"),
        ("span:name", Intrinsic::Name, "name"),
        ("status", Intrinsic::Status, "status"),
        ("span:status", Intrinsic::Status, "status"),
        ("statusMessage", Intrinsic::StatusMessage, "statusMessage"),
        ("kind", Intrinsic::Kind, "kind"),
        ("span:id", Intrinsic::SpanId, "span:id"),
        ("span:parentID", Intrinsic::SpanParentId, "span:parentID"),
        ("span:childCount", Intrinsic::ChildCount, "span:childCount"),
        ("nestedSetLeft", Intrinsic::NestedSetLeft, "nestedSetLeft"),
        ("rootName", Intrinsic::TraceRootName, "trace:rootName"),
        ("trace:rootName", Intrinsic::TraceRootName, "trace:rootName"),
        (
            "rootServiceName",
            Intrinsic::TraceRootService,
            "trace:rootService",
        ),
        (
            "trace:rootService",
            Intrinsic::TraceRootService,
            "trace:rootService",
        ),
        ("traceDuration", Intrinsic::TraceDuration, "trace:duration"),
        ("trace:id", Intrinsic::TraceId, "trace:id"),
        ("event:name", Intrinsic::EventName, "event:name"),
        (
            "event:timeSinceStart",
            Intrinsic::EventTimeSinceStart,
            "event:timeSinceStart",
        ),
        ("link:traceID", Intrinsic::LinkTraceId, "link:traceID"),
        ("link:spanID", Intrinsic::LinkSpanId, "link:spanID"),
        (
            "instrumentation:name",
            Intrinsic::InstrumentationName,
            "instrumentation:name",
        ),
        (
            "instrumentation:version",
            Intrinsic::InstrumentationVersion,
            "instrumentation:version",
        ),
    ];
    for (text, intrinsic, spelling) in cases {
        assert_eq!(
            parse_identifier(text),
            Ok(FieldExpr::Intrinsic(intrinsic)),
            "{text}"
        );
        assert_eq!(intrinsic.spelling(), spelling);
        assert_eq!(intrinsic.to_string(), spelling);
    }
}

#[test]
fn identifiers_for_tag_values() {
    let ok = [
        ("resource.service.name", "resource.service.name"),
        (".foo", ".foo"),
        ("span.http.method", "span.http.method"),
        ("  span.x  ", "span.x"),
        (r#"span."foo bar""#, r#"span."foo bar""#),
        ("event.exception.message", "event.exception.message"),
        ("parent.span.x", "parent.span.x"),
        ("status", "status"),
        ("span:status", "status"),
    ];
    for (text, printed) in ok {
        match parse_identifier(text) {
            Ok(f) => assert_eq!(f.to_string(), printed, "{text}"),
            Err(e) => panic!("{text}: {e}"),
        }
    }
    for bad in [
        "",
        "foo",
        ".",
        "span.",
        ".a b",
        "{ .a }",
        ".a = 1",
        "1",
        "\"x\"",
        "span:foo",
        "true",
        "trace:status",
        ".a,.b",
        "(.a)",
    ] {
        assert!(parse_identifier(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn nil_comparisons() {
    use BinaryOp::*;
    let nil = FieldExpr::Static(Static::Nil);
    assert_eq!(
        filter_expr("{ .a != nil }"),
        bin(Neq, dot("a"), nil.clone())
    );
    assert_eq!(filter_expr("{ nil = .a }"), bin(Eq, nil, dot("a")));
    assert_eq!(
        filter_expr("{ nil = nil }"),
        FieldExpr::Static(Static::Bool(false))
    );
    assert_eq!(
        filter_expr("{ nil != nil }"),
        FieldExpr::Static(Static::Bool(false))
    );
    for bad in [
        "{ nil }",
        "{ .a > nil }",
        "{ -nil = 1 }",
        "{ !nil }",
        "{ } | by(nil)",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}
