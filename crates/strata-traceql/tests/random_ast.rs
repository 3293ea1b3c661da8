//! Randomly generated ASTs (of the shapes the parser produces) must print as text that
//! parses back to them.

mod common;

use common::Rng;
use strata_traceql::*;

fn random_name(rng: &mut Rng) -> String {
    const PARTS: &[&str] = &[
        "a",
        "http",
        ".",
        "status_code",
        " ",
        "\"",
        "\\",
        "=",
        "{",
        "é",
        "-",
        ":",
        "span.",
        "resource.",
        "x y",
        "\t",
        "|",
        ",",
        "1",
    ];
    (0..rng.below(4)).map(|_| *rng.pick(PARTS)).collect()
}

fn random_string(rng: &mut Rng) -> String {
    const PARTS: &[&str] = &[
        "a", "\"", "\\", "\n", "\r", "\t", "\u{1}", "é", "😀", " ", "`", "{",
    ];
    (0..rng.below(5)).map(|_| *rng.pick(PARTS)).collect()
}

fn random_float(rng: &mut Rng) -> f64 {
    let choices = [
        0.0, -0.0, 0.5, -1.5, 1e20, 1.5e-7, 3.0, 123.456, -1e300, 1e-5,
    ];
    if rng.chance(50) {
        *rng.pick(&choices)
    } else {
        let f = f64::from_bits(rng.next());
        if f.is_finite() {
            f
        } else {
            1.0
        }
    }
}

fn random_static(rng: &mut Rng) -> Static {
    match rng.below(9) {
        0 => Static::Bool(rng.chance(50)),
        1 => Static::Int(*rng.pick(&[0, 1, -1, 42, i64::MIN, i64::MAX, -7_000_000_000])),
        2 => Static::Int(rng.next() as i64),
        3 => Static::Float(random_float(rng)),
        4 => Static::String(random_string(rng)),
        5 => {
            Static::Duration(*rng.pick(&[0, 1, -1_000, 1_500_000_000, 5_400_000_000_000, i64::MAX]))
        }
        6 => Static::Status(*rng.pick(&[Status::Ok, Status::Error, Status::Unset])),
        7 => Static::Kind(*rng.pick(&[Kind::Unspecified, Kind::Server, Kind::Consumer])),
        _ => Static::Int(rng.below(1000) as i64),
    }
}

fn random_identifier(rng: &mut Rng) -> FieldExpr {
    if rng.chance(30) {
        return FieldExpr::Intrinsic(*rng.pick(&[
            Intrinsic::Duration,
            Intrinsic::Name,
            Intrinsic::Status,
            Intrinsic::Kind,
            Intrinsic::SpanId,
            Intrinsic::ChildCount,
            Intrinsic::NestedSetLeft,
            Intrinsic::Parent,
            Intrinsic::TraceRootService,
            Intrinsic::EventTimeSinceStart,
            Intrinsic::LinkSpanId,
            Intrinsic::InstrumentationVersion,
        ]));
    }
    let parent = rng.chance(15);
    let scopes: &[AttributeScope] = if parent {
        &[
            AttributeScope::None,
            AttributeScope::Span,
            AttributeScope::Resource,
        ]
    } else {
        &[
            AttributeScope::None,
            AttributeScope::Span,
            AttributeScope::Resource,
            AttributeScope::Event,
            AttributeScope::Link,
            AttributeScope::Instrumentation,
        ]
    };
    FieldExpr::Attribute(Attribute {
        scope: *rng.pick(scopes),
        parent,
        name: random_name(rng),
    })
}

fn is_number(e: &FieldExpr) -> bool {
    matches!(
        e,
        FieldExpr::Static(Static::Int(_) | Static::Float(_) | Static::Duration(_))
    )
}

/// A field expression of the kind the parser produces (no `-literal` left unfolded, nil only
/// beside `=`/`!=`).
fn random_field(rng: &mut Rng, depth: usize) -> FieldExpr {
    use BinaryOp::*;
    if depth == 0 || rng.chance(30) {
        return if rng.chance(50) {
            FieldExpr::Static(random_static(rng))
        } else {
            random_identifier(rng)
        };
    }
    match rng.below(10) {
        0 | 1 => {
            let expr = random_field(rng, depth - 1);
            let op = if is_number(&expr) || rng.chance(50) {
                UnaryOp::Not
            } else {
                UnaryOp::Neg
            };
            FieldExpr::Unary {
                op,
                expr: Box::new(expr),
            }
        }
        2 => {
            let operand = random_field(rng, depth - 1);
            let nil = FieldExpr::Static(Static::Nil);
            let (lhs, rhs) = if rng.chance(50) {
                (operand, nil)
            } else {
                (nil, operand)
            };
            FieldExpr::Binary {
                op: *rng.pick(&[Eq, Neq]),
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            }
        }
        _ => FieldExpr::Binary {
            op: *rng.pick(&[
                Add, Sub, Mul, Div, Mod, Pow, Eq, Neq, Lt, Lte, Gt, Gte, Regex, NotRegex, And, Or,
            ]),
            lhs: Box::new(random_field(rng, depth - 1)),
            rhs: Box::new(random_field(rng, depth - 1)),
        },
    }
}

fn random_filter(rng: &mut Rng, depth: usize) -> SpansetExpr {
    SpansetExpr::Filter(SpansetFilter {
        expr: (!rng.chance(10)).then(|| random_field(rng, depth)),
        pos: Pos::default(),
    })
}

fn random_spanset(rng: &mut Rng, depth: usize) -> SpansetExpr {
    if depth == 0 || rng.chance(40) {
        return random_filter(rng, 3);
    }
    if rng.chance(15) {
        let mut stages = random_stages(rng, depth - 1);
        if stages.len() < 2 {
            stages.push(Stage::Coalesce);
        }
        return SpansetExpr::Pipeline(Box::new(Pipeline { stages }));
    }
    use SpansetOp::*;
    SpansetExpr::Op {
        op: *rng.pick(&[
            And,
            Or,
            Child,
            Parent,
            Descendant,
            Ancestor,
            Sibling,
            NotChild,
            NotParent,
            NotDescendant,
            NotAncestor,
            NotSibling,
            UnionChild,
            UnionParent,
            UnionDescendant,
            UnionAncestor,
            UnionSibling,
        ]),
        lhs: Box::new(random_spanset(rng, depth - 1)),
        rhs: Box::new(random_spanset(rng, depth - 1)),
    }
}

fn random_aggregate(rng: &mut Rng) -> ScalarExpr {
    let func = *rng.pick(&[
        AggregateFn::Count,
        AggregateFn::Avg,
        AggregateFn::Min,
        AggregateFn::Max,
        AggregateFn::Sum,
    ]);
    let arg = (func != AggregateFn::Count).then(|| random_field(rng, 2));
    ScalarExpr::Aggregate(Aggregate { func, arg })
}

fn random_number(rng: &mut Rng) -> Static {
    match rng.below(3) {
        0 => Static::Int(rng.next() as i64),
        1 => Static::Float(random_float(rng)),
        _ => Static::Duration(rng.below(1 << 40) as i64 - (1 << 39)),
    }
}

fn random_scalar(rng: &mut Rng, depth: usize) -> ScalarExpr {
    if depth == 0 || rng.chance(40) {
        return random_aggregate(rng);
    }
    let (lhs, rhs) = match rng.below(3) {
        0 => (
            random_scalar(rng, depth - 1),
            ScalarExpr::Static(random_number(rng)),
        ),
        1 => (
            ScalarExpr::Static(random_number(rng)),
            random_scalar(rng, depth - 1),
        ),
        _ => (random_scalar(rng, depth - 1), random_scalar(rng, depth - 1)),
    };
    use ArithOp::*;
    ScalarExpr::Binary {
        op: *rng.pick(&[Add, Sub, Mul, Div, Mod, Pow]),
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn random_stage(rng: &mut Rng, depth: usize, first: bool) -> Stage {
    match rng.below(6) {
        0 => Stage::By(random_field(rng, 2)),
        1 => Stage::Select(
            (0..1 + rng.below(3))
                .map(|_| random_identifier(rng))
                .collect(),
        ),
        2 if !first => Stage::Coalesce,
        3 => Stage::ScalarFilter(ScalarFilter {
            op: *rng.pick(&[
                CmpOp::Eq,
                CmpOp::Neq,
                CmpOp::Lt,
                CmpOp::Lte,
                CmpOp::Gt,
                CmpOp::Gte,
            ]),
            lhs: random_scalar(rng, 2),
            rhs: if rng.chance(50) {
                ScalarExpr::Static(random_number(rng))
            } else {
                random_scalar(rng, 2)
            },
        }),
        _ => match random_spanset(rng, depth) {
            // A parenthesised pipeline used as a stage is spliced by the parser.
            SpansetExpr::Pipeline(_) => Stage::Spanset(random_filter(rng, 2)),
            e => Stage::Spanset(e),
        },
    }
}

fn random_stages(rng: &mut Rng, depth: usize) -> Vec<Stage> {
    (0..1 + rng.below(3))
        .map(|i| random_stage(rng, depth, i == 0))
        .collect()
}

fn random_second(rng: &mut Rng) -> Vec<SecondStage> {
    (0..rng.below(3))
        .map(|_| match rng.below(3) {
            0 => SecondStage::TopK(rng.below(100) as i64),
            1 => SecondStage::BottomK(rng.below(100) as i64),
            _ => SecondStage::Filter {
                op: *rng.pick(&[CmpOp::Eq, CmpOp::Neq, CmpOp::Lt, CmpOp::Gte]),
                value: random_float(rng),
            },
        })
        .collect()
}

fn random_metrics(rng: &mut Rng, depth: usize) -> MetricsExpr {
    if depth == 0 || rng.chance(40) {
        let attr = random_identifier(rng);
        let func = match rng.below(5) {
            0 => MetricsFn::Rate,
            1 => MetricsFn::CountOverTime,
            2 => MetricsFn::AvgOverTime(attr),
            3 => MetricsFn::QuantileOverTime(attr, vec![0.5, 0.99, 1.0, 0.0]),
            _ => MetricsFn::Compare {
                filter: SpansetFilter {
                    expr: Some(random_field(rng, 2)),
                    pos: Pos::default(),
                },
                top_n: *rng.pick(&[10, 3]),
                start: *rng.pick(&[0, 5]),
                end: 0,
            },
        };
        let by = if matches!(func, MetricsFn::Compare { .. }) {
            vec![]
        } else {
            (0..rng.below(3)).map(|_| random_identifier(rng)).collect()
        };
        return MetricsExpr::Pipeline {
            pipeline: Pipeline {
                stages: random_stages(rng, 1),
            },
            func,
            by,
            second: random_second(rng),
        };
    }
    let scalar = |rng: &mut Rng| MetricsExpr::Scalar(random_float(rng));
    let (lhs, rhs) = match rng.below(3) {
        0 => (random_metrics(rng, depth - 1), scalar(rng)),
        1 => (scalar(rng), random_metrics(rng, depth - 1)),
        _ => (
            random_metrics(rng, depth - 1),
            random_metrics(rng, depth - 1),
        ),
    };
    use ArithOp::*;
    MetricsExpr::Binary {
        op: *rng.pick(&[Add, Sub, Mul, Div]),
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        second: random_second(rng),
    }
}

fn check_round_trip(q: &Query, failures: &mut Vec<String>) {
    let text = q.to_string();
    match parse(&text) {
        Ok(parsed) => {
            let _ = validate(&parsed);
            if common::normalized(parsed.clone()) != *q {
                failures.push(format!("{text}\n  generated {q:?}\n  parsed    {parsed:?}"));
            }
        }
        Err(e) => failures.push(format!("{text}\n  generated {q:?}\n  {e}")),
    }
}

#[test]
fn random_asts_print_as_text_that_parses_back() {
    let mut rng = Rng(0x5eed_0f7e_57ab_1e00);
    let mut failures = Vec::new();
    for i in 0..6_000 {
        let root = if i % 3 == 0 {
            RootExpr::Metrics(random_metrics(&mut rng, 3))
        } else {
            RootExpr::Spanset(Pipeline {
                stages: random_stages(&mut rng, 3),
            })
        };
        let hints = if rng.chance(20) {
            vec![Hint {
                name: "sample".into(),
                value: Static::Float(0.25),
            }]
        } else {
            vec![]
        };
        check_round_trip(&Query { root, hints }, &mut failures);
        if failures.len() > 10 {
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
