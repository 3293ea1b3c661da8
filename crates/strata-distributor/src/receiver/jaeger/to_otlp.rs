//! Jaeger spans to OTLP, after the OpenTelemetry Collector's Jaeger translators
//! (`jaegerthrift_to_traces`, `jaegerproto_to_traces`):
//!
//! * resource: `service.name` = the process's service name, plus the process tags (typed);
//!   `hostname` becomes `host.name` and `jaeger.version` becomes
//!   `opencensus.exporterversion` = `Jaeger-<version>`;
//! * scope: tags `otel.scope.name`/`otel.scope.version` (or the older `otel.library.*`);
//! * span: the parent is `parentSpanId`, else the first `CHILD_OF` reference within the
//!   trace, else the first `FOLLOWS_FROM` one; every other reference is a link with attribute
//!   `opentracing.ref_type` (`child_of`/`follows_from`); kind from tag `span.kind`; tag
//!   `w3c.tracestate` → trace state; start and end in nanoseconds (Thrift carries microseconds);
//! * status: tag `error=true` (bool) is an error, described by `otel.status_description` or
//!   `http.status_message`; otherwise `otel.status_code` (`OK`/`ERROR`, any case) with
//!   `otel.status_description`; otherwise an `http.status_code` of 5xx (or 4xx on a client
//!   span) is an error;
//! * attributes: the remaining tags, typed (string, bool, int, double, bytes);
//! * events: logs at their timestamps, fields as attributes, field `event` as the name.

use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value::Value, InstrumentationScope, KeyValue};
use strata_proto::otlp::trace::span::{Event, Link, SpanKind};
use strata_proto::otlp::trace::status::StatusCode;
use strata_proto::otlp::trace::{Span, Status};

use super::model::{Batch, JaegerSpan, Process, RefType, Tags};
use crate::receiver::otlp_build::{kv, str_value, upsert, RequestBuilder};

pub fn to_request(batches: Vec<Batch>) -> ExportTraceServiceRequest {
    let mut b = RequestBuilder::default();
    for batch in batches {
        let batch_resource = batch.process.as_ref().map(resource).unwrap_or_default();
        for span in batch.spans {
            let resource = match &span.process {
                Some(p) => resource(p),
                None => batch_resource.clone(),
            };
            let (scope, span) = translate(span);
            b.push(resource, scope, span);
        }
    }
    b.build()
}

fn resource(p: &Process) -> Vec<KeyValue> {
    let mut attrs = Vec::with_capacity(p.tags.len() + 1);
    if !p.service_name.is_empty() {
        attrs.push(kv("service.name", str_value(p.service_name.clone())));
    }
    for (k, v) in &p.tags {
        upsert(&mut attrs, k, v.clone());
    }
    if !attrs.iter().any(|a| a.key == "host.name") {
        if let Some(a) = attrs.iter_mut().find(|a| a.key == "hostname") {
            a.key = "host.name".into();
        }
    }
    if !attrs.iter().any(|a| a.key == "opencensus.exporterversion") {
        if let Some(i) = attrs.iter().position(|a| a.key == "jaeger.version") {
            let v = attrs.remove(i);
            let version = match v.value.and_then(|v| v.value) {
                Some(Value::StringValue(s)) => s,
                _ => String::new(),
            };
            attrs.push(kv(
                "opencensus.exporterversion",
                str_value(format!("Jaeger-{version}")),
            ));
        }
    }
    attrs
}

fn take(tags: &mut Tags, key: &str) -> Option<Value> {
    let i = tags.iter().position(|(k, _)| k == key)?;
    Some(tags.remove(i).1)
}

fn take_str(tags: &mut Tags, key: &str) -> Option<String> {
    match take(tags, key)? {
        Value::StringValue(s) => Some(s),
        _ => Some(String::new()),
    }
}

fn peek<'a>(tags: &'a Tags, key: &str) -> Option<&'a Value> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn kind(s: &str) -> SpanKind {
    match s {
        "client" => SpanKind::Client,
        "server" => SpanKind::Server,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => SpanKind::Unspecified,
    }
}

/// The status the tags say, removing the tags that said it.
fn status(tags: &mut Tags, span_kind: SpanKind) -> Option<Status> {
    if peek(tags, "error") == Some(&Value::BoolValue(true)) {
        take(tags, "error");
        let message = take_str(tags, "otel.status_description")
            .or_else(|| match peek(tags, "http.status_message") {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        take(tags, "otel.status_code");
        return Some(Status {
            code: StatusCode::Error as i32,
            message,
        });
    }
    if let Some(code) = take_str(tags, "otel.status_code") {
        let code = match code.to_ascii_uppercase().as_str() {
            "OK" => StatusCode::Ok,
            "ERROR" => StatusCode::Error,
            _ => StatusCode::Unset,
        };
        return Some(Status {
            code: code as i32,
            message: take_str(tags, "otel.status_description").unwrap_or_default(),
        });
    }
    let http = match peek(tags, "http.status_code")? {
        Value::IntValue(i) => *i,
        Value::StringValue(s) => s.parse().ok()?,
        _ => return None,
    };
    let error = match http {
        400..=499 => span_kind == SpanKind::Client,
        100..=399 => false,
        _ => true,
    };
    error.then(|| Status {
        code: StatusCode::Error as i32,
        message: match peek(tags, "http.status_message") {
            Some(Value::StringValue(s)) => s.clone(),
            _ => String::new(),
        },
    })
}

fn parent(span: &JaegerSpan) -> Option<[u8; 8]> {
    if span.parent_span_id != [0; 8] {
        return Some(span.parent_span_id);
    }
    let same_trace = |t: RefType| {
        span.references
            .iter()
            .find(|r| r.ref_type == t && r.trace_id == span.trace_id)
            .map(|r| r.span_id)
    };
    same_trace(RefType::ChildOf).or_else(|| same_trace(RefType::FollowsFrom))
}

fn translate(j: JaegerSpan) -> (InstrumentationScope, Span) {
    let parent = parent(&j);
    let mut tags = j.tags;
    let mut scope = InstrumentationScope::default();
    for (name_key, version_key) in [
        ("otel.library.name", "otel.library.version"),
        ("otel.scope.name", "otel.scope.version"),
    ] {
        if let Some(name) = take_str(&mut tags, name_key) {
            scope.name = name;
            if let Some(version) = take_str(&mut tags, version_key) {
                scope.version = version;
            }
        }
    }
    let span_kind = match take(&mut tags, "span.kind") {
        Some(Value::StringValue(s)) => kind(&s),
        _ => SpanKind::Unspecified,
    };
    let status = status(&mut tags, span_kind);
    let trace_state = take_str(&mut tags, "w3c.tracestate").unwrap_or_default();
    let mut attributes: Vec<KeyValue> = Vec::with_capacity(tags.len());
    for (k, v) in tags {
        upsert(&mut attributes, &k, v);
    }
    let events = j
        .logs
        .into_iter()
        .map(|log| {
            let mut fields = log.fields;
            let name = match take(&mut fields, "event") {
                Some(Value::StringValue(s)) => s,
                _ => String::new(),
            };
            let mut attributes = Vec::with_capacity(fields.len());
            for (k, v) in fields {
                upsert(&mut attributes, &k, v);
            }
            Event {
                time_unix_nano: log.time_unix_nano,
                name,
                attributes,
                ..Default::default()
            }
        })
        .collect();
    let links = j
        .references
        .iter()
        .filter(|r| !(r.ref_type == RefType::ChildOf && Some(r.span_id) == parent))
        .map(|r| Link {
            trace_id: r.trace_id.to_vec(),
            span_id: r.span_id.to_vec(),
            attributes: vec![kv(
                "opentracing.ref_type",
                str_value(match r.ref_type {
                    RefType::ChildOf => "child_of",
                    RefType::FollowsFrom => "follows_from",
                }),
            )],
            ..Default::default()
        })
        .collect();
    let span = Span {
        trace_id: j.trace_id.to_vec(),
        span_id: j.span_id.to_vec(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        trace_state,
        name: j.operation_name,
        kind: span_kind as i32,
        start_time_unix_nano: j.start_unix_nano,
        end_time_unix_nano: j.start_unix_nano.saturating_add(j.duration_nano),
        attributes,
        events,
        links,
        status,
        ..Default::default()
    };
    (scope, span)
}

#[cfg(test)]
#[path = "to_otlp_tests.rs"]
mod tests;
