//! A search request validated and compiled ([`SearchJob`]), and its search over batches of
//! whole traces.
//!
//! Bounds, from the request: the time range is inclusive in unix nanoseconds (`start`/`end`
//! are seconds; `end` covers its whole second; no `end` means no upper bound); a trace is kept
//! when its `[start, end]` overlaps the range and its duration lies within
//! `[min_duration, max_duration]` (0 for the maximum means none). `limit` defaults to 20 and
//! `spss` (spans per spanset) to [`DEFAULT_SPSS`], as in Tempo.
//!
//! Batches must hold whole traces with contiguous rows (the crate's batch invariant).

use arrow_array::{Array, BooleanArray, FixedSizeBinaryArray, RecordBatch};
use strata_block::schema::col;
use strata_proto::tempopb;

use super::legacy::legacy_tags_query;
use super::render::into_metadata;
use super::SearchAccumulator;
use crate::eval::Value;
use crate::{EngineError, SearchPlan, TraceMatch};

/// Tempo's default spans per spanset.
pub const DEFAULT_SPSS: u32 = 3;

/// A validated search: the compiled query and the request's bounds.
#[derive(Clone)]
pub struct SearchJob {
    pub(super) plan: SearchPlan,
    /// Inclusive unix-nanosecond range a trace must overlap.
    pub(super) start_ns: u64,
    pub(super) end_ns: u64,
    min_duration_ns: u64,
    max_duration_ns: u64,
    limit: usize,
    spss: usize,
}

/// Why a request cannot run: a message for a 400 answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadSearch(pub String);

impl SearchJob {
    /// Compiles `req`: its TraceQL `query`, or its legacy `tags` (turned into TraceQL), or
    /// `{ }` when it has neither.
    pub fn new(req: &tempopb::SearchRequest) -> Result<Self, BadSearch> {
        let text = if !req.query.trim().is_empty() {
            req.query.clone()
        } else {
            legacy_tags_query(&req.tags)
        };
        let query =
            strata_traceql::parse_and_validate(&text).map_err(|e| BadSearch(e.to_string()))?;
        let plan = SearchPlan::new(&query).map_err(|e| BadSearch(e.to_string()))?;
        let secs = |s: u32| u64::from(s) * 1_000_000_000;
        Ok(Self {
            plan,
            start_ns: secs(req.start),
            end_ns: if req.end == 0 {
                u64::MAX
            } else {
                secs(req.end) + 999_999_999
            },
            min_duration_ns: u64::from(req.min_duration_ms) * 1_000_000,
            max_duration_ns: if req.max_duration_ms == 0 {
                u64::MAX
            } else {
                u64::from(req.max_duration_ms) * 1_000_000
            },
            limit: crate::merge::search_limit(req.limit),
            spss: if req.spans_per_span_set == 0 {
                DEFAULT_SPSS as usize
            } else {
                req.spans_per_span_set as usize
            },
        })
    }

    /// A job over `[start_ns, end_ns]` without other bounds, for callers that evaluate the
    /// batches themselves (metrics).
    pub(crate) fn for_plan(plan: SearchPlan, start_ns: u64, end_ns: u64) -> Self {
        Self {
            plan,
            start_ns,
            end_ns,
            min_duration_ns: 0,
            max_duration_ns: u64::MAX,
            limit: usize::MAX,
            spss: 0,
        }
    }

    pub fn plan(&self) -> &SearchPlan {
        &self.plan
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether `[start, end]` (unix nanoseconds) overlaps the requested range.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        start <= self.end_ns && end >= self.start_ns
    }

    /// Spans per spanset.
    pub(super) fn spss(&self) -> usize {
        self.spss
    }

    pub(super) fn keep(&self, m: &TraceMatch) -> bool {
        let dur = m.end_time_unix_nano.saturating_sub(m.start_time_unix_nano);
        self.overlaps(m.start_time_unix_nano, m.end_time_unix_nano)
            && dur >= self.min_duration_ns
            && dur <= self.max_duration_ns
    }

    /// Searches one batch of whole traces.
    pub fn search_batch(
        &self,
        batch: &RecordBatch,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        self.count_inspected(batch, acc);
        for m in self.plan.evaluate(batch, self.spss)? {
            if self.keep(&m) {
                acc.add(into_metadata(m));
            }
        }
        Ok(())
    }
}

impl SearchJob {
    /// [`search_batch`](Self::search_batch) of a span-local plan's batch whose filter `mask`
    /// and reported values are known (the block search's first pass found them).
    pub(crate) fn search_known(
        &self,
        batch: &RecordBatch,
        mask: BooleanArray,
        outputs: Vec<Value>,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        self.count_inspected(batch, acc);
        for m in crate::eval::evaluate_known(&self.plan, batch, self.spss, mask, outputs)? {
            if self.keep(&m) {
                acc.add(into_metadata(m));
            }
        }
        Ok(())
    }

    fn count_inspected(&self, batch: &RecordBatch, acc: &mut SearchAccumulator) {
        acc.metrics.inspected_spans += batch.num_rows() as u64;
        acc.metrics.inspected_traces = acc
            .metrics
            .inspected_traces
            .saturating_add(count_traces(batch) as u32);
    }
}

pub(crate) fn trace_ids(batch: &RecordBatch) -> Result<&FixedSizeBinaryArray, EngineError> {
    batch
        .column_by_name(col::TRACE_ID)
        .and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>())
        .ok_or_else(|| EngineError::Batch("trace_id missing or not FixedSizeBinary(16)".into()))
}

fn count_traces(batch: &RecordBatch) -> usize {
    let Ok(ids) = trace_ids(batch) else {
        return 0;
    };
    (0..ids.len())
        .filter(|&i| i == 0 || ids.value(i) != ids.value(i - 1))
        .count()
}
