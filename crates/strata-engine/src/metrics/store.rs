//! Partial series of one metrics pipeline ([`SeriesStore`]): what one source computes and
//! what sources exchange (inside a `tempopb.QueryRangeResponse`, see
//! [`super::MetricsAccumulator`]), merged by the function's rule ([`super::func`]).
//!
//! # Invariants
//! * A series is identified by its labels (in `by()` order, then `__bucket`); two sources
//!   that see the same label values produce the same series.
//! * Every series has `intervals × parts` values; value `i·parts + p` is part `p` of
//!   interval `i`; NaN means no value.
//! * At most `max_series` series are held; a span or partial series that would add one more
//!   is dropped and the store is marked [`truncated`](SeriesStore::truncated).
//! * Exemplars are capped as Tempo caps them: at most `exemplars` per series, and at most
//!   [`EXEMPLARS_PER_BUCKET`] in each of `exemplars / 2` equal slices of the time range.
//!
//! On the wire a partial series is one `TimeSeries` per part (`avg_over_time` adds the label
//! `__strata_part` = `sum`/`count`) with a sample per interval holding a value (counts: a
//! non-zero value), stamped with the interval's timestamp.

use std::collections::HashMap;

use prost::Message;
use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::tempopb::{Exemplar, Sample, TimeSeries};

use super::func::{Combine, PART_LABEL};
use super::range::MetricsRange;

/// Most exemplars kept in one time slice of a series.
pub const EXEMPLARS_PER_BUCKET: usize = 2;

/// One partial series.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub labels: Vec<KeyValue>,
    pub values: Vec<f64>,
    pub exemplars: Vec<Exemplar>,
}

/// Partial series of one pipeline, from one or more sources.
#[derive(Debug, Clone)]
pub(crate) struct SeriesStore {
    range: MetricsRange,
    parts: usize,
    combine: Combine,
    counts: bool,
    max_series: usize,
    max_exemplars: usize,
    /// Encoded labels → series.
    index: HashMap<Vec<u8>, usize>,
    /// Raw per-span group keys → series (the evaluator's fast path).
    fast: HashMap<Vec<u8>, usize>,
    pub(crate) series: Vec<Series>,
    /// Whether the series limit dropped data.
    pub truncated: bool,
}

fn label_key(labels: &[KeyValue]) -> Vec<u8> {
    TimeSeries {
        labels: labels.to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn str_value(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    }
}

impl SeriesStore {
    pub(crate) fn new(
        range: MetricsRange,
        parts: usize,
        combine: Combine,
        counts: bool,
        max_series: usize,
        max_exemplars: usize,
    ) -> Self {
        Self {
            range,
            parts,
            combine,
            counts,
            max_series: if max_series == 0 {
                usize::MAX
            } else {
                max_series
            },
            max_exemplars,
            index: HashMap::new(),
            fast: HashMap::new(),
            series: Vec::new(),
            truncated: false,
        }
    }

    /// The series for a raw group key, creating it (with `labels()`) when new; `None` when
    /// the series limit is reached.
    pub(crate) fn series_for_raw(
        &mut self,
        raw: &[u8],
        labels: impl FnOnce() -> Vec<KeyValue>,
    ) -> Option<usize> {
        if let Some(&s) = self.fast.get(raw) {
            return Some(s);
        }
        let s = self.series_for(labels())?;
        self.fast.insert(raw.to_vec(), s);
        Some(s)
    }

    fn series_for(&mut self, labels: Vec<KeyValue>) -> Option<usize> {
        let key = label_key(&labels);
        if let Some(&s) = self.index.get(&key) {
            return Some(s);
        }
        if self.series.len() >= self.max_series {
            self.truncated = true;
            return None;
        }
        let init = if self.counts { 0.0 } else { f64::NAN };
        self.series.push(Series {
            labels,
            values: vec![init; self.range.intervals() * self.parts],
            exemplars: Vec::new(),
        });
        self.index.insert(key, self.series.len() - 1);
        Some(self.series.len() - 1)
    }

    /// Combines `v` into part `part` of interval `i` of series `s`.
    pub(crate) fn add(&mut self, s: usize, i: usize, part: usize, v: f64) {
        let at = i * self.parts + part;
        let combine = self.combine_for(part);
        if let Some(slot) = self.series.get_mut(s).and_then(|x| x.values.get_mut(at)) {
            *slot = combine.apply(*slot, v);
        }
    }

    fn combine_for(&self, part: usize) -> Combine {
        // avg's count part always sums.
        if part > 0 {
            Combine::Sum
        } else {
            self.combine
        }
    }

    /// Whether series `s` takes another exemplar at `ts_ms`.
    pub(crate) fn wants_exemplar(&self, s: usize, ts_ms: i64) -> bool {
        let Some(series) = self.series.get(s) else {
            return false;
        };
        if self.max_exemplars == 0 || self.range.instant {
            return false;
        }
        if series.exemplars.len() >= self.max_exemplars {
            return false;
        }
        let slot = self.exemplar_slot(ts_ms);
        series
            .exemplars
            .iter()
            .filter(|e| self.exemplar_slot(e.timestamp_ms) == slot)
            .count()
            < EXEMPLARS_PER_BUCKET
    }

    fn exemplar_slot(&self, ts_ms: i64) -> i64 {
        exemplar_slot(&self.range, self.max_exemplars, ts_ms)
    }

    pub(crate) fn add_exemplar(&mut self, s: usize, e: Exemplar) {
        if self.wants_exemplar(s, e.timestamp_ms) {
            self.series[s].exemplars.push(e);
        }
    }

    /// Merges another source's partial series (from [`to_series`](Self::to_series)).
    pub(crate) fn merge_series(&mut self, series: Vec<TimeSeries>) {
        for ts in series {
            let mut labels = ts.labels;
            let mut part = 0;
            if let Some(pos) = labels.iter().position(|l| l.key == PART_LABEL) {
                let kv = labels.remove(pos);
                let is_count = matches!(
                    kv.value.and_then(|v| v.value),
                    Some(any_value::Value::StringValue(s)) if s == "count"
                );
                part = usize::from(is_count);
            }
            if part >= self.parts {
                continue;
            }
            let Some(s) = self.series_for(labels) else {
                continue;
            };
            for sample in ts.samples {
                if let Some(i) = self.range.interval_of_ms(sample.timestamp_ms) {
                    self.add(s, i, part, sample.value);
                }
            }
            for e in ts.exemplars {
                self.add_exemplar(s, e);
            }
        }
    }

    /// These partial series on the wire (see the module docs).
    pub(crate) fn to_series(&self) -> Vec<TimeSeries> {
        let mut out = Vec::new();
        for s in &self.series {
            for part in 0..self.parts {
                let mut labels = s.labels.clone();
                if self.parts > 1 {
                    let name = if part == 0 { "sum" } else { "count" };
                    labels.push(KeyValue {
                        key: PART_LABEL.into(),
                        value: Some(str_value(name)),
                        ..Default::default()
                    });
                }
                let samples = (0..self.range.intervals())
                    .filter_map(|i| {
                        let v = s.values[i * self.parts + part];
                        let skip = v.is_nan() || (self.counts && v == 0.0);
                        (!skip).then(|| Sample {
                            value: v,
                            timestamp_ms: self.range.timestamp_ms(i),
                        })
                    })
                    .collect();
                out.push(TimeSeries {
                    labels,
                    samples,
                    exemplars: if part == 0 {
                        s.exemplars.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
        out
    }
}

fn exemplar_slot(range: &MetricsRange, max_exemplars: usize, ts_ms: i64) -> i64 {
    let slots = (max_exemplars / EXEMPLARS_PER_BUCKET).max(1) as i64;
    let start = (range.start / 1_000_000) as i64;
    let end = (range.end / 1_000_000) as i64;
    let width = ((end - start) / slots).max(1);
    (ts_ms - start) / width
}

/// `exemplars` cut to the caps of one series, keeping the earliest offered.
pub(crate) fn cap_exemplars(
    range: &MetricsRange,
    max_exemplars: usize,
    exemplars: Vec<Exemplar>,
) -> Vec<Exemplar> {
    let mut kept: Vec<Exemplar> = Vec::new();
    for e in exemplars {
        if kept.len() >= max_exemplars {
            break;
        }
        let slot = exemplar_slot(range, max_exemplars, e.timestamp_ms);
        let in_slot = kept
            .iter()
            .filter(|k| exemplar_slot(range, max_exemplars, k.timestamp_ms) == slot)
            .count();
        if in_slot < EXEMPLARS_PER_BUCKET {
            kept.push(e);
        }
    }
    kept
}
