//! Building [`TraceMatch`]es: trace metadata, service statistics and returned spans.
//!
//! * Root: the trace's first row with an empty `parent_span_id`; its `service_name` and
//!   `name` (`None` when there is no root, or no service name).
//! * Start: the earliest span start; end: the latest span end.
//! * Service statistics per non-null `service_name`: spans, and spans with status code 2.
//! * Spansets: spans ordered by start time (then row), cut to `spss`; `matched` is the full
//!   count. Each span carries the reported attributes (plan outputs) it has a value for,
//!   identical key/value pairs once.

use std::collections::BTreeMap;

use arrow_array::{Array, BinaryArray, FixedSizeBinaryArray, Int32Array, StringArray, UInt64Array};
use strata_block::schema::col;
use strata_common::TraceId;
use strata_proto::otlp::common::KeyValue;

use super::ctx::Ctx;
use super::spanset::Set;
use super::trace::Traces;
use super::value::{bad, Value};
use crate::result::{MatchedSpan, ServiceStats, SpanSet, TraceMatch};
use crate::EngineError;

/// The columns metadata needs.
pub(crate) struct Meta<'a> {
    ids: &'a FixedSizeBinaryArray,
    span_ids: &'a BinaryArray,
    names: &'a StringArray,
    start: &'a UInt64Array,
    end: &'a UInt64Array,
    status: &'a Int32Array,
    service: &'a StringArray,
    /// `(key, values over spans)` of the reported attributes.
    outputs: Vec<(String, Value)>,
}

impl<'a> Meta<'a> {
    pub(crate) fn new(ctx: &Ctx<'a>, outputs: Vec<(String, Value)>) -> Result<Self, EngineError> {
        Ok(Self {
            ids: ctx.typed(col::TRACE_ID)?,
            span_ids: ctx.typed(col::SPAN_ID)?,
            names: ctx.typed(col::NAME)?,
            start: ctx.typed(col::START)?,
            end: ctx.typed(col::END)?,
            status: ctx.typed(col::STATUS_CODE)?,
            service: ctx.typed(col::SERVICE_NAME)?,
            outputs,
        })
    }

    fn opt_str(a: &StringArray, row: usize) -> Option<String> {
        a.is_valid(row).then(|| a.value(row).to_string())
    }

    pub(crate) fn trace_match(
        &self,
        traces: &Traces,
        t: usize,
        sets: Vec<Set>,
        spss: usize,
    ) -> Result<TraceMatch, EngineError> {
        let range = traces
            .ranges
            .get(t)
            .cloned()
            .ok_or_else(|| bad("trace index out of range"))?;
        let trace_id = TraceId::from_slice(self.ids.value(range.start))
            .map_err(|e| bad(format!("trace_id: {e}")))?;
        let root = traces.root.get(t).copied().flatten();
        // A trace has few services: count under borrowed names, allocate each name once.
        let mut counted: Vec<(&str, ServiceStats)> = Vec::new();
        for row in range.clone() {
            if self.service.is_valid(row) {
                let name = self.service.value(row);
                let i = match counted.iter().position(|(n, _)| *n == name) {
                    Some(i) => i,
                    None => {
                        counted.push((name, ServiceStats::default()));
                        counted.len() - 1
                    }
                };
                let s = &mut counted[i].1;
                s.span_count += 1;
                if self.status.is_valid(row) && self.status.value(row) == 2 {
                    s.error_count += 1;
                }
            }
        }
        let service_stats: BTreeMap<String, ServiceStats> = counted
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect();
        let span_sets = sets
            .into_iter()
            .map(|s| self.span_set(s, spss))
            .collect::<Result<_, _>>()?;
        Ok(TraceMatch {
            trace_id,
            root_service_name: root.and_then(|r| Self::opt_str(self.service, r)),
            root_span_name: root.and_then(|r| Self::opt_str(self.names, r)),
            start_time_unix_nano: range
                .clone()
                .map(|r| self.start.value(r))
                .min()
                .unwrap_or(0),
            end_time_unix_nano: range.map(|r| self.end.value(r)).max().unwrap_or(0),
            span_sets,
            service_stats,
        })
    }

    fn span_set(&self, s: Set, spss: usize) -> Result<SpanSet, EngineError> {
        let mut rows = s.rows;
        rows.sort_by_key(|&r| (self.start.value(r as usize), r));
        let matched = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let spans = rows
            .iter()
            .take(spss)
            .map(|&r| self.span(r as usize))
            .collect::<Result<_, _>>()?;
        Ok(SpanSet {
            spans,
            matched,
            attributes: s.attrs,
        })
    }

    fn span(&self, row: usize) -> Result<MatchedSpan, EngineError> {
        let attributes = reported_attributes(&self.outputs, row)?;
        Ok(MatchedSpan {
            span_id: self.span_ids.value(row).to_vec(),
            name: self.names.value(row).to_string(),
            start_time_unix_nano: self.start.value(row),
            // As `duration_nano` is defined (see `strata_block::schema`).
            duration_nanos: self.end.value(row).saturating_sub(self.start.value(row)),
            attributes,
        })
    }
}

/// The reported attributes of the span at `row` of `outputs` (`(key, values over spans)`):
/// those it has a value for, identical key/value pairs once.
pub(crate) fn reported_attributes(
    outputs: &[(String, Value)],
    row: usize,
) -> Result<Vec<KeyValue>, EngineError> {
    let mut attributes: Vec<KeyValue> = Vec::new();
    for (key, v) in outputs {
        if let Some(sv) = v.get(row)? {
            let kv = KeyValue {
                key: key.clone(),
                value: Some(sv.to_any()),
                ..Default::default()
            };
            if !attributes.contains(&kv) {
                attributes.push(kv);
            }
        }
    }
    Ok(attributes)
}
