//! Evaluating compiled expressions over a whole batch.
//!
//! [`value`] computes an expression in a [`Domain`]: span fields are broadcast to event or
//! link rows; event or link fields evaluated in the span domain take the span's first
//! element that has a value (used for `by()`, aggregates, `select()`).
//!
//! [`predicate`] computes a filter per span. `&&`, `||` and `!` combine per-span results;
//! every other node is evaluated in its own domain, and an event- or link-domain result is
//! true for a span when it is true for **any** of the span's events (links). So
//! `{ event.a = 1 && event.b = 2 }` holds when some event has `a = 1` and some (possibly
//! other) event has `b = 2`, and `{ !(event:name = "x") }` when no event is named `x`.

use arrow_array::BooleanArray;

use super::ctx::Ctx;
use super::ops;
use super::value::Value;
use crate::plan::ir::{Domain, Expr};
use crate::EngineError;

/// `e` over the rows of `d`.
pub(crate) fn value(ctx: &mut Ctx<'_>, e: &Expr, d: Domain) -> Result<Value, EngineError> {
    Ok(match e {
        Expr::Lit(l) => Value::lit(l, ctx.rows(d)?),
        Expr::Field(r) => {
            let v = ctx.field(r)?;
            let from = r.domain();
            if from == d {
                v
            } else if from == Domain::Span {
                ctx.broadcast(&v, d)?
            } else if d == Domain::Span {
                ctx.first(&v, from)?
            } else {
                return Err(EngineError::Unsupported(
                    "an expression cannot combine event and link fields".into(),
                ));
            }
        }
        Expr::Neg(x) => ops::neg(&value(ctx, x, d)?)?,
        Expr::Not(x) => ops::bool_value(ops::not3(&value(ctx, x, d)?.bools()?)?),
        Expr::Exists(x) => ops::bool_value(value(ctx, x, d)?.exists()),
        Expr::And(a, b) => {
            let (a, b) = (value(ctx, a, d)?.bools()?, value(ctx, b, d)?.bools()?);
            ops::bool_value(ops::and3(&a, &b)?)
        }
        Expr::Or(a, b) => {
            let (a, b) = (value(ctx, a, d)?.bools()?, value(ctx, b, d)?.bools()?);
            ops::bool_value(ops::or3(&a, &b)?)
        }
        Expr::Arith(op, a, b) => ops::arith(*op, &value(ctx, a, d)?, &value(ctx, b, d)?)?,
        Expr::Cmp(op, a, b) => {
            ops::bool_value(ops::compare(*op, &value(ctx, a, d)?, &value(ctx, b, d)?)?)
        }
        Expr::Regex { expr, re, negate } => {
            ops::bool_value(ops::regex(&value(ctx, expr, d)?, re, *negate)?)
        }
    })
}

/// Per span: `e` as a filter (null = unknown, see [`super::ops`]).
pub(crate) fn predicate(ctx: &mut Ctx<'_>, e: &Expr) -> Result<BooleanArray, EngineError> {
    match e {
        Expr::And(a, b) => ops::and3(&predicate(ctx, a)?, &predicate(ctx, b)?),
        Expr::Or(a, b) => ops::or3(&predicate(ctx, a)?, &predicate(ctx, b)?),
        Expr::Not(a) => ops::not3(&predicate(ctx, a)?),
        other => {
            let d = other.domain();
            let b = value(ctx, other, d)?.bools()?;
            if d == Domain::Span {
                Ok(b)
            } else {
                ctx.any(&b, d)
            }
        }
    }
}
