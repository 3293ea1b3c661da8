//! Jaeger's protobuf model (`jaeger.api_v2`, the body of `CollectorService/PostSpans`) into
//! [`super::model`]. Trace IDs are 16 bytes (shorter ones are left-padded), span IDs 8;
//! timestamps and durations keep their nanoseconds.

use prost_types::{Duration, Timestamp};
use strata_proto::jaeger_api_v2 as pb;
use strata_proto::otlp::common::any_value::Value;

use super::model::{Batch, JaegerSpan, Log, Process, RefType, SpanRef, Tags};
use crate::receiver::otlp_build::pad_id;

fn nanos(t: Option<Timestamp>) -> u64 {
    t.map(|t| {
        u64::try_from(t.seconds)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(t.nanos).unwrap_or(0))
    })
    .unwrap_or(0)
}

fn duration_nanos(d: Option<Duration>) -> u64 {
    d.map(|d| {
        u64::try_from(d.seconds)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(d.nanos).unwrap_or(0))
    })
    .unwrap_or(0)
}

fn tags(kvs: Vec<pb::KeyValue>) -> Tags {
    kvs.into_iter()
        .map(|kv| {
            let v = match pb::ValueType::try_from(kv.v_type) {
                Ok(pb::ValueType::String) => Value::StringValue(kv.v_str),
                Ok(pb::ValueType::Bool) => Value::BoolValue(kv.v_bool),
                Ok(pb::ValueType::Int64) => Value::IntValue(kv.v_int64),
                Ok(pb::ValueType::Float64) => Value::DoubleValue(kv.v_float64),
                Ok(pb::ValueType::Binary) => Value::BytesValue(kv.v_binary.to_vec()),
                Err(_) => Value::StringValue(format!("<Unknown Jaeger TagType {}>", kv.v_type)),
            };
            (kv.key, v)
        })
        .collect()
}

fn process(p: pb::Process) -> Process {
    Process {
        service_name: p.service_name,
        tags: tags(p.tags),
    }
}

fn trace_id(b: &[u8]) -> Result<[u8; 16], String> {
    pad_id::<16>(b).ok_or_else(|| format!("trace ID of {} bytes", b.len()))
}

fn span_id(b: &[u8]) -> Result<[u8; 8], String> {
    pad_id::<8>(b).ok_or_else(|| format!("span ID of {} bytes", b.len()))
}

fn span(s: pb::Span) -> Result<JaegerSpan, String> {
    let references = s
        .references
        .into_iter()
        .map(|r| {
            Ok(SpanRef {
                ref_type: match pb::SpanRefType::try_from(r.ref_type) {
                    Ok(pb::SpanRefType::FollowsFrom) => RefType::FollowsFrom,
                    _ => RefType::ChildOf,
                },
                trace_id: trace_id(&r.trace_id)?,
                span_id: span_id(&r.span_id)?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(JaegerSpan {
        trace_id: trace_id(&s.trace_id)?,
        span_id: span_id(&s.span_id)?,
        parent_span_id: [0; 8],
        operation_name: s.operation_name,
        references,
        start_unix_nano: nanos(s.start_time),
        duration_nano: duration_nanos(s.duration),
        tags: tags(s.tags),
        logs: s
            .logs
            .into_iter()
            .map(|l| Log {
                time_unix_nano: nanos(l.timestamp),
                fields: tags(l.fields),
            })
            .collect(),
        process: s.process.map(process),
    })
}

/// A `PostSpansRequest`'s batch in the shared model.
pub fn batch(b: pb::Batch) -> Result<Batch, String> {
    Ok(Batch {
        process: b.process.map(process),
        spans: b.spans.into_iter().map(span).collect::<Result<_, _>>()?,
    })
}
