//! The messages of Tempo's query API that Grafana decodes as protobuf, with Tempo's field
//! numbers (`pkg/tempopb/tempo.proto`), so `Accept: application/protobuf` answers are
//! byte-compatible.

use crate::otlp::trace::ResourceSpans;

/// `tempopb.Trace`: field 1 carries the same bytes as OTLP `TracesData.resource_spans`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Trace {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `tempopb.TraceByIDMetrics`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct TraceByIdMetrics {
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
}

/// `tempopb.PartialStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PartialStatus {
    Complete = 0,
    Partial = 1,
}

/// `tempopb.TraceByIDResponse`, the body of `/api/v2/traces/{id}`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    pub trace: Option<Trace>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<TraceByIdMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

/// `tempopb.SearchRequest` (the fields Strata uses, with Tempo's numbers).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchRequest {
    /// Legacy tag search (`tags=` logfmt).
    #[prost(btree_map = "string, string", tag = "1")]
    pub tags: std::collections::BTreeMap<String, String>,
    #[prost(uint32, tag = "2")]
    pub min_duration_ms: u32,
    #[prost(uint32, tag = "3")]
    pub max_duration_ms: u32,
    #[prost(uint32, tag = "4")]
    pub limit: u32,
    /// Unix seconds; 0 = unbounded.
    #[prost(uint32, tag = "5")]
    pub start: u32,
    #[prost(uint32, tag = "6")]
    pub end: u32,
    /// TraceQL.
    #[prost(string, tag = "8")]
    pub query: String,
    #[prost(uint32, tag = "9")]
    pub spans_per_span_set: u32,
}

/// `tempopb.SearchResponse`, the body of `/api/search`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchResponse {
    #[prost(message, repeated, tag = "1")]
    pub traces: Vec<TraceSearchMetadata>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
}

/// `tempopb.TraceSearchMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceSearchMetadata {
    /// Hex, leading zeros trimmed.
    #[prost(string, tag = "1")]
    pub trace_id: String,
    #[prost(string, tag = "2")]
    pub root_service_name: String,
    #[prost(string, tag = "3")]
    pub root_trace_name: String,
    #[prost(uint64, tag = "4")]
    pub start_time_unix_nano: u64,
    #[prost(uint32, tag = "5")]
    pub duration_ms: u32,
    /// Deprecated copy of `span_sets[0]`.
    #[prost(message, optional, tag = "6")]
    pub span_set: Option<SpanSet>,
    #[prost(message, repeated, tag = "7")]
    pub span_sets: Vec<SpanSet>,
    #[prost(btree_map = "string, message", tag = "8")]
    pub service_stats: std::collections::BTreeMap<String, ServiceStats>,
}

/// `tempopb.ServiceStats`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ServiceStats {
    #[prost(uint32, tag = "1")]
    pub span_count: u32,
    #[prost(uint32, tag = "2")]
    pub error_count: u32,
}

/// `tempopb.SpanSet`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SpanSet {
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<SearchSpan>,
    #[prost(uint32, tag = "2")]
    pub matched: u32,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<crate::otlp::common::KeyValue>,
}

/// `tempopb.Span` (a span in search results).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchSpan {
    /// 16 hex characters.
    #[prost(string, tag = "1")]
    pub span_id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(uint64, tag = "3")]
    pub start_time_unix_nano: u64,
    #[prost(uint64, tag = "4")]
    pub duration_nanos: u64,
    #[prost(message, repeated, tag = "5")]
    pub attributes: Vec<crate::otlp::common::KeyValue>,
}

/// `tempopb.SearchMetrics`: only the fields Grafana's strict decoder knows.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SearchMetrics {
    #[prost(uint32, tag = "1")]
    pub inspected_traces: u32,
    #[prost(uint64, tag = "2")]
    pub inspected_bytes: u64,
    #[prost(uint32, tag = "3")]
    pub total_blocks: u32,
    #[prost(uint32, tag = "4")]
    pub completed_jobs: u32,
    #[prost(uint32, tag = "5")]
    pub total_jobs: u32,
    #[prost(uint64, tag = "6")]
    pub total_block_bytes: u64,
    #[prost(uint64, tag = "7")]
    pub inspected_spans: u64,
}

/// Tag names request (`/api/search/tags`, `/api/v2/search/tags`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsRequest {
    /// `resource|span|event|link|instrumentation|intrinsic|none` or empty.
    #[prost(string, tag = "1")]
    pub scope: String,
    /// Unix seconds; 0 = unbounded.
    #[prost(uint32, tag = "2")]
    pub start: u32,
    #[prost(uint32, tag = "3")]
    pub end: u32,
    /// Names per scope; 0 = no limit.
    #[prost(uint32, tag = "4")]
    pub max_tags_per_scope: u32,
    /// TraceQL filter restricting which spans contribute.
    #[prost(string, tag = "6")]
    pub query: String,
}

/// `tempopb.SearchTagsV2Scope`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsV2Scope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, repeated, tag = "2")]
    pub tags: Vec<String>,
}

/// `tempopb.MetadataMetrics`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct MetadataMetrics {
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
}

/// `tempopb.SearchTagsV2Response`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsV2Response {
    #[prost(message, repeated, tag = "1")]
    pub scopes: Vec<SearchTagsV2Scope>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<MetadataMetrics>,
}

/// Tag values request (`/api/search/tag/{name}/values`, v2 likewise).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesRequest {
    /// v1: a plain attribute name; v2: a TraceQL identifier.
    #[prost(string, tag = "1")]
    pub tag_name: String,
    #[prost(string, tag = "2")]
    pub query: String,
    #[prost(uint32, tag = "3")]
    pub start: u32,
    #[prost(uint32, tag = "4")]
    pub end: u32,
    /// 0 = no limit.
    #[prost(uint32, tag = "5")]
    pub max_tag_values: u32,
    /// Whether `tag_name` is a v2 TraceQL identifier.
    #[prost(bool, tag = "6")]
    pub v2: bool,
}

/// `tempopb.TagValue`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, prost::Message)]
pub struct TagValue {
    /// `string|int|float|bool|duration|keyword`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `tempopb.SearchTagValuesV2Response`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesV2Response {
    #[prost(message, repeated, tag = "1")]
    pub tag_values: Vec<TagValue>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<MetadataMetrics>,
}

/// `tempopb.QueryRangeRequest` (the fields Strata uses, with Tempo's numbers): a TraceQL
/// metrics query over `[start, end]` (unix nanoseconds) in steps of `step` nanoseconds.
/// Also the internal request from querier to ingesters, which carries the block IDs the
/// querier reads itself in `exclude_blocks` (not a Tempo field).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct QueryRangeRequest {
    #[prost(string, tag = "1")]
    pub query: String,
    #[prost(uint64, tag = "2")]
    pub start: u64,
    #[prost(uint64, tag = "3")]
    pub end: u64,
    #[prost(uint64, tag = "4")]
    pub step: u64,
    #[prost(uint32, tag = "16")]
    pub exemplars: u32,
    #[prost(uint32, tag = "17")]
    pub max_series: u32,
    #[prost(bool, optional, tag = "18")]
    pub instant: Option<bool>,
    /// Blocks (IDs as text) the caller reads itself; an ingester skips them. Strata only.
    #[prost(string, repeated, tag = "100")]
    pub exclude_blocks: Vec<String>,
}

/// `tempopb.QueryRangeResponse`, the body of `/api/metrics/query_range`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRangeResponse {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<TimeSeries>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

/// `tempopb.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<crate::otlp::common::KeyValue>,
    /// Oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
}

/// `tempopb.Sample`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp_ms: i64,
}

/// `tempopb.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<crate::otlp::common::KeyValue>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp_ms: i64,
}

/// `tempopb.QueryInstantResponse`, the body of `/api/metrics/query`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstantResponse {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<InstantSeries>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

/// `tempopb.InstantSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstantSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<crate::otlp::common::KeyValue>,
    #[prost(double, tag = "2")]
    pub value: f64,
}
