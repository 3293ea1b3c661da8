//! The spanset algebra of one trace (Tempo's engine semantics).
//!
//! A pipeline maps a list of spansets to a list of spansets, starting from one spanset with
//! every span of the trace; it stops as soon as a stage yields nothing. A trace matches when
//! the final list is non-empty.
//! * A filter `{ e }` keeps, in each spanset, the spans for which `e` is true; spansets left
//!   empty are dropped.
//! * Spanset operators are applied to each input spanset in turn, both operands being
//!   evaluated on that spanset alone: `&&` needs both operands non-empty and returns the
//!   union of their spans; `||` the union when either is non-empty; structural operators
//!   ([`super::structure`]) need a non-empty right operand and return nothing when it is.
//!   A structural operand yielding several spansets (`by()` inside it) is an error, as in
//!   Tempo ("consider using coalesce()"). Results keep the input spanset's attributes.
//! * `by(e)` splits each spanset into groups of equal values of `e` (int `1`, float `1.0`
//!   and duration `1ns` are different groups; spans without a value form a `nil` group),
//!   in order of first appearance, adding the attribute `by(e)`.
//! * A scalar filter computes the aggregate ([`super::agg`]) of each spanset, keeps those
//!   for which the comparison holds, and adds the aggregate as an attribute.
//! * `coalesce()` merges all spansets into one without attributes; `select()` changes
//!   nothing here (its fields are reported on spans).

use std::collections::HashMap;
use std::ops::Range;

use arrow_array::BooleanArray;
use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_traceql::SpansetOp;

use super::agg;
use super::structure::Rel;
use super::trace::Tree;
use super::value::{Sv, Value};
use crate::plan::ir::{Pipeline, ScalarFilter, SpansetExpr, Stage};
use crate::EngineError;

/// A spanset: rows (ascending) and attributes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Set {
    pub rows: Vec<u32>,
    pub attrs: Vec<KeyValue>,
}

/// What one trace's evaluation reads.
pub(crate) struct TraceEval<'a> {
    /// Filter masks (no nulls), indexed like the plan's filters.
    pub masks: &'a [BooleanArray],
    /// Values of the plan's value expressions over the batch.
    pub values: &'a [Value],
    pub tree: Option<&'a Tree>,
    pub trace: usize,
    pub range: Range<usize>,
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(value),
        ..Default::default()
    }
}

/// Sorted union of the rows of several spansets.
fn union<'s>(sets: impl Iterator<Item = &'s Set>) -> Vec<u32> {
    let mut rows: Vec<u32> = sets.flat_map(|s| s.rows.iter().copied()).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Hashable value of a `by()` group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Nil,
    Int(i64),
    Float(u64),
    Str(String),
    Bool(bool),
    Dur(i64),
    Status(i32),
    Kind(i32),
    Array(String),
}

impl GroupKey {
    fn of(v: Option<&Sv<'_>>) -> Self {
        match v {
            None => GroupKey::Nil,
            Some(Sv::Int(i)) => GroupKey::Int(*i),
            Some(Sv::Float(f)) => GroupKey::Float(f.to_bits()),
            Some(Sv::Str(s)) => GroupKey::Str((*s).to_string()),
            Some(Sv::Bool(b)) => GroupKey::Bool(*b),
            Some(Sv::Dur(d)) => GroupKey::Dur(*d),
            Some(Sv::Status(s)) => GroupKey::Status(*s),
            Some(Sv::Kind(k)) => GroupKey::Kind(*k),
            Some(a @ Sv::Array(_)) => GroupKey::Array(format!("{a:?}")),
        }
    }
}

impl TraceEval<'_> {
    /// The final spansets of `p` for this trace.
    pub(crate) fn run(&self, p: &Pipeline) -> Result<Vec<Set>, EngineError> {
        let all = Set {
            rows: self.range.clone().map(|r| r as u32).collect(),
            attrs: Vec::new(),
        };
        self.pipeline(p, vec![all])
    }

    fn pipeline(&self, p: &Pipeline, mut sets: Vec<Set>) -> Result<Vec<Set>, EngineError> {
        for stage in &p.stages {
            sets = match stage {
                Stage::Spanset(e) => self.expr(e, &sets)?,
                Stage::Scalar(f) => self.scalar(f, sets)?,
                Stage::By { value, key } => self.by(*value, key, &sets)?,
                Stage::Coalesce => vec![Set {
                    rows: union(sets.iter()),
                    attrs: Vec::new(),
                }],
                Stage::Select => sets,
            };
            sets.retain(|s| !s.rows.is_empty());
            if sets.is_empty() {
                break;
            }
        }
        Ok(sets)
    }

    fn expr(&self, e: &SpansetExpr, input: &[Set]) -> Result<Vec<Set>, EngineError> {
        match e {
            SpansetExpr::Filter(None) => Ok(input.to_vec()),
            SpansetExpr::Filter(Some(i)) => {
                let mask = self
                    .masks
                    .get(*i)
                    .ok_or_else(|| EngineError::Batch("filter mask missing".into()))?;
                Ok(input
                    .iter()
                    .filter_map(|s| {
                        let rows: Vec<u32> = s
                            .rows
                            .iter()
                            .copied()
                            .filter(|&r| (r as usize) < mask.len() && mask.value(r as usize))
                            .collect();
                        (!rows.is_empty()).then(|| Set {
                            rows,
                            attrs: s.attrs.clone(),
                        })
                    })
                    .collect())
            }
            SpansetExpr::Pipeline(p) => self.pipeline(p, input.to_vec()),
            SpansetExpr::Op { op, lhs, rhs } => {
                let mut out = Vec::new();
                for s in input {
                    let one = std::slice::from_ref(s);
                    let (l, r) = (self.expr(lhs, one)?, self.expr(rhs, one)?);
                    let rows = match op {
                        SpansetOp::And if l.is_empty() || r.is_empty() => continue,
                        SpansetOp::Or if l.is_empty() && r.is_empty() => continue,
                        SpansetOp::And | SpansetOp::Or => union(l.iter().chain(&r)),
                        _ => self.structural(*op, &l, &r)?,
                    };
                    if !rows.is_empty() {
                        out.push(Set {
                            rows,
                            attrs: s.attrs.clone(),
                        });
                    }
                }
                Ok(out)
            }
        }
    }

    fn structural(&self, op: SpansetOp, l: &[Set], r: &[Set]) -> Result<Vec<u32>, EngineError> {
        let Some(rset) = r.first() else {
            return Ok(Vec::new());
        };
        if l.len() > 1 || r.len() > 1 {
            return Err(EngineError::Unsupported(
                "spanset operators are not supported for multiple spansets per trace; \
                 consider using coalesce()"
                    .into(),
            ));
        }
        let tree = self
            .tree
            .ok_or_else(|| EngineError::Batch("span tree not built".into()))?;
        let rel = Rel {
            tree,
            trace: self.trace,
            range: self.range.clone(),
        };
        let lrows = l.first().map(|s| s.rows.as_slice()).unwrap_or(&[]);
        Ok(rel.apply(op, lrows, &rset.rows))
    }

    fn scalar(&self, f: &ScalarFilter, sets: Vec<Set>) -> Result<Vec<Set>, EngineError> {
        let arg = f.arg.and_then(|i| self.values.get(i));
        let mut out = Vec::new();
        for mut s in sets {
            let Some(a) = agg::aggregate(f.func, arg, &s.rows)? else {
                continue;
            };
            if agg::holds(f.op, a, &f.rhs) {
                s.attrs.push(kv(&f.key, a.to_any()));
                out.push(s);
            }
        }
        Ok(out)
    }

    fn by(&self, value: usize, key: &str, sets: &[Set]) -> Result<Vec<Set>, EngineError> {
        let v = self
            .values
            .get(value)
            .ok_or_else(|| EngineError::Batch("by() value missing".into()))?;
        let mut out = Vec::new();
        for s in sets {
            let mut index: HashMap<GroupKey, usize> = HashMap::new();
            let mut groups: Vec<Set> = Vec::new();
            for &row in &s.rows {
                let sv = v.get(row as usize)?;
                let k = GroupKey::of(sv.as_ref());
                let g = *index.entry(k).or_insert_with(|| {
                    let shown = sv.as_ref().map(Sv::to_any).unwrap_or(AnyValue {
                        value: Some(any_value::Value::StringValue("nil".into())),
                    });
                    let mut attrs = s.attrs.clone();
                    attrs.push(kv(key, shown));
                    groups.push(Set {
                        rows: Vec::new(),
                        attrs,
                    });
                    groups.len() - 1
                });
                groups[g].rows.push(row);
            }
            out.extend(groups);
        }
        Ok(out)
    }
}
