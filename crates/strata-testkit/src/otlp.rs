//! OTLP spans, resources, scopes and requests, and the shapes the roles pass them in.
//!
//! Everything not named by a builder's arguments is left at its default (empty schema URLs,
//! no attributes), so a test's struct literal or field assignments add only what it checks.

use bytes::Bytes;
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_proto::roles::{PushRequest, TracePush};
use strata_proto::tempopb;

use crate::attrs::{kv, s};

/// A span of `trace` with ID `span_id` (big-endian bytes), named `name`, from `start` to
/// `end` (unix nanoseconds). A root (no parent), kind unspecified.
pub fn span(trace: &TraceId, span_id: u64, name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: trace.as_bytes().to_vec(),
        span_id: span_id.to_be_bytes().to_vec(),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

/// A resource whose only attribute is `service.name = service`.
pub fn resource(service: &str) -> Resource {
    resource_with(vec![kv("service.name", s(service))])
}

/// A resource of `attributes`.
pub fn resource_with(attributes: Vec<KeyValue>) -> Resource {
    Resource {
        attributes,
        ..Default::default()
    }
}

/// An instrumentation scope `name` of `version`.
pub fn scope(name: &str, version: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.into(),
        version: version.into(),
        ..Default::default()
    }
}

/// `spans` under `scope`.
pub fn scope_spans(scope: Option<InstrumentationScope>, spans: Vec<Span>) -> ScopeSpans {
    ScopeSpans {
        scope,
        spans,
        schema_url: String::new(),
    }
}

/// `spans` under one `resource` and one `scope`.
pub fn resource_spans(
    resource: Option<Resource>,
    scope: Option<InstrumentationScope>,
    spans: Vec<Span>,
) -> ResourceSpans {
    ResourceSpans {
        resource,
        scope_spans: vec![scope_spans(scope, spans)],
        schema_url: String::new(),
    }
}

/// An OTLP export request of `resource_spans`.
pub fn request(resource_spans: Vec<ResourceSpans>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest { resource_spans }
}

/// Number of spans in `resource_spans`.
pub fn span_count(resource_spans: &[ResourceSpans]) -> usize {
    resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// `resource_spans` encoded as a `tempopb.Trace`, the payload ingesters store.
pub fn trace_payload(resource_spans: Vec<ResourceSpans>) -> Bytes {
    Bytes::from(tempopb::Trace { resource_spans }.encode_to_vec())
}

/// One trace's share of a push: `resource_spans` of trace `id`, its span count counted, its
/// time range as given (the distributor's earliest start and latest end).
pub fn trace_push(
    id: TraceId,
    start: u64,
    end: u64,
    resource_spans: Vec<ResourceSpans>,
) -> TracePush {
    TracePush {
        trace_id: id,
        span_count: span_count(&resource_spans) as u32,
        start_unix_nano: start,
        end_unix_nano: end,
        payload: trace_payload(resource_spans),
        replica: false,
    }
}

/// A push of `traces` for the single tenant.
pub fn push_request(traces: Vec<TracePush>) -> PushRequest {
    PushRequest {
        tenant: TenantId::single(),
        traces,
    }
}

/// Sorts resource spans, scope spans and spans into one canonical order (spans by start time
/// then ID, the others by their encoding), merging nothing: two equal traces compare equal
/// whatever order they were stored or sent in.
pub fn normalise(mut rs: Vec<ResourceSpans>) -> Vec<ResourceSpans> {
    for r in &mut rs {
        for ss in &mut r.scope_spans {
            ss.spans.sort_by(|a, b| {
                (a.start_time_unix_nano, &a.span_id).cmp(&(b.start_time_unix_nano, &b.span_id))
            });
        }
        r.scope_spans.sort_by_key(|ss| ss.encode_to_vec());
    }
    rs.sort_by_key(|r| r.encode_to_vec());
    rs
}

/// A trace of `spans` spans (`op-1`, `op-2`, …, each with `http.method = GET`) of service
/// `svc`, starting at `start_secs` seconds and lasting one millisecond, as one push share.
pub fn service_trace(id: TraceId, svc: &str, spans: u8, start_secs: u64) -> TracePush {
    let start_ns = start_secs * 1_000_000_000;
    let end_ns = start_ns + 1_000_000;
    let spans: Vec<Span> = (1..=spans)
        .map(|n| Span {
            attributes: vec![kv("http.method", s("GET"))],
            ..span(
                &id,
                u64::from(n),
                &format!("op-{n}"),
                start_ns + u64::from(n),
                end_ns,
            )
        })
        .collect();
    trace_push(
        id,
        start_ns,
        end_ns,
        vec![resource_spans(Some(resource(svc)), None, spans)],
    )
}
