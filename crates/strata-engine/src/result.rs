//! What a search returns per trace: the fields of Tempo's `TraceSearchMetadata`.

use std::collections::BTreeMap;

use strata_common::TraceId;
use strata_proto::otlp::common::KeyValue;

/// One matching trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceMatch {
    pub trace_id: TraceId,
    /// `service.name` of the root span (no parent span ID); `None` if the root span is absent.
    pub root_service_name: Option<String>,
    /// Name of the root span; `None` if absent.
    pub root_span_name: Option<String>,
    /// Earliest span start in the trace.
    pub start_time_unix_nano: u64,
    /// Latest span end in the trace.
    pub end_time_unix_nano: u64,
    /// Non-empty; at most as many spans per set as the caller's `spss`.
    pub span_sets: Vec<SpanSet>,
    /// Per resource `service.name`: spans and error spans in the trace (spans of a resource
    /// without a service name are not counted).
    pub service_stats: BTreeMap<String, ServiceStats>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub span_count: u32,
    pub error_count: u32,
}

/// One spanset of a matching trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSet {
    /// Up to `spss` spans, in start-time order.
    pub spans: Vec<MatchedSpan>,
    /// How many spans the set has (may exceed `spans.len()`).
    pub matched: u32,
    /// `by(...)` values and aggregate results, keys as Tempo writes them: `by(resource.service.name)`,
    /// `count()`, `avg(duration)`.
    pub attributes: Vec<KeyValue>,
}

/// One span of a spanset.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedSpan {
    /// Raw span ID bytes.
    pub span_id: Vec<u8>,
    pub name: String,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
    /// The attributes and intrinsics the query names (and `select()` adds), keyed by bare
    /// name (`http.method`, `status`, `kind`); never name, duration or IDs.
    pub attributes: Vec<KeyValue>,
}
