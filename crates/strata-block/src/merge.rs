//! [`TraceMerger`]: a k-way merge of [`TraceStream`]s by trace ID, into OTLP structs. The
//! compactor merges rows instead ([`crate::rows`], the same rules without the structs); this
//! merge stays as the reference its tests compare against, and for readers that want traces.
//!
//! Every trace comes out once, with the shares of all inputs combined and duplicate spans
//! removed. Two spans are duplicates when they have the same span ID and kind (replication
//! and WAL replay write identical copies; this is the querier's rule too). The first copy in
//! input order is kept, counted copies before replica copies (the `replica` column): a span
//! stays counted if any input counted it, so compaction never loses or doubles what TraceQL
//! metrics count. Memory holds one pending trace per input.

use std::collections::HashSet;

use strata_common::TraceId;
use strata_proto::otlp::trace::ResourceSpans;

use crate::error::Result;
use crate::stream::{StreamedTrace, TraceStream};

/// One merged trace.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedTrace {
    pub trace_id: TraceId,
    pub resource_spans: Vec<ResourceSpans>,
    /// Spans kept whose every copy was a replica copy (written with the `replica` column set).
    pub replica_resource_spans: Vec<ResourceSpans>,
    /// Spans kept.
    pub spans: usize,
    /// Duplicate spans dropped.
    pub duplicates: usize,
}

/// Merges traces from several blocks; see the module docs.
#[derive(Debug)]
pub struct TraceMerger {
    inputs: Vec<TraceStream>,
    heads: Vec<Option<StreamedTrace>>,
}

impl TraceMerger {
    /// Starts the merge (reads the first trace of every input).
    pub async fn new(mut inputs: Vec<TraceStream>) -> Result<Self> {
        let mut heads = Vec::with_capacity(inputs.len());
        for s in &mut inputs {
            heads.push(s.next_trace().await?);
        }
        Ok(Self { inputs, heads })
    }

    /// The next trace in ascending ID order, or `None` when every input is exhausted.
    pub async fn next(&mut self) -> Result<Option<MergedTrace>> {
        let Some(min) = self.heads.iter().flatten().map(|t| t.trace_id).min() else {
            return Ok(None);
        };
        let (mut shares, mut replicas) = (Vec::new(), Vec::new());
        for i in 0..self.inputs.len() {
            if self.heads[i].as_ref().is_some_and(|t| t.trace_id == min) {
                let next = self.inputs[i].next_trace().await?;
                if let Some(t) = std::mem::replace(&mut self.heads[i], next) {
                    shares.extend(t.resource_spans);
                    replicas.extend(t.replica_resource_spans);
                }
            }
        }
        let mut seen = HashSet::new();
        let (resource_spans, kept, dropped) = dedup_with(&mut seen, shares);
        let (replica_resource_spans, kept_r, dropped_r) = dedup_with(&mut seen, replicas);
        Ok(Some(MergedTrace {
            trace_id: min,
            resource_spans,
            replica_resource_spans,
            spans: kept + kept_r,
            duplicates: dropped + dropped_r,
        }))
    }
}

/// Drops spans whose (span ID, kind) was seen earlier, then empty scopes and resources.
/// Returns the rest, the spans kept and the spans dropped.
pub fn dedup_spans(shares: Vec<ResourceSpans>) -> (Vec<ResourceSpans>, usize, usize) {
    dedup_with(&mut HashSet::new(), shares)
}

/// [`dedup_spans`] with the set of (span ID, kind) already seen.
fn dedup_with(
    seen: &mut HashSet<(Vec<u8>, i32)>,
    shares: Vec<ResourceSpans>,
) -> (Vec<ResourceSpans>, usize, usize) {
    let (mut kept, mut dropped) = (0, 0);
    let mut out = Vec::with_capacity(shares.len());
    for mut rs in shares {
        for ss in &mut rs.scope_spans {
            ss.spans.retain(|s| {
                let fresh = seen.insert((s.span_id.clone(), s.kind));
                if fresh {
                    kept += 1;
                } else {
                    dropped += 1;
                }
                fresh
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        if !rs.scope_spans.is_empty() {
            out.push(rs);
        }
    }
    (out, kept, dropped)
}
