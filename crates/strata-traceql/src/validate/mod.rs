//! Type checking and support checks, following Tempo's validation rules.
//!
//! Every expression has an implied type; attributes have an unknown type ([`Type::Attribute`])
//! that is compatible with everything. Children are checked before their parent, so a
//! `parent` reference anywhere below an ill-typed operator reports [`ValidateError::Unsupported`]
//! first, as Tempo does. Rules:
//! * a spanset filter's expression must be boolean (or an attribute);
//! * binary operands must be compatible (same type, any two numeric types among int, float and
//!   duration, or nil), and the operator must accept their type: booleans take `&& || = !=`;
//!   numbers take arithmetic and comparisons; strings take comparisons and `=~ !~`; status,
//!   kind and nil take only `= !=`;
//! * `=~` and `!~` need a string literal on the right that compiles as a regular expression;
//! * prefix `-` needs a number, `!` a boolean;
//! * `x = nil` is invalid for intrinsics and `resource.service.name` (they always exist);
//! * aggregates (`avg`, `min`, `max`, `sum`) take a numeric expression that references the
//!   span; so must `by()`;
//! * scalar filters are supported only as `aggregate CMP constant`;
//! * metrics: quantiles in [0, 1], `topk`/`bottomk` limits above 0, `compare()` alone (no
//!   second stages, no arithmetic), at most five `by` labels.

mod metrics;
mod types;

use regex::Regex;

use crate::ast::*;
use crate::ValidateError;
use types::{arith_as_binary, binary_type, cmp_as_binary, Type};

type Result<T> = std::result::Result<T, ValidateError>;

/// Whether the expression reads anything from the span (an attribute or an intrinsic).
fn references_span(e: &FieldExpr) -> bool {
    match e {
        FieldExpr::Static(_) => false,
        FieldExpr::Attribute(_) | FieldExpr::Intrinsic(_) => true,
        FieldExpr::Unary { expr, .. } => references_span(expr),
        FieldExpr::Binary { lhs, rhs, .. } => references_span(lhs) || references_span(rhs),
    }
}

fn is_service_name(e: &FieldExpr) -> bool {
    matches!(e, FieldExpr::Attribute(Attribute { scope: AttributeScope::Resource, parent: false, name })
        if name == "service.name")
}

// `field`, `binary`, `scalar`, `spanset` and `metrics` recurse over the tree: they stay
// small and call helpers for the real work (debug builds give every temporary its own stack
// slot, and trees may be `MAX_EXPR_DEPTH` high).

fn field(e: &FieldExpr) -> Result<Type> {
    match e {
        FieldExpr::Static(s) => Ok(Type::of(s)),
        FieldExpr::Attribute(a) => attribute(a),
        FieldExpr::Intrinsic(i) => intrinsic(*i),
        FieldExpr::Unary { op, expr } => {
            let t = field(expr)?;
            unary(*op, t, e)
        }
        FieldExpr::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, e),
    }
}

fn attribute(a: &Attribute) -> Result<Type> {
    if a.parent {
        return Err(ValidateError::unsupported(format!(
            "parent attributes ({a}) are not supported"
        )));
    }
    Ok(Type::Attribute)
}

fn intrinsic(i: Intrinsic) -> Result<Type> {
    if i == Intrinsic::Parent {
        return Err(ValidateError::unsupported(
            "the parent intrinsic is not supported",
        ));
    }
    Ok(Type::of_intrinsic(i))
}

fn unary(op: UnaryOp, t: Type, whole: &FieldExpr) -> Result<Type> {
    let ok = match op {
        _ if t == Type::Attribute => true,
        UnaryOp::Neg => t.is_numeric(),
        UnaryOp::Not => t == Type::Bool,
    };
    if !ok {
        return Err(ValidateError::invalid(format!(
            "'{op}' cannot be applied to {}: {whole}",
            t.article()
        )));
    }
    Ok(t)
}

fn binary(op: BinaryOp, lhs: &FieldExpr, rhs: &FieldExpr, whole: &FieldExpr) -> Result<Type> {
    if let Some(operand) = existence_operand(op, lhs, rhs) {
        field(operand)?;
        return existence(op, operand);
    }
    let lt = field(lhs)?;
    let rt = field(rhs)?;
    binary_check(op, lt, rt, rhs, whole)
}

/// For `x = nil`, `x != nil` (either order): `x`.
fn existence_operand<'a>(
    op: BinaryOp,
    lhs: &'a FieldExpr,
    rhs: &'a FieldExpr,
) -> Option<&'a FieldExpr> {
    let nil = |x: &FieldExpr| matches!(x, FieldExpr::Static(Static::Nil));
    if !matches!(op, BinaryOp::Eq | BinaryOp::Neq) || nil(lhs) == nil(rhs) {
        return None;
    }
    Some(if nil(lhs) { rhs } else { lhs })
}

/// An existence check: `x != nil` is always fine, `x = nil` not for things that always exist.
fn existence(op: BinaryOp, operand: &FieldExpr) -> Result<Type> {
    if op == BinaryOp::Eq {
        if let FieldExpr::Intrinsic(i) = operand {
            return Err(ValidateError::invalid(format!(
                "{i} = nil is not valid because intrinsics are never nil"
            )));
        }
        if is_service_name(operand) {
            return Err(ValidateError::invalid(
                "resource.service.name = nil is not valid because every span has a service name",
            ));
        }
    }
    Ok(Type::Bool)
}

fn binary_check(
    op: BinaryOp,
    lt: Type,
    rt: Type,
    rhs: &FieldExpr,
    whole: &FieldExpr,
) -> Result<Type> {
    let t = binary_type(op, lt, rt, &|| whole.to_string())?;
    if matches!(op, BinaryOp::Regex | BinaryOp::NotRegex) {
        let FieldExpr::Static(Static::String(pattern)) = rhs else {
            return Err(ValidateError::invalid(format!(
                "the right side of '{op}' must be a string literal: {whole}"
            )));
        };
        if let Err(e) = Regex::new(pattern) {
            return Err(ValidateError::invalid(format!(
                "invalid regular expression {}: {e}",
                Static::String(pattern.clone())
            )));
        }
    }
    Ok(t)
}

fn spanset_filter(f: &SpansetFilter) -> Result<()> {
    if let Some(e) = &f.expr {
        let t = field(e)?;
        if t != Type::Attribute && t != Type::Bool {
            return Err(ValidateError::invalid(format!(
                "a spanset filter must be a boolean expression, not {}: {f}",
                t.article()
            )));
        }
    }
    Ok(())
}

fn aggregate(a: &Aggregate) -> Result<Type> {
    let Some(arg) = &a.arg else {
        return Ok(Type::Int);
    };
    let t = field(arg)?;
    if t != Type::Attribute && !t.is_numeric() {
        return Err(ValidateError::invalid(format!(
            "the argument of {} must be a number, not {}: {a}",
            a.func,
            t.article()
        )));
    }
    if !references_span(arg) {
        return Err(ValidateError::invalid(format!(
            "the argument of {} must reference the span (an attribute or intrinsic): {a}",
            a.func
        )));
    }
    Ok(if a.func == AggregateFn::Count {
        Type::Int
    } else {
        t
    })
}

fn scalar(e: &ScalarExpr) -> Result<Type> {
    match e {
        ScalarExpr::Static(s) => Ok(Type::of(s)),
        ScalarExpr::Aggregate(a) => aggregate(a),
        ScalarExpr::PipelineAggregate {
            pipeline: p,
            aggregate: a,
        } => pipeline_aggregate(p, a),
        ScalarExpr::Binary { op, lhs, rhs } => {
            let lt = scalar(lhs)?;
            let rt = scalar(rhs)?;
            scalar_binary(*op, lt, rt, e)
        }
    }
}

fn pipeline_aggregate(p: &Pipeline, a: &Aggregate) -> Result<Type> {
    pipeline(p)?;
    aggregate(a)
}

fn scalar_binary(op: ArithOp, lt: Type, rt: Type, whole: &ScalarExpr) -> Result<Type> {
    binary_type(arith_as_binary(op), lt, rt, &|| whole.to_string())
}

fn scalar_filter(f: &ScalarFilter) -> Result<()> {
    let lt = scalar(&f.lhs)?;
    let rt = scalar(&f.rhs)?;
    binary_type(cmp_as_binary(f.op), lt, rt, &|| f.to_string())?;
    if !matches!(f.lhs, ScalarExpr::Aggregate(_)) || !matches!(f.rhs, ScalarExpr::Static(_)) {
        return Err(ValidateError::unsupported(format!(
            "scalar filters other than 'aggregate comparison number' are not supported: {f}"
        )));
    }
    Ok(())
}

fn spanset(e: &SpansetExpr) -> Result<()> {
    match e {
        SpansetExpr::Filter(f) => spanset_filter(f),
        SpansetExpr::Op { lhs, rhs, .. } => {
            spanset(lhs)?;
            spanset(rhs)
        }
        SpansetExpr::Pipeline(p) => pipeline(p),
    }
}

fn pipeline(p: &Pipeline) -> Result<()> {
    for stage in &p.stages {
        match stage {
            Stage::Spanset(e) => spanset(e)?,
            Stage::ScalarFilter(f) => scalar_filter(f)?,
            Stage::By(e) => {
                if !references_span(e) {
                    return Err(ValidateError::invalid(format!(
                        "by() must reference the span (an attribute or intrinsic): by({e})"
                    )));
                }
                field(e)?;
            }
            Stage::Select(list) => {
                for e in list {
                    field(e)?;
                }
            }
            Stage::Coalesce => {}
        }
    }
    Ok(())
}

/// Checks types and support; see the module documentation.
pub fn validate(q: &Query) -> Result<()> {
    match &q.root {
        RootExpr::Spanset(p) => pipeline(p),
        RootExpr::Metrics(m) => metrics::metrics(m).map(drop),
    }
}
