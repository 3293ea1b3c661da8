//! The Jaeger span model both Jaeger decoders produce (Thrift `jaeger.Batch`, and later the
//! protobuf `jaeger.api_v2` model): the fields the translation to OTLP reads, with tag values
//! already typed as OTLP values.

use strata_proto::otlp::common::any_value::Value;

pub type Tags = Vec<(String, Value)>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub service_name: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    ChildOf,
    FollowsFrom,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanRef {
    pub ref_type: RefType,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    pub time_unix_nano: u64,
    pub fields: Tags,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JaegerSpan {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// All zeros when absent (Thrift's `parentSpanId`; the protobuf model has none).
    pub parent_span_id: [u8; 8],
    pub operation_name: String,
    pub references: Vec<SpanRef>,
    pub start_unix_nano: u64,
    pub duration_nano: u64,
    pub tags: Tags,
    pub logs: Vec<Log>,
    /// A span's own process, which takes precedence over the batch's (protobuf model only).
    pub process: Option<Process>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub process: Option<Process>,
    pub spans: Vec<JaegerSpan>,
}

/// The 128-bit trace ID of Thrift's (high, low) halves.
pub fn trace_id(high: i64, low: i64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&high.to_be_bytes());
    id[8..].copy_from_slice(&low.to_be_bytes());
    id
}

/// Microseconds (Thrift) to nanoseconds; negative times are 0.
pub fn micros_to_nanos(us: i64) -> u64 {
    u64::try_from(us).unwrap_or(0).saturating_mul(1000)
}
