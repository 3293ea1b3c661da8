//! Zipkin v2 spans to OTLP, after the OpenTelemetry Collector's Zipkin receiver (its
//! `zipkinv2` translator, default settings):
//!
//! * resource: `service.name` = `localEndpoint.serviceName` (no resource attributes without
//!   one); tags named like resource semantic conventions (`service.*`, `host.*`, `process.*`,
//!   `telemetry.sdk.*`, `k8s.*`, …) move to the resource;
//! * scope: tags `otel.library.name`/`otel.scope.name` and `…version`;
//! * span: 64-bit trace IDs left-padded to 128 bits; a parent equal to the span's own ID is no
//!   parent; kind from `kind` (else `internal` when tag `span.kind` says so); start/end in
//!   nanoseconds from the microsecond `timestamp` and `duration` (an absent timestamp gives
//!   start 0 and attribute `otel.zipkin.absentField.startTime`); tag `w3c.tracestate` →
//!   trace state;
//! * status: tag `otel.status_code` (`STATUS_CODE_*`, `Ok`/`Error`/`Unset`, and the
//!   upper-case names some exporters send) with `otel.status_description`; any `error` tag
//!   makes it an error (`error=true` is then dropped, any other value kept as an attribute);
//! * attributes: the remaining tags (strings, or typed where the encoding types them);
//!   local endpoint → `net.host.ip`, `net.host.port`; remote endpoint → `peer.service`,
//!   `net.peer.ip`, `net.peer.port`;
//! * events: annotations (`value` → name at `timestamp`; a value `name|{json attrs}|dropped`
//!   as the Collector's exporter writes it gives the event its attributes).
//!
//! `shared` needs nothing: the server half of a shared span keeps its kind, and readers tell the
//! halves apart by (span ID, kind).

use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value::Value, InstrumentationScope, KeyValue};
use strata_proto::otlp::trace::span::{Event, SpanKind};
use strata_proto::otlp::trace::status::StatusCode;
use strata_proto::otlp::trace::{Span, Status};

use super::model::{Kind, ZipkinSpan};
use crate::receiver::otlp_build::{kv, str_value, upsert, RequestBuilder};

/// Attribute set on spans that arrived without a start timestamp (the Collector's name).
pub const START_TIME_ABSENT: &str = "otel.zipkin.absentField.startTime";

/// Tag prefixes (and names) of resource semantic conventions: such tags describe the resource.
const RESOURCE_PREFIXES: &[&str] = &[
    "service.",
    "telemetry.sdk.",
    "telemetry.auto.",
    "host.",
    "os.",
    "process.",
    "container.",
    "k8s.",
    "cloud.",
    "deployment.",
    "device.",
    "aws.ecs.",
    "aws.eks.",
    "aws.log.",
    "webengine.",
];

fn is_resource_tag(key: &str) -> bool {
    RESOURCE_PREFIXES.iter().any(|p| key.starts_with(p))
}

pub fn to_request(spans: Vec<ZipkinSpan>) -> ExportTraceServiceRequest {
    let mut b = RequestBuilder::default();
    for span in spans {
        let (resource, scope, span) = translate(span);
        b.push(resource, scope, span);
    }
    b.build()
}

fn take(tags: &mut Vec<(String, Value)>, key: &str) -> Option<Value> {
    let mut found = None;
    tags.retain_mut(|(k, v)| {
        if k == key {
            found = Some(std::mem::replace(v, Value::BoolValue(false)));
            false
        } else {
            true
        }
    });
    found
}

fn take_str(tags: &mut Vec<(String, Value)>, key: &str) -> Option<String> {
    let v = take(tags, key)?;
    Some(match v {
        Value::StringValue(s) => s,
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        _ => String::new(),
    })
}

fn status_code(s: &str) -> StatusCode {
    match s {
        "STATUS_CODE_OK" | "Ok" | "OK" => StatusCode::Ok,
        "STATUS_CODE_ERROR" | "Error" | "ERROR" => StatusCode::Error,
        _ => StatusCode::Unset,
    }
}

fn translate(z: ZipkinSpan) -> (Vec<KeyValue>, InstrumentationScope, Span) {
    let mut tags = z.tags;
    let mut resource = Vec::new();
    let service = z
        .local_endpoint
        .as_ref()
        .map(|e| e.service_name.as_str())
        .filter(|s| !s.is_empty());
    if let Some(service) = service {
        resource.push(kv("service.name", str_value(service)));
        tags.retain(|(k, v)| {
            if is_resource_tag(k) {
                upsert(&mut resource, k, v.clone());
                false
            } else {
                true
            }
        });
    }
    let mut scope = InstrumentationScope::default();
    for (name_key, version_key) in [
        ("otel.library.name", "otel.library.version"),
        ("otel.scope.name", "otel.scope.version"),
    ] {
        if let Some(name) = take_str(&mut tags, name_key) {
            scope.name = name;
        }
        if let Some(version) = take_str(&mut tags, version_key) {
            scope.version = version;
        }
    }

    let mut span = Span {
        trace_id: z.trace_id.to_vec(),
        span_id: z.id.to_vec(),
        parent_span_id: z
            .parent_id
            .filter(|p| *p != z.id)
            .map(|p| p.to_vec())
            .unwrap_or_default(),
        name: z.name,
        ..Default::default()
    };
    if let Some(ts) = take_str(&mut tags, "w3c.tracestate") {
        span.trace_state = ts;
    }
    span.kind = match z.kind {
        Some(Kind::Client) => SpanKind::Client,
        Some(Kind::Server) => SpanKind::Server,
        Some(Kind::Producer) => SpanKind::Producer,
        Some(Kind::Consumer) => SpanKind::Consumer,
        None => match take_str(&mut tags, "span.kind").as_deref() {
            Some("internal") => SpanKind::Internal,
            _ => SpanKind::Unspecified,
        },
    } as i32;

    let mut status = Status::default();
    if let Some(code) = take_str(&mut tags, "otel.status_code") {
        status.code = status_code(&code) as i32;
        if let Some(msg) = take_str(&mut tags, "otel.status_description") {
            status.message = msg;
        }
    }
    if let Some(i) = tags.iter().position(|(k, _)| k == "error") {
        status.code = StatusCode::Error as i32;
        let is_true = match &tags[i].1 {
            Value::StringValue(s) => s == "true",
            Value::BoolValue(b) => *b,
            _ => false,
        };
        if is_true {
            tags.remove(i);
        }
    }
    if status != Status::default() {
        span.status = Some(status);
    }

    let mut attrs: Vec<KeyValue> = Vec::with_capacity(tags.len() + 5);
    for (k, v) in tags {
        upsert(&mut attrs, &k, v);
    }
    if let Some(e) = &z.local_endpoint {
        if let Some(ip) = e.ipv4 {
            upsert(&mut attrs, "net.host.ip", str_value(ip.to_string()));
        }
        if let Some(ip) = e.ipv6 {
            upsert(&mut attrs, "net.host.ip", str_value(ip.to_string()));
        }
        if e.port > 0 {
            upsert(&mut attrs, "net.host.port", Value::IntValue(e.port.into()));
        }
    }
    if let Some(e) = &z.remote_endpoint {
        if !e.service_name.is_empty() {
            upsert(
                &mut attrs,
                "peer.service",
                str_value(e.service_name.clone()),
            );
        }
        if let Some(ip) = e.ipv4 {
            upsert(&mut attrs, "net.peer.ip", str_value(ip.to_string()));
        }
        if let Some(ip) = e.ipv6 {
            upsert(&mut attrs, "net.peer.ip", str_value(ip.to_string()));
        }
        if e.port > 0 {
            upsert(&mut attrs, "net.peer.port", Value::IntValue(e.port.into()));
        }
    }
    match z.timestamp {
        Some(ts) => {
            span.start_time_unix_nano = ts.saturating_mul(1000);
            span.end_time_unix_nano = ts.saturating_add(z.duration).saturating_mul(1000);
        }
        None => {
            span.end_time_unix_nano = z.duration.saturating_mul(1000);
            upsert(&mut attrs, START_TIME_ABSENT, Value::BoolValue(true));
        }
    }
    span.attributes = attrs;
    span.events = z
        .annotations
        .into_iter()
        .map(|a| event(a.timestamp, &a.value))
        .collect();
    (resource, scope, span)
}

/// An annotation as an event; `name|{json}|dropped` carries attributes.
fn event(timestamp_us: u64, value: &str) -> Event {
    let mut e = Event {
        time_unix_nano: timestamp_us.saturating_mul(1000),
        ..Default::default()
    };
    let parts: Vec<&str> = value.split('|').collect();
    if parts.len() < 3 {
        e.name = value.to_string();
        return e;
    }
    e.name = parts[0].to_string();
    let json = parts[1..parts.len() - 1].join("|");
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&json) {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => Value::StringValue(s),
                serde_json::Value::Bool(b) => Value::BoolValue(b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Value::IntValue(i),
                    None => Value::DoubleValue(n.as_f64().unwrap_or_default()),
                },
                _ => continue,
            };
            e.attributes.push(kv(k, v));
        }
        e.dropped_attributes_count = parts[parts.len() - 1].parse().unwrap_or(0);
    } else {
        e.name = value.to_string();
    }
    e
}

#[cfg(test)]
#[path = "to_otlp_tests.rs"]
mod tests;
