//! `compare({ filter }, topN, start, end)`: for every attribute of the spans the pipeline
//! selects, span counts per value and step, split into *selection* (spans matching the filter,
//! and starting in `(start, end]` when those are given) and *baseline* (the others), with
//! per-attribute totals — Tempo's semantics.
//!
//! * Attributes counted: every span attribute (`span.k`), resource attribute (`resource.k`)
//!   with a string, integer, float or boolean value, and the intrinsics `name`, `status`,
//!   `kind`.
//! * Partial series: `{__meta_type="baseline"|"selection", <attr>=<value>}` and
//!   `{__meta_type="baseline_total"|"selection_total", <attr>="nil"}`, counts summed across
//!   sources. Not subject to the series limit (values are cut to `topN` at the end).
//! * Exemplars (as Tempo attaches them): a span's exemplar (its `trace:id` and `span:id`,
//!   value NaN) goes on the `*_total` series of each attribute the span has, within the
//!   usual per-series caps.
//! * Final: per attribute and type, the `topN` values by total count; totals kept; an
//!   attribute with more values gets a `__meta_error="__too_many_values__"` series without
//!   samples, which, as in Tempo, is dropped with the other empty series.

use std::collections::BTreeMap;

use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array,
    ListArray, RecordBatch, StringArray, StructArray, UInt64Array, UInt8Array,
};
use strata_block::schema::{col, tag};
use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::tempopb::Exemplar;
use strata_traceql::{Attribute, AttributeScope};

use super::job::{exemplar_ms, span_exemplar};
use super::range::MetricsRange;
use super::store::{Series, SeriesStore};
use crate::plan::text;
use crate::EngineError;

pub const META_TYPE: &str = "__meta_type";
pub const META_ERROR: &str = "__meta_error";
const TOO_MANY: &str = "__too_many_values__";

/// Columns compare reads besides the pipeline's.
pub(crate) const COLUMNS: [&str; 5] = [
    col::ATTRS,
    col::RESOURCE_ATTRS,
    col::NAME,
    col::KIND,
    col::STATUS_CODE,
];

/// `compare()`'s arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compare {
    pub top_n: usize,
    /// Selection window (unix ns), `(0, 0)` for none.
    pub start: u64,
    pub end: u64,
}

fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(value),
        ..Default::default()
    }
}

fn typed<'a, T: 'static>(a: &'a dyn Array, what: &str) -> Result<&'a T, EngineError> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| EngineError::Batch(format!("{what} has an unexpected type")))
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, EngineError> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| EngineError::Batch(format!("{name} missing")))?;
    typed(c.as_ref(), name)
}

/// One attribute list column, split into its parts.
struct Attrs<'a> {
    list: &'a ListArray,
    keys: &'a StringArray,
    types: &'a UInt8Array,
    strs: &'a StringArray,
    ints: &'a Int64Array,
    doubles: &'a Float64Array,
    bools: &'a BooleanArray,
    scope: AttributeScope,
}

impl<'a> Attrs<'a> {
    fn new(batch: &'a RecordBatch, name: &str, scope: AttributeScope) -> Result<Self, EngineError> {
        use strata_block::schema::col::attr as f;
        let list: &ListArray = column(batch, name)?;
        let entries: &StructArray = typed(list.values().as_ref(), name)?;
        let child = |n: &str| {
            entries
                .column_by_name(n)
                .ok_or_else(|| EngineError::Batch(format!("{name} lacks {n}")))
        };
        Ok(Self {
            list,
            keys: typed(child(f::KEY)?.as_ref(), "attribute key")?,
            types: typed(child(f::TYPE)?.as_ref(), "attribute type")?,
            strs: typed(child(f::STR)?.as_ref(), "attribute str")?,
            ints: typed(child(f::INT)?.as_ref(), "attribute int")?,
            doubles: typed(child(f::DOUBLE)?.as_ref(), "attribute double")?,
            bools: typed(child(f::BOOL)?.as_ref(), "attribute bool")?,
            scope,
        })
    }

    /// `(label name, value)` of every countable attribute of `row`.
    fn each(&self, row: usize, f: &mut impl FnMut(String, AnyValue)) {
        if self.list.is_null(row) {
            return;
        }
        let offs = self.list.value_offsets();
        let (lo, hi) = (offs[row] as usize, offs[row + 1] as usize);
        for e in lo..hi {
            use any_value::Value as V;
            let v = match self.types.value(e) {
                tag::STRING if self.strs.is_valid(e) => V::StringValue(self.strs.value(e).into()),
                tag::INT if self.ints.is_valid(e) => V::IntValue(self.ints.value(e)),
                tag::DOUBLE if self.doubles.is_valid(e) => V::DoubleValue(self.doubles.value(e)),
                tag::BOOL if self.bools.is_valid(e) => V::BoolValue(self.bools.value(e)),
                _ => continue,
            };
            let name = Attribute {
                scope: self.scope,
                parent: false,
                name: self.keys.value(e).to_string(),
            }
            .to_string();
            f(name, AnyValue { value: Some(v) });
        }
    }
}

/// Counts the spans at `rows` of `batch` into `acc`; `selected` says which match the filter.
pub(crate) fn observe(
    c: &Compare,
    range: &MetricsRange,
    batch: &RecordBatch,
    rows: &[u32],
    selected: &BooleanArray,
    acc: &mut SeriesStore,
) -> Result<(), EngineError> {
    let starts: &UInt64Array = column(batch, col::START)?;
    let names: &StringArray = column(batch, col::NAME)?;
    let kinds: &Int32Array = column(batch, col::KIND)?;
    let status: &Int32Array = column(batch, col::STATUS_CODE)?;
    let span_attrs = Attrs::new(batch, col::ATTRS, AttributeScope::Span)?;
    let res_attrs = Attrs::new(batch, col::RESOURCE_ATTRS, AttributeScope::Resource)?;
    let ids = column::<FixedSizeBinaryArray>(batch, col::TRACE_ID)
        .ok()
        .zip(column::<BinaryArray>(batch, col::SPAN_ID).ok());
    let mut raw = Vec::with_capacity(64);
    for &row in rows {
        let row = row as usize;
        let ts = starts.value(row);
        let Some(i) = range.interval_of(ts) else {
            continue;
        };
        let in_window = (c.start, c.end) == (0, 0) || (ts > c.start && ts <= c.end);
        let sel = in_window && selected.is_valid(row) && selected.value(row);
        let (kind, total) = if sel {
            ("selection", "selection_total")
        } else {
            ("baseline", "baseline_total")
        };
        let mut count = |name: String, value: AnyValue| {
            for (t, v) in [(kind, Some(&value)), (total, None)] {
                raw.clear();
                raw.extend_from_slice(t.as_bytes());
                raw.push(0);
                raw.extend_from_slice(name.as_bytes());
                raw.push(0);
                if let Some(v) = v {
                    raw.extend_from_slice(format!("{:?}", v.value).as_bytes());
                }
                let labels = || {
                    vec![
                        kv(META_TYPE, string(t)),
                        kv(&name, v.cloned().unwrap_or_else(|| string("nil"))),
                    ]
                };
                if let Some(s) = acc.series_for_raw(&raw, labels) {
                    acc.add(s, i, 0, 1.0);
                    let ts_ms = exemplar_ms(ts);
                    if let Some((traces, spans)) = ids.filter(|_| v.is_none()) {
                        if acc.wants_exemplar(s, ts_ms) {
                            let e = span_exemplar(traces, spans, row, f64::NAN, ts_ms);
                            acc.add_exemplar(s, e);
                        }
                    }
                }
            }
        };
        count("name".into(), string(names.value(row)));
        let st = if status.is_valid(row) {
            status.value(row)
        } else {
            0
        };
        count("status".into(), string(&text::status_name(st)));
        count("kind".into(), string(&text::kind_name(kinds.value(row))));
        span_attrs.each(row, &mut count);
        res_attrs.each(row, &mut count);
    }
    Ok(())
}

fn label_str(kv: &KeyValue) -> Option<&str> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The final series: per attribute and type the `top_n` values by total count, every total,
/// and the error series of attributes with more values; exemplars on the totals.
pub(crate) fn finish(
    c: &Compare,
    series: &[Series],
) -> Vec<(Vec<KeyValue>, Vec<f64>, Vec<Exemplar>)> {
    // (type, attribute) → series indices
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        let (Some(t), Some(attr)) = (s.labels.first().and_then(label_str), s.labels.get(1)) else {
            continue;
        };
        groups
            .entry((t.to_string(), attr.key.clone()))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    let mut maxed: Vec<String> = Vec::new();
    for ((t, attr), mut idx) in groups {
        if t.ends_with("_total") {
            for i in idx {
                let s = &series[i];
                out.push((s.labels.clone(), s.values.clone(), s.exemplars.clone()));
            }
            continue;
        }
        if idx.len() > c.top_n {
            maxed.push(attr);
            let total =
                |i: &usize| -> f64 { series[*i].values.iter().filter(|v| !v.is_nan()).sum() };
            idx.sort_by(|a, b| total(b).total_cmp(&total(a)));
            idx.truncate(c.top_n);
        }
        for i in idx {
            out.push((
                series[i].labels.clone(),
                series[i].values.clone(),
                Vec::new(),
            ));
        }
    }
    maxed.sort();
    maxed.dedup();
    for a in maxed {
        out.push((
            vec![kv(META_ERROR, string(TOO_MANY)), kv(&a, string("nil"))],
            Vec::new(),
            Vec::new(),
        ));
    }
    out
}
