//! A small generated data set with known answers for search tests.
//!
//! Trace `i` (0-based, `0..TRACES`):
//! * root span: service `frontend|checkout|cart` (`i % 3`), resource `region = eu|us` (`i % 2`),
//!   kind server, name `GET /api/items/{i % 5}`, `http.status_code` 500 when `i % 7 == 0`
//!   else 200, `path/to = "slashed"`, duration `(i + 1) * 10ms`, starting `i` seconds after the base time;
//! * `1 + i % 4` children from service `db`, kind client, `db.system` `postgres` when
//!   `i % 3 == 0` else `redis`, 1ms each; the first child has status error when `i % 5 == 0`.
//!
//! [`EXPECTED`] pairs queries with the predicate on `i` that says which traces match.

// The data set is described in residues (`i % 7 == 0`); keep them uniform.
#![allow(clippy::manual_is_multiple_of)]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::otlp::{kv, s};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

pub const TRACES: u64 = 60;

/// Which traces (by `i`) a query must return.
pub type Expected = (&'static str, fn(u64) -> bool);

/// Queries with the traces they must return.
pub const EXPECTED: &[Expected] = &[
    (r#"{ resource.service.name = "checkout" }"#, |i| i % 3 == 1),
    (r#"{ span.http.status_code >= 500 }"#, |i| i % 7 == 0),
    (r#"{ status = error }"#, |i| i % 5 == 0),
    (r#"{ duration > 400ms }"#, |i| i >= 40),
    (r#"{ name =~ "GET /api/items/[12]" }"#, |i| {
        matches!(i % 5, 1 | 2)
    }),
    (
        r#"{ kind = server } >> { span.db.system = "postgres" }"#,
        |i| i % 3 == 0,
    ),
    (r#"{ kind = server } > { span.db.system = "redis" }"#, |i| {
        i % 3 != 0
    }),
    (r#"{ } | count() > 3"#, |i| i % 4 >= 2),
    (r#"{ .region = "eu" }"#, |i| i % 2 == 0),
    (
        r#"{ trace:rootService = "frontend" && kind = client }"#,
        |i| i % 3 == 0,
    ),
    (
        r#"{ status = error } && { span.http.status_code = 500 }"#,
        |i| i % 35 == 0,
    ),
    (
        r#"{ resource.service.name = "db" } | by(span.db.system)"#,
        |_| true,
    ),
    (
        r#"{ span.http.status_code = 200 } | select(span.http.status_code)"#,
        |i| i % 7 != 0,
    ),
    (r#"{ resource.service.name = "nope" }"#, |_| false),
    (r#"{ }"#, |_| true),
];

/// The trace ID of trace `i`.
pub fn id(i: u64) -> [u8; 16] {
    crate::otlp::trace_id(1000 + i)
}

fn span_id(i: u64, n: u64) -> Vec<u8> {
    ((i + 1) << 8 | (n + 1)).to_be_bytes().to_vec()
}

/// Trace `i` as an OTLP request, its times relative to `base` (unix ns).
pub fn trace(i: u64, base: u64) -> ExportTraceServiceRequest {
    let tid = id(i).to_vec();
    let start = base + i * 1_000_000_000;
    let root = Span {
        trace_id: tid.clone(),
        span_id: span_id(i, 0),
        name: format!("GET /api/items/{}", i % 5),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + (i + 1) * 10_000_000,
        attributes: vec![
            kv(
                "http.status_code",
                Value::IntValue(if i % 7 == 0 { 500 } else { 200 }),
            ),
            kv("path/to", s("slashed")),
        ],
        ..Default::default()
    };
    let children: Vec<Span> = (0..1 + i % 4)
        .map(|n| Span {
            trace_id: tid.clone(),
            span_id: span_id(i, n + 1),
            parent_span_id: span_id(i, 0),
            name: "query".into(),
            kind: SpanKind::Client as i32,
            start_time_unix_nano: start + 1_000_000 * (n + 1),
            end_time_unix_nano: start + 1_000_000 * (n + 2),
            attributes: vec![kv(
                "db.system",
                s(if i % 3 == 0 { "postgres" } else { "redis" }),
            )],
            status: (n == 0 && i % 5 == 0).then(|| Status {
                code: StatusCode::Error as i32,
                message: "boom".into(),
            }),
            ..Default::default()
        })
        .collect();
    let resource = |svc: &str, region: Option<&str>| {
        let mut attributes = vec![kv("service.name", s(svc))];
        if let Some(r) = region {
            attributes.push(kv("region", s(r)));
        }
        Some(Resource {
            attributes,
            ..Default::default()
        })
    };
    let rs = |resource, spans| ResourceSpans {
        resource,
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        schema_url: String::new(),
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            rs(
                resource(
                    ["frontend", "checkout", "cart"][(i % 3) as usize],
                    Some(if i % 2 == 0 { "eu" } else { "us" }),
                ),
                vec![root],
            ),
            rs(resource("db", None), children),
        ],
    }
}

/// Trimmed hex trace IDs of the traces matching `pred`, newest (highest `i`) first.
pub fn expected_ids(pred: fn(u64) -> bool) -> Vec<String> {
    (0..TRACES)
        .rev()
        .filter(|&i| pred(i))
        .map(|i| trim_hex(&id(i)))
        .collect()
}

pub fn trim_hex(id: &[u8]) -> String {
    let h: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let t = h.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}
