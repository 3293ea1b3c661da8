//! From partial series to the answer ([`MetricsJob::finish`]): the function's final value
//! per interval, quantiles from bucket counts, second stages, and Tempo's output rules.
//!
//! * `rate` = count / step seconds (an instant query's step is its whole range);
//!   `count_over_time` and `histogram_over_time` are counts, 0 for intervals without spans;
//!   `avg_over_time` = sum / count; `quantile_over_time` gives one series per quantile
//!   (label `p`), 0 for intervals without spans.
//! * `topk(n)`/`bottomk(n)` keep, at each interval, the `n` series with the largest
//!   (smallest) values; a comparison (`> 3`) keeps the samples for which it holds.
//! * Series without samples are dropped; NaN samples are skipped; exemplars whose interval
//!   has no sample are dropped, and a count's exemplar takes its interval's value.
//! * Arithmetic between queries: see `query.rs` and `arith.rs`.
//! * Series are sorted by labels, so answers are deterministic.

use std::collections::BTreeMap;

use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::tempopb::{
    Exemplar, InstantSeries, PartialStatus, QueryInstantResponse, QueryRangeResponse, Sample,
    TimeSeries,
};
use strata_traceql::{ArithOp, CmpOp, SecondStage};

use super::accumulator::MetricsAccumulator;
use super::arith;
use super::func::{Func, BUCKET_LABEL};
use super::job::Leaf;
use super::log2;
use super::query::{MetricsJob, Node};
use super::range::MetricsRange;
use super::store::{cap_exemplars, SeriesStore};

/// A final series before rendering.
pub(crate) struct Out {
    pub labels: Vec<KeyValue>,
    pub values: Vec<f64>,
    pub exemplars: Vec<Exemplar>,
}

impl MetricsJob {
    /// The range answer from the merged partial series of every source.
    pub fn finish(&self, acc: &MetricsAccumulator) -> QueryRangeResponse {
        let range = *self.range();
        let n = range.intervals();
        let outs = self.eval(&self.tree, acc, n);
        let max_exemplars = self.leaves.first().map_or(0, |l| l.exemplars);
        let mut series: Vec<TimeSeries> = outs
            .into_iter()
            .filter_map(|o| {
                let samples: Vec<Sample> = (0..n)
                    .filter(|&i| o.values.get(i).is_some_and(|v| !v.is_nan()))
                    .map(|i| Sample {
                        value: o.values[i],
                        timestamp_ms: range.timestamp_ms(i),
                    })
                    .collect();
                if samples.is_empty() {
                    return None;
                }
                let exemplars = cap_exemplars(&range, max_exemplars, o.exemplars)
                    .into_iter()
                    .filter_map(|mut e| {
                        let i = interval_of_exemplar(&range, e.timestamp_ms)?;
                        let v = *o.values.get(i)?;
                        if v.is_nan() {
                            return None;
                        }
                        if e.value.is_nan() {
                            e.value = v;
                        }
                        Some(e)
                    })
                    .collect();
                Some(TimeSeries {
                    labels: o.labels,
                    samples,
                    exemplars,
                })
            })
            .collect();
        series.sort_by_key(|s| label_text(&s.labels));
        let (status, message) = if acc.is_truncated() {
            (
                PartialStatus::Partial as i32,
                format!(
                    "Response exceeds maximum series limit of {}, a partial response is returned. Warning: the accuracy of each individual value is not guaranteed.",
                    self.max_series()
                ),
            )
        } else {
            (PartialStatus::Complete as i32, String::new())
        };
        QueryRangeResponse {
            series,
            metrics: Some(acc.metrics),
            status,
            message,
        }
    }

    /// The final series of a node of the query's arithmetic.
    fn eval(&self, node: &Node, acc: &MetricsAccumulator, n: usize) -> Vec<Out> {
        match node {
            Node::Leaf(i) => match (self.leaves.get(*i), acc.stores.get(*i)) {
                (Some(leaf), Some(store)) => leaf_outs(leaf, store, n),
                _ => Vec::new(),
            },
            // A constant alone: one unlabelled series (only ever an operand).
            Node::Scalar(v) => vec![Out {
                labels: Vec::new(),
                values: vec![*v; n],
                exemplars: Vec::new(),
            }],
            Node::Binary {
                op,
                lhs,
                rhs,
                second,
            } => {
                let mut outs = match (lhs.as_ref(), rhs.as_ref()) {
                    (Node::Scalar(v), r) => scalar_op(*op, *v, self.eval(r, acc, n), true),
                    (l, Node::Scalar(v)) => scalar_op(*op, *v, self.eval(l, acc, n), false),
                    (l, r) => arith::binary(*op, self.eval(l, acc, n), self.eval(r, acc, n)),
                };
                for stage in second {
                    apply_second(stage, &mut outs, n);
                }
                outs
            }
        }
    }

    /// The instant answer: each series' single value.
    pub fn finish_instant(&self, acc: &MetricsAccumulator) -> QueryInstantResponse {
        let r = self.finish(acc);
        QueryInstantResponse {
            series: r
                .series
                .into_iter()
                .filter_map(|s| {
                    let v = s.samples.last()?.value;
                    Some(InstantSeries {
                        labels: s.labels,
                        value: v,
                    })
                })
                .collect(),
            metrics: r.metrics,
            status: r.status,
            message: r.message,
        }
    }
}

fn zero_nan(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// One leaf's final series: the function's values per interval, then its second stages.
fn leaf_outs(leaf: &Leaf, store: &SeriesStore, n: usize) -> Vec<Out> {
    let step = leaf.range.step_seconds();
    let mut outs: Vec<Out> = match &leaf.func {
        Func::Quantile(qs) => quantiles(store, qs, n),
        Func::Compare(c) => super::compare::finish(c, &store.series)
            .into_iter()
            .map(|(labels, values, exemplars)| Out {
                values: if values.is_empty() {
                    vec![f64::NAN; n]
                } else {
                    values.into_iter().map(zero_nan).collect()
                },
                labels,
                exemplars,
            })
            .collect(),
        f => store
            .series
            .iter()
            .map(|s| {
                let values = (0..n)
                    .map(|i| match f {
                        Func::Rate => zero_nan(s.values[i]) / step,
                        Func::Avg => {
                            let (sum, count) = (s.values[2 * i], s.values[2 * i + 1]);
                            if count > 0.0 {
                                sum / count
                            } else {
                                f64::NAN
                            }
                        }
                        f if f.counts() => zero_nan(s.values[i]),
                        _ => s.values[i],
                    })
                    .collect();
                Out {
                    labels: s.labels.clone(),
                    values,
                    exemplars: s.exemplars.clone(),
                }
            })
            .collect(),
    };
    for stage in &leaf.second {
        apply_second(stage, &mut outs, n);
    }
    outs
}

/// `v op x` (or `x op v`) for every sample of every series.
fn scalar_op(op: ArithOp, v: f64, mut outs: Vec<Out>, scalar_left: bool) -> Vec<Out> {
    for o in &mut outs {
        for x in &mut o.values {
            *x = if scalar_left {
                arith::apply(op, v, *x)
            } else {
                arith::apply(op, *x, v)
            };
        }
    }
    outs
}

/// The interval of an exemplar at `ms`: the one whose span-start window holds it.
fn interval_of_exemplar(r: &MetricsRange, ms: i64) -> Option<usize> {
    let ns = u64::try_from(ms).ok()?.checked_mul(1_000_000)?;
    // Exemplars carry span start times rounded up to the ms (`exemplar_ms`); older sources
    // truncated them, so a boundary falls back to the interval of the ms's end.
    r.interval_of(ns).or_else(|| r.interval_of(ns + 999_999))
}

pub(crate) fn label_text(labels: &[KeyValue]) -> String {
    labels
        .iter()
        .map(|l| format!("{}={:?}", l.key, l.value))
        .collect::<Vec<_>>()
        .join(",")
}

fn double(v: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(v)),
    }
}

fn bucket_bound(l: &KeyValue) -> Option<f64> {
    match l.value.as_ref()?.value.as_ref()? {
        any_value::Value::DoubleValue(d) => Some(*d),
        any_value::Value::IntValue(i) => Some(*i as f64),
        _ => None,
    }
}

/// One series per (labels without `__bucket`, quantile).
fn quantiles(acc: &SeriesStore, qs: &[f64], n: usize) -> Vec<Out> {
    struct Group {
        labels: Vec<KeyValue>,
        /// Per interval: (bucket bound, count).
        hist: Vec<Vec<(f64, f64)>>,
        exemplars: Vec<Exemplar>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut all: BTreeMap<u64, f64> = BTreeMap::new();
    for s in &acc.series {
        let Some(bound) = s
            .labels
            .iter()
            .find(|l| l.key == BUCKET_LABEL)
            .and_then(bucket_bound)
        else {
            continue;
        };
        let labels: Vec<KeyValue> = s
            .labels
            .iter()
            .filter(|l| l.key != BUCKET_LABEL)
            .cloned()
            .collect();
        let g = groups.entry(label_text(&labels)).or_insert_with(|| Group {
            labels,
            hist: vec![Vec::new(); n],
            exemplars: Vec::new(),
        });
        for (i, h) in g.hist.iter_mut().enumerate() {
            let c = s.values[i];
            if c > 0.0 {
                h.push((bound, c));
                *all.entry(bound.to_bits()).or_default() += c;
            }
        }
        g.exemplars.extend(s.exemplars.iter().cloned());
    }
    // Overall quantiles, to give each exemplar to the nearest quantile's series.
    let mut overall: Vec<(f64, f64)> = all
        .into_iter()
        .map(|(b, c)| (f64::from_bits(b), c))
        .collect();
    overall.sort_by(|a, b| a.0.total_cmp(&b.0));
    let overall_q: Vec<f64> = qs.iter().map(|q| log2::quantile(*q, &overall)).collect();
    let nearest = |v: f64| -> Option<usize> {
        overall_q
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - v).abs().total_cmp(&(b.1 - v).abs()))
            .map(|(i, _)| i)
    };
    let mut out = Vec::new();
    for mut g in groups.into_values() {
        for h in &mut g.hist {
            h.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        for (qi, q) in qs.iter().enumerate() {
            let mut labels = g.labels.clone();
            labels.push(KeyValue {
                key: "p".into(),
                value: Some(double(*q)),
                ..Default::default()
            });
            let values = g.hist.iter().map(|h| log2::quantile(*q, h)).collect();
            let exemplars = g
                .exemplars
                .iter()
                .filter(|e| nearest(e.value) == Some(qi))
                .cloned()
                .collect();
            out.push(Out {
                labels,
                values,
                exemplars,
            });
        }
    }
    out
}

fn apply_second(stage: &SecondStage, outs: &mut Vec<Out>, n: usize) {
    match stage {
        SecondStage::TopK(k) | SecondStage::BottomK(k) => {
            let top = matches!(stage, SecondStage::TopK(_));
            let k = usize::try_from(*k).unwrap_or(usize::MAX);
            for i in 0..n {
                let mut order: Vec<usize> = (0..outs.len())
                    .filter(|&s| !outs[s].values[i].is_nan())
                    .collect();
                order.sort_by(|&a, &b| {
                    let (x, y) = (outs[a].values[i], outs[b].values[i]);
                    if top {
                        y.total_cmp(&x)
                    } else {
                        x.total_cmp(&y)
                    }
                });
                for &s in order.iter().skip(k) {
                    outs[s].values[i] = f64::NAN;
                }
            }
        }
        SecondStage::Filter { op, value } => {
            for o in outs.iter_mut() {
                for v in &mut o.values {
                    let keep = match op {
                        CmpOp::Eq => *v == *value,
                        CmpOp::Neq => *v != *value,
                        CmpOp::Lt => *v < *value,
                        CmpOp::Lte => *v <= *value,
                        CmpOp::Gt => *v > *value,
                        CmpOp::Gte => *v >= *value,
                    };
                    if !keep {
                        *v = f64::NAN;
                    }
                }
            }
        }
    }
    outs.retain(|o| o.values.iter().any(|v| !v.is_nan()));
}
