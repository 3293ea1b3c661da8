//! Fuzz targets of every receiver's decoder (`strata-fuzzkit`; `make fuzz` runs them longer).
//! Unit tests, so the Thrift and protobuf bodies the receivers' own tests write serve as seeds.
//!
//! * OTLP/HTTP: random export requests (`strata_testkit::arb`), encoded as protobuf or JSON,
//!   sometimes gzipped, corrupted, and posted through the real router. The answer must be 200
//!   or a 4xx naming the input's fault (never 500 or a panic); an intact valid request must be
//!   accepted; every trace pushed must be a decodable `tempopb.Trace`.
//! * Zipkin v2 JSON and protobuf (built from random fields, or the seeds), v1 JSON and Thrift
//!   (seeds), corrupted, through `zipkin::decode`.
//! * Jaeger: random `api_v2.Batch`es through `translate_proto`, their corrupted encodings
//!   through prost and `translate_proto`, and the Thrift HTTP body and agent datagrams
//!   (compact and binary) corrupted through `decode_http` and `udp::decode`.
//!
//! Whatever a decoder accepts is then pushed through the pipeline (validation, truncation,
//! grouping), which must refuse bad IDs with an error, never panic.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use prost::Message;
use serde_json::json;
use strata_common::{ManualClock, TenantId};
use strata_config::{Config, TenantLimits};
use strata_fuzzkit::proptest::prelude::*;
use strata_fuzzkit::{fuzz, mutated, Mutations};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::roles::{IngesterPusher, PushRequest, PushResponse, RoleError};
use strata_proto::{jaeger_api_v2 as jpb, tempopb, zipkin_proto3 as zpb};
use strata_server::Overrides;
use strata_testkit::arb;
use tower::ServiceExt;

use super::jaeger::udp::{self, Protocol};
use super::zipkin::Format;
use crate::{Distributor, Received};

/// JSON tokens inserted by the mutator.
const JSON_TOKENS: &[&[u8]] = &[
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\"\"",
    b"-1",
    b"1e999",
    b"18446744073709551616",
    b"\"traceId\":",
    b"\"spanId\":",
    b"\"id\":",
    b"\"kind\":",
    b"\"intValue\":\"",
    b"\"0000000000000000\"",
    b"\"zz\"",
    b"\\ud800",
    b"\"resourceSpans\":[",
];

/// Thrift bytes inserted by the mutator: type ids, list headers, huge lengths.
const THRIFT_TOKENS: &[&[u8]] = &[
    b"\x0b",
    b"\x0c",
    b"\x0f",
    b"\x0a",
    b"\x08",
    b"\x00",
    b"\x19\x1c",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x80\x01\x00\x04",
    b"\x82\x21\x01",
];

/// Accepts every push; checks each trace payload decodes as the ingester will decode it.
struct Checking;

#[async_trait]
impl IngesterPusher for Checking {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        for t in &req.traces {
            tempopb::Trace::decode(t.payload.as_ref()).expect("a pushed payload decodes");
        }
        Ok(PushResponse::default())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// A distributor without a rate limit, truncating attributes at 16 bytes (so multi-byte
/// text gets cut), head sampling at one half (so trace states are parsed and rewritten),
/// pushing to [`Checking`].
fn distributor() -> Distributor {
    let mut limits = TenantLimits::default();
    limits.ingestion.rate_limit_bytes = 0;
    limits.ingestion.max_attribute_bytes = 16;
    limits.sampling.head_ratio = 0.5;
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
    Distributor::from_config(
        &Config::default(),
        Arc::new(Checking),
        Overrides::fixed(limits),
        clock,
        &mut prometheus_client::registry::Registry::default(),
    )
}

/// Pushes a decoded request: refused or accepted, never a panic.
fn push(request: ExportTraceServiceRequest) {
    let d = distributor();
    let received = Received {
        tenant: TenantId::single(),
        request,
        wire_bytes: None,
        protocol: "fuzz",
    };
    let _ = runtime().block_on(d.push(received));
}

/// Whether the pipeline's validation accepts every span's IDs.
fn ids_valid(req: &ExportTraceServiceRequest) -> bool {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .all(|s| {
            s.trace_id.len() == 16
                && s.trace_id.iter().any(|b| *b != 0)
                && s.span_id.len() == 8
                && s.span_id.iter().any(|b| *b != 0)
        })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn fuzz_otlp_http() {
    let inputs = (
        arb::request(),
        any::<bool>(),
        prop::option::weighted(0.15, any::<bool>()),
        Mutations::strategy(6, JSON_TOKENS),
    );
    let router = super::http::router(distributor());
    fuzz("fuzz_otlp_http", inputs, |(req, json, gzip_at, edits)| {
        let encoded = if json {
            serde_json::to_vec(&req).expect("serialise")
        } else {
            req.encode_to_vec()
        };
        // Corrupt before compressing (the decoder sees corrupt content) or after (a corrupt
        // stream).
        let body = match gzip_at {
            None => edits.apply(encoded.clone()),
            Some(true) => gzip(&edits.apply(encoded.clone())),
            Some(false) => edits.apply(gzip(&encoded)),
        };
        let intact = edits.0.is_empty();
        let mut http = Request::post("/v1/traces").header(
            header::CONTENT_TYPE,
            if json {
                "application/json"
            } else {
                "application/x-protobuf"
            },
        );
        if gzip_at.is_some() {
            http = http.header(header::CONTENT_ENCODING, "gzip");
        }
        let http = http.body(Body::from(body)).expect("request");
        let status = runtime()
            .block_on(router.clone().oneshot(http))
            .expect("infallible")
            .status();
        prop_assert!(
            [
                StatusCode::OK,
                StatusCode::BAD_REQUEST,
                StatusCode::PAYLOAD_TOO_LARGE
            ]
            .contains(&status),
            "status {}",
            status
        );
        if intact && !json && ids_valid(&req) {
            prop_assert_eq!(
                status,
                StatusCode::OK,
                "an intact valid request was refused"
            );
        }
        Ok(())
    });
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Zipkin v2 span from random fields (IDs of the right length most of the time).
fn zipkin_span() -> impl Strategy<Value = zpb::Span> + Clone {
    let endpoint = (
        arb::text(),
        prop::collection::vec(any::<u8>(), 0..17),
        any::<i32>(),
    )
        .prop_map(|(service_name, ip, port)| zpb::Endpoint {
            service_name,
            ipv4: if ip.len() == 4 {
                ip.clone().into()
            } else {
                Default::default()
            },
            ipv6: if ip.len() == 16 {
                ip.into()
            } else {
                Default::default()
            },
            port,
        });
    let tags = prop::collection::hash_map(arb::text(), arb::text(), 0..3);
    let annotation = (any::<u64>(), arb::text())
        .prop_map(|(timestamp, value)| zpb::Annotation { timestamp, value });
    (
        (
            prop_oneof![arb::id(16), arb::id(8)],
            arb::id(8),
            arb::id(8),
            -1i32..6,
            arb::text(),
        ),
        (
            any::<u64>(),
            any::<u64>(),
            prop::option::of(endpoint.clone()),
            prop::option::of(endpoint),
        ),
        (
            prop::collection::vec(annotation, 0..2),
            tags,
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (trace_id, id, parent_id, kind, name),
                (timestamp, duration, local_endpoint, remote_endpoint),
                (annotations, tags, debug, shared),
            )| zpb::Span {
                trace_id: trace_id.into(),
                parent_id: parent_id.into(),
                id: id.into(),
                kind,
                name,
                timestamp,
                duration,
                local_endpoint,
                remote_endpoint,
                annotations,
                tags,
                debug,
                shared,
            },
        )
}

/// The Zipkin v2 JSON of `spans` (kinds as names, unknown ones as given).
fn zipkin_json(spans: &[zpb::Span]) -> Vec<u8> {
    let endpoint = |e: &Option<zpb::Endpoint>| {
        e.as_ref().map(|e| {
            json!({"serviceName": e.service_name, "ipv4": e.ipv4.iter().map(u8::to_string).collect::<Vec<_>>().join("."), "port": e.port})
        })
    };
    let spans: Vec<_> = spans
        .iter()
        .map(|s| {
            let kind = match s.kind {
                1 => json!("CLIENT"),
                2 => json!("SERVER"),
                3 => json!("PRODUCER"),
                4 => json!("CONSUMER"),
                k => json!(k),
            };
            json!({
                "traceId": hex(&s.trace_id), "id": hex(&s.id), "parentId": hex(&s.parent_id),
                "kind": kind, "name": s.name, "timestamp": s.timestamp, "duration": s.duration,
                "localEndpoint": endpoint(&s.local_endpoint),
                "remoteEndpoint": endpoint(&s.remote_endpoint),
                "annotations": s.annotations.iter().map(|a| json!({"timestamp": a.timestamp, "value": a.value})).collect::<Vec<_>>(),
                "tags": s.tags, "debug": s.debug, "shared": s.shared,
            })
        })
        .collect();
    serde_json::to_vec(&spans).expect("serialise")
}

#[test]
fn fuzz_zipkin() {
    use super::zipkin::tests::{v1_thrift, v2_proto, V1_JSON, V2_JSON};
    let spans = prop::collection::vec(zipkin_span(), 1..3);
    let base = prop_oneof![
        spans
            .clone()
            .prop_map(|s| (Format::V2Json, zipkin_json(&s))),
        spans.prop_map(|spans| (Format::V2Proto, zpb::ListOfSpans { spans }.encode_to_vec())),
        Just((Format::V2Json, V2_JSON.as_bytes().to_vec())),
        Just((Format::V2Proto, v2_proto())),
        Just((Format::V1Json, V1_JSON.as_bytes().to_vec())),
        Just((Format::V1Thrift, v1_thrift())),
    ];
    let inputs = (base, Mutations::strategy(6, JSON_TOKENS));
    fuzz("fuzz_zipkin", inputs, |((format, body), edits)| {
        if let Ok(req) = super::zipkin::decode(format, &edits.apply(body)) {
            push(req);
        }
        Ok(())
    });
}

/// A Jaeger `api_v2` batch from random fields.
fn jaeger_batch() -> impl Strategy<Value = jpb::Batch> {
    let kv = (
        arb::text(),
        -1i32..7,
        arb::text(),
        any::<bool>(),
        any::<i64>(),
        any::<f64>(),
    )
        .prop_map(
            |(key, v_type, v_str, v_bool, v_int64, v_float64)| jpb::KeyValue {
                key,
                v_type,
                v_str,
                v_bool,
                v_int64,
                v_float64,
                v_binary: v_int64.to_le_bytes().to_vec().into(),
            },
        );
    let ts = (any::<i64>(), any::<i32>())
        .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos });
    let process = (arb::text(), prop::collection::vec(kv.clone(), 0..2))
        .prop_map(|(service_name, tags)| jpb::Process { service_name, tags });
    let reference = (arb::id(16), arb::id(8), -1i32..3).prop_map(|(t, s, ref_type)| jpb::SpanRef {
        trace_id: t.into(),
        span_id: s.into(),
        ref_type,
    });
    let log = (
        prop::option::of(ts.clone()),
        prop::collection::vec(kv.clone(), 0..2),
    )
        .prop_map(|(timestamp, fields)| jpb::Log { timestamp, fields });
    let span = (
        (
            arb::id(16),
            arb::id(8),
            arb::text(),
            prop::collection::vec(reference, 0..2),
        ),
        (
            any::<u32>(),
            prop::option::of(ts),
            (any::<i64>(), any::<i32>()),
        ),
        (
            prop::collection::vec(kv, 0..3),
            prop::collection::vec(log, 0..2),
        ),
        prop::option::of(process.clone()),
    )
        .prop_map(
            |(
                (trace_id, span_id, operation_name, references),
                (flags, start_time, d),
                (tags, logs),
                process,
            )| {
                jpb::Span {
                    trace_id: trace_id.into(),
                    span_id: span_id.into(),
                    operation_name,
                    references,
                    flags,
                    start_time,
                    duration: Some(prost_types::Duration {
                        seconds: d.0,
                        nanos: d.1,
                    }),
                    tags,
                    logs,
                    process,
                    ..Default::default()
                }
            },
        );
    (prop::collection::vec(span, 0..3), prop::option::of(process))
        .prop_map(|(spans, process)| jpb::Batch { spans, process })
}

#[test]
fn fuzz_jaeger_proto() {
    let inputs = mutated(jaeger_batch().prop_map(|b| b.encode_to_vec()), &[]);
    fuzz("fuzz_jaeger_proto", inputs, |(original, bytes)| {
        let batch = jpb::Batch::decode(original.as_slice()).expect("re-decode");
        if let Ok(req) = super::jaeger::translate_proto(batch) {
            push(req);
        }
        if let Ok(batch) = jpb::Batch::decode(bytes.as_slice()) {
            if let Ok(req) = super::jaeger::translate_proto(batch) {
                push(req);
            }
        }
        Ok(())
    });
}

#[derive(Debug, Clone, Copy)]
enum ThriftBody {
    Http,
    Compact,
    Binary,
}

#[test]
fn fuzz_jaeger_thrift() {
    use super::jaeger::tests::{binary_datagram, compact_datagram, http_body};
    let which = prop_oneof![
        Just(ThriftBody::Http),
        Just(ThriftBody::Compact),
        Just(ThriftBody::Binary)
    ];
    let inputs = (which, Mutations::strategy(6, THRIFT_TOKENS));
    fuzz("fuzz_jaeger_thrift", inputs, |(which, edits)| {
        let decoded = match which {
            ThriftBody::Http => super::jaeger::decode_http(&edits.apply(http_body())),
            ThriftBody::Compact => udp::decode(Protocol::Compact, &edits.apply(compact_datagram())),
            ThriftBody::Binary => udp::decode(Protocol::Binary, &edits.apply(binary_datagram())),
        };
        match decoded {
            Ok(req) => push(req),
            Err(e) => prop_assert!(!e.is_empty(), "an error says what is wrong"),
        }
        Ok(())
    });
}
