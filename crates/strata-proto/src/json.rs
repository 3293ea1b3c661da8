//! Tempo query-API JSON.
//!
//! Tempo answers its query endpoints with protobuf's canonical JSON mapping as produced by gogo
//! `jsonpb.Marshaler{}` with default options. The rules applied here, for every message:
//!
//! * field names are lowerCamelCase;
//! * scalar fields holding their zero value (0, `""`, empty bytes, first enum value) and empty
//!   repeated fields are omitted; a present sub-message is emitted even when empty (`{}`);
//! * 64-bit integers (`int64`, `uint64`, `fixed64`) are JSON strings, 32-bit ones are numbers;
//! * enums are emitted by name (a value without a name falls back to its number);
//! * `bytes` (trace and span IDs, `bytesValue`) are standard base64 with padding;
//! * a `oneof` member is emitted even when it holds a zero value (`{"intValue":"0"}`);
//! * doubles: NaN and infinities are the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
//!
//! One deliberate addition: a span's `status` is always emitted (as `{}` when unset), which is
//! what Tempo returns for spans read back from its storage.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::otlp::common::{any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use crate::otlp::common::{EntityRef, KeyValueList};
use crate::otlp::resource::Resource;
use crate::otlp::trace::span::{Event, Link, SpanKind};
use crate::otlp::trace::status::StatusCode;
use crate::otlp::trace::{ResourceSpans, ScopeSpans, Span, Status};
use crate::tempopb::{PartialStatus, Trace, TraceByIdMetrics, TraceByIdResponse};

mod metrics;
mod search;
#[cfg(test)]
mod tests;

pub use metrics::*;
pub use search::*;

/// `/api/traces/{id}` JSON: `{"batches":[ResourceSpans…]}` — Tempo's v1 shape, which renames
/// `resourceSpans` to `batches`. A trace without resource spans is `{}`, as in Tempo.
pub fn trace_v1_json(trace: &Trace) -> Value {
    let mut obj = Map::new();
    put_messages(
        &mut obj,
        "batches",
        &trace.resource_spans,
        resource_spans_json,
    );
    Value::Object(obj)
}

/// `tempopb.Trace` in canonical form: `{"resourceSpans":[…]}`, or `{}` when there are none.
pub fn trace_json(trace: &Trace) -> Value {
    let mut obj = Map::new();
    put_messages(
        &mut obj,
        "resourceSpans",
        &trace.resource_spans,
        resource_spans_json,
    );
    Value::Object(obj)
}

/// `/api/v2/traces/{id}` JSON:
/// `{"trace":{"resourceSpans":[…]},"metrics":{"inspectedBytes":"N"}}`, plus `"status":"PARTIAL"`
/// and `"message"` when set.
///
/// `trace` is always present — an empty object `{}` when there is no trace — because Grafana
/// dereferences it without a nil check. `metrics` is always present too (Tempo always sets it);
/// a zero `inspectedBytes` is omitted inside it, as jsonpb does.
pub fn trace_by_id_v2_json(resp: &TraceByIdResponse) -> Value {
    let mut obj = Map::new();
    let trace = resp
        .trace
        .as_ref()
        .map_or_else(|| Value::Object(Map::new()), trace_json);
    obj.insert("trace".into(), trace);
    obj.insert(
        "metrics".into(),
        trace_by_id_metrics_json(&resp.metrics.unwrap_or_default()),
    );
    if resp.status != 0 {
        let status = match PartialStatus::try_from(resp.status) {
            Ok(PartialStatus::Partial) => Value::String("PARTIAL".into()),
            Ok(PartialStatus::Complete) => Value::String("COMPLETE".into()),
            Err(_) => Value::from(resp.status),
        };
        obj.insert("status".into(), status);
    }
    put_str(&mut obj, "message", &resp.message);
    Value::Object(obj)
}

/// `tempopb.TraceByIDMetrics`: `{"inspectedBytes":"N"}` (`{}` when zero).
pub fn trace_by_id_metrics_json(metrics: &TraceByIdMetrics) -> Value {
    let mut obj = Map::new();
    put_u64(&mut obj, "inspectedBytes", metrics.inspected_bytes);
    Value::Object(obj)
}

/// One OTLP `ResourceSpans`.
pub fn resource_spans_json(rs: &ResourceSpans) -> Value {
    let mut obj = Map::new();
    if let Some(resource) = &rs.resource {
        obj.insert("resource".into(), resource_json(resource));
    }
    put_messages(&mut obj, "scopeSpans", &rs.scope_spans, scope_spans_json);
    put_str(&mut obj, "schemaUrl", &rs.schema_url);
    Value::Object(obj)
}

/// One OTLP `ScopeSpans`.
pub fn scope_spans_json(ss: &ScopeSpans) -> Value {
    let mut obj = Map::new();
    if let Some(scope) = &ss.scope {
        obj.insert("scope".into(), scope_json(scope));
    }
    put_messages(&mut obj, "spans", &ss.spans, span_json);
    put_str(&mut obj, "schemaUrl", &ss.schema_url);
    Value::Object(obj)
}

/// OTLP `Resource`.
pub fn resource_json(resource: &Resource) -> Value {
    let mut obj = Map::new();
    put_messages(&mut obj, "attributes", &resource.attributes, key_value_json);
    put_u32(
        &mut obj,
        "droppedAttributesCount",
        resource.dropped_attributes_count,
    );
    put_messages(
        &mut obj,
        "entityRefs",
        &resource.entity_refs,
        entity_ref_json,
    );
    Value::Object(obj)
}

fn entity_ref_json(entity: &EntityRef) -> Value {
    let mut obj = Map::new();
    put_str(&mut obj, "schemaUrl", &entity.schema_url);
    put_str(&mut obj, "type", &entity.r#type);
    put_strings(&mut obj, "idKeys", &entity.id_keys);
    put_strings(&mut obj, "descriptionKeys", &entity.description_keys);
    Value::Object(obj)
}

/// OTLP `InstrumentationScope`.
pub fn scope_json(scope: &InstrumentationScope) -> Value {
    let mut obj = Map::new();
    put_str(&mut obj, "name", &scope.name);
    put_str(&mut obj, "version", &scope.version);
    put_messages(&mut obj, "attributes", &scope.attributes, key_value_json);
    put_u32(
        &mut obj,
        "droppedAttributesCount",
        scope.dropped_attributes_count,
    );
    Value::Object(obj)
}

/// One OTLP `Span`. `status` is always present (`{}` when unset).
pub fn span_json(span: &Span) -> Value {
    let mut obj = Map::new();
    put_bytes(&mut obj, "traceId", &span.trace_id);
    put_bytes(&mut obj, "spanId", &span.span_id);
    put_str(&mut obj, "traceState", &span.trace_state);
    put_bytes(&mut obj, "parentSpanId", &span.parent_span_id);
    put_u32(&mut obj, "flags", span.flags);
    put_str(&mut obj, "name", &span.name);
    if span.kind != 0 {
        obj.insert("kind".into(), span_kind_json(span.kind));
    }
    put_u64(&mut obj, "startTimeUnixNano", span.start_time_unix_nano);
    put_u64(&mut obj, "endTimeUnixNano", span.end_time_unix_nano);
    put_messages(&mut obj, "attributes", &span.attributes, key_value_json);
    put_u32(
        &mut obj,
        "droppedAttributesCount",
        span.dropped_attributes_count,
    );
    put_messages(&mut obj, "events", &span.events, event_json);
    put_u32(&mut obj, "droppedEventsCount", span.dropped_events_count);
    put_messages(&mut obj, "links", &span.links, link_json);
    put_u32(&mut obj, "droppedLinksCount", span.dropped_links_count);
    let status = span
        .status
        .as_ref()
        .map_or_else(|| Value::Object(Map::new()), status_json);
    obj.insert("status".into(), status);
    Value::Object(obj)
}

/// The JSON name of a span kind (`"SPAN_KIND_SERVER"`), or the number when it has no name.
pub fn span_kind_json(kind: i32) -> Value {
    match SpanKind::try_from(kind) {
        Ok(k) => Value::String(k.as_str_name().to_owned()),
        Err(_) => Value::from(kind),
    }
}

/// One span event.
pub fn event_json(event: &Event) -> Value {
    let mut obj = Map::new();
    put_u64(&mut obj, "timeUnixNano", event.time_unix_nano);
    put_str(&mut obj, "name", &event.name);
    put_messages(&mut obj, "attributes", &event.attributes, key_value_json);
    put_u32(
        &mut obj,
        "droppedAttributesCount",
        event.dropped_attributes_count,
    );
    Value::Object(obj)
}

/// One span link.
pub fn link_json(link: &Link) -> Value {
    let mut obj = Map::new();
    put_bytes(&mut obj, "traceId", &link.trace_id);
    put_bytes(&mut obj, "spanId", &link.span_id);
    put_str(&mut obj, "traceState", &link.trace_state);
    put_messages(&mut obj, "attributes", &link.attributes, key_value_json);
    put_u32(
        &mut obj,
        "droppedAttributesCount",
        link.dropped_attributes_count,
    );
    put_u32(&mut obj, "flags", link.flags);
    Value::Object(obj)
}

/// A span status: `{"message":…,"code":"STATUS_CODE_ERROR"}` with zero fields omitted.
pub fn status_json(status: &Status) -> Value {
    let mut obj = Map::new();
    put_str(&mut obj, "message", &status.message);
    if status.code != 0 {
        let code = match StatusCode::try_from(status.code) {
            Ok(c) => Value::String(c.as_str_name().to_owned()),
            Err(_) => Value::from(status.code),
        };
        obj.insert("code".into(), code);
    }
    Value::Object(obj)
}

/// One attribute: `{"key":…,"value":{…}}`.
pub fn key_value_json(kv: &KeyValue) -> Value {
    let mut obj = Map::new();
    put_str(&mut obj, "key", &kv.key);
    if let Some(value) = &kv.value {
        obj.insert("value".into(), any_value_json(value));
    }
    Value::Object(obj)
}

/// An `AnyValue`: exactly one of `stringValue`, `boolValue`, `intValue` (a string),
/// `doubleValue`, `arrayValue`, `kvlistValue`, `bytesValue` (base64); `{}` when unset.
pub fn any_value_json(value: &AnyValue) -> Value {
    let mut obj = Map::new();
    if let Some(v) = &value.value {
        let (key, json) = match v {
            any_value::Value::StringValue(s) => ("stringValue", Value::String(s.clone())),
            any_value::Value::BoolValue(b) => ("boolValue", Value::Bool(*b)),
            any_value::Value::IntValue(i) => ("intValue", Value::String(i.to_string())),
            any_value::Value::DoubleValue(d) => ("doubleValue", double_json(*d)),
            any_value::Value::ArrayValue(a) => ("arrayValue", array_value_json(a)),
            any_value::Value::KvlistValue(l) => ("kvlistValue", kvlist_value_json(l)),
            any_value::Value::BytesValue(b) => ("bytesValue", Value::String(base64_std(b))),
            any_value::Value::StringValueStrindex(i) => ("stringValueStrindex", Value::from(*i)),
        };
        obj.insert(key.into(), json);
    }
    Value::Object(obj)
}

fn array_value_json(array: &ArrayValue) -> Value {
    let mut obj = Map::new();
    put_messages(&mut obj, "values", &array.values, any_value_json);
    Value::Object(obj)
}

fn kvlist_value_json(list: &KeyValueList) -> Value {
    let mut obj = Map::new();
    put_messages(&mut obj, "values", &list.values, key_value_json);
    Value::Object(obj)
}

/// A double as jsonpb writes it: non-finite values as strings, integral values without a
/// fractional part (Go prints `1`, not `1.0`), everything else as a JSON number.
pub fn double_json(d: f64) -> Value {
    if d.is_nan() {
        return Value::String("NaN".into());
    }
    if d.is_infinite() {
        let s = if d > 0.0 { "Infinity" } else { "-Infinity" };
        return Value::String(s.into());
    }
    // 2^53: every integral double below it converts to i64 exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if d.fract() == 0.0 && d.abs() < EXACT && !(d == 0.0 && d.is_sign_negative()) {
        return Value::from(d as i64);
    }
    Number::from_f64(d).map_or(Value::Null, Value::Number)
}

fn base64_std(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn put_str(obj: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        obj.insert(key.into(), Value::String(value.to_owned()));
    }
}

fn put_strings(obj: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        let list = values.iter().cloned().map(Value::String).collect();
        obj.insert(key.into(), Value::Array(list));
    }
}

fn put_bytes(obj: &mut Map<String, Value>, key: &str, value: &[u8]) {
    if !value.is_empty() {
        obj.insert(key.into(), Value::String(base64_std(value)));
    }
}

fn put_u32(obj: &mut Map<String, Value>, key: &str, value: u32) {
    if value != 0 {
        obj.insert(key.into(), Value::from(value));
    }
}

fn put_u64(obj: &mut Map<String, Value>, key: &str, value: u64) {
    if value != 0 {
        obj.insert(key.into(), Value::String(value.to_string()));
    }
}

fn put_messages<T>(obj: &mut Map<String, Value>, key: &str, items: &[T], f: fn(&T) -> Value) {
    if !items.is_empty() {
        obj.insert(key.into(), Value::Array(items.iter().map(f).collect()));
    }
}
