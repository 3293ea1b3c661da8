//! The shapes of parsed queries: precedence, associativity, folding, literals, attributes.

mod common;

use strata_traceql::*;

fn parse_ok(text: &str) -> Query {
    match parse(text) {
        Ok(q) => common::normalized(q),
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The expression inside the single spanset filter of `text`.
fn filter_expr(text: &str) -> FieldExpr {
    match parse_ok(text).root {
        RootExpr::Spanset(p) => match p.stages.as_slice() {
            [Stage::Spanset(SpansetExpr::Filter(SpansetFilter { expr: Some(e), .. }))] => e.clone(),
            other => panic!("{text:?}: not a single filter: {other:?}"),
        },
        other => panic!("{text:?}: {other:?}"),
    }
}

fn stages(text: &str) -> Vec<Stage> {
    match parse_ok(text).root {
        RootExpr::Spanset(p) => p.stages,
        other => panic!("{text:?}: {other:?}"),
    }
}

fn metrics(text: &str) -> MetricsExpr {
    match parse_ok(text).root {
        RootExpr::Metrics(m) => m,
        other => panic!("{text:?}: {other:?}"),
    }
}

fn attr(scope: AttributeScope, name: &str) -> FieldExpr {
    FieldExpr::Attribute(Attribute {
        scope,
        parent: false,
        name: name.to_string(),
    })
}

fn dot(name: &str) -> FieldExpr {
    attr(AttributeScope::None, name)
}

fn int(i: i64) -> FieldExpr {
    FieldExpr::Static(Static::Int(i))
}

fn bin(op: BinaryOp, lhs: FieldExpr, rhs: FieldExpr) -> FieldExpr {
    FieldExpr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn un(op: UnaryOp, e: FieldExpr) -> FieldExpr {
    FieldExpr::Unary {
        op,
        expr: Box::new(e),
    }
}

fn filter(e: Option<FieldExpr>) -> SpansetExpr {
    SpansetExpr::Filter(SpansetFilter {
        expr: e,
        pos: Pos::default(),
    })
}

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
        bin(Eq, bin(Mul, bin(Div, bin(Mod, dot("a"), int(3)), int(2)), int(4)), int(0))
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
        bin(Eq, un(UnaryOp::Not, dot("a")), FieldExpr::Static(Static::Bool(true)))
    );
    assert_eq!(filter_expr("{ !!.a }"), un(UnaryOp::Not, un(UnaryOp::Not, dot("a"))));
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
    assert_eq!(filter_expr("{ .a = 007 }"), bin(BinaryOp::Eq, dot("a"), int(7)));
    assert_eq!(
        filter_expr("{ .a = 2.5e3 }"),
        bin(BinaryOp::Eq, dot("a"), FieldExpr::Static(Static::Float(2500.0)))
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
    assert_eq!(filter_expr("{ .http.status_code }"), dot("http.status_code"));
    assert_eq!(filter_expr("{ span.http.url }"), attr(Span, "http.url"));
    assert_eq!(filter_expr("{ resource.service.name }"), attr(Resource, "service.name"));
    assert_eq!(filter_expr("{ event.exception.type }"), attr(Event, "exception.type"));
    assert_eq!(filter_expr("{ link.kind }"), attr(Link, "kind"));
    assert_eq!(filter_expr("{ instrumentation.lib }"), attr(Instrumentation, "lib"));
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
    assert_eq!(filter_expr(r#"{ resource."k8s.pod name" }"#), attr(Resource, "k8s.pod name"));
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
    assert_eq!(filter_expr("{ parent.resource.x }"), p(AttributeScope::Resource, "x"));
    assert_eq!(filter_expr("{ parent.span.a.b }"), p(AttributeScope::Span, "a.b"));
    assert_eq!(filter_expr("{ parent.x }"), p(AttributeScope::None, "x"));
    assert_eq!(filter_expr("{ parent.duration }"), p(AttributeScope::None, "duration"));
    assert_eq!(filter_expr(r#"{ parent."span.x" }"#), p(AttributeScope::None, "span.x"));
    assert_eq!(filter_expr("{ parent }"), FieldExpr::Intrinsic(Intrinsic::Parent));
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
        ("rootServiceName", Intrinsic::TraceRootService, "trace:rootService"),
        ("trace:rootService", Intrinsic::TraceRootService, "trace:rootService"),
        ("traceDuration", Intrinsic::TraceDuration, "trace:duration"),
        ("trace:id", Intrinsic::TraceId, "trace:id"),
        ("event:name", Intrinsic::EventName, "event:name"),
        ("event:timeSinceStart", Intrinsic::EventTimeSinceStart, "event:timeSinceStart"),
        ("link:traceID", Intrinsic::LinkTraceId, "link:traceID"),
        ("link:spanID", Intrinsic::LinkSpanId, "link:spanID"),
        ("instrumentation:name", Intrinsic::InstrumentationName, "instrumentation:name"),
        ("instrumentation:version", Intrinsic::InstrumentationVersion, "instrumentation:version"),
    ];
    for (text, intrinsic, spelling) in cases {
        assert_eq!(parse_identifier(text), Ok(FieldExpr::Intrinsic(intrinsic)), "{text}");
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
        "", "foo", ".", "span.", ".a b", "{ .a }", ".a = 1", "1", "\"x\"", "span:foo", "true",
        "trace:status", ".a,.b", "(.a)",
    ] {
        assert!(parse_identifier(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn nil_comparisons() {
    use BinaryOp::*;
    let nil = FieldExpr::Static(Static::Nil);
    assert_eq!(filter_expr("{ .a != nil }"), bin(Neq, dot("a"), nil.clone()));
    assert_eq!(filter_expr("{ nil = .a }"), bin(Eq, nil, dot("a")));
    assert_eq!(filter_expr("{ nil = nil }"), FieldExpr::Static(Static::Bool(false)));
    assert_eq!(filter_expr("{ nil != nil }"), FieldExpr::Static(Static::Bool(false)));
    for bad in ["{ nil }", "{ .a > nil }", "{ -nil = 1 }", "{ !nil }", "{ } | by(nil)"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn spanset_operators() {
    let a = || filter(Some(dot("a")));
    let b = || filter(Some(dot("b")));
    let c = || filter(Some(dot("c")));
    let op = |op, l, r| SpansetExpr::Op {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    };
    assert_eq!(
        stages("{ .a } && { .b } > { .c }"),
        vec![Stage::Spanset(op(
            SpansetOp::And,
            a(),
            op(SpansetOp::Child, b(), c())
        ))]
    );
    assert_eq!(
        stages("{ .a } !~ { .b } &>> { .c }"),
        vec![Stage::Spanset(op(
            SpansetOp::UnionDescendant,
            op(SpansetOp::NotSibling, a(), b()),
            c()
        ))]
    );
    assert_eq!(
        stages("{ .a } || ({ .b } << { .c })"),
        vec![Stage::Spanset(op(
            SpansetOp::Or,
            a(),
            op(SpansetOp::Ancestor, b(), c())
        ))]
    );
    assert_eq!(stages("{ }"), vec![Stage::Spanset(filter(None))]);
}

#[test]
fn pipelines_are_flat() {
    assert_eq!(stages("({ .a })"), stages("{ .a }"));
    assert_eq!(stages("({ .a } | { .b }) | { .c }"), stages("{ .a } | { .b } | { .c }"));
    assert_eq!(stages("(({ .a } | { .b }))"), stages("{ .a } | { .b }"));
    // A parenthesised pipeline stays nested as an operand of a spanset operator.
    let s = stages("({ .a } | count() > 1) && { .b }");
    match s.as_slice() {
        [Stage::Spanset(SpansetExpr::Op { lhs, .. })] => {
            assert!(matches!(**lhs, SpansetExpr::Pipeline(ref p) if p.stages.len() == 2));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scalar_filters() {
    let s = stages("{ } | count() > 2");
    assert_eq!(
        s[1],
        Stage::ScalarFilter(ScalarFilter {
            op: CmpOp::Gt,
            lhs: ScalarExpr::Aggregate(Aggregate {
                func: AggregateFn::Count,
                arg: None
            }),
            rhs: ScalarExpr::Static(Static::Int(2)),
        })
    );
    // Constant arithmetic is folded, with Go's integer division.
    let s = stages("avg(duration) > 3 / 2 + 1");
    assert!(matches!(
        &s[0],
        Stage::ScalarFilter(ScalarFilter { rhs: ScalarExpr::Static(Static::Int(2)), .. })
    ));
    let s = stages("avg(duration) > 2 * count() - 1");
    let Stage::ScalarFilter(f) = &s[0] else {
        panic!("{s:?}")
    };
    assert_eq!(f.rhs.to_string(), "2 * count() - 1");
    assert!(matches!(f.rhs, ScalarExpr::Binary { op: ArithOp::Sub, .. }));
    // Scalar pipelines.
    let s = stages("({ .a } | by(.b) | count()) > 1");
    match &s[0] {
        Stage::ScalarFilter(ScalarFilter {
            lhs: ScalarExpr::PipelineAggregate { pipeline, aggregate },
            ..
        }) => {
            assert_eq!(pipeline.stages.len(), 2);
            assert_eq!(aggregate.func, AggregateFn::Count);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn by_select_coalesce() {
    let s = stages("{ } | by(resource.service.name) | select(span.a, name) | coalesce()");
    assert_eq!(s[1].to_string(), "by(resource.service.name)");
    assert_eq!(s[2].to_string(), "select(span.a, name)");
    assert_eq!(s[3], Stage::Coalesce);
}

#[test]
fn metrics_pipelines() {
    let m = metrics("{ } | rate() by (resource.service.name, name) | topk(5) > 10");
    match m {
        MetricsExpr::Pipeline { func, by, second, .. } => {
            assert_eq!(func, MetricsFn::Rate);
            assert_eq!(by.len(), 2);
            assert_eq!(
                second,
                vec![
                    SecondStage::TopK(5),
                    SecondStage::Filter {
                        op: CmpOp::Gt,
                        value: 10.0
                    }
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    // Durations in filters are seconds; parentheses around a pipeline are transparent.
    assert_eq!(
        metrics("({} | max_over_time(duration)) > 1500ms"),
        metrics("{} | max_over_time(duration) > 1.5")
    );
    assert!(matches!(
        metrics("{} | quantile_over_time(duration, 5e-1, 0.99, 1)"),
        MetricsExpr::Pipeline { func: MetricsFn::QuantileOverTime(_, ref q), .. } if q == &[0.5, 0.99, 1.0]
    ));
    assert!(matches!(
        metrics("{} | compare({ status = error }, 7)"),
        MetricsExpr::Pipeline {
            func: MetricsFn::Compare { top_n: 7, start: 0, end: 0, .. },
            ..
        }
    ));
}

#[test]
fn metrics_arithmetic_is_folded_and_ordered() {
    let pipe = || metrics("{} | rate()");
    let binary = |op, l, r| MetricsExpr::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
        second: vec![],
    };
    assert_eq!(
        metrics("1 + 2 + ({} | rate())"),
        binary(ArithOp::Add, MetricsExpr::Scalar(3.0), pipe())
    );
    assert_eq!(
        metrics("({} | rate()) * (1 / 2)"),
        binary(ArithOp::Mul, pipe(), MetricsExpr::Scalar(0.0))
    );
    assert_eq!(
        metrics("({} | rate()) * (1.0 / 2.0)"),
        binary(ArithOp::Mul, pipe(), MetricsExpr::Scalar(0.5))
    );
    assert_eq!(
        metrics("5 + ({} | rate()) * 10"),
        binary(
            ArithOp::Add,
            MetricsExpr::Scalar(5.0),
            binary(ArithOp::Mul, pipe(), MetricsExpr::Scalar(10.0))
        )
    );
    let MetricsExpr::Binary { second, .. } = metrics("({} | rate()) + 1 > 3 | topk(2)") else {
        panic!()
    };
    assert_eq!(second.len(), 2);
    for bad in [
        "({} | rate()) * 10s",
        "({} | rate()) > (1s + 1s)",
        "({} | rate()) * 100000000000000000000",
        "({} | rate()) / (1 / 0)",
        "({} | rate()) * (9223372036854775807 + 1)",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn hints() {
    let q = parse_ok(r#"{ } | rate() with(sample=0.1, most_recent=true, debug="x")"#);
    assert_eq!(
        q.hints,
        vec![
            Hint {
                name: "sample".into(),
                value: Static::Float(0.1)
            },
            Hint {
                name: "most_recent".into(),
                value: Static::Bool(true)
            },
            Hint {
                name: "debug".into(),
                value: Static::String("x".into())
            },
        ]
    );
    assert_eq!(
        q.to_string(),
        r#"{ } | rate() with(sample=0.1, most_recent=true, debug="x")"#
    );
}

#[test]
fn display_is_canonical() {
    let cases = [
        ("{.a=1}", "{ .a = 1 }"),
        ("{ (.a = 1) }", "{ .a = 1 }"),
        ("{ (.a + 1) * 2 = 4 }", "{ (.a + 1) * 2 = 4 }"),
        ("{ (-.a) * 2 = 4 }", "{ (-.a) * 2 = 4 }"),
        ("{ (2 ^ 3) ^ 2 = 64 }", "{ (2 ^ 3) ^ 2 = 64 }"),
        ("{ .a = 1.0 }", "{ .a = 1.0 }"),
        ("{ .a = 1e20 }", "{ .a = 1e20 }"),
        ("{ .a = \"x\\ty\" }", "{ .a = \"x\\ty\" }"),
        ("{ duration > 90m }", "{ duration > 1h30m }"),
        ("{ duration > 1.5s }", "{ duration > 1s500ms }"),
        ("{ span:duration > 1µs }", "{ duration > 1us }"),
        ("{ .\"a b\" = 1 }", "{ .\"a b\" = 1 }"),
        ("{ parent.\"span.x\" = 1 }", "{ parent.\"span.x\" = 1 }"),
        ("{ .a } | count() > 1", "{ .a } | count() > 1"),
        ("({.a}|count())>({.b}|count())", "({ .a } | count()) > ({ .b } | count())"),
        ("{} | rate()by(name)", "{ } | rate() by (name)"),
    ];
    for (input, printed) in cases {
        assert_eq!(parse_ok(input).to_string(), printed, "{input}");
        assert!(common::round_trip_problem(input).is_none(), "{input}");
    }
}
