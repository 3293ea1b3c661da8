//! Operators on [`Value`]s, with Tempo's typing rules, computed with Arrow kernels slot by
//! slot.
//!
//! # Comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`)
//! The result is never null: a row is true only when both operands have values of
//! comparable types and the comparison holds. So a missing attribute makes every comparison
//! false, `!=` included (Tempo). Comparable pairs:
//! * int, duration (nanoseconds) and float with each other, numerically (int with int and
//!   int with duration exactly on `i64`, anything with a float on `f64`);
//! * string with string (bytewise order);
//! * bool with bool, status with status, kind with kind: `=` and `!=` only.
//!
//! An array attribute compared with a scalar compares element-wise: true if any element
//! satisfies the comparison, except `!=` (and `!~`) which require all elements to (Tempo's
//! "not in"). Arrays never compare with arrays.
//!
//! # Arithmetic
//! int ∘ int gives an int (wrapping; division or modulo by zero gives nil); any other pair
//! of numbers gives a float, durations included (as Tempo does). `^` is `lhs` raised to
//! `rhs`. Non-numeric operands give nil.
//!
//! # Logic
//! `&&`, `||` and `!` use three-valued (Kleene) logic on boolean values, nil (missing or
//! non-boolean) being unknown; a filter keeps a span only when its expression is true.

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, not, or, or_kleene};
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Float64Array, Int64Array, StringArray};
use arrow_buffer::BooleanBuffer;
use arrow_ord::cmp;
use regex::Regex;

use super::value::{downcast, null_to_false, ArrVal, Ty, Value};
use crate::plan::ir::{Arith, Cmp};
use crate::EngineError;

/// An array, possibly a scalar (one row standing for all rows).
struct Dat<'a>(&'a dyn Array, bool);

impl Datum for Dat<'_> {
    fn get(&self) -> (&dyn Array, bool) {
        (self.0, self.1)
    }
}

fn is_num(t: Ty) -> bool {
    matches!(t, Ty::Int | Ty::Dur | Ty::Float)
}

fn to_f64(a: &ArrayRef) -> Result<ArrayRef, EngineError> {
    if a.as_any().is::<Float64Array>() {
        return Ok(a.clone());
    }
    let i = downcast::<Int64Array>(a.as_ref(), "number")?;
    Ok(Arc::new(i.unary::<_, Float64Type>(|v| v as f64)))
}

/// `n` copies of `b`.
fn constant(b: bool, n: usize) -> BooleanArray {
    BooleanArray::new(BooleanBuffer::collect_bool(n, |_| b), None)
}

fn or_into(acc: &mut Option<BooleanArray>, r: &BooleanArray) -> Result<(), EngineError> {
    let r = null_to_false(r);
    *acc = Some(match acc.take() {
        None => r,
        Some(a) => or(&a, &r)?,
    });
    Ok(())
}

/// Broadcasts a one-row result of two scalars to `n` rows.
fn finish(acc: Option<BooleanArray>, scalar: bool, n: usize) -> BooleanArray {
    match acc {
        None => constant(false, n),
        Some(a) if scalar => constant(a.len() == 1 && a.value(0), n),
        Some(a) => a,
    }
}

fn cmp_pair(
    op: Cmp,
    l: (Ty, &ArrayRef, bool),
    r: (Ty, &ArrayRef, bool),
) -> Result<Option<BooleanArray>, EngineError> {
    let (a, b) = match (l.0, r.0) {
        (Ty::Int | Ty::Dur, Ty::Int | Ty::Dur) | (Ty::Str, Ty::Str) => (l.1.clone(), r.1.clone()),
        (x, y) if is_num(x) && is_num(y) => (to_f64(l.1)?, to_f64(r.1)?),
        (Ty::Bool, Ty::Bool) | (Ty::Status, Ty::Status) | (Ty::Kind, Ty::Kind)
            if matches!(op, Cmp::Eq | Cmp::Neq) =>
        {
            (l.1.clone(), r.1.clone())
        }
        _ => return Ok(None),
    };
    let (da, db) = (Dat(a.as_ref(), l.2), Dat(b.as_ref(), r.2));
    Ok(Some(match op {
        Cmp::Eq => cmp::eq(&da, &db)?,
        Cmp::Neq => cmp::neq(&da, &db)?,
        Cmp::Lt => cmp::lt(&da, &db)?,
        Cmp::Lte => cmp::lt_eq(&da, &db)?,
        Cmp::Gt => cmp::gt(&da, &db)?,
        Cmp::Gte => cmp::gt_eq(&da, &db)?,
    }))
}

/// `l op r` per row (see the module docs).
pub(crate) fn compare(op: Cmp, l: &Value, r: &Value) -> Result<BooleanArray, EngineError> {
    let n = l.len.max(r.len);
    let both_scalar = l.scalar && r.scalar;
    let mut acc = None;
    for (lt, la) in &l.slots {
        for (rt, ra) in &r.slots {
            if let Some(res) = cmp_pair(op, (*lt, la, l.scalar), (*rt, ra, r.scalar))? {
                or_into(&mut acc, &res)?;
            }
        }
    }
    let mut out = finish(acc, both_scalar, n);
    let all = op == Cmp::Neq;
    if let Some(arr) = &l.arr {
        let other = element_operand(r, arr)?;
        let res = compare(op, &arr.elems, &other)?;
        out = or(&out, &reduce(arr, &res, all))?;
    }
    if let Some(arr) = &r.arr {
        let other = element_operand(l, arr)?;
        let res = compare(op, &other, &arr.elems)?;
        out = or(&out, &reduce(arr, &res, all))?;
    }
    Ok(out)
}

/// `v` repeated for each element of `arr` (scalar part only).
fn element_operand(v: &Value, arr: &ArrVal) -> Result<Value, EngineError> {
    let mut v = if v.scalar {
        v.with_len(arr.elems.len)
    } else {
        v.take(&arr.parents())?
    };
    v.arr = None;
    Ok(v)
}

/// Per row of `arr`: any (or all) of its elements true in `res`; false for non-array rows.
fn reduce(arr: &ArrVal, res: &BooleanArray, all: bool) -> BooleanArray {
    let rows = arr.present.len();
    BooleanArray::new(
        BooleanBuffer::collect_bool(rows, |row| {
            if !arr.present[row] {
                return false;
            }
            let mut it = arr.offsets[row]..arr.offsets[row + 1];
            let ok = |e: usize| res.is_valid(e) && res.value(e);
            if all {
                it.all(ok)
            } else {
                it.any(ok)
            }
        }),
        None,
    )
}

/// `v =~ re` (`!~` when `negate`): only string values can match; `!~` is true for strings
/// that do not match (and for arrays none of whose elements match).
pub(crate) fn regex(v: &Value, re: &Regex, negate: bool) -> Result<BooleanArray, EngineError> {
    let n = v.len;
    let mut out = match v.slot(Ty::Str) {
        None => constant(false, n),
        Some(a) => {
            let s = downcast::<StringArray>(a.as_ref(), "string value")?;
            let res: BooleanArray = s
                .iter()
                .map(|o| Some(o.is_some_and(|s| re.is_match(s) != negate)))
                .collect();
            if v.scalar {
                constant(res.len() == 1 && res.value(0), n)
            } else {
                res
            }
        }
    };
    if let Some(arr) = &v.arr {
        let res = regex(&arr.elems, re, negate)?;
        out = or(&out, &reduce(arr, &res, negate))?;
    }
    Ok(out)
}

fn as_i64(a: &ArrayRef) -> Result<&Int64Array, EngineError> {
    downcast::<Int64Array>(a.as_ref(), "int value")
}

fn int_op(op: Arith, x: i64, y: i64) -> Option<i64> {
    match op {
        Arith::Add => Some(x.wrapping_add(y)),
        Arith::Sub => Some(x.wrapping_sub(y)),
        Arith::Mul => Some(x.wrapping_mul(y)),
        Arith::Div => x.checked_div(y),
        Arith::Mod => x.checked_rem(y),
        Arith::Pow => Some((x as f64).powf(y as f64) as i64),
    }
}

fn float_op(op: Arith, x: f64, y: f64) -> f64 {
    match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div => x / y,
        Arith::Mod => x % y,
        Arith::Pow => x.powf(y),
    }
}

/// Index into a possibly scalar array.
fn at(scalar: bool, i: usize) -> usize {
    if scalar {
        0
    } else {
        i
    }
}

/// `l op r` for numbers (see the module docs).
pub(crate) fn arith(op: Arith, l: &Value, r: &Value) -> Result<Value, EngineError> {
    let scalar = l.scalar && r.scalar;
    let n = if scalar { 1 } else { l.len.max(r.len) };
    let mut ints: Option<ArrayRef> = None;
    let mut floats: Vec<ArrayRef> = Vec::new();
    for (lt, la) in l.slots.iter().filter(|(t, _)| is_num(*t)) {
        for (rt, ra) in r.slots.iter().filter(|(t, _)| is_num(*t)) {
            if *lt == Ty::Int && *rt == Ty::Int {
                let (a, b) = (as_i64(la)?, as_i64(ra)?);
                let res: Int64Array = (0..n)
                    .map(|i| {
                        let (ia, ib) = (at(l.scalar, i), at(r.scalar, i));
                        if a.is_null(ia) || b.is_null(ib) {
                            return None;
                        }
                        int_op(op, a.value(ia), b.value(ib))
                    })
                    .collect();
                ints = Some(Arc::new(res));
            } else {
                let (fa, fb) = (to_f64(la)?, to_f64(ra)?);
                let a = downcast::<Float64Array>(fa.as_ref(), "float value")?;
                let b = downcast::<Float64Array>(fb.as_ref(), "float value")?;
                let res: Float64Array = (0..n)
                    .map(|i| {
                        let (ia, ib) = (at(l.scalar, i), at(r.scalar, i));
                        (a.is_valid(ia) && b.is_valid(ib))
                            .then(|| float_op(op, a.value(ia), b.value(ib)))
                    })
                    .collect();
                floats.push(Arc::new(res));
            }
        }
    }
    let mut slots = Vec::new();
    if let Some(i) = ints {
        slots.push((Ty::Int, i));
    }
    if let Some(f) = coalesce_floats(floats)? {
        slots.push((Ty::Float, f));
    }
    let mut v = Value::from_slots(n, slots, None);
    if scalar {
        v.scalar = true;
        v.len = l.len.max(r.len);
    }
    Ok(v)
}

/// Merges float results of disjoint row sets.
fn coalesce_floats(parts: Vec<ArrayRef>) -> Result<Option<ArrayRef>, EngineError> {
    let mut it = parts.into_iter();
    let Some(mut acc) = it.next() else {
        return Ok(None);
    };
    for p in it {
        let valid = arrow_arith::boolean::is_not_null(acc.as_ref())?;
        acc = arrow_select::zip::zip(&valid, &acc, &p)?;
    }
    Ok(Some(acc))
}

/// `-v`.
pub(crate) fn neg(v: &Value) -> Result<Value, EngineError> {
    let mut slots = Vec::new();
    for (t, a) in &v.slots {
        let negated: ArrayRef = match t {
            Ty::Int | Ty::Dur => Arc::new(as_i64(a)?.unary::<_, Int64Type>(i64::wrapping_neg)),
            Ty::Float => {
                let f = downcast::<Float64Array>(a.as_ref(), "float value")?;
                Arc::new(f.unary::<_, Float64Type>(|x| -x))
            }
            _ => continue,
        };
        slots.push((*t, negated));
    }
    let mut out = Value::from_slots(if v.scalar { 1 } else { v.len }, slots, None);
    out.scalar = v.scalar;
    out.len = v.len;
    Ok(out)
}

/// A boolean column as a value.
pub(crate) fn bool_value(b: BooleanArray) -> Value {
    Value::col(Ty::Bool, Arc::new(b))
}

pub(crate) fn and3(a: &BooleanArray, b: &BooleanArray) -> Result<BooleanArray, EngineError> {
    Ok(and_kleene(a, b)?)
}

pub(crate) fn or3(a: &BooleanArray, b: &BooleanArray) -> Result<BooleanArray, EngineError> {
    Ok(or_kleene(a, b)?)
}

pub(crate) fn not3(a: &BooleanArray) -> Result<BooleanArray, EngineError> {
    Ok(not(a)?)
}
