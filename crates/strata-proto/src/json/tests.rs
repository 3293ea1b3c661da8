use serde_json::json;

use super::*;
use crate::otlp::trace::span;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn str_kv(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

fn hex(s: &str) -> Vec<u8> {
    ::hex::decode(s).unwrap()
}

/// A span with every field set.
fn full_span() -> Span {
    Span {
        trace_id: hex("5b8efff798038103d269b633813fc60c"),
        span_id: hex("eee19b7ec3c1b174"),
        trace_state: "vendor=abc".into(),
        parent_span_id: hex("0102030405060708"),
        flags: 257,
        name: "GET /api".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes: vec![
            str_kv("s", "v"),
            kv("b", any_value::Value::BoolValue(true)),
            kv("i", any_value::Value::IntValue(-5)),
            kv("d", any_value::Value::DoubleValue(1.5)),
            kv(
                "a",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::StringValue("x".into())),
                        },
                        AnyValue {
                            value: Some(any_value::Value::IntValue(7)),
                        },
                    ],
                }),
            ),
            kv(
                "kv",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![str_kv("inner", "y")],
                }),
            ),
            kv(
                "by",
                any_value::Value::BytesValue(vec![0, 0xff, b'h', b'i']),
            ),
        ],
        dropped_attributes_count: 1,
        events: vec![Event {
            time_unix_nano: 1_700_000_000_100_000_000,
            name: "exception".into(),
            attributes: vec![str_kv("exception.message", "boom")],
            dropped_attributes_count: 2,
        }],
        dropped_events_count: 3,
        links: vec![Link {
            trace_id: hex("00000000000000000000000000000001"),
            span_id: hex("1111111111111111"),
            trace_state: "k=v".into(),
            attributes: vec![str_kv("link", "l")],
            dropped_attributes_count: 4,
            flags: 1,
        }],
        dropped_links_count: 5,
        status: Some(Status {
            message: "failed".into(),
            code: StatusCode::Error as i32,
        }),
    }
}

fn full_resource_spans() -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![str_kv("service.name", "api")],
            dropped_attributes_count: 6,
            entity_refs: vec![],
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "lib".into(),
                version: "1.0.0".into(),
                attributes: vec![str_kv("scope.attr", "z")],
                dropped_attributes_count: 7,
            }),
            spans: vec![full_span()],
            schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
        }],
        schema_url: "https://opentelemetry.io/schemas/1.20.0".into(),
    }
}

fn full_span_golden() -> Value {
    json!({
        "traceId": "W47/95gDgQPSabYzgT/GDA==",
        "spanId": "7uGbfsPBsXQ=",
        "traceState": "vendor=abc",
        "parentSpanId": "AQIDBAUGBwg=",
        "flags": 257,
        "name": "GET /api",
        "kind": "SPAN_KIND_SERVER",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": [
            {"key": "s", "value": {"stringValue": "v"}},
            {"key": "b", "value": {"boolValue": true}},
            {"key": "i", "value": {"intValue": "-5"}},
            {"key": "d", "value": {"doubleValue": 1.5}},
            {"key": "a", "value": {"arrayValue": {"values": [
                {"stringValue": "x"},
                {"intValue": "7"}
            ]}}},
            {"key": "kv", "value": {"kvlistValue": {"values": [
                {"key": "inner", "value": {"stringValue": "y"}}
            ]}}},
            {"key": "by", "value": {"bytesValue": "AP9oaQ=="}}
        ],
        "droppedAttributesCount": 1,
        "events": [{
            "timeUnixNano": "1700000000100000000",
            "name": "exception",
            "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}],
            "droppedAttributesCount": 2
        }],
        "droppedEventsCount": 3,
        "links": [{
            "traceId": "AAAAAAAAAAAAAAAAAAAAAQ==",
            "spanId": "ERERERERERE=",
            "traceState": "k=v",
            "attributes": [{"key": "link", "value": {"stringValue": "l"}}],
            "droppedAttributesCount": 4,
            "flags": 1
        }],
        "droppedLinksCount": 5,
        "status": {"message": "failed", "code": "STATUS_CODE_ERROR"}
    })
}

#[test]
fn span_with_every_field() {
    assert_eq!(span_json(&full_span()), full_span_golden());
}

#[test]
fn v1_trace_with_every_field() {
    let trace = Trace {
        resource_spans: vec![full_resource_spans()],
    };
    let expected = json!({
        "batches": [{
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}],
                "droppedAttributesCount": 6
            },
            "scopeSpans": [{
                "scope": {
                    "name": "lib",
                    "version": "1.0.0",
                    "attributes": [{"key": "scope.attr", "value": {"stringValue": "z"}}],
                    "droppedAttributesCount": 7
                },
                "spans": [full_span_golden()],
                "schemaUrl": "https://opentelemetry.io/schemas/1.21.0"
            }],
            "schemaUrl": "https://opentelemetry.io/schemas/1.20.0"
        }]
    });
    assert_eq!(trace_v1_json(&trace), expected);
    // The canonical (v2) form differs only in the top-level key.
    let canonical = trace_json(&trace);
    assert_eq!(canonical["resourceSpans"], expected["batches"]);
    assert!(canonical.get("batches").is_none());
}

#[test]
fn zero_fields_are_omitted() {
    let span = Span::default();
    assert_eq!(span_json(&span), json!({"status": {}}));

    let span = Span {
        trace_id: hex("5b8efff798038103d269b633813fc60c"),
        span_id: hex("eee19b7ec3c1b174"),
        kind: SpanKind::Unspecified as i32,
        status: Some(Status {
            message: String::new(),
            code: StatusCode::Unset as i32,
        }),
        events: vec![Event::default()],
        links: vec![Link::default()],
        attributes: vec![KeyValue {
            key: "k".into(),
            value: None,
            key_strindex: 0,
        }],
        ..Span::default()
    };
    assert_eq!(
        span_json(&span),
        json!({
            "traceId": "W47/95gDgQPSabYzgT/GDA==",
            "spanId": "7uGbfsPBsXQ=",
            "attributes": [{"key": "k"}],
            "events": [{}],
            "links": [{}],
            "status": {}
        })
    );

    let rs = ResourceSpans {
        resource: Some(Resource::default()),
        scope_spans: vec![ScopeSpans::default()],
        schema_url: String::new(),
    };
    assert_eq!(
        resource_spans_json(&rs),
        json!({"resource": {}, "scopeSpans": [{}]})
    );
    assert_eq!(resource_spans_json(&ResourceSpans::default()), json!({}));
    assert_eq!(status_json(&Status::default()), json!({}));
}

#[test]
fn oneof_members_keep_zero_values() {
    let cases = [
        (
            any_value::Value::StringValue(String::new()),
            json!({"stringValue": ""}),
        ),
        (
            any_value::Value::BoolValue(false),
            json!({"boolValue": false}),
        ),
        (any_value::Value::IntValue(0), json!({"intValue": "0"})),
        (
            any_value::Value::DoubleValue(0.0),
            json!({"doubleValue": 0}),
        ),
        (
            any_value::Value::BytesValue(vec![]),
            json!({"bytesValue": ""}),
        ),
        (
            any_value::Value::ArrayValue(ArrayValue::default()),
            json!({"arrayValue": {}}),
        ),
        (
            any_value::Value::KvlistValue(KeyValueList::default()),
            json!({"kvlistValue": {}}),
        ),
    ];
    for (value, expected) in cases {
        let got = any_value_json(&AnyValue { value: Some(value) });
        assert_eq!(got, expected);
    }
    assert_eq!(any_value_json(&AnyValue { value: None }), json!({}));
}

#[test]
fn doubles() {
    assert_eq!(double_json(f64::NAN), json!("NaN"));
    assert_eq!(double_json(f64::INFINITY), json!("Infinity"));
    assert_eq!(double_json(f64::NEG_INFINITY), json!("-Infinity"));
    assert_eq!(serde_json::to_string(&double_json(1.0)).unwrap(), "1");
    assert_eq!(serde_json::to_string(&double_json(-42.0)).unwrap(), "-42");
    assert_eq!(serde_json::to_string(&double_json(1.5)).unwrap(), "1.5");
    assert_eq!(serde_json::to_string(&double_json(0.1)).unwrap(), "0.1");
    assert_eq!(double_json(1e300), json!(1e300));
}

#[test]
fn int64_extremes_are_strings() {
    let v = any_value_json(&AnyValue {
        value: Some(any_value::Value::IntValue(i64::MIN)),
    });
    assert_eq!(v, json!({"intValue": "-9223372036854775808"}));
    let span = Span {
        start_time_unix_nano: u64::MAX,
        ..Span::default()
    };
    assert_eq!(
        span_json(&span)["startTimeUnixNano"],
        json!("18446744073709551615")
    );
}

#[test]
fn unknown_enum_values_fall_back_to_numbers() {
    let span = Span {
        kind: 42,
        status: Some(Status {
            message: String::new(),
            code: 9,
        }),
        ..Span::default()
    };
    assert_eq!(span_json(&span), json!({"kind": 42, "status": {"code": 9}}));
    assert_eq!(
        span_kind_json(span::SpanKind::Consumer as i32),
        json!("SPAN_KIND_CONSUMER")
    );
    let ok = Status {
        message: String::new(),
        code: StatusCode::Ok as i32,
    };
    assert_eq!(status_json(&ok), json!({"code": "STATUS_CODE_OK"}));
}

#[test]
fn v1_empty_trace() {
    assert_eq!(trace_v1_json(&Trace::default()), json!({}));
}

#[test]
fn v2_complete() {
    let resp = TraceByIdResponse {
        trace: Some(Trace {
            resource_spans: vec![full_resource_spans()],
        }),
        metrics: Some(TraceByIdMetrics {
            inspected_bytes: 1234,
        }),
        status: PartialStatus::Complete as i32,
        message: String::new(),
    };
    let got = trace_by_id_v2_json(&resp);
    assert_eq!(
        got,
        json!({
            "trace": {"resourceSpans": [resource_spans_json(&full_resource_spans())]},
            "metrics": {"inspectedBytes": "1234"}
        })
    );
}

#[test]
fn v2_empty_trace_shape() {
    let empty_trace = TraceByIdResponse {
        trace: Some(Trace::default()),
        metrics: Some(TraceByIdMetrics { inspected_bytes: 7 }),
        status: 0,
        message: String::new(),
    };
    let expected = json!({"trace": {}, "metrics": {"inspectedBytes": "7"}});
    assert_eq!(trace_by_id_v2_json(&empty_trace), expected);

    // No trace at all: still `"trace":{}`.
    let no_trace = TraceByIdResponse {
        trace: None,
        ..empty_trace
    };
    assert_eq!(trace_by_id_v2_json(&no_trace), expected);

    // No metrics / zero inspected bytes: `"metrics":{}`.
    assert_eq!(
        trace_by_id_v2_json(&TraceByIdResponse::default()),
        json!({"trace": {}, "metrics": {}})
    );
    assert_eq!(
        serde_json::to_string(&trace_by_id_v2_json(&TraceByIdResponse::default())).unwrap(),
        r#"{"metrics":{},"trace":{}}"#
    );
}

#[test]
fn v2_partial_shape() {
    let span = Span {
        trace_id: hex("5b8efff798038103d269b633813fc60c"),
        span_id: hex("eee19b7ec3c1b174"),
        name: "s".into(),
        ..Span::default()
    };
    let resp = TraceByIdResponse {
        trace: Some(Trace {
            resource_spans: vec![ResourceSpans {
                resource: None,
                scope_spans: vec![ScopeSpans {
                    scope: None,
                    spans: vec![span],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }),
        metrics: Some(TraceByIdMetrics {
            inspected_bytes: 5_000_001,
        }),
        status: PartialStatus::Partial as i32,
        message: "Trace exceeds maximum size of 5000000 bytes, a partial trace is returned".into(),
    };
    assert_eq!(
        trace_by_id_v2_json(&resp),
        json!({
            "trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{
                "traceId": "W47/95gDgQPSabYzgT/GDA==",
                "spanId": "7uGbfsPBsXQ=",
                "name": "s",
                "status": {}
            }]}]}]},
            "metrics": {"inspectedBytes": "5000001"},
            "status": "PARTIAL",
            "message": "Trace exceeds maximum size of 5000000 bytes, a partial trace is returned"
        })
    );
}

#[test]
fn entity_refs() {
    let resource = Resource {
        attributes: vec![],
        dropped_attributes_count: 0,
        entity_refs: vec![EntityRef {
            schema_url: String::new(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into()],
            description_keys: vec![],
        }],
    };
    assert_eq!(
        resource_json(&resource),
        json!({"entityRefs": [{"type": "service", "idKeys": ["service.name"]}]})
    );
}
