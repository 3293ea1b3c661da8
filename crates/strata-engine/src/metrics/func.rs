//! The metrics functions and how their partial values combine.
//!
//! Every source (live data, each block, each ingester) produces *partial* series that merge
//! by one rule per function, so the final answer does not depend on how data was split:
//! * `rate`, `count_over_time`, `histogram_over_time`, `quantile_over_time`: span counts per
//!   interval, summed (histograms and quantiles per power-of-two bucket, `__bucket` label);
//! * `sum_over_time`: sums, summed; `min_over_time`/`max_over_time`: minimum/maximum;
//! * `avg_over_time`: two parts per interval, sum and count, both summed.
//!
//! A missing value is NaN and never wins a combination.

use strata_traceql::{FieldExpr, MetricsFn};

use super::compare::Compare;

/// Internal label carrying a histogram bucket's upper bound (Tempo's `__bucket`).
pub const BUCKET_LABEL: &str = "__bucket";
/// Internal label naming the part of an `avg_over_time` partial (`sum` or `count`).
pub(crate) const PART_LABEL: &str = "__strata_part";

/// How two partial values of one interval combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    Sum,
    Min,
    Max,
}

impl Combine {
    pub(crate) fn apply(self, a: f64, b: f64) -> f64 {
        if a.is_nan() {
            return b;
        }
        if b.is_nan() {
            return a;
        }
        match self {
            Combine::Sum => a + b,
            Combine::Min => a.min(b),
            Combine::Max => a.max(b),
        }
    }
}

/// A metrics function.
#[derive(Debug, Clone)]
pub(crate) enum Func {
    Rate,
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Quantile(Vec<f64>),
    Histogram,
    Compare(Compare),
}

impl Func {
    /// The function and the field it reads.
    pub(crate) fn of(f: &MetricsFn) -> (Self, Option<FieldExpr>) {
        match f {
            MetricsFn::Rate => (Func::Rate, None),
            MetricsFn::CountOverTime => (Func::Count, None),
            MetricsFn::SumOverTime(a) => (Func::Sum, Some(a.clone())),
            MetricsFn::MinOverTime(a) => (Func::Min, Some(a.clone())),
            MetricsFn::MaxOverTime(a) => (Func::Max, Some(a.clone())),
            MetricsFn::AvgOverTime(a) => (Func::Avg, Some(a.clone())),
            MetricsFn::QuantileOverTime(a, qs) => (Func::Quantile(qs.clone()), Some(a.clone())),
            MetricsFn::HistogramOverTime(a) => (Func::Histogram, Some(a.clone())),
            MetricsFn::Compare {
                top_n, start, end, ..
            } => (
                Func::Compare(Compare {
                    top_n: usize::try_from(*top_n).unwrap_or(1).max(1),
                    start: u64::try_from(*start).unwrap_or(0),
                    end: u64::try_from(*end).unwrap_or(0),
                }),
                None,
            ),
        }
    }

    /// Tempo's name, the `__name__` of an ungrouped series.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Func::Rate => "rate",
            Func::Count => "count_over_time",
            Func::Sum => "sum_over_time",
            Func::Min => "min_over_time",
            Func::Max => "max_over_time",
            Func::Avg => "avg_over_time",
            Func::Quantile(_) => "quantile_over_time",
            Func::Histogram => "histogram_over_time",
            Func::Compare(_) => "compare",
        }
    }

    /// Values per interval in a partial series.
    pub(crate) fn parts(&self) -> usize {
        if matches!(self, Func::Avg) {
            2
        } else {
            1
        }
    }

    pub(crate) fn combine(&self) -> Combine {
        match self {
            Func::Min => Combine::Min,
            Func::Max => Combine::Max,
            _ => Combine::Sum,
        }
    }

    /// Whether partial values are span counts (an interval without spans counts 0).
    pub(crate) fn counts(&self) -> bool {
        matches!(
            self,
            Func::Rate | Func::Count | Func::Quantile(_) | Func::Histogram | Func::Compare(_)
        )
    }
}
