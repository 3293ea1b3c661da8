//! One metrics pipeline compiled ([`Leaf`]: `{ ... } | fn(...) by (...)`), and its
//! evaluation over batches of whole traces and over blocks into a [`SeriesStore`].
//!
//! The spanset pipeline runs through the search evaluator ([`crate::eval`]): every span of
//! any final spanset of a trace counts once. A span belongs to the interval of its start
//! time ([`MetricsRange`]); its series is given by its `by()` values (missing values are
//! left out of the labels) and, for `quantile_over_time`/`histogram_over_time`, by the
//! power-of-two bucket of the argument (spans whose argument is not an integer or duration
//! ≥ 2 are skipped, as Tempo does). Arguments of `sum`/`min`/`max`/`avg_over_time` are
//! read as numbers, durations in seconds; spans without a numeric value are skipped.

use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, RecordBatch, UInt64Array,
};
use strata_block::schema::col;
use strata_block::BlockReader;
use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::tempopb::Exemplar;
use strata_traceql::{FieldExpr, MetricsFn, Pipeline, SecondStage, Static};

use super::compare;
use super::func::{Func, BUCKET_LABEL};
use super::log2;
use super::range::MetricsRange;
use super::store::SeriesStore;
use crate::eval::{self, Sv};
use crate::plan::ir::Expr;
use crate::plan::text::field_text;
use crate::search::{SearchAccumulator, SearchJob};
use crate::{EngineError, SearchPlan};

use super::query::{bad, BadMetrics};

/// One compiled metrics pipeline (`{ ... } | fn(...) by (...) | second stages`): its plan,
/// function, labels and time grid.
#[derive(Clone)]
pub(crate) struct Leaf {
    pub(crate) search: SearchJob,
    /// `by()` expressions, then the function's argument (if any).
    exprs: Vec<Expr>,
    /// `compare()`'s filter.
    preds: Vec<Expr>,
    by_names: Vec<String>,
    pub(crate) func: Func,
    pub(crate) second: Vec<SecondStage>,
    pub(crate) range: MetricsRange,
    pub(crate) exemplars: usize,
    max_series: usize,
}

impl Leaf {
    /// Compiles one pipeline over `range`.
    pub(crate) fn new(
        pipeline: &Pipeline,
        func: &MetricsFn,
        by: &[FieldExpr],
        second: &[SecondStage],
        range: MetricsRange,
        exemplars: usize,
        max_series: usize,
    ) -> Result<Self, BadMetrics> {
        let (preds, extra): (Vec<FieldExpr>, &[&'static str]) = match func {
            MetricsFn::Compare { filter, .. } => (
                vec![filter
                    .expr
                    .clone()
                    .unwrap_or(FieldExpr::Static(Static::Bool(true)))],
                &compare::COLUMNS,
            ),
            _ => (Vec::new(), &[]),
        };
        let (func, arg) = Func::of(func);
        let mut fields = by.to_vec();
        fields.extend(arg);
        let (plan, exprs, preds) =
            SearchPlan::for_metrics_with(pipeline, &fields, &preds, extra, exemplars > 0)
                .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            search: SearchJob::for_plan(plan, range.start, range.end),
            exprs,
            preds,
            by_names: by.iter().map(field_text).collect(),
            func,
            second: second.to_vec(),
            range,
            exemplars,
            max_series,
        })
    }

    /// An empty store for this pipeline's partial series.
    pub(crate) fn store(&self) -> SeriesStore {
        SeriesStore::new(
            self.range,
            self.func.parts(),
            self.func.combine(),
            self.func.counts(),
            // compare() keeps every value until the end, where it keeps the top N.
            if matches!(self.func, Func::Compare(_)) {
                0
            } else {
                self.max_series
            },
            self.exemplars,
        )
    }

    /// Evaluates one batch of whole traces into `acc`.
    pub(crate) fn observe_batch(
        &self,
        batch: &RecordBatch,
        acc: &mut SeriesStore,
    ) -> Result<(), EngineError> {
        if let Func::Compare(c) = &self.func {
            let (rows, _, masks) =
                eval::matched_rows_with(self.search.plan(), batch, &[], &self.preds)?;
            let rows = counted_rows(batch, rows);
            let Some(selected) = masks.first() else {
                return Ok(());
            };
            return compare::observe(c, &self.range, batch, &rows, selected, acc);
        }
        let (rows, values) = eval::matched_rows(self.search.plan(), batch, &self.exprs)?;
        let rows = counted_rows(batch, rows);
        if rows.is_empty() {
            return Ok(());
        }
        let starts = column::<UInt64Array>(batch, col::START)?;
        let trace_ids = column::<FixedSizeBinaryArray>(batch, col::TRACE_ID)?;
        // Read only when exemplars are wanted (see `SearchPlan::for_metrics_with`).
        let span_ids = column::<BinaryArray>(batch, col::SPAN_ID).ok();
        let (by_vals, arg) = values.split_at(self.by_names.len());
        let arg = arg.first();
        let mut raw = Vec::with_capacity(64);
        let mut by: Vec<Option<Sv<'_>>> = Vec::with_capacity(by_vals.len());
        for row in rows {
            let row = row as usize;
            let ts = starts.value(row);
            let Some(i) = self.range.interval_of(ts) else {
                continue;
            };
            // The value observed and, for bucketed functions, the bucket.
            let (v, bucket) = match (&self.func, arg) {
                (Func::Rate | Func::Count, _) => (1.0, None),
                (Func::Quantile(_) | Func::Histogram, Some(a)) => match bucket_of(a.get(row)?) {
                    Some(b) => (1.0, Some(b)),
                    None => continue,
                },
                (_, Some(a)) => match a.get(row)?.as_ref().and_then(number) {
                    Some(v) => (v, None),
                    None => continue,
                },
                (_, None) => continue,
            };
            by.clear();
            raw.clear();
            for b in by_vals {
                let sv = b.get(row)?;
                raw_key(&mut raw, sv.as_ref());
                by.push(sv);
            }
            if let Some(b) = bucket {
                raw.extend_from_slice(&b.to_bits().to_le_bytes());
            }
            let Some(s) = acc.series_for_raw(&raw, || self.labels(&by, bucket)) else {
                continue;
            };
            match self.func {
                Func::Avg => {
                    acc.add(s, i, 0, v);
                    acc.add(s, i, 1, 1.0);
                }
                _ => acc.add(s, i, 0, v),
            }
            let ts_ms = exemplar_ms(ts);
            if let Some(span_ids) = span_ids.filter(|_| acc.wants_exemplar(s, ts_ms)) {
                let value = match (&self.func, arg) {
                    (Func::Quantile(_), Some(a)) => a.get(row)?.as_ref().and_then(number),
                    (Func::Sum | Func::Min | Func::Max | Func::Avg, _) => Some(v),
                    _ => None,
                };
                let e = span_exemplar(trace_ids, span_ids, row, value.unwrap_or(f64::NAN), ts_ms);
                acc.add_exemplar(s, e);
            }
        }
        Ok(())
    }

    /// Series labels: `by()` values present (Tempo drops nils; all nil gives the first
    /// label the string `nil`), then `__bucket`; ungrouped series are `__name__` = function.
    fn labels(&self, by: &[Option<Sv<'_>>], bucket: Option<f64>) -> Vec<KeyValue> {
        let mut out: Vec<KeyValue> = self
            .by_names
            .iter()
            .zip(by)
            .filter_map(|(name, v)| {
                v.as_ref().map(|v| KeyValue {
                    key: name.clone(),
                    value: Some(v.to_any()),
                    ..Default::default()
                })
            })
            .collect();
        if let Some(b) = bucket {
            out.push(KeyValue {
                key: BUCKET_LABEL.into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::DoubleValue(b)),
                }),
                ..Default::default()
            });
        }
        if out.is_empty() {
            out.push(match self.by_names.first() {
                Some(first) => str_kv(first, "nil".into()),
                None => str_kv("__name__", self.func.name().into()),
            });
        }
        out
    }

    /// Evaluates one block into `acc`, pruned as search prunes, counting what was read in
    /// `counters`.
    pub(crate) async fn observe_block(
        &self,
        reader: &BlockReader,
        acc: &mut SeriesStore,
        counters: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        let extra: &[&'static str] = if reader.meta().has_replica_column() {
            &[col::REPLICA]
        } else {
            &[]
        };
        self.search
            .scan_block(reader, counters, extra, &mut |batch, _| {
                self.observe_batch(batch, acc)
            })
            .await
    }
}

/// `rows` without replica copies (rows with the block's `replica` column set), so that each
/// span counts once however many ingesters hold it. Batches without the column (format v1
/// blocks, live data, which leaves replica shares out) keep every row.
fn counted_rows(batch: &RecordBatch, mut rows: Vec<u32>) -> Vec<u32> {
    let replica = batch
        .column_by_name(col::REPLICA)
        .and_then(|c| c.as_any().downcast_ref::<BooleanArray>());
    if let Some(r) = replica.filter(|r| r.true_count() > 0) {
        rows.retain(|&i| !r.value(i as usize));
    }
    rows
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, EngineError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| EngineError::Batch(format!("{name} missing or of an unexpected type")))
}

/// An exemplar's timestamp (unix ms) for a span starting at `ts_ns`: rounded up, so that it
/// falls in the interval the span was counted in (intervals are `(start, end]`; a span just
/// after a step boundary truncated to the ms would land on the boundary, in the interval
/// before).
pub(crate) fn exemplar_ms(ts_ns: u64) -> i64 {
    ts_ns.div_ceil(1_000_000) as i64
}

/// An exemplar pointing at the span of `row`: labels `trace:id` and `span:id` (hex).
pub(crate) fn span_exemplar(
    trace_ids: &FixedSizeBinaryArray,
    span_ids: &BinaryArray,
    row: usize,
    value: f64,
    ts_ms: i64,
) -> Exemplar {
    Exemplar {
        labels: vec![
            str_kv("trace:id", hex(trace_ids.value(row))),
            str_kv("span:id", hex(span_ids.value(row))),
        ],
        value,
        timestamp_ms: ts_ms,
    }
}

fn str_kv(key: &str, v: String) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v)),
        }),
        ..Default::default()
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// A value as a number: integers and floats as they are, durations in seconds.
fn number(v: &Sv<'_>) -> Option<f64> {
    match v {
        Sv::Int(i) => Some(*i as f64),
        Sv::Float(f) if !f.is_nan() => Some(*f),
        Sv::Dur(d) => Some(*d as f64 / 1e9),
        _ => None,
    }
}

/// The power-of-two bucket of a value (durations bucketed in ns, labelled in seconds).
fn bucket_of(v: Option<Sv<'_>>) -> Option<f64> {
    match v? {
        Sv::Int(i) => log2::bucket(u64::try_from(i).ok()?),
        Sv::Dur(d) => log2::bucket(u64::try_from(d).ok()?).map(|b| b / 1e9),
        _ => None,
    }
}

/// Appends a hashable encoding of one group value to `out`.
fn raw_key(out: &mut Vec<u8>, v: Option<&Sv<'_>>) {
    let Some(v) = v else {
        out.push(0);
        return;
    };
    match v {
        Sv::Int(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Sv::Float(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Sv::Str(s) => {
            out.push(3);
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Sv::Bool(b) => out.extend_from_slice(&[4, u8::from(*b)]),
        Sv::Dur(d) => {
            out.push(5);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Sv::Status(s) => {
            out.push(6);
            out.extend_from_slice(&s.to_le_bytes());
        }
        Sv::Kind(k) => {
            out.push(7);
            out.extend_from_slice(&k.to_le_bytes());
        }
        Sv::Array(_) => {
            let text = format!("{:?}", v.to_any());
            out.push(8);
            out.extend_from_slice(&(text.len() as u64).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
}
