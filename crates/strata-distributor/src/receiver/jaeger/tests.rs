//! Decoding Jaeger Thrift as the HTTP body and as agent datagrams (compact and binary), and
//! refusing malformed input without panicking.

use ::thrift::protocol::{
    TBinaryOutputProtocol, TCompactOutputProtocol, TFieldIdentifier, TListIdentifier,
    TMessageIdentifier, TMessageType, TOutputProtocol, TStructIdentifier, TType,
};
use strata_proto::otlp::common::any_value::Value;
use strata_proto::otlp::trace::span::SpanKind;

use super::udp::{decode, Protocol};
use super::*;

fn field(p: &mut dyn TOutputProtocol, ty: TType, id: i16) {
    p.write_field_begin(&TFieldIdentifier::new::<Option<String>, String, i16>(
        None, ty, id,
    ))
    .unwrap();
}

fn tag(p: &mut dyn TOutputProtocol, key: &str, v: &Value) {
    p.write_struct_begin(&TStructIdentifier::new("Tag"))
        .unwrap();
    field(p, TType::String, 1);
    p.write_string(key).unwrap();
    field(p, TType::I32, 2);
    match v {
        Value::StringValue(s) => {
            p.write_i32(0).unwrap();
            field(p, TType::String, 3);
            p.write_string(s).unwrap();
        }
        Value::DoubleValue(d) => {
            p.write_i32(1).unwrap();
            field(p, TType::Double, 4);
            p.write_double(*d).unwrap();
        }
        Value::BoolValue(b) => {
            p.write_i32(2).unwrap();
            field(p, TType::Bool, 5);
            p.write_bool(*b).unwrap();
        }
        Value::IntValue(i) => {
            p.write_i32(3).unwrap();
            field(p, TType::I64, 6);
            p.write_i64(*i).unwrap();
        }
        Value::BytesValue(b) => {
            p.write_i32(4).unwrap();
            field(p, TType::String, 7);
            p.write_bytes(b).unwrap();
        }
        _ => unreachable!(),
    }
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
}

fn tags(p: &mut dyn TOutputProtocol, id: i16, t: &[(&str, Value)]) {
    field(p, TType::List, id);
    p.write_list_begin(&TListIdentifier::new(TType::Struct, t.len() as i32))
        .unwrap();
    for (k, v) in t {
        tag(p, k, v);
    }
    p.write_list_end().unwrap();
}

/// A batch: process "checkout", one server span with typed tags and a log.
fn write_batch(p: &mut dyn TOutputProtocol) {
    p.write_struct_begin(&TStructIdentifier::new("Batch"))
        .unwrap();
    field(p, TType::Struct, 1);
    p.write_struct_begin(&TStructIdentifier::new("Process"))
        .unwrap();
    field(p, TType::String, 1);
    p.write_string("checkout").unwrap();
    tags(p, 2, &[("hostname", Value::StringValue("node-1".into()))]);
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
    field(p, TType::List, 2);
    p.write_list_begin(&TListIdentifier::new(TType::Struct, 1))
        .unwrap();
    p.write_struct_begin(&TStructIdentifier::new("Span"))
        .unwrap();
    for (id, v) in [(1, 0x1c80319c_i64), (2, 0x0af76519_i64), (3, 7), (4, 6)] {
        field(p, TType::I64, id);
        p.write_i64(v).unwrap();
    }
    field(p, TType::String, 5);
    p.write_string("GET /cart").unwrap();
    field(p, TType::I32, 7);
    p.write_i32(1).unwrap();
    field(p, TType::I64, 8);
    p.write_i64(1_700_000_000_000_000).unwrap();
    field(p, TType::I64, 9);
    p.write_i64(1500).unwrap();
    tags(
        p,
        10,
        &[
            ("span.kind", Value::StringValue("server".into())),
            ("http.status_code", Value::IntValue(200)),
            ("cart.ratio", Value::DoubleValue(0.5)),
            ("cart.cached", Value::BoolValue(true)),
            ("blob", Value::BytesValue(vec![0, 1, 255])),
        ],
    );
    field(p, TType::List, 11);
    p.write_list_begin(&TListIdentifier::new(TType::Struct, 1))
        .unwrap();
    p.write_struct_begin(&TStructIdentifier::new("Log"))
        .unwrap();
    field(p, TType::I64, 1);
    p.write_i64(1_700_000_000_000_100).unwrap();
    tags(p, 2, &[("event", Value::StringValue("cache miss".into()))]);
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
    p.write_list_end().unwrap();
    // An unknown field is skipped.
    field(p, TType::Double, 42);
    p.write_double(1.0).unwrap();
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
    p.write_list_end().unwrap();
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
}

pub(crate) fn http_body() -> Vec<u8> {
    let mut buf = Vec::new();
    write_batch(&mut TBinaryOutputProtocol::new(&mut buf, true));
    buf
}

fn agent(p: &mut dyn TOutputProtocol) {
    p.write_message_begin(&TMessageIdentifier::new(
        "emitBatch",
        TMessageType::OneWay,
        1,
    ))
    .unwrap();
    p.write_struct_begin(&TStructIdentifier::new("emitBatch_args"))
        .unwrap();
    field(p, TType::Struct, 1);
    write_batch(p);
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
    p.write_message_end().unwrap();
}

pub(crate) fn compact_datagram() -> Vec<u8> {
    let mut buf = Vec::new();
    agent(&mut TCompactOutputProtocol::new(&mut buf));
    buf
}

pub(crate) fn binary_datagram() -> Vec<u8> {
    let mut buf = Vec::new();
    agent(&mut TBinaryOutputProtocol::new(&mut buf, true));
    buf
}

fn check(req: &ExportTraceServiceRequest) {
    let rs = &req.resource_spans[0];
    let res = &rs.resource.as_ref().unwrap().attributes;
    assert_eq!(res[0].key, "service.name");
    assert!(res.iter().any(|a| a.key == "host.name"));
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(
        span.trace_id,
        [0, 0, 0, 0, 0x0a, 0xf7, 0x65, 0x19, 0, 0, 0, 0, 0x1c, 0x80, 0x31, 0x9c]
    );
    assert_eq!(span.span_id, 7u64.to_be_bytes());
    assert_eq!(span.parent_span_id, 6u64.to_be_bytes());
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_700_000_000_001_500_000);
    let value = |k: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone()?.value)
    };
    assert_eq!(value("http.status_code"), Some(Value::IntValue(200)));
    assert_eq!(value("cart.ratio"), Some(Value::DoubleValue(0.5)));
    assert_eq!(value("cart.cached"), Some(Value::BoolValue(true)));
    assert_eq!(value("blob"), Some(Value::BytesValue(vec![0, 1, 255])));
    assert_eq!(span.events[0].name, "cache miss");
    assert_eq!(span.events[0].time_unix_nano, 1_700_000_000_000_100_000);
}

#[test]
fn http_body_agent_compact_and_agent_binary_decode_alike() {
    let http = decode_http(&http_body()).unwrap();
    check(&http);
    assert_eq!(
        decode(Protocol::Compact, &compact_datagram()).unwrap(),
        http
    );
    assert_eq!(decode(Protocol::Binary, &binary_datagram()).unwrap(), http);
}

#[test]
fn agent_zipkin_batches_decode_too() {
    let mut buf = Vec::new();
    {
        let p = &mut TCompactOutputProtocol::new(&mut buf);
        p.write_message_begin(&TMessageIdentifier::new(
            "emitZipkinBatch",
            TMessageType::OneWay,
            1,
        ))
        .unwrap();
        p.write_struct_begin(&TStructIdentifier::new("args"))
            .unwrap();
        field(p, TType::List, 1);
        p.write_list_begin(&TListIdentifier::new(TType::Struct, 1))
            .unwrap();
        p.write_struct_begin(&TStructIdentifier::new("Span"))
            .unwrap();
        for (id, v) in [(1, 11_i64), (4, 12)] {
            field(p, TType::I64, id);
            p.write_i64(v).unwrap();
        }
        field(p, TType::String, 3);
        p.write_string("zipkin-span").unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
        p.write_list_end().unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
        p.write_message_end().unwrap();
    }
    let req = decode(Protocol::Compact, &buf).unwrap();
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "zipkin-span");
    assert_eq!(span.span_id, 12u64.to_be_bytes());
}

#[test]
fn malformed_input_is_an_error() {
    assert!(decode_http(b"").is_err());
    assert!(decode_http(&[0x0f, 0, 2, 0x0c, 0x7f, 0xff, 0xff, 0xff]).is_err());
    assert!(decode(Protocol::Compact, b"garbage").is_err());
    assert!(decode(Protocol::Binary, b"garbage").is_err());
    // A well-formed message for another method.
    let mut buf = Vec::new();
    TCompactOutputProtocol::new(&mut buf)
        .write_message_begin(&TMessageIdentifier::new(
            "getSampling",
            TMessageType::Call,
            1,
        ))
        .unwrap();
    assert!(decode(Protocol::Compact, &buf).is_err());
    // The binary datagram read as compact, and the reverse.
    assert!(decode(Protocol::Compact, &binary_datagram()).is_err());
    assert!(decode(Protocol::Binary, &compact_datagram()).is_err());
}

/// Fuzz-style: truncations and random corruptions never panic.
#[test]
fn truncated_and_corrupted_input_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let inputs: [(&str, Vec<u8>); 3] = [
        ("http", http_body()),
        ("compact", compact_datagram()),
        ("binary", binary_datagram()),
    ];
    for (name, body) in &inputs {
        let run = |b: &[u8]| match *name {
            "http" => decode_http(b).is_ok(),
            "compact" => decode(Protocol::Compact, b).is_ok(),
            _ => decode(Protocol::Binary, b).is_ok(),
        };
        assert!(run(body), "{name}");
        for cut in 0..body.len() {
            let _ = run(&body[..cut]);
        }
        for _ in 0..3000 {
            let mut b = body.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % b.len();
                b[i] = (seed >> 32) as u8;
            }
            let _ = run(&b);
        }
    }
}

/// The protobuf model of the batch [`write_batch`] writes, the parent as a `CHILD_OF`
/// reference (the protobuf model has no parent field).
fn proto_batch() -> strata_proto::jaeger_api_v2::Batch {
    use strata_proto::jaeger_api_v2 as pb;
    let kv = |key: &str, v: Value| {
        let mut k = pb::KeyValue {
            key: key.into(),
            ..Default::default()
        };
        match v {
            Value::StringValue(s) => k.v_str = s,
            Value::BoolValue(b) => {
                k.v_type = pb::ValueType::Bool as i32;
                k.v_bool = b
            }
            Value::IntValue(i) => {
                k.v_type = pb::ValueType::Int64 as i32;
                k.v_int64 = i
            }
            Value::DoubleValue(d) => {
                k.v_type = pb::ValueType::Float64 as i32;
                k.v_float64 = d
            }
            Value::BytesValue(b) => {
                k.v_type = pb::ValueType::Binary as i32;
                k.v_binary = b.into()
            }
            _ => unreachable!(),
        }
        k
    };
    let trace_id = vec![
        0, 0, 0, 0, 0x0a, 0xf7, 0x65, 0x19, 0, 0, 0, 0, 0x1c, 0x80, 0x31, 0x9c,
    ];
    let ts = |us: i64| prost_types::Timestamp {
        seconds: us / 1_000_000,
        nanos: (us % 1_000_000) as i32 * 1000,
    };
    pb::Batch {
        process: Some(pb::Process {
            service_name: "checkout".into(),
            tags: vec![kv("hostname", Value::StringValue("node-1".into()))],
        }),
        spans: vec![pb::Span {
            trace_id: trace_id.clone().into(),
            span_id: 7u64.to_be_bytes().to_vec().into(),
            operation_name: "GET /cart".into(),
            references: vec![pb::SpanRef {
                trace_id: trace_id.into(),
                span_id: 6u64.to_be_bytes().to_vec().into(),
                ref_type: pb::SpanRefType::ChildOf as i32,
            }],
            flags: 1,
            start_time: Some(ts(1_700_000_000_000_000)),
            duration: Some(prost_types::Duration {
                seconds: 0,
                nanos: 1_500_000,
            }),
            tags: vec![
                kv("span.kind", Value::StringValue("server".into())),
                kv("http.status_code", Value::IntValue(200)),
                kv("cart.ratio", Value::DoubleValue(0.5)),
                kv("cart.cached", Value::BoolValue(true)),
                kv("blob", Value::BytesValue(vec![0, 1, 255])),
            ],
            logs: vec![pb::Log {
                timestamp: Some(ts(1_700_000_000_000_100)),
                fields: vec![kv("event", Value::StringValue("cache miss".into()))],
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn protobuf_batches_translate_like_thrift_ones() {
    let from_proto = to_otlp::to_request(vec![proto::batch(proto_batch()).unwrap()]);
    check(&from_proto);
    assert_eq!(from_proto, decode_http(&http_body()).unwrap());
}

#[test]
fn protobuf_ids_of_the_wrong_length_are_refused() {
    let mut b = proto_batch();
    b.spans[0].trace_id = vec![1; 17].into();
    assert!(proto::batch(b).is_err());
    let mut b = proto_batch();
    b.spans[0].span_id = vec![1; 9].into();
    assert!(proto::batch(b).is_err());
}
