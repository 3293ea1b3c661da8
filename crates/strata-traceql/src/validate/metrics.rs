//! Validation of metrics queries.

use super::{field, pipeline, spanset_filter, Result};
use crate::ast::{FieldExpr, MetricsExpr, MetricsFn, Pipeline, SecondStage};
use crate::ValidateError;

/// Largest number of `by` labels a metrics function may have.
const MAX_GROUP_BYS: usize = 5;
/// Largest `topN` of `compare()`.
const MAX_COMPARE_TOP_N: i64 = 1000;

fn metrics_fn(func: &MetricsFn, by: usize) -> Result<()> {
    let limit = match func {
        MetricsFn::QuantileOverTime(..)
        | MetricsFn::HistogramOverTime(_)
        | MetricsFn::AvgOverTime(_) => MAX_GROUP_BYS - 1,
        _ => MAX_GROUP_BYS,
    };
    if by > limit {
        return Err(ValidateError::unsupported(format!(
            "{func} supports at most {limit} by() labels"
        )));
    }
    match func {
        MetricsFn::Rate | MetricsFn::CountOverTime => Ok(()),
        MetricsFn::MinOverTime(a)
        | MetricsFn::MaxOverTime(a)
        | MetricsFn::SumOverTime(a)
        | MetricsFn::AvgOverTime(a)
        | MetricsFn::HistogramOverTime(a) => field(a).map(drop),
        MetricsFn::QuantileOverTime(a, qs) => {
            field(a)?;
            match qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                Some(q) => Err(ValidateError::invalid(format!(
                    "quantiles must be between 0 and 1, not {q}"
                ))),
                None => Ok(()),
            }
        }
        MetricsFn::Compare {
            filter,
            top_n,
            start,
            end,
        } => {
            spanset_filter(filter)?;
            if !(1..=MAX_COMPARE_TOP_N).contains(top_n) {
                return Err(ValidateError::invalid(format!(
                    "compare() topN must be between 1 and {MAX_COMPARE_TOP_N}, not {top_n}"
                )));
            }
            if (*start, *end) != (0, 0) {
                if *start <= 0 || *end <= 0 {
                    return Err(ValidateError::invalid(
                        "compare() timestamps must be positive unix nanoseconds",
                    ));
                }
                if end <= start {
                    return Err(ValidateError::invalid(
                        "compare() end must be after its start",
                    ));
                }
            }
            Ok(())
        }
    }
}

fn second_stages(second: &[SecondStage]) -> Result<()> {
    for s in second {
        if let SecondStage::TopK(n) | SecondStage::BottomK(n) = s {
            if *n <= 0 {
                return Err(ValidateError::invalid(format!(
                    "the limit of {} must be greater than 0",
                    s.to_string().trim_start_matches("| ")
                )));
            }
        }
    }
    Ok(())
}

/// Validates a metrics expression; returns whether it uses `compare()`.
pub(super) fn metrics(m: &MetricsExpr) -> Result<bool> {
    match m {
        MetricsExpr::Scalar(_) => Ok(false),
        MetricsExpr::Pipeline {
            pipeline: p,
            func,
            by,
            second,
        } => metrics_pipeline(p, func, by, second),
        MetricsExpr::Binary {
            lhs, rhs, second, ..
        } => {
            let compare = metrics(lhs)? | metrics(rhs)?;
            metrics_binary(compare, second)
        }
    }
}

fn metrics_pipeline(
    p: &Pipeline,
    func: &MetricsFn,
    by: &[FieldExpr],
    second: &[SecondStage],
) -> Result<bool> {
    pipeline(p)?;
    metrics_fn(func, by.len())?;
    for e in by {
        field(e)?;
    }
    second_stages(second)?;
    let compare = matches!(func, MetricsFn::Compare { .. });
    if compare && !second.is_empty() {
        return Err(compare_error());
    }
    Ok(compare)
}

fn metrics_binary(compare: bool, second: &[SecondStage]) -> Result<bool> {
    second_stages(second)?;
    if compare {
        return Err(compare_error());
    }
    Ok(false)
}

fn compare_error() -> ValidateError {
    ValidateError::invalid("compare() cannot be combined with second stages or arithmetic")
}
