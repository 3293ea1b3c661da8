//! OTLP requests built from the `opentelemetry-proto` types, pushes over gRPC and HTTP, and
//! trace-by-ID queries, for tests.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, InstrumentationScope};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;

pub use strata_testkit::{every_kind_of_attribute, kv, s, span_count};

/// A span with every OTLP field set.
pub fn rich_span(trace_id: [u8; 16], span_id: u64, parent: Option<u64>) -> Span {
    let now = 1_700_000_000_000_000_000u64 + span_id * 1000;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_be_bytes().to_vec(),
        trace_state: "vendor=value".into(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        flags: 0x101,
        name: format!("op-{span_id}"),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: now,
        end_time_unix_nano: now + 1_500_000,
        attributes: every_kind_of_attribute(),
        dropped_attributes_count: 3,
        events: vec![Event {
            time_unix_nano: now + 10,
            name: "exception".into(),
            attributes: vec![kv("exception.message", s("boom"))],
            dropped_attributes_count: 1,
        }],
        dropped_events_count: 2,
        links: vec![Link {
            trace_id: [9u8; 16].to_vec(),
            span_id: [8u8; 8].to_vec(),
            trace_state: "l=1".into(),
            attributes: vec![kv("link.kind", s("follows"))],
            dropped_attributes_count: 4,
            flags: 1,
        }],
        dropped_links_count: 5,
        status: Some(Status {
            message: "it failed".into(),
            code: StatusCode::Error as i32,
        }),
    }
}

/// A request with two resources and two scopes, every field set.
pub fn rich_request(trace_id: [u8; 16]) -> ExportTraceServiceRequest {
    let resource = |svc: &str| Resource {
        attributes: vec![
            kv("service.name", s(svc)),
            kv("host.cores", Value::IntValue(2)),
        ],
        dropped_attributes_count: 1,
        entity_refs: vec![],
    };
    let scope = |name: &str| InstrumentationScope {
        name: name.into(),
        version: "1.2.3".into(),
        attributes: vec![kv("scope.attr", Value::BoolValue(true))],
        dropped_attributes_count: 2,
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(resource("frontend")),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(scope("lib-a")),
                        spans: vec![
                            rich_span(trace_id, 1, None),
                            rich_span(trace_id, 2, Some(1)),
                        ],
                        schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
                    },
                    ScopeSpans {
                        scope: Some(scope("lib-b")),
                        spans: vec![rich_span(trace_id, 3, Some(1))],
                        schema_url: String::new(),
                    },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.20.0".into(),
            },
            ResourceSpans {
                resource: Some(resource("backend")),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope("lib-a")),
                    spans: vec![rich_span(trace_id, 4, Some(2))],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
        ],
    }
}

/// A small request: `spans` spans for each trace ID, under one resource.
pub fn simple_request(trace_ids: &[[u8; 16]], spans: u64) -> ExportTraceServiceRequest {
    let mut out = Vec::new();
    for t in trace_ids {
        for i in 1..=spans {
            out.push(Span {
                trace_id: t.to_vec(),
                span_id: (u64::from_be_bytes(t[8..16].try_into().unwrap()) ^ (i << 56) | i)
                    .to_be_bytes()
                    .to_vec(),
                name: format!("span-{i}"),
                kind: SpanKind::Internal as i32,
                start_time_unix_nano: 1_700_000_000_000_000_000 + i,
                end_time_unix_nano: 1_700_000_000_000_000_100 + i,
                ..Default::default()
            });
        }
    }
    strata_testkit::request(vec![strata_testkit::resource_spans(
        Some(strata_testkit::resource("simple")),
        None,
        out,
    )])
}

/// A random-looking, non-zero trace ID derived from a number.
pub fn trace_id(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).to_be_bytes());
    id[8..].copy_from_slice(&(n + 1).to_be_bytes());
    id
}

/// Pushes over OTLP/gRPC.
pub async fn grpc_push(
    endpoint: &str,
    req: ExportTraceServiceRequest,
) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(endpoint.to_string())
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    client.export(req).await.map(|_| ())
}

/// `GET /api/traces/{id}` as protobuf; `None` on 404.
pub async fn get_trace(api_base: &str, id: &[u8; 16]) -> Option<Vec<ResourceSpans>> {
    let url = format!("{api_base}/api/traces/{}", hex::encode(id));
    let resp = reqwest::Client::new()
        .get(url)
        .header("Accept", "application/protobuf")
        .send()
        .await
        .expect("query API reachable");
    if resp.status() == 404 {
        return None;
    }
    let status = resp.status();
    let body = resp.bytes().await.expect("body");
    assert_eq!(
        status,
        200,
        "unexpected status: {}",
        String::from_utf8_lossy(&body)
    );
    Some(
        TracesData::decode(body.as_ref())
            .expect("tempopb.Trace decodes as TracesData")
            .resource_spans,
    )
}

/// A span with its encoded resource, resource schema URL, encoded scope and scope schema URL.
pub type SpanInContext = (Vec<u8>, String, Vec<u8>, String, Span);

/// Every span with its resource and scope, sorted, for order-independent comparison.
pub fn flatten(rs: &[ResourceSpans]) -> Vec<SpanInContext> {
    let mut out = Vec::new();
    for r in rs {
        let res = r
            .resource
            .as_ref()
            .map(|x| x.encode_to_vec())
            .unwrap_or_default();
        for ss in &r.scope_spans {
            let scope = ss
                .scope
                .as_ref()
                .map(|x| x.encode_to_vec())
                .unwrap_or_default();
            for sp in &ss.spans {
                out.push((
                    res.clone(),
                    r.schema_url.clone(),
                    scope.clone(),
                    ss.schema_url.clone(),
                    sp.clone(),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.4.span_id.cmp(&b.4.span_id).then(a.4.kind.cmp(&b.4.kind)));
    out
}

/// The span count of each trace as `GET /api/traces/{id}` returns it (0 when absent), 16
/// lookups at a time, in the order of `ids`.
pub async fn span_counts(api_base: &str, ids: &[[u8; 16]]) -> Vec<usize> {
    use futures::stream::{self, StreamExt};
    stream::iter(ids.to_vec())
        .map(|id| async move {
            get_trace(api_base, &id)
                .await
                .map_or(0, |rs| span_count(&rs))
        })
        .buffered(16)
        .collect()
        .await
}
