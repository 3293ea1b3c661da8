//! Combining search results of any number of sources ([`SearchAccumulator`]): ingesters,
//! live data, blocks, other queriers.
//!
//! Results are combined per trace ID: earliest non-zero start, longest duration, a real root
//! over the [`ROOT_SPAN_NOT_YET_RECEIVED`] placeholder, spansets with equal `by(...)` attributes
//! keeping the one with more matches (with as many, the one with earlier spans: the result
//! does not depend on the order sources are added in), per-service stats by maximum. Metrics are summed. The
//! answer is newest first (start time descending, then trace ID), cut to the limit.

use std::collections::HashMap;

use strata_proto::tempopb::{self, SearchMetrics, TraceSearchMetadata};

use super::render::ROOT_SPAN_NOT_YET_RECEIVED;

/// Combines results from any number of sources, per trace ID.
#[derive(Debug, Default)]
pub struct SearchAccumulator {
    traces: HashMap<String, TraceSearchMetadata>,
    pub metrics: SearchMetrics,
    /// Row groups [`SearchJob::search_block`](super::SearchJob::search_block) skipped by statistics (time range or query) or
    /// by dictionaries.
    /// Not part of Tempo's response.
    pub pruned_row_groups: u64,
    /// Pages of first-pass columns that
    /// [`SearchJob::search_block`](super::SearchJob::search_block) skipped within the row
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
            Some(c) if prefer(&s, c) => *c = s,
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

/// Whether spanset `new` replaces `cur` of the same group: more matches, or as many and
/// earlier spans (so that the answer does not depend on the order sources answer in).
fn prefer(new: &tempopb::SpanSet, cur: &tempopb::SpanSet) -> bool {
    let key = |s: &tempopb::SpanSet| {
        s.spans
            .iter()
            .map(|x| (x.start_time_unix_nano, x.span_id.clone()))
            .collect::<Vec<_>>()
    };
    new.matched > cur.matched || (new.matched == cur.matched && key(new) < key(cur))
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
