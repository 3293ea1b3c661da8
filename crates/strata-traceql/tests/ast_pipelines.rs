//! The shapes of parsed pipelines, spanset operators, scalar filters, metrics queries and
//! hints, and the canonical printed form.

mod common;

use common::*;
use strata_traceql::*;

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
    assert_eq!(
        stages("({ .a } | { .b }) | { .c }"),
        stages("{ .a } | { .b } | { .c }")
    );
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
        Stage::ScalarFilter(ScalarFilter {
            rhs: ScalarExpr::Static(Static::Int(2)),
            ..
        })
    ));
    let s = stages("avg(duration) > 2 * count() - 1");
    let Stage::ScalarFilter(f) = &s[0] else {
        panic!("{s:?}")
    };
    assert_eq!(f.rhs.to_string(), "2 * count() - 1");
    assert!(matches!(
        f.rhs,
        ScalarExpr::Binary {
            op: ArithOp::Sub,
            ..
        }
    ));
    // Scalar pipelines.
    let s = stages("({ .a } | by(.b) | count()) > 1");
    match &s[0] {
        Stage::ScalarFilter(ScalarFilter {
            lhs:
                ScalarExpr::PipelineAggregate {
                    pipeline,
                    aggregate,
                },
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
        MetricsExpr::Pipeline {
            func, by, second, ..
        } => {
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
            func: MetricsFn::Compare {
                top_n: 7,
                start: 0,
                end: 0,
                ..
            },
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
        (
            "({.a}|count())>({.b}|count())",
            "({ .a } | count()) > ({ .b } | count())",
        ),
        ("{} | rate()by(name)", "{ } | rate() by (name)"),
    ];
    for (input, printed) in cases {
        assert_eq!(parse_ok(input).to_string(), printed, "{input}");
        assert!(common::round_trip_problem(input).is_none(), "{input}");
    }
}
