//! Decode-and-translate throughput of every receiver, next to plain OTLP protobuf decoding, in
//! one run on one thread (`make bench` runs it through scripts/receiver_bench.sh).
//!
//! The same spans (traces of `SPANS_PER_TRACE` spans, each with 8 attributes of mixed types and
//! an event) are encoded once in each wire format; each decoder then runs for `--seconds` over
//! its body, and spans per second (per core: one thread) are printed as a Markdown table.
//!
//!   cargo run --release -p strata-distributor --example receiver_bench -- [--seconds N] [--spans N]

use std::time::{Duration, Instant};

use prost::Message;
use strata_distributor::receiver::jaeger::{self, udp::Protocol};
use strata_distributor::receiver::zipkin::{self, Format};
use strata_proto::jaeger_api_v2 as jpb;
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::zipkin_proto3 as zpb;
use thrift::protocol::{
    TBinaryOutputProtocol, TCompactOutputProtocol, TFieldIdentifier, TListIdentifier,
    TMessageIdentifier, TMessageType, TOutputProtocol, TStructIdentifier, TType,
};

const SPANS_PER_TRACE: u64 = 10;
const T0_US: u64 = 1_700_000_000_000_000;

/// One span, protocol-neutral.
struct S {
    trace: u64,
    id: u64,
    parent: u64,
    start_us: u64,
}

fn spans(n: u64) -> Vec<S> {
    (0..n)
        .map(|i| S {
            trace: i / SPANS_PER_TRACE + 1,
            id: i + 1,
            parent: if i % SPANS_PER_TRACE == 0 {
                0
            } else {
                i - i % SPANS_PER_TRACE + 1
            },
            start_us: T0_US + i * 10,
        })
        .collect()
}

fn otlp(spans: &[S]) -> Vec<u8> {
    use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};
    use strata_proto::otlp::resource::Resource;
    use strata_proto::otlp::trace::{span::Event, ResourceSpans, ScopeSpans, Span};
    let kv = |k: &str, v: Value| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    };
    let spans = spans
        .iter()
        .map(|s| {
            let mut trace_id = [0u8; 16];
            trace_id[8..].copy_from_slice(&s.trace.to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: s.id.to_be_bytes().to_vec(),
                parent_span_id: if s.parent == 0 {
                    vec![]
                } else {
                    s.parent.to_be_bytes().to_vec()
                },
                name: "GET /api/cart".into(),
                kind: 2,
                start_time_unix_nano: s.start_us * 1000,
                end_time_unix_nano: (s.start_us + 1500) * 1000,
                attributes: vec![
                    kv("http.method", Value::StringValue("GET".into())),
                    kv(
                        "http.url",
                        Value::StringValue("https://shop.example/api/cart?id=42".into()),
                    ),
                    kv("http.status_code", Value::IntValue(200)),
                    kv("net.peer.ip", Value::StringValue("10.0.0.2".into())),
                    kv("cart.items", Value::IntValue(3)),
                    kv("cart.ratio", Value::DoubleValue(0.5)),
                    kv("cart.cached", Value::BoolValue(true)),
                    kv("user.tier", Value::StringValue("gold".into())),
                ],
                events: vec![Event {
                    time_unix_nano: (s.start_us + 100) * 1000,
                    name: "cache miss".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("checkout".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

const STR_TAGS: [(&str, &str); 4] = [
    ("http.method", "GET"),
    ("http.url", "https://shop.example/api/cart?id=42"),
    ("net.peer.ip", "10.0.0.2"),
    ("user.tier", "gold"),
];

fn zipkin_json(spans: &[S]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = spans
        .iter()
        .map(|s| {
            let mut tags = serde_json::Map::new();
            for (k, v) in STR_TAGS {
                tags.insert(k.into(), v.into());
            }
            for (k, v) in [
                ("http.status_code", "200"),
                ("cart.items", "3"),
                ("cart.ratio", "0.5"),
                ("cart.cached", "true"),
            ] {
                tags.insert(k.into(), v.into());
            }
            let mut span = serde_json::json!({
                "traceId": format!("{:016x}", s.trace),
                "id": format!("{:016x}", s.id),
                "name": "get /api/cart",
                "kind": "SERVER",
                "timestamp": s.start_us,
                "duration": 1500,
                "localEndpoint": {"serviceName": "checkout", "ipv4": "10.0.0.1", "port": 8080},
                "annotations": [{"timestamp": s.start_us + 100, "value": "cache miss"}],
                "tags": tags,
            });
            if s.parent != 0 {
                span["parentId"] = format!("{:016x}", s.parent).into();
            }
            span
        })
        .collect();
    serde_json::to_vec(&list).unwrap()
}

fn zipkin_proto(spans: &[S]) -> Vec<u8> {
    zpb::ListOfSpans {
        spans: spans
            .iter()
            .map(|s| zpb::Span {
                trace_id: s.trace.to_be_bytes().to_vec().into(),
                parent_id: if s.parent == 0 {
                    Default::default()
                } else {
                    s.parent.to_be_bytes().to_vec().into()
                },
                id: s.id.to_be_bytes().to_vec().into(),
                kind: zpb::span::Kind::Server as i32,
                name: "get /api/cart".into(),
                timestamp: s.start_us,
                duration: 1500,
                local_endpoint: Some(zpb::Endpoint {
                    service_name: "checkout".into(),
                    ipv4: vec![10, 0, 0, 1].into(),
                    port: 8080,
                    ..Default::default()
                }),
                annotations: vec![zpb::Annotation {
                    timestamp: s.start_us + 100,
                    value: "cache miss".into(),
                }],
                tags: STR_TAGS
                    .iter()
                    .copied()
                    .chain([
                        ("http.status_code", "200"),
                        ("cart.items", "3"),
                        ("cart.ratio", "0.5"),
                        ("cart.cached", "true"),
                    ])
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

fn field(p: &mut dyn TOutputProtocol, ty: TType, id: i16) {
    p.write_field_begin(&TFieldIdentifier::new::<Option<String>, String, i16>(
        None, ty, id,
    ))
    .unwrap();
}

enum Tag<'a> {
    Str(&'a str),
    Long(i64),
    Double(f64),
    Bool(bool),
}

fn thrift_tag(p: &mut dyn TOutputProtocol, key: &str, v: &Tag) {
    p.write_struct_begin(&TStructIdentifier::new("Tag"))
        .unwrap();
    field(p, TType::String, 1);
    p.write_string(key).unwrap();
    field(p, TType::I32, 2);
    match v {
        Tag::Str(s) => {
            p.write_i32(0).unwrap();
            field(p, TType::String, 3);
            p.write_string(s).unwrap();
        }
        Tag::Double(d) => {
            p.write_i32(1).unwrap();
            field(p, TType::Double, 4);
            p.write_double(*d).unwrap();
        }
        Tag::Bool(b) => {
            p.write_i32(2).unwrap();
            field(p, TType::Bool, 5);
            p.write_bool(*b).unwrap();
        }
        Tag::Long(i) => {
            p.write_i32(3).unwrap();
            field(p, TType::I64, 6);
            p.write_i64(*i).unwrap();
        }
    }
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
}

fn span_tags() -> Vec<(&'static str, Tag<'static>)> {
    let mut t: Vec<(&str, Tag)> = STR_TAGS.iter().map(|(k, v)| (*k, Tag::Str(v))).collect();
    t.push(("span.kind", Tag::Str("server")));
    t.push(("http.status_code", Tag::Long(200)));
    t.push(("cart.items", Tag::Long(3)));
    t.push(("cart.ratio", Tag::Double(0.5)));
    t.push(("cart.cached", Tag::Bool(true)));
    t
}

fn thrift_batch(p: &mut dyn TOutputProtocol, spans: &[S]) {
    p.write_struct_begin(&TStructIdentifier::new("Batch"))
        .unwrap();
    field(p, TType::Struct, 1);
    p.write_struct_begin(&TStructIdentifier::new("Process"))
        .unwrap();
    field(p, TType::String, 1);
    p.write_string("checkout").unwrap();
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
    field(p, TType::List, 2);
    p.write_list_begin(&TListIdentifier::new(TType::Struct, spans.len() as i32))
        .unwrap();
    let tags = span_tags();
    for s in spans {
        p.write_struct_begin(&TStructIdentifier::new("Span"))
            .unwrap();
        for (id, v) in [
            (1, s.trace as i64),
            (2, 0),
            (3, s.id as i64),
            (4, s.parent as i64),
        ] {
            field(p, TType::I64, id);
            p.write_i64(v).unwrap();
        }
        field(p, TType::String, 5);
        p.write_string("GET /api/cart").unwrap();
        field(p, TType::I32, 7);
        p.write_i32(1).unwrap();
        field(p, TType::I64, 8);
        p.write_i64(s.start_us as i64).unwrap();
        field(p, TType::I64, 9);
        p.write_i64(1500).unwrap();
        field(p, TType::List, 10);
        p.write_list_begin(&TListIdentifier::new(TType::Struct, tags.len() as i32))
            .unwrap();
        for (k, v) in &tags {
            thrift_tag(p, k, v);
        }
        p.write_list_end().unwrap();
        field(p, TType::List, 11);
        p.write_list_begin(&TListIdentifier::new(TType::Struct, 1))
            .unwrap();
        p.write_struct_begin(&TStructIdentifier::new("Log"))
            .unwrap();
        field(p, TType::I64, 1);
        p.write_i64((s.start_us + 100) as i64).unwrap();
        field(p, TType::List, 2);
        p.write_list_begin(&TListIdentifier::new(TType::Struct, 1))
            .unwrap();
        thrift_tag(p, "event", &Tag::Str("cache miss"));
        p.write_list_end().unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
        p.write_list_end().unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
    }
    p.write_list_end().unwrap();
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
}

fn agent_message(p: &mut dyn TOutputProtocol, spans: &[S]) {
    p.write_message_begin(&TMessageIdentifier::new(
        "emitBatch",
        TMessageType::OneWay,
        1,
    ))
    .unwrap();
    p.write_struct_begin(&TStructIdentifier::new("args"))
        .unwrap();
    field(p, TType::Struct, 1);
    thrift_batch(p, spans);
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
    p.write_message_end().unwrap();
}

fn jaeger_proto(spans: &[S]) -> Vec<u8> {
    let kv = |k: &str, v: &Tag| {
        let mut kv = jpb::KeyValue {
            key: k.into(),
            ..Default::default()
        };
        match v {
            Tag::Str(s) => kv.v_str = s.to_string(),
            Tag::Long(i) => {
                kv.v_type = jpb::ValueType::Int64 as i32;
                kv.v_int64 = *i
            }
            Tag::Double(d) => {
                kv.v_type = jpb::ValueType::Float64 as i32;
                kv.v_float64 = *d
            }
            Tag::Bool(b) => {
                kv.v_type = jpb::ValueType::Bool as i32;
                kv.v_bool = *b
            }
        }
        kv
    };
    let ts = |us: u64| prost_types::Timestamp {
        seconds: (us / 1_000_000) as i64,
        nanos: (us % 1_000_000) as i32 * 1000,
    };
    let tags = span_tags();
    jpb::PostSpansRequest {
        batch: Some(jpb::Batch {
            process: Some(jpb::Process {
                service_name: "checkout".into(),
                tags: vec![],
            }),
            spans: spans
                .iter()
                .map(|s| {
                    let mut trace_id = [0u8; 16];
                    trace_id[8..].copy_from_slice(&s.trace.to_be_bytes());
                    jpb::Span {
                        trace_id: trace_id.to_vec().into(),
                        span_id: s.id.to_be_bytes().to_vec().into(),
                        operation_name: "GET /api/cart".into(),
                        references: if s.parent == 0 {
                            vec![]
                        } else {
                            vec![jpb::SpanRef {
                                trace_id: trace_id.to_vec().into(),
                                span_id: s.parent.to_be_bytes().to_vec().into(),
                                ref_type: 0,
                            }]
                        },
                        start_time: Some(ts(s.start_us)),
                        duration: Some(prost_types::Duration {
                            seconds: 0,
                            nanos: 1_500_000,
                        }),
                        tags: tags.iter().map(|(k, v)| kv(k, v)).collect(),
                        logs: vec![jpb::Log {
                            timestamp: Some(ts(s.start_us + 100)),
                            fields: vec![kv("event", &Tag::Str("cache miss"))],
                        }],
                        ..Default::default()
                    }
                })
                .collect(),
        }),
    }
    .encode_to_vec()
}

/// Runs `f` over and over for `secs`; returns spans per second.
fn measure(spans: u64, secs: f64, mut f: impl FnMut() -> usize) -> f64 {
    assert_eq!(f() as u64, spans, "decoder lost spans");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let (start, mut n) = (Instant::now(), 0u64);
    while Instant::now() < deadline {
        n += f() as u64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn count(r: &ExportTraceServiceRequest) -> usize {
    r.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut secs, mut n) = (3.0, 1000u64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                secs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds N")
            }
            "--spans" => n = args.next().and_then(|v| v.parse().ok()).expect("--spans N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let s = spans(n);
    let otlp_body = otlp(&s);
    let zjson = zipkin_json(&s);
    let zproto = zipkin_proto(&s);
    let mut thttp = Vec::new();
    thrift_batch(&mut TBinaryOutputProtocol::new(&mut thttp, true), &s);
    let mut compact = Vec::new();
    agent_message(&mut TCompactOutputProtocol::new(&mut compact), &s);
    let mut binary = Vec::new();
    agent_message(&mut TBinaryOutputProtocol::new(&mut binary, true), &s);
    let jproto = jaeger_proto(&s);

    let rows: Vec<(&str, usize, f64)> = vec![
        (
            "OTLP protobuf (decode only, baseline)",
            otlp_body.len(),
            measure(n, secs, || {
                count(&ExportTraceServiceRequest::decode(otlp_body.as_slice()).unwrap())
            }),
        ),
        (
            "Zipkin v2 JSON",
            zjson.len(),
            measure(n, secs, || {
                count(&zipkin::decode(Format::V2Json, &zjson).unwrap())
            }),
        ),
        (
            "Zipkin v2 protobuf",
            zproto.len(),
            measure(n, secs, || {
                count(&zipkin::decode(Format::V2Proto, &zproto).unwrap())
            }),
        ),
        (
            "Jaeger Thrift binary (HTTP body)",
            thttp.len(),
            measure(n, secs, || count(&jaeger::decode_http(&thttp).unwrap())),
        ),
        (
            "Jaeger Thrift compact (agent UDP)",
            compact.len(),
            measure(n, secs, || {
                count(&jaeger::udp::decode(Protocol::Compact, &compact).unwrap())
            }),
        ),
        (
            "Jaeger Thrift binary (agent UDP)",
            binary.len(),
            measure(n, secs, || {
                count(&jaeger::udp::decode(Protocol::Binary, &binary).unwrap())
            }),
        ),
        (
            "Jaeger protobuf (gRPC PostSpans)",
            jproto.len(),
            measure(n, secs, || {
                let req = jpb::PostSpansRequest::decode(jproto.as_slice()).unwrap();
                count(&jaeger::translate_proto(req.batch.unwrap()).unwrap())
            }),
        ),
    ];
    let base = rows[0].2;
    println!("| format | body bytes ({n} spans) | spans/s (one core) | vs. OTLP decode |");
    println!("|---|---:|---:|---:|");
    for (name, bytes, rate) in rows {
        println!("| {name} | {bytes} | {:.0} | {:.2}x |", rate, rate / base);
    }
}
