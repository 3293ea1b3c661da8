//! Aggregates of scalar filters (`count() > 2`, `avg(duration) > 1s`).
//!
//! * `count()` is the number of spans in the spanset (an int).
//! * `sum`, `avg`, `min`, `max` consider the spans whose argument is a number (int, float or
//!   duration) and ignore the others; with none, the spanset has no aggregate and the filter
//!   drops it (Tempo).
//! * `sum` keeps the type when all values share it (int, duration, float), else sums as
//!   floats. `avg` is a duration (truncated) when all values are durations, else a float
//!   (an int average is a float, as in Tempo). `min`/`max` return the extreme value with
//!   its type, comparing numerically.
//! * The comparison with the literal is numeric: `=`/`!=` exactly on integers (ints and
//!   durations) and on `f64` otherwise; a non-numeric literal never matches.
//! * The spanset attribute (`count()`, `avg(duration)`) is an int, a float, or a duration
//!   rendered in Go's format (`1.5s`) as Tempo does.

use strata_proto::otlp::common::AnyValue;
use strata_traceql::AggregateFn;

use super::value::{Sv, Value};
use crate::plan::ir::{Cmp, Lit};
use crate::EngineError;

/// An aggregate's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Agg {
    Int(i64),
    Float(f64),
    Dur(i64),
}

impl Agg {
    fn f64(self) -> f64 {
        match self {
            Agg::Int(i) | Agg::Dur(i) => i as f64,
            Agg::Float(f) => f,
        }
    }

    fn int(self) -> Option<i64> {
        match self {
            Agg::Int(i) | Agg::Dur(i) => Some(i),
            Agg::Float(_) => None,
        }
    }

    pub(crate) fn to_any(self) -> AnyValue {
        match self {
            Agg::Int(i) => Sv::Int(i).to_any(),
            Agg::Float(f) => Sv::Float(f).to_any(),
            Agg::Dur(d) => Sv::Dur(d).to_any(),
        }
    }

    fn of(sv: &Sv<'_>) -> Option<Agg> {
        match sv {
            Sv::Int(i) => Some(Agg::Int(*i)),
            Sv::Dur(d) => Some(Agg::Dur(*d)),
            Sv::Float(f) => Some(Agg::Float(*f)),
            _ => None,
        }
    }
}

/// The aggregate over `rows`; `None` when it has no value.
pub(crate) fn aggregate(
    func: AggregateFn,
    arg: Option<&Value>,
    rows: &[u32],
) -> Result<Option<Agg>, EngineError> {
    if func == AggregateFn::Count {
        return Ok(Some(Agg::Int(
            i64::try_from(rows.len()).unwrap_or(i64::MAX),
        )));
    }
    let Some(arg) = arg else {
        return Ok(None);
    };
    let mut nums = Vec::with_capacity(rows.len());
    for &r in rows {
        if let Some(a) = arg.get(r as usize)?.as_ref().and_then(Agg::of) {
            nums.push(a);
        }
    }
    let Some(&first) = nums.first() else {
        return Ok(None);
    };
    let same = |want: fn(&Agg) -> bool| nums.iter().all(want);
    let all_int = same(|a| matches!(a, Agg::Int(_)));
    let all_dur = same(|a| matches!(a, Agg::Dur(_)));
    let fsum = || nums.iter().map(|a| a.f64()).sum::<f64>();
    let isum = || {
        nums.iter()
            .filter_map(|a| a.int())
            .fold(0i64, i64::wrapping_add)
    };
    Ok(Some(match func {
        AggregateFn::Count => Agg::Int(nums.len() as i64),
        AggregateFn::Sum if all_int => Agg::Int(isum()),
        AggregateFn::Sum if all_dur => Agg::Dur(isum()),
        AggregateFn::Sum => Agg::Float(fsum()),
        AggregateFn::Avg if all_dur => {
            let total: i128 = nums.iter().filter_map(|a| a.int()).map(i128::from).sum();
            let avg = total / nums.len() as i128;
            Agg::Dur(i64::try_from(avg).unwrap_or(i64::MAX))
        }
        AggregateFn::Avg => Agg::Float(fsum() / nums.len() as f64),
        AggregateFn::Min => nums
            .iter()
            .copied()
            .fold(first, |m, a| if a.f64() < m.f64() { a } else { m }),
        AggregateFn::Max => nums
            .iter()
            .copied()
            .fold(first, |m, a| if a.f64() > m.f64() { a } else { m }),
    }))
}

/// `agg op lit` (see the module docs).
pub(crate) fn holds(op: Cmp, agg: Agg, lit: &Lit) -> bool {
    let lit = match lit {
        Lit::Int(i) => Agg::Int(*i),
        Lit::Dur(d) => Agg::Dur(*d),
        Lit::Float(f) => Agg::Float(*f),
        _ => return false,
    };
    let eq = match (agg.int(), lit.int()) {
        (Some(a), Some(b)) => a == b,
        _ => agg.f64() == lit.f64(),
    };
    let (a, b) = (agg.f64(), lit.f64());
    match op {
        Cmp::Eq => eq,
        Cmp::Neq => !eq,
        Cmp::Lt => a < b,
        Cmp::Lte => a <= b,
        Cmp::Gt => a > b,
        Cmp::Gte => a >= b,
    }
}
