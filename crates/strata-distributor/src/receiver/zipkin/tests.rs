//! Decoding every Zipkin encoding into the same OTLP, and refusing malformed input without
//! panicking or allocating what a hostile length claims.

use ::thrift::protocol::{
    TBinaryOutputProtocol, TFieldIdentifier, TListIdentifier, TOutputProtocol, TStructIdentifier,
    TType,
};
use prost::Message;
use strata_proto::otlp::common::any_value::Value;
use strata_proto::otlp::trace::span::SpanKind;
use strata_proto::otlp::trace::Span;
use strata_proto::zipkin_proto3 as pb;

use super::*;

const TRACE_HEX: &str = "0af7651916cd43dd8448eb211c80319c";

pub(crate) const V2_JSON: &str = r#"[{
  "traceId": "0af7651916cd43dd8448eb211c80319c", "id": "b7ad6b7169203331",
  "parentId": "00f067aa0ba902b7", "name": "get /users", "kind": "SERVER",
  "timestamp": 1700000000000000, "duration": 1500,
  "localEndpoint": {"serviceName": "api", "ipv4": "10.0.0.1", "port": 8080},
  "remoteEndpoint": {"serviceName": "web", "ipv6": "::1", "port": 443},
  "annotations": [{"timestamp": 1700000000000100, "value": "cache miss"}],
  "tags": {"http.method": "GET", "http.status_code": "200"},
  "shared": true
}]"#;

fn one_span(req: &ExportTraceServiceRequest) -> (&str, &Span) {
    let rs = &req.resource_spans[0];
    let service = rs.resource.as_ref().unwrap().attributes[0]
        .value
        .as_ref()
        .and_then(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
        .unwrap();
    (service, &rs.scope_spans[0].spans[0])
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

#[test]
fn v2_json() {
    let req = decode(Format::V2Json, V2_JSON.as_bytes()).unwrap();
    let (service, span) = one_span(&req);
    assert_eq!(service, "api");
    assert_eq!(hex(&span.trace_id), TRACE_HEX);
    assert_eq!(hex(&span.span_id), "b7ad6b7169203331");
    assert_eq!(hex(&span.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        1_500_000
    );
    assert_eq!(
        attr(span, "net.peer.ip"),
        Some(&Value::StringValue("::1".into()))
    );
    assert_eq!(
        attr(span, "http.status_code"),
        Some(&Value::StringValue("200".into()))
    );
    assert_eq!(span.events[0].name, "cache miss");
}

#[test]
fn v2_json_with_a_64_bit_trace_id_is_left_padded() {
    let body = r#"[{"traceId":"8448eb211c80319c","id":"1","name":"x"}]"#;
    let req = decode(Format::V2Json, body.as_bytes()).unwrap();
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(hex(&span.trace_id), "00000000000000008448eb211c80319c");
    assert_eq!(hex(&span.span_id), "0000000000000001");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub(crate) fn v2_proto() -> Vec<u8> {
    pb::ListOfSpans {
        spans: vec![pb::Span {
            trace_id: unhex(TRACE_HEX).into(),
            parent_id: unhex("00f067aa0ba902b7").into(),
            id: unhex("b7ad6b7169203331").into(),
            kind: pb::span::Kind::Server as i32,
            name: "get /users".into(),
            timestamp: 1_700_000_000_000_000,
            duration: 1500,
            local_endpoint: Some(pb::Endpoint {
                service_name: "api".into(),
                ipv4: vec![10, 0, 0, 1].into(),
                port: 8080,
                ..Default::default()
            }),
            remote_endpoint: Some(pb::Endpoint {
                service_name: "web".into(),
                ipv6: std::net::Ipv6Addr::LOCALHOST.octets().to_vec().into(),
                port: 443,
                ..Default::default()
            }),
            annotations: vec![pb::Annotation {
                timestamp: 1_700_000_000_000_100,
                value: "cache miss".into(),
            }],
            tags: [("http.method", "GET"), ("http.status_code", "200")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            debug: false,
            shared: true,
        }],
    }
    .encode_to_vec()
}

#[test]
fn v2_proto_decodes_to_the_same_as_v2_json() {
    let from_json = decode(Format::V2Json, V2_JSON.as_bytes()).unwrap();
    let from_proto = decode(Format::V2Proto, &v2_proto()).unwrap();
    assert_eq!(from_json, from_proto);
}

pub(crate) const V1_JSON: &str = r#"[{
  "traceId": "0af7651916cd43dd8448eb211c80319c", "id": "b7ad6b7169203331",
  "parentId": "00f067aa0ba902b7", "name": "get /users",
  "timestamp": 1700000000000000, "duration": 1500,
  "annotations": [
    {"timestamp": 1700000000000000, "value": "sr", "endpoint": {"serviceName": "api", "ipv4": "10.0.0.1", "port": 8080}},
    {"timestamp": 1700000000000100, "value": "cache miss", "endpoint": {"serviceName": "api", "ipv4": "10.0.0.1", "port": 8080}},
    {"timestamp": 1700000000001500, "value": "ss", "endpoint": {"serviceName": "api", "ipv4": "10.0.0.1", "port": 8080}}
  ],
  "binaryAnnotations": [
    {"key": "http.method", "value": "GET", "endpoint": {"serviceName": "api", "ipv4": "10.0.0.1", "port": 8080}},
    {"key": "http.status_code", "value": "200", "endpoint": {"serviceName": "api", "ipv4": "10.0.0.1", "port": 8080}},
    {"key": "ca", "value": true, "endpoint": {"serviceName": "web", "ipv6": "::1", "port": 443}}
  ]
}]"#;

#[test]
fn v1_json_decodes_to_the_same_as_v2() {
    let v2 = decode(Format::V2Json, V2_JSON.as_bytes()).unwrap();
    let v1 = decode(Format::V1Json, V1_JSON.as_bytes()).unwrap();
    let (_, a) = one_span(&v2);
    let (service, b) = one_span(&v1);
    assert_eq!(service, "api");
    let mut a = a.clone();
    let mut b = b.clone();
    a.attributes.sort_by(|x, y| x.key.cmp(&y.key));
    b.attributes.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(a, b);
}

/// Writes the v1 Thrift body of the span in [`V1_JSON`], with typed binary annotations.
pub(crate) fn v1_thrift() -> Vec<u8> {
    let mut buf = Vec::new();
    {
        let mut p = TBinaryOutputProtocol::new(&mut buf, true);
        let field = |p: &mut TBinaryOutputProtocol<&mut Vec<u8>>, ty, id| {
            p.write_field_begin(&TFieldIdentifier::new::<Option<String>, String, i16>(
                None, ty, id,
            ))
            .unwrap()
        };
        let endpoint =
            |p: &mut TBinaryOutputProtocol<&mut Vec<u8>>, name: &str, ipv4: i32, port: i16| {
                p.write_struct_begin(&TStructIdentifier::new("Endpoint"))
                    .unwrap();
                field(p, TType::I32, 1);
                p.write_i32(ipv4).unwrap();
                field(p, TType::I16, 2);
                p.write_i16(port).unwrap();
                field(p, TType::String, 3);
                p.write_string(name).unwrap();
                p.write_field_stop().unwrap();
                p.write_struct_end().unwrap();
            };
        let api = 0x0a00_0001;
        p.write_list_begin(&TListIdentifier::new(TType::Struct, 1))
            .unwrap();
        p.write_struct_begin(&TStructIdentifier::new("Span"))
            .unwrap();
        field(&mut p, TType::I64, 1);
        p.write_i64(0x8448eb211c80319c_u64 as i64).unwrap();
        field(&mut p, TType::String, 3);
        p.write_string("get /users").unwrap();
        field(&mut p, TType::I64, 4);
        p.write_i64(0xb7ad6b7169203331_u64 as i64).unwrap();
        field(&mut p, TType::I64, 5);
        p.write_i64(0x00f067aa0ba902b7).unwrap();
        field(&mut p, TType::List, 6);
        p.write_list_begin(&TListIdentifier::new(TType::Struct, 3))
            .unwrap();
        for (ts, v) in [(0, "sr"), (100, "cache miss"), (1500, "ss")] {
            p.write_struct_begin(&TStructIdentifier::new("Annotation"))
                .unwrap();
            field(&mut p, TType::I64, 1);
            p.write_i64(1_700_000_000_000_000 + ts).unwrap();
            field(&mut p, TType::String, 2);
            p.write_string(v).unwrap();
            field(&mut p, TType::Struct, 3);
            endpoint(&mut p, "api", api, 8080);
            p.write_field_stop().unwrap();
            p.write_struct_end().unwrap();
        }
        p.write_list_end().unwrap();
        field(&mut p, TType::List, 8);
        let bins: [(&str, Vec<u8>, i32); 5] = [
            ("http.method", b"GET".to_vec(), 6),
            ("http.status_code", 200i16.to_be_bytes().to_vec(), 2),
            ("retries", 3i64.to_be_bytes().to_vec(), 4),
            ("ratio", 0.25f64.to_be_bytes().to_vec(), 5),
            ("sa", vec![1], 0),
        ];
        p.write_list_begin(&TListIdentifier::new(TType::Struct, bins.len() as i32))
            .unwrap();
        for (k, v, ty) in bins {
            p.write_struct_begin(&TStructIdentifier::new("BinaryAnnotation"))
                .unwrap();
            field(&mut p, TType::String, 1);
            p.write_string(k).unwrap();
            field(&mut p, TType::String, 2);
            p.write_bytes(&v).unwrap();
            field(&mut p, TType::I32, 3);
            p.write_i32(ty).unwrap();
            field(&mut p, TType::Struct, 4);
            if k == "sa" {
                endpoint(&mut p, "db", 0x0a00_0002, 5432);
            } else {
                endpoint(&mut p, "api", api, 8080);
            }
            p.write_field_stop().unwrap();
            p.write_struct_end().unwrap();
        }
        p.write_list_end().unwrap();
        // An unknown field is skipped.
        field(&mut p, TType::String, 99);
        p.write_string("ignored").unwrap();
        field(&mut p, TType::I64, 12);
        p.write_i64(0x0af7651916cd43dd).unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
        p.write_list_end().unwrap();
    }
    buf
}

#[test]
fn v1_thrift_keeps_binary_annotation_types() {
    let req = decode(Format::V1Thrift, &v1_thrift()).unwrap();
    let (service, span) = one_span(&req);
    assert_eq!(service, "api");
    assert_eq!(hex(&span.trace_id), TRACE_HEX);
    assert_eq!(hex(&span.parent_span_id), "00f067aa0ba902b7");
    // A server span: "sa" (the server address) names no remote endpoint for it.
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        1_500_000
    );
    assert_eq!(
        attr(span, "http.method"),
        Some(&Value::StringValue("GET".into()))
    );
    assert_eq!(attr(span, "http.status_code"), Some(&Value::IntValue(200)));
    assert_eq!(attr(span, "retries"), Some(&Value::IntValue(3)));
    assert_eq!(attr(span, "ratio"), Some(&Value::DoubleValue(0.25)));
    assert_eq!(
        attr(span, "net.host.ip"),
        Some(&Value::StringValue("10.0.0.1".into()))
    );
    assert_eq!(span.events[0].name, "cache miss");
}

#[test]
fn formats_follow_path_and_content_type() {
    assert_eq!(
        Format::of("/api/v2/spans", "application/json"),
        Format::V2Json
    );
    assert_eq!(
        Format::of("/api/v2/spans", "application/x-protobuf"),
        Format::V2Proto
    );
    assert_eq!(
        Format::of("/api/v1/spans", "application/x-thrift"),
        Format::V1Thrift
    );
    assert_eq!(Format::of("/api/v1/spans", ""), Format::V1Json);
    assert_eq!(Format::of("/anything", ""), Format::V2Json);
}

#[test]
fn malformed_bodies_are_decode_errors() {
    for (format, body) in [
        (Format::V2Json, &b"not json"[..]),
        (Format::V2Json, br#"[{"traceId":"xyz","id":"1"}]"#),
        (
            Format::V2Json,
            br#"[{"traceId":"1","id":"11111111111111111"}]"#,
        ),
        (Format::V2Json, br#"{"traceId":"1","id":"1"}"#),
        (
            Format::V2Json,
            br#"[{"traceId":"1","id":"1","localEndpoint":{"ipv4":"x"}}]"#,
        ),
        (Format::V1Json, b"[{]"),
        (Format::V2Proto, b"\xff\xff\xff"),
        (Format::V1Thrift, b"\x0c"),
    ] {
        assert!(decode(format, body).is_err(), "{format:?} {body:?}");
    }
}

#[test]
fn hostile_thrift_lengths_are_refused_without_allocating() {
    // A list header claiming 2^31-1 structs, and a string claiming 2 GB.
    let list = [0x0c, 0x7f, 0xff, 0xff, 0xff];
    assert!(decode(Format::V1Thrift, &list).is_err());
    let mut s = vec![0x0c, 0, 0, 0, 1, 0x0b, 0, 3, 0x7f, 0xff, 0xff, 0xff];
    s.extend_from_slice(b"abc");
    assert!(decode(Format::V1Thrift, &s).is_err());
    // Deep nesting of unknown structs stops at the depth limit.
    let mut deep = vec![0x0c, 0, 0, 0, 1];
    for _ in 0..10_000 {
        deep.extend_from_slice(&[0x0c, 0, 99]);
    }
    assert!(decode(Format::V1Thrift, &deep).is_err());
}

/// Fuzz-style: every truncation and many corruptions of each valid body decode or fail
/// cleanly, never panic.
#[test]
fn truncated_and_corrupted_bodies_never_panic() {
    let bodies = [
        (Format::V2Json, V2_JSON.as_bytes().to_vec()),
        (Format::V1Json, V1_JSON.as_bytes().to_vec()),
        (Format::V2Proto, v2_proto()),
        (Format::V1Thrift, v1_thrift()),
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for (format, body) in &bodies {
        assert!(decode(*format, body).is_ok(), "{format:?}");
        for cut in 0..body.len() {
            let _ = decode(*format, &body[..cut]);
        }
        for _ in 0..2000 {
            let mut b = body.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % b.len();
                b[i] = (seed >> 32) as u8;
            }
            let _ = decode(*format, &b);
        }
    }
}

#[test]
fn refusals_map_to_zipkin_statuses() {
    use strata_proto::status::ApiError;
    assert_eq!(
        status_for(&ApiError::invalid_argument("x")),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_for(&ApiError::retry_after(
            "rate",
            std::time::Duration::from_secs(1)
        )),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        status_for(&ApiError::unavailable("no org id")),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
