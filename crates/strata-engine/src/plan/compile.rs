//! AST → [`ir`](super::ir): folds nil comparisons into existence tests, compiles regexes,
//! normalises ID literals, and collects filters, value expressions and reported attributes.

use strata_traceql::{
    AttributeScope, BinaryOp, CmpOp, FieldExpr, Intrinsic, Pipeline, ScalarExpr, ScalarFilter,
    SpansetExpr, Stage, Static, UnaryOp,
};

use super::ir::{self, Arith, Cmp, Domain, Expr, FieldRef, Lit, Output, Source};
use super::text;
use crate::EngineError;

/// Most bytes a compiled regular expression (and, separately, its lazy DFA cache) may use.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What compilation collects besides the pipeline.
#[derive(Default)]
pub(crate) struct Compiler {
    pub filters: Vec<Expr>,
    pub values: Vec<Expr>,
    pub outputs: Vec<Output>,
    pub structural: bool,
}

fn unsupported(msg: impl Into<String>) -> EngineError {
    EngineError::Unsupported(msg.into())
}

impl Compiler {
    pub(crate) fn pipeline(&mut self, p: &Pipeline) -> Result<ir::Pipeline, EngineError> {
        let stages = p
            .stages
            .iter()
            .map(|s| self.stage(s))
            .collect::<Result<_, _>>()?;
        Ok(ir::Pipeline { stages })
    }

    fn stage(&mut self, s: &Stage) -> Result<ir::Stage, EngineError> {
        Ok(match s {
            Stage::Spanset(e) => ir::Stage::Spanset(self.spanset(e)?),
            Stage::ScalarFilter(f) => ir::Stage::Scalar(self.scalar_filter(f)?),
            Stage::By(e) => {
                let value = self.value(e)?;
                ir::Stage::By {
                    value,
                    key: format!("by({})", text::field_text(e)),
                }
            }
            Stage::Select(es) => {
                for e in es {
                    let compiled = self.expr(e)?;
                    check_single_domain(&compiled)?;
                    self.add_outputs(&compiled);
                }
                ir::Stage::Select
            }
            Stage::Coalesce => ir::Stage::Coalesce,
        })
    }

    fn spanset(&mut self, e: &SpansetExpr) -> Result<ir::SpansetExpr, EngineError> {
        Ok(match e {
            SpansetExpr::Filter(f) => match &f.expr {
                None => ir::SpansetExpr::Filter(None),
                Some(fe) => {
                    let compiled = self.expr(fe)?;
                    check_predicate_domains(&compiled)?;
                    self.add_outputs(&compiled);
                    self.filters.push(compiled);
                    ir::SpansetExpr::Filter(Some(self.filters.len() - 1))
                }
            },
            SpansetExpr::Op { op, lhs, rhs } => {
                use strata_traceql::SpansetOp::{And, Or};
                if !matches!(op, And | Or) {
                    self.structural = true;
                }
                ir::SpansetExpr::Op {
                    op: *op,
                    lhs: Box::new(self.spanset(lhs)?),
                    rhs: Box::new(self.spanset(rhs)?),
                }
            }
            SpansetExpr::Pipeline(p) => ir::SpansetExpr::Pipeline(Box::new(self.pipeline(p)?)),
        })
    }

    fn scalar_filter(&mut self, f: &ScalarFilter) -> Result<ir::ScalarFilter, EngineError> {
        let (agg, lit, op) = match (&f.lhs, &f.rhs) {
            (ScalarExpr::Aggregate(a), ScalarExpr::Static(s)) => (a, s, cmp_op(f.op)),
            (ScalarExpr::Static(s), ScalarExpr::Aggregate(a)) => (a, s, cmp_op(f.op).flipped()),
            _ => {
                return Err(unsupported(
                    "scalar filters must compare an aggregate with a literal",
                ))
            }
        };
        let arg = match (&agg.func, &agg.arg) {
            (strata_traceql::AggregateFn::Count, _) | (_, None) => None,
            (_, Some(e)) => Some(self.value(e)?),
        };
        Ok(ir::ScalarFilter {
            func: agg.func,
            arg,
            key: text::aggregate_text(agg),
            op,
            rhs: lit_of(lit),
        })
    }

    /// A value expression (`by()`, aggregate argument): stored once, reported on spans.
    fn value(&mut self, e: &FieldExpr) -> Result<usize, EngineError> {
        let compiled = self.expr(e)?;
        check_single_domain(&compiled)?;
        self.add_outputs(&compiled);
        self.values.push(compiled);
        Ok(self.values.len() - 1)
    }

    fn add_outputs(&mut self, e: &Expr) {
        let mut found = Vec::new();
        e.visit_fields(&mut |r| found.push(r.clone()));
        for field in found {
            let key = match &field {
                FieldRef::Attr(_, name) => name.clone(),
                FieldRef::Intr(i) if reported(*i) => text::intrinsic_name(*i).to_string(),
                FieldRef::Intr(_) => continue,
            };
            if !self.outputs.iter().any(|o| o.field == field) {
                self.outputs.push(Output { key, field });
            }
        }
    }

    pub(crate) fn expr(&mut self, e: &FieldExpr) -> Result<Expr, EngineError> {
        Ok(match e {
            FieldExpr::Static(s) => Expr::Lit(lit_of(s)),
            FieldExpr::Attribute(a) => {
                if a.parent {
                    return Err(unsupported("the parent. scope is not supported"));
                }
                let source = match a.scope {
                    AttributeScope::None => Source::Unscoped,
                    AttributeScope::Span => Source::Span,
                    AttributeScope::Resource => Source::Resource,
                    AttributeScope::Event => Source::Event,
                    AttributeScope::Link => Source::Link,
                    AttributeScope::Instrumentation => Source::Scope,
                };
                Expr::Field(FieldRef::Attr(source, a.name.clone()))
            }
            FieldExpr::Intrinsic(Intrinsic::Parent) => {
                return Err(unsupported("the parent intrinsic is not supported"))
            }
            FieldExpr::Intrinsic(i) => Expr::Field(FieldRef::Intr(*i)),
            FieldExpr::Unary { op, expr } => {
                let inner = Box::new(self.expr(expr)?);
                match op {
                    UnaryOp::Neg => Expr::Neg(inner),
                    UnaryOp::Not => Expr::Not(inner),
                }
            }
            FieldExpr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs)?,
        })
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &FieldExpr,
        rhs: &FieldExpr,
    ) -> Result<Expr, EngineError> {
        let is_nil = |e: &FieldExpr| matches!(e, FieldExpr::Static(Static::Nil));
        if matches!(op, BinaryOp::Eq | BinaryOp::Neq) && (is_nil(lhs) || is_nil(rhs)) {
            // `x != nil` tests existence, `x = nil` absence; `nil = nil` is false (Tempo:
            // nothing equals nil).
            if is_nil(lhs) && is_nil(rhs) {
                return Ok(Expr::Lit(Lit::Bool(false)));
            }
            let other = if is_nil(lhs) { rhs } else { lhs };
            let exists = Expr::Exists(Box::new(self.expr(other)?));
            return Ok(if op == BinaryOp::Neq {
                exists
            } else {
                Expr::Not(Box::new(exists))
            });
        }
        if matches!(op, BinaryOp::Regex | BinaryOp::NotRegex) {
            let FieldExpr::Static(Static::String(pattern)) = rhs else {
                return Err(unsupported(
                    "the right-hand side of =~ and !~ must be a string literal",
                ));
            };
            // Matching is linear in the input (no backtracking); the compiled program and its
            // lazy DFA are bounded so that no pattern can take a querier's memory.
            let re = regex::RegexBuilder::new(&format!("^(?s:{pattern})$"))
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| unsupported(format!("invalid regular expression: {e}")))?;
            return Ok(Expr::Regex {
                expr: Box::new(self.expr(lhs)?),
                re,
                negate: op == BinaryOp::NotRegex,
            });
        }
        let l = Box::new(self.expr(lhs)?);
        let r = Box::new(self.expr(rhs)?);
        let arith = |a: Arith| Expr::Arith(a, l.clone(), r.clone());
        let cmp = |c: Cmp| normalise_id_cmp(c, l.clone(), r.clone());
        Ok(match op {
            BinaryOp::Add => arith(Arith::Add),
            BinaryOp::Sub => arith(Arith::Sub),
            BinaryOp::Mul => arith(Arith::Mul),
            BinaryOp::Div => arith(Arith::Div),
            BinaryOp::Mod => arith(Arith::Mod),
            BinaryOp::Pow => arith(Arith::Pow),
            BinaryOp::Eq => cmp(Cmp::Eq),
            BinaryOp::Neq => cmp(Cmp::Neq),
            BinaryOp::Lt => cmp(Cmp::Lt),
            BinaryOp::Lte => cmp(Cmp::Lte),
            BinaryOp::Gt => cmp(Cmp::Gt),
            BinaryOp::Gte => cmp(Cmp::Gte),
            BinaryOp::And => Expr::And(l, r),
            BinaryOp::Or => Expr::Or(l, r),
            // Handled above.
            BinaryOp::Regex | BinaryOp::NotRegex => {
                return Err(unsupported("regex operator in an unexpected position"))
            }
        })
    }
}

/// Intrinsics Tempo reports as span attributes (never name, durations, IDs of the span or
/// trace, trace-level values or nested-set numbers).
fn reported(i: Intrinsic) -> bool {
    !matches!(
        i,
        Intrinsic::Name
            | Intrinsic::Duration
            | Intrinsic::TraceDuration
            | Intrinsic::TraceRootName
            | Intrinsic::TraceRootService
            | Intrinsic::TraceId
            | Intrinsic::SpanId
            | Intrinsic::NestedSetLeft
            | Intrinsic::NestedSetRight
            | Intrinsic::NestedSetParent
            | Intrinsic::Parent
    )
}

/// Width in hex characters of an ID intrinsic's canonical form.
fn id_width(e: &Expr) -> Option<usize> {
    match e {
        Expr::Field(FieldRef::Intr(Intrinsic::TraceId | Intrinsic::LinkTraceId)) => Some(32),
        Expr::Field(FieldRef::Intr(
            Intrinsic::SpanId | Intrinsic::SpanParentId | Intrinsic::LinkSpanId,
        )) => Some(16),
        _ => None,
    }
}

/// IDs are compared as hex strings of their full width (Tempo parses the literal as an ID):
/// `trace:id = "ABC"` matches the trace `000…0abc`.
fn normalise_id_cmp(op: Cmp, mut l: Box<Expr>, mut r: Box<Expr>) -> Expr {
    if matches!(op, Cmp::Eq | Cmp::Neq) {
        if let Some(w) = id_width(&l) {
            normalise_id_lit(&mut r, w);
        } else if let Some(w) = id_width(&r) {
            normalise_id_lit(&mut l, w);
        }
    }
    Expr::Cmp(op, l, r)
}

fn normalise_id_lit(e: &mut Expr, width: usize) {
    if let Expr::Lit(Lit::Str(s)) = e {
        let lower = s.to_ascii_lowercase();
        let trimmed = lower.trim_start_matches('0');
        if trimmed.len() <= width {
            *s = format!("{trimmed:0>width$}");
        }
    }
}

fn cmp_op(op: CmpOp) -> Cmp {
    match op {
        CmpOp::Eq => Cmp::Eq,
        CmpOp::Neq => Cmp::Neq,
        CmpOp::Lt => Cmp::Lt,
        CmpOp::Lte => Cmp::Lte,
        CmpOp::Gt => Cmp::Gt,
        CmpOp::Gte => Cmp::Gte,
    }
}

pub(crate) fn lit_of(s: &Static) -> Lit {
    match s {
        Static::Nil => Lit::Nil,
        Static::Bool(b) => Lit::Bool(*b),
        Static::Int(i) => Lit::Int(*i),
        Static::Float(f) => Lit::Float(*f),
        Static::String(s) => Lit::Str(s.clone()),
        Static::Duration(d) => Lit::Dur(*d),
        Static::Status(s) => Lit::Status(text::status_code(*s)),
        Static::Kind(k) => Lit::Kind(text::kind_code(*k)),
    }
}

fn domains(e: &Expr) -> (bool, bool) {
    let (mut ev, mut ln) = (false, false);
    e.visit_fields(&mut |r| match r.domain() {
        Domain::Event => ev = true,
        Domain::Link => ln = true,
        Domain::Span => {}
    });
    (ev, ln)
}

fn check_single_domain(e: &Expr) -> Result<(), EngineError> {
    match domains(e) {
        (true, true) => Err(unsupported(
            "an expression cannot combine event and link fields",
        )),
        _ => Ok(()),
    }
}

/// In a filter, `&&`, `||` and `!` combine per-span results, so only the comparisons under
/// them must stay within one of the event or link domains.
pub(crate) fn check_predicate_domains(e: &Expr) -> Result<(), EngineError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_predicate_domains(a)?;
            check_predicate_domains(b)
        }
        Expr::Not(a) => check_predicate_domains(a),
        other => check_single_domain(other),
    }
}

#[cfg(test)]
mod tests {
    use strata_traceql::{Attribute, Query, RootExpr, SpansetFilter};

    use super::*;

    fn attr(scope: AttributeScope, name: &str) -> FieldExpr {
        FieldExpr::Attribute(Attribute {
            scope,
            parent: false,
            name: name.into(),
        })
    }

    fn bin(op: BinaryOp, lhs: FieldExpr, rhs: FieldExpr) -> FieldExpr {
        FieldExpr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    fn compile(e: FieldExpr) -> Result<Expr, EngineError> {
        Compiler::default().expr(&e)
    }

    #[test]
    fn nil_comparisons_become_existence_tests() {
        let a = || attr(AttributeScope::Span, "a");
        let nil = || FieldExpr::Static(Static::Nil);
        assert!(matches!(
            compile(bin(BinaryOp::Neq, a(), nil())),
            Ok(Expr::Exists(_))
        ));
        assert!(matches!(
            compile(bin(BinaryOp::Eq, nil(), a())),
            Ok(Expr::Not(e)) if matches!(*e, Expr::Exists(_))
        ));
        assert!(matches!(
            compile(bin(BinaryOp::Eq, nil(), nil())),
            Ok(Expr::Lit(Lit::Bool(false)))
        ));
    }

    #[test]
    fn id_literals_are_normalised() {
        let e = bin(
            BinaryOp::Eq,
            FieldExpr::Static(Static::String("00ABC".into())),
            FieldExpr::Intrinsic(Intrinsic::SpanId),
        );
        let Ok(Expr::Cmp(Cmp::Eq, l, _)) = compile(e) else {
            panic!("not a comparison");
        };
        assert!(matches!(*l, Expr::Lit(Lit::Str(ref s)) if s == "0000000000000abc"));
    }

    #[test]
    fn regexes_are_anchored_and_checked() {
        let re = |p: &str| {
            compile(bin(
                BinaryOp::Regex,
                attr(AttributeScope::None, "a"),
                FieldExpr::Static(Static::String(p.into())),
            ))
        };
        let Ok(Expr::Regex { re: r, negate, .. }) = re("a|b") else {
            panic!("not a regex");
        };
        assert_eq!(r.as_str(), "^(?s:a|b)$");
        assert!(!negate);
        assert!(matches!(re("("), Err(EngineError::Unsupported(_))));
    }

    #[test]
    fn unsupported_forms() {
        let parent = FieldExpr::Attribute(Attribute {
            scope: AttributeScope::Span,
            parent: true,
            name: "a".into(),
        });
        assert!(matches!(compile(parent), Err(EngineError::Unsupported(_))));
        assert!(matches!(
            compile(FieldExpr::Intrinsic(Intrinsic::Parent)),
            Err(EngineError::Unsupported(_))
        ));
    }

    #[test]
    fn hand_built_query_plans() {
        let filter = |e: FieldExpr| {
            Stage::Spanset(SpansetExpr::Filter(SpansetFilter {
                expr: Some(e),
                pos: Default::default(),
            }))
        };
        let q = Query {
            root: RootExpr::Spanset(Pipeline {
                stages: vec![
                    filter(bin(
                        BinaryOp::Gt,
                        FieldExpr::Intrinsic(Intrinsic::Duration),
                        FieldExpr::Static(Static::Duration(1_000)),
                    )),
                    Stage::By(attr(AttributeScope::Resource, "service.name")),
                ],
            }),
            hints: vec![],
        };
        let plan = crate::SearchPlan::new(&q).expect("plan");
        assert_eq!(plan.filters.len(), 1);
        assert_eq!(plan.values.len(), 1);
        assert_eq!(plan.prefilter_columns(), Some(vec!["duration_nano"]));
        assert!(matches!(
            &plan.pipeline.stages[1],
            ir::Stage::By { key, .. } if key == "by(resource.service.name)"
        ));
        let keys: Vec<&str> = plan.outputs.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, vec!["service.name"]);
    }
}
