//! Running a search request: over batches (live data) and over blocks, accumulating
//! Tempo's `SearchResponse`.
//!
//! A block is searched in two passes when the plan has a span-level prefilter: the first
//! reads only `trace_id` and the prefilter's columns and selects whole traces with at least
//! one passing span; the second reads the full projection for those rows only (the Parquet
//! reader skips pages without selected rows). Row groups and pages that statistics rule out
//! (time range, the plan's [`Prune`](crate::Prune) condition) are skipped; the `prune`
//! module documents how.
//!
//! Results are combined per trace ID ([`SearchAccumulator`]) and answered newest first
//! (start time descending, then trace ID), cut to the limit.

use std::collections::HashMap;

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;
use strata_block::schema::col;
use strata_block::{BlockReader, ScanRequest};
use strata_proto::tempopb::{self, SearchMetrics, TraceSearchMetadata};

use crate::prune::{self, BlockStats, Layout, Open, Rows, RunCollector};
use crate::{EngineError, SearchPlan, TraceMatch};

/// Tempo's placeholder when the root span is missing.
pub const ROOT_SPAN_NOT_YET_RECEIVED: &str = "<root span not yet received>";

/// Tempo's default spans per spanset.
pub const DEFAULT_SPSS: u32 = 3;

/// A validated search: the compiled query and the request's bounds.
#[derive(Clone)]
pub struct SearchJob {
    plan: SearchPlan,
    /// Inclusive unix-nanosecond range a trace must overlap.
    start_ns: u64,
    end_ns: u64,
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

    fn keep(&self, m: &TraceMatch) -> bool {
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
        acc.metrics.inspected_spans += batch.num_rows() as u64;
        acc.metrics.inspected_traces = acc
            .metrics
            .inspected_traces
            .saturating_add(count_traces(batch) as u32);
        for m in self.plan.evaluate(batch, self.spss)? {
            if self.keep(&m) {
                acc.add(to_metadata(&m));
            }
        }
        Ok(())
    }

    /// Searches one block, skipping row groups and pages that statistics (or, for `name` and
    /// `service_name` equalities, column-chunk dictionaries) rule out. Counts
    /// what was skipped in [`SearchAccumulator::pruned_row_groups`] and
    /// [`SearchAccumulator::pruned_pages`].
    pub async fn search_block(
        &self,
        reader: &BlockReader,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        let meta = reader.meta();
        acc.metrics.total_blocks += 1;
        acc.metrics.total_block_bytes += meta.size_bytes;
        if !self.overlaps(meta.start_time_unix_nano, meta.end_time_unix_nano) {
            return Ok(());
        }
        let md = reader.parquet_metadata().await.map_err(block_err)?;
        let layout = Layout::new(&md);
        let stats = BlockStats::new(&md, &layout);
        let in_range: Vec<bool> = md
            .row_groups()
            .iter()
            .map(|rg| self.row_group_in_range(rg))
            .collect();
        let scope = prune::search_scope(&stats, &in_range);
        let (rows, open) = match self.plan.prefilter_columns() {
            Some(mut cols) => {
                if !cols.contains(&col::TRACE_ID) {
                    cols.insert(0, col::TRACE_ID);
                }
                let prune = self.plan.prune_predicate();
                let scope = match &prune {
                    Some(p) => {
                        let (scope, bytes) =
                            prune::dictionary_scope(reader, &stats, &layout, &scope, p).await?;
                        acc.metrics.inspected_bytes += bytes;
                        scope
                    }
                    None => scope,
                };
                let (first, pruned) =
                    prune::first_pass_rows(&stats, &layout, &scope, prune.as_ref(), &cols);
                acc.pruned_row_groups += pruned.row_groups;
                acc.pruned_pages += pruned.pages;
                if first.is_empty() {
                    return Ok(());
                }
                self.candidates(reader, &layout, &first, cols, acc).await?
            }
            None => match prune::row_group_rows(&stats, &layout, &scope) {
                Some(found) => {
                    acc.pruned_row_groups += scope.iter().filter(|k| !**k).count() as u64;
                    found
                }
                None => (Rows::from_range(0..layout.total()), Vec::new()),
            },
        };
        if rows.is_empty() {
            return Ok(());
        }
        let rows = if open.is_empty() {
            rows
        } else {
            let (more, bytes) = prune::extend(reader, &layout, &stats, &open).await?;
            acc.metrics.inspected_bytes += bytes;
            rows.union(&more)
        };
        let (row_groups, selection) = layout.scan(&rows);
        let mut scan = reader
            .scan(ScanRequest {
                columns: self.plan.columns(),
                row_groups: Some(row_groups),
                selection,
                batch_rows: 0,
                whole_traces: true,
            })
            .await
            .map_err(block_err)?;
        while let Some(batch) = scan.next().await.map_err(block_err)? {
            self.search_batch(&batch, acc)?;
        }
        acc.metrics.inspected_bytes += scan.inspected_bytes();
        Ok(())
    }

    fn row_group_in_range(&self, rg: &RowGroupMetaData) -> bool {
        let min_start = u64_stat(rg, col::START, true);
        let max_end = u64_stat(rg, col::END, false);
        min_start.is_none_or(|s| s <= self.end_ns) && max_end.is_none_or(|e| e >= self.start_ns)
    }

    /// First pass over `rows` (file rows): the rows of every trace with a span passing the
    /// prefilter that were read, and where those traces may continue beyond them.
    async fn candidates(
        &self,
        reader: &BlockReader,
        layout: &Layout,
        rows: &Rows,
        cols: Vec<&'static str>,
        acc: &mut SearchAccumulator,
    ) -> Result<(Rows, Vec<Open>), EngineError> {
        let (row_groups, selection) = layout.scan(rows);
        let mut scan = reader
            .scan(ScanRequest {
                columns: cols,
                row_groups: Some(row_groups),
                selection,
                batch_rows: 0,
                whole_traces: false,
            })
            .await
            .map_err(block_err)?;
        let mut runs = RunCollector::new(layout.total());
        let mut cursor = rows.cursor();
        while let Some(batch) = scan.next().await.map_err(block_err)? {
            let mask = self.plan.prefilter(&batch)?;
            let ids = trace_ids(&batch)?;
            for i in 0..batch.num_rows() {
                let pos = cursor.next().ok_or_else(prune::overrun)?;
                let hit = mask.is_valid(i) && mask.value(i);
                runs.row(pos, prune::id_of(ids.value(i))?, hit);
            }
        }
        acc.metrics.inspected_bytes += scan.inspected_bytes();
        if cursor.next().is_some() {
            return Err(prune::overrun());
        }
        Ok(runs.finish())
    }
}

pub(crate) fn block_err(e: strata_block::BlockError) -> EngineError {
    EngineError::Batch(format!("block: {e}"))
}

fn u64_stat(rg: &RowGroupMetaData, name: &str, min: bool) -> Option<u64> {
    let column = rg
        .columns()
        .iter()
        .find(|c| c.column_descr().path().string() == name)?;
    match column.statistics()? {
        // UInt64 columns are stored as INT64; the logical type makes the stats unsigned.
        Statistics::Int64(s) => {
            let v = if min { s.min_opt()? } else { s.max_opt()? };
            Some(*v as u64)
        }
        _ => None,
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

/// A [`TraceMatch`] in Tempo's response shape.
pub fn to_metadata(m: &TraceMatch) -> TraceSearchMetadata {
    let span_sets: Vec<tempopb::SpanSet> = m
        .span_sets
        .iter()
        .map(|s| tempopb::SpanSet {
            spans: s
                .spans
                .iter()
                .map(|sp| tempopb::SearchSpan {
                    span_id: hex16(&sp.span_id),
                    name: sp.name.clone(),
                    start_time_unix_nano: sp.start_time_unix_nano,
                    duration_nanos: sp.duration_nanos,
                    attributes: sp.attributes.clone(),
                })
                .collect(),
            matched: s.matched,
            attributes: s.attributes.clone(),
        })
        .collect();
    let dur_ns = m.end_time_unix_nano.saturating_sub(m.start_time_unix_nano);
    TraceSearchMetadata {
        trace_id: m.trace_id.to_hex_trimmed(),
        root_service_name: m
            .root_service_name
            .clone()
            .unwrap_or_else(|| ROOT_SPAN_NOT_YET_RECEIVED.to_string()),
        root_trace_name: m.root_span_name.clone().unwrap_or_default(),
        start_time_unix_nano: m.start_time_unix_nano,
        duration_ms: u32::try_from(dur_ns / 1_000_000).unwrap_or(u32::MAX),
        span_set: span_sets.first().cloned(),
        span_sets,
        service_stats: m
            .service_stats
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    tempopb::ServiceStats {
                        span_count: v.span_count,
                        error_count: v.error_count,
                    },
                )
            })
            .collect(),
    }
}

/// Span IDs are always 16 hex characters (shorter IDs are left-padded).
fn hex16(id: &[u8]) -> String {
    let mut s: String = id.iter().map(|b| format!("{b:02x}")).collect();
    while s.len() < 16 {
        s.insert(0, '0');
    }
    s
}

/// Combines results from any number of sources, per trace ID.
#[derive(Debug, Default)]
pub struct SearchAccumulator {
    traces: HashMap<String, TraceSearchMetadata>,
    pub metrics: SearchMetrics,
    /// Row groups [`SearchJob::search_block`] skipped by statistics (time range or query) or
    /// by dictionaries.
    /// Not part of Tempo's response.
    pub pruned_row_groups: u64,
    /// Pages of first-pass columns that [`SearchJob::search_block`] skipped within the row
    /// groups it read. Not part of Tempo's response.
    pub pruned_pages: u64,
}

impl SearchAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one trace, merging with what is known of it: earliest start, longest duration,
    /// a real root over the placeholder, spansets with equal attributes keep the one with
    /// more matches.
    pub fn add(&mut self, t: TraceSearchMetadata) {
        match self.traces.get_mut(&t.trace_id) {
            None => {
                self.traces.insert(t.trace_id.clone(), t);
            }
            Some(cur) => merge(cur, t),
        }
    }

    /// Adds another source's response (its traces and metrics).
    pub fn add_response(&mut self, resp: tempopb::SearchResponse) {
        if let Some(m) = resp.metrics {
            add_metrics(&mut self.metrics, &m);
        }
        for t in resp.traces {
            self.add(t);
        }
    }

    /// Number of distinct traces held.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The start time of the `limit`-th newest trace held, once at least `limit` are held: a
    /// source whose data all starts before this cannot change the answer.
    pub fn cutoff(&self, limit: usize) -> Option<u64> {
        if limit == 0 || self.traces.len() < limit {
            return None;
        }
        let mut starts: Vec<u64> = self
            .traces
            .values()
            .map(|t| t.start_time_unix_nano)
            .collect();
        starts.sort_unstable_by(|a, b| b.cmp(a));
        starts.get(limit - 1).copied()
    }

    /// The newest `limit` traces (start time descending, then trace ID), and the metrics.
    pub fn finish(self, limit: usize) -> tempopb::SearchResponse {
        let mut traces: Vec<TraceSearchMetadata> = self.traces.into_values().collect();
        traces.sort_by(|a, b| {
            b.start_time_unix_nano
                .cmp(&a.start_time_unix_nano)
                .then_with(|| a.trace_id.cmp(&b.trace_id))
        });
        traces.truncate(limit);
        tempopb::SearchResponse {
            traces,
            metrics: Some(self.metrics),
        }
    }
}

fn add_metrics(into: &mut SearchMetrics, m: &SearchMetrics) {
    into.inspected_traces = into.inspected_traces.saturating_add(m.inspected_traces);
    into.inspected_bytes += m.inspected_bytes;
    into.total_blocks += m.total_blocks;
    into.completed_jobs += m.completed_jobs;
    into.total_jobs += m.total_jobs;
    into.total_block_bytes += m.total_block_bytes;
    into.inspected_spans += m.inspected_spans;
}

fn merge(cur: &mut TraceSearchMetadata, t: TraceSearchMetadata) {
    if cur.root_service_name == ROOT_SPAN_NOT_YET_RECEIVED
        && t.root_service_name != ROOT_SPAN_NOT_YET_RECEIVED
    {
        cur.root_service_name = t.root_service_name;
        cur.root_trace_name = t.root_trace_name;
    }
    if t.start_time_unix_nano != 0
        && (cur.start_time_unix_nano == 0 || t.start_time_unix_nano < cur.start_time_unix_nano)
    {
        cur.start_time_unix_nano = t.start_time_unix_nano;
    }
    cur.duration_ms = cur.duration_ms.max(t.duration_ms);
    for s in t.span_sets {
        match cur
            .span_sets
            .iter_mut()
            .find(|c| c.attributes_key() == s.attributes_key())
        {
            Some(c) if c.matched < s.matched => *c = s,
            Some(_) => {}
            None => cur.span_sets.push(s),
        }
    }
    cur.span_set = cur.span_sets.first().cloned();
    for (svc, st) in t.service_stats {
        let e = cur.service_stats.entry(svc).or_default();
        e.span_count = e.span_count.max(st.span_count);
        e.error_count = e.error_count.max(st.error_count);
    }
}

trait ByKey {
    fn attributes_key(&self) -> Vec<(String, String)>;
}

impl ByKey for tempopb::SpanSet {
    /// The spanset's `by(...)` attributes (aggregates excluded): spansets of two sources with
    /// equal keys are the same group.
    fn attributes_key(&self) -> Vec<(String, String)> {
        self.attributes
            .iter()
            .filter(|kv| kv.key.starts_with("by("))
            .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
            .collect()
    }
}

/// Legacy `tags` search as TraceQL: every tag must match (`name`, `status.code`,
/// `root.service.name`, `root.name` and `error=true` map to intrinsics; anything else is an
/// attribute of the span or its resource).
pub fn legacy_tags_query(tags: &std::collections::BTreeMap<String, String>) -> String {
    let conds: Vec<String> = tags
        .iter()
        .map(|(k, v)| match k.as_str() {
            "name" => format!("name = {}", quote(v)),
            "root.name" => format!("trace:rootName = {}", quote(v)),
            "root.service.name" => format!("trace:rootService = {}", quote(v)),
            "status.code" => match v.to_ascii_lowercase().as_str() {
                "error" | "2" | "status_code_error" => "status = error".to_string(),
                "ok" | "1" | "status_code_ok" => "status = ok".to_string(),
                _ => "status = unset".to_string(),
            },
            "error" if v == "true" => "status = error".to_string(),
            _ => format!(".{} = {}", quote(k), quote(v)),
        })
        .collect();
    if conds.is_empty() {
        "{ }".to_string()
    } else {
        format!("{{ {} }}", conds.join(" && "))
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
