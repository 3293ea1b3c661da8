//! A span-local search over a block with trace-level columns (format v3, see
//! `strata_block::schema`), when the whole block is in the time range:
//!
//! 1. `trace_spans` over the whole file (non-null only on each trace's first row, so about
//!    one value per trace to decode) gives every trace's rows;
//! 2. the first pass reads the filter's columns over the rows statistics kept — not
//!    `trace_id` — and keeps the hits and the values reported on them ([`HitCollector`]);
//!    the matched traces are those holding a hit;
//! 3. the second pass reads the other trace-level columns on the matched traces' first rows
//!    (start, end, root, service statistics), and `trace_id`, `span_id`, `name` and the start
//!    and end times of the hit rows only, instead of the result's columns over every span of
//!    every matched trace.
//!
//! When the reported values cannot be kept (array values), the matched traces are evaluated
//! in full by the caller, as for older formats.
//!
//! The answer is the one full evaluation gives ([`crate::eval::evaluate_known`] over whole
//! traces): the trace-level values are defined from the span columns exactly as evaluation
//! computes them (root = first row without a parent, start = earliest start, end = latest
//! end, per non-null service name its spans and those with status 2). `crates/strata-engine/
//! tests/prune.rs` checks this against full evaluation on generated data.
//!
//! # Invariants
//! * Traces (from `trace_spans`) are disjoint ranges of file rows, ascending; every hit lies
//!   in one, and the first row of each carries its values; otherwise the block is corrupt.

use std::collections::BTreeMap;
use std::ops::Range;

use arrow_array::{
    Array, BinaryArray, ListArray, RecordBatch, StringArray, StructArray, UInt32Array, UInt64Array,
};
use strata_block::schema::col;
use strata_block::{BlockReader, ScanRequest};
use strata_common::TraceId;

use super::hits::{HitCollector, Hits};
use super::job::trace_ids;
use super::render::into_metadata;
use super::{block_err, SearchAccumulator, SearchJob};
use crate::eval::{reported_attributes, Value};
use crate::prune::{self, Layout, Rows};
use crate::result::{MatchedSpan, ServiceStats, SpanSet, TraceMatch};
use crate::EngineError;

/// The trace-level columns read on first rows, in schema order.
const TRACE_COLUMNS: [&str; 6] = [
    col::TRACE_SPANS,
    col::TRACE_START,
    col::TRACE_END,
    col::TRACE_ROOT_SERVICE,
    col::TRACE_ROOT_NAME,
    col::TRACE_SERVICE_STATS,
];

/// The span columns read for hit rows.
const HIT_COLUMNS: [&str; 5] = [col::TRACE_ID, col::SPAN_ID, col::NAME, col::START, col::END];

/// One trace's trace-level values.
struct Summary {
    first: usize,
    start: u64,
    end: u64,
    root_service: Option<String>,
    root_name: Option<String>,
    stats: BTreeMap<String, ServiceStats>,
}

/// A hit row: its file row, start time, and where its fields are among the step-2 batches.
struct Hit {
    row: usize,
    start: u64,
    batch: usize,
    index: usize,
}

/// Step 2's batches and the hits in them, in file order.
struct HitSpans {
    batches: Vec<RecordBatch>,
    hits: Vec<Hit>,
}

impl HitSpans {
    fn trace_id(&self, h: &Hit) -> Result<TraceId, EngineError> {
        let ids = trace_ids(&self.batches[h.batch])?;
        TraceId::from_slice(ids.value(h.index)).map_err(|e| corrupt(format!("trace_id: {e}")))
    }

    /// The `k`-th hit as a returned span.
    fn span(&self, k: usize, outputs: &[(String, Value)]) -> Result<MatchedSpan, EngineError> {
        let h = &self.hits[k];
        let batch = &self.batches[h.batch];
        let i = h.index;
        let span_ids: &BinaryArray = typed(batch, col::SPAN_ID)?;
        let names: &StringArray = typed(batch, col::NAME)?;
        let end: &UInt64Array = typed(batch, col::END)?;
        Ok(MatchedSpan {
            span_id: span_ids.value(i).to_vec(),
            name: names.value(i).to_string(),
            start_time_unix_nano: h.start,
            // As `duration_nano` is defined (see `strata_block::schema`).
            duration_nanos: end.value(i).saturating_sub(h.start),
            attributes: reported_attributes(outputs, k)?,
        })
    }
}

impl SearchJob {
    /// Steps 1 and 2 (see the module docs) over the rows `first` that statistics kept,
    /// reading `cols` (the filter's): the matched traces' rows, ascending, and the hits with
    /// their reported values (`None` when those cannot be kept).
    pub(super) async fn first_pass_by_extents(
        &self,
        reader: &BlockReader,
        layout: &Layout,
        first: &Rows,
        cols: Vec<&'static str>,
        acc: &mut SearchAccumulator,
    ) -> Result<(Vec<Range<usize>>, Option<Hits>), EngineError> {
        let extents = trace_extents(reader, acc).await?;
        let mut scan = layout.read(reader, first, cols).await?;
        let mut collector = HitCollector::new(self.plan.outputs.len());
        let mut cursor = first.cursor();
        let mut positions = Vec::new();
        while let Some(batch) = scan.next().await.map_err(block_err)? {
            let (mask, outputs) = crate::eval::prefilter_and_outputs(&self.plan, &batch)?;
            positions.clear();
            for _ in 0..batch.num_rows() {
                positions.push(cursor.next().ok_or_else(prune::overrun)?.row);
            }
            collector.batch(&positions, &mask, outputs)?;
        }
        acc.metrics.inspected_bytes += scan.inspected_bytes();
        if cursor.next().is_some() {
            return Err(prune::overrun());
        }
        let mut traces: Vec<Range<usize>> = Vec::new();
        for &row in collector.rows() {
            if traces.last().is_some_and(|t| t.contains(&row)) {
                continue;
            }
            let i = extents.partition_point(|t| t.start <= row);
            match i.checked_sub(1).map(|i| &extents[i]) {
                Some(t) if t.contains(&row) => traces.push(t.clone()),
                _ => return Err(corrupt(format!("row {row} is in no trace"))),
            }
        }
        Ok((traces, collector.finish()?))
    }

    /// Step 3 (see the module docs): the answers from the matched `traces` (ascending) and
    /// their `hits`.
    pub(super) async fn search_summaries(
        &self,
        reader: &BlockReader,
        layout: &Layout,
        traces: &[Range<usize>],
        hits: Hits,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        let (hit_rows, outputs) = hits.into_parts();
        acc.metrics.inspected_spans += traces.iter().map(|t| t.len() as u64).sum::<u64>();
        acc.metrics.inspected_traces = acc
            .metrics
            .inspected_traces
            .saturating_add(u32::try_from(traces.len()).unwrap_or(u32::MAX));
        if hit_rows.is_empty() {
            return Ok(());
        }
        let summaries = read_summaries(reader, layout, traces, acc).await?;
        let keys: Vec<String> = self.plan.outputs.iter().map(|o| o.key.clone()).collect();
        let outputs: Vec<(String, Value)> = keys.into_iter().zip(outputs).collect();
        let spans = read_hits(reader, layout, &hit_rows, acc).await?;
        let hits = &spans.hits;
        let mut next = 0;
        if summaries.len() != traces.len() {
            return Err(corrupt("a matched trace without its first row"));
        }
        for (s, t) in summaries.into_iter().zip(traces) {
            if s.first != t.start {
                return Err(corrupt("a matched trace without its first row"));
            }
            let from = next;
            while hits.get(next).is_some_and(|h| h.row < t.end) {
                if hits[next].row < t.start {
                    return Err(corrupt("a hit outside every matched trace"));
                }
                next += 1;
            }
            if from == next {
                continue;
            }
            let mut set: Vec<usize> = (from..next).collect();
            set.sort_by_key(|&k| (hits[k].start, hits[k].row));
            let matched = u32::try_from(set.len()).unwrap_or(u32::MAX);
            let trace_id = spans.trace_id(&hits[from])?;
            let m = TraceMatch {
                trace_id,
                root_service_name: s.root_service,
                root_span_name: s.root_name,
                start_time_unix_nano: s.start,
                end_time_unix_nano: s.end,
                span_sets: vec![SpanSet {
                    spans: set
                        .iter()
                        .take(self.spss())
                        .map(|&k| spans.span(k, &outputs))
                        .collect::<Result<_, _>>()?,
                    matched,
                    attributes: Vec::new(),
                }],
                service_stats: s.stats,
            };
            if self.keep(&m) {
                acc.add(into_metadata(m));
            }
        }
        if next != hits.len() {
            return Err(corrupt("a hit outside every matched trace"));
        }
        Ok(())
    }
}

fn corrupt(msg: impl std::fmt::Display) -> EngineError {
    EngineError::Batch(format!("block trace-level columns: {msg}"))
}

fn typed<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, EngineError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| corrupt(format!("{name} missing or of the wrong type")))
}

fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

/// Every trace of the block, from `trace_spans`: its rows, ascending.
async fn trace_extents(
    reader: &BlockReader,
    acc: &mut SearchAccumulator,
) -> Result<Vec<Range<usize>>, EngineError> {
    let mut scan = reader
        .scan(ScanRequest {
            columns: vec![col::TRACE_SPANS],
            ..Default::default()
        })
        .await
        .map_err(block_err)?;
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut row = 0;
    while let Some(batch) = scan.next().await.map_err(block_err)? {
        let spans: &UInt32Array = typed(&batch, col::TRACE_SPANS)?;
        let base = row;
        row += batch.num_rows();
        if spans.null_count() == spans.len() {
            continue;
        }
        for (i, n) in spans.iter().enumerate() {
            let Some(n) = n else { continue };
            let first = base + i;
            if n == 0 || out.last().is_some_and(|t| t.end > first) {
                return Err(corrupt(format!("trace_spans {n} at row {first}")));
            }
            out.push(first..first + n as usize);
        }
    }
    acc.metrics.inspected_bytes += scan.inspected_bytes();
    if out.last().is_some_and(|t| t.end > row) {
        return Err(corrupt("a trace runs past the last row"));
    }
    Ok(out)
}

/// The summaries of `traces` (ascending), read on their first rows.
async fn read_summaries(
    reader: &BlockReader,
    layout: &Layout,
    traces: &[Range<usize>],
    acc: &mut SearchAccumulator,
) -> Result<Vec<Summary>, EngineError> {
    let rows = Rows::from_ranges(traces.iter().map(|t| t.start..t.start + 1).collect());
    let mut scan = layout.read(reader, &rows, TRACE_COLUMNS.to_vec()).await?;
    let mut cursor = rows.cursor();
    let mut out = Vec::new();
    while let Some(batch) = scan.next().await.map_err(block_err)? {
        let spans: &UInt32Array = typed(&batch, col::TRACE_SPANS)?;
        let start: &UInt64Array = typed(&batch, col::TRACE_START)?;
        let end: &UInt64Array = typed(&batch, col::TRACE_END)?;
        let root_service: &StringArray = typed(&batch, col::TRACE_ROOT_SERVICE)?;
        let root_name: &StringArray = typed(&batch, col::TRACE_ROOT_NAME)?;
        let stats: &ListArray = typed(&batch, col::TRACE_SERVICE_STATS)?;
        let items = stats
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| corrupt("trace_service_stats items are not structs"))?;
        let service = items
            .column_by_name(col::stats::SERVICE)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>());
        let counts = |name| {
            items
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
        };
        let (Some(service), Some(n_spans), Some(n_errors)) = (
            service,
            counts(col::stats::SPANS),
            counts(col::stats::ERRORS),
        ) else {
            return Err(corrupt("trace_service_stats fields"));
        };
        for i in 0..batch.num_rows() {
            let pos = cursor.next().ok_or_else(prune::overrun)?;
            if spans.is_null(i) || start.is_null(i) || end.is_null(i) || stats.is_null(i) {
                return Err(corrupt("a trace's first row lacks its values"));
            }
            let offsets = stats.value_offsets();
            let (lo, hi) = (offsets[i] as usize, offsets[i + 1] as usize);
            let stats = (lo..hi)
                .map(|j| {
                    (
                        service.value(j).to_string(),
                        ServiceStats {
                            span_count: n_spans.value(j),
                            error_count: n_errors.value(j),
                        },
                    )
                })
                .collect();
            out.push(Summary {
                first: pos.row,
                start: start.value(i),
                end: end.value(i),
                root_service: opt_str(root_service, i),
                root_name: opt_str(root_name, i),
                stats,
            });
        }
    }
    acc.metrics.inspected_bytes += scan.inspected_bytes();
    if cursor.next().is_some() {
        return Err(prune::overrun());
    }
    Ok(out)
}

/// Step 2: the hit rows' own fields (`hit_rows` ascending).
async fn read_hits(
    reader: &BlockReader,
    layout: &Layout,
    hit_rows: &[usize],
    acc: &mut SearchAccumulator,
) -> Result<HitSpans, EngineError> {
    let rows = Rows::from_ranges(hit_rows.iter().map(|&r| r..r + 1).collect());
    let mut scan = layout.read(reader, &rows, HIT_COLUMNS.to_vec()).await?;
    let mut out = HitSpans {
        batches: Vec::new(),
        hits: Vec::with_capacity(hit_rows.len()),
    };
    while let Some(batch) = scan.next().await.map_err(block_err)? {
        // Checked here once, so that `HitSpans` lookups cannot fail on types.
        trace_ids(&batch)?;
        typed::<BinaryArray>(&batch, col::SPAN_ID)?;
        typed::<StringArray>(&batch, col::NAME)?;
        typed::<UInt64Array>(&batch, col::END)?;
        let start: &UInt64Array = typed(&batch, col::START)?;
        let b = out.batches.len();
        for i in 0..batch.num_rows() {
            let row = *hit_rows.get(out.hits.len()).ok_or_else(prune::overrun)?;
            out.hits.push(Hit {
                row,
                start: start.value(i),
                batch: b,
                index: i,
            });
        }
        out.batches.push(batch);
    }
    acc.metrics.inspected_bytes += scan.inspected_bytes();
    if out.hits.len() != hit_rows.len() {
        return Err(prune::overrun());
    }
    Ok(out)
}
