use super::*;

fn decode(s: &str) -> Result<ExportTraceServiceRequest, OtlpJsonError> {
    decode_export_request(s.as_bytes())
}

fn decode_ok(s: &str) -> ExportTraceServiceRequest {
    match decode(s) {
        Ok(req) => req,
        Err(e) => panic!("decode failed: {e}"),
    }
}

/// Wraps one span object in a minimal request.
fn with_span(span: &str) -> String {
    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span}]}}]}}]}}"#)
}

fn only_span(req: &ExportTraceServiceRequest) -> &Span {
    &req.resource_spans[0].scope_spans[0].spans[0]
}

fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        key_strindex: 0,
    }
}

const TRACE_ID_HEX: &str = "5b8efff798038103d269b633813fc60c";
const TRACE_ID: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];

/// Shaped like the body the OpenTelemetry JS OTLP/HTTP JSON exporter posts.
const JS_EXPORTER_BODY: &str = r#"{
  "resourceSpans": [{
    "resource": {
      "attributes": [
        {"key": "service.name", "value": {"stringValue": "checkout"}},
        {"key": "telemetry.sdk.language", "value": {"stringValue": "nodejs"}},
        {"key": "process.pid", "value": {"intValue": 4242}}
      ],
      "droppedAttributesCount": 0
    },
    "scopeSpans": [{
      "scope": {"name": "@opentelemetry/instrumentation-http", "version": "0.45.1"},
      "spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "",
        "traceState": "",
        "name": "GET /cart",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": 1700000000250000000,
        "flags": 257,
        "attributes": [
          {"key": "http.method", "value": {"stringValue": "GET"}},
          {"key": "http.status_code", "value": {"intValue": "500"}},
          {"key": "ratio", "value": {"doubleValue": 0.25}},
          {"key": "cached", "value": {"boolValue": false}},
          {"key": "raw", "value": {"bytesValue": "AP9oaQ=="}},
          {"key": "tags", "value": {"arrayValue": {"values": [
            {"stringValue": "a"},
            {"intValue": "-1"},
            {"arrayValue": {"values": [{"boolValue": true}]}}
          ]}}},
          {"key": "nested", "value": {"kvlistValue": {"values": [
            {"key": "inner", "value": {"kvlistValue": {"values": [
              {"key": "deep", "value": {"doubleValue": "NaN"}}
            ]}}}
          ]}}}
        ],
        "droppedAttributesCount": 0,
        "events": [{
          "timeUnixNano": "1700000000100000000",
          "name": "exception",
          "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}],
          "droppedAttributesCount": 1
        }],
        "droppedEventsCount": 0,
        "links": [{
          "traceId": "00000000000000000000000000000001",
          "spanId": "1111111111111111",
          "traceState": "k=v",
          "attributes": [],
          "droppedAttributesCount": 0,
          "flags": 1
        }],
        "droppedLinksCount": 2,
        "status": {"code": 2, "message": "x"}
      }]
    }],
    "schemaUrl": "https://opentelemetry.io/schemas/1.21.0"
  }]
}"#;

#[test]
fn realistic_js_exporter_request() {
    let req = decode_ok(JS_EXPORTER_BODY);
    assert_eq!(req.resource_spans.len(), 1);
    let rs = &req.resource_spans[0];
    assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.21.0");
    let resource = rs.resource.as_ref().unwrap();
    assert_eq!(
        resource.attributes,
        vec![
            kv("service.name", s("checkout")),
            kv("telemetry.sdk.language", s("nodejs")),
            kv(
                "process.pid",
                AnyValue {
                    value: Some(any_value::Value::IntValue(4242))
                }
            ),
        ]
    );
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, "@opentelemetry/instrumentation-http");
    assert_eq!(scope.version, "0.45.1");

    let span = only_span(&req);
    assert_eq!(span.trace_id, TRACE_ID);
    assert_eq!(span.span_id, hex::decode("eee19b7ec3c1b174").unwrap());
    assert!(span.parent_span_id.is_empty());
    assert_eq!(span.name, "GET /cart");
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_700_000_000_250_000_000);
    assert_eq!(span.flags, 257);

    let attr = |k: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone())
            .and_then(|v| v.value)
            .unwrap()
    };
    assert_eq!(
        attr("http.method"),
        any_value::Value::StringValue("GET".into())
    );
    assert_eq!(attr("http.status_code"), any_value::Value::IntValue(500));
    assert_eq!(attr("ratio"), any_value::Value::DoubleValue(0.25));
    assert_eq!(attr("cached"), any_value::Value::BoolValue(false));
    assert_eq!(
        attr("raw"),
        any_value::Value::BytesValue(vec![0, 0xff, b'h', b'i'])
    );
    assert_eq!(
        attr("tags"),
        any_value::Value::ArrayValue(ArrayValue {
            values: vec![
                s("a"),
                AnyValue {
                    value: Some(any_value::Value::IntValue(-1))
                },
                AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(any_value::Value::BoolValue(true))
                        }]
                    }))
                },
            ]
        })
    );
    let any_value::Value::KvlistValue(nested) = attr("nested") else {
        panic!("nested is not a kvlist");
    };
    let Some(any_value::Value::KvlistValue(inner)) = nested.values[0]
        .value
        .as_ref()
        .and_then(|v| v.value.clone())
    else {
        panic!("inner is not a kvlist");
    };
    assert_eq!(inner.values[0].key, "deep");
    match inner.values[0]
        .value
        .as_ref()
        .and_then(|v| v.value.as_ref())
    {
        Some(any_value::Value::DoubleValue(d)) => assert!(d.is_nan()),
        other => panic!("unexpected {other:?}"),
    }

    assert_eq!(
        span.events,
        vec![Event {
            time_unix_nano: 1_700_000_000_100_000_000,
            name: "exception".into(),
            attributes: vec![kv("exception.message", s("boom"))],
            dropped_attributes_count: 1,
        }]
    );
    assert_eq!(
        span.links,
        vec![Link {
            trace_id: hex::decode("00000000000000000000000000000001").unwrap(),
            span_id: hex::decode("1111111111111111").unwrap(),
            trace_state: "k=v".into(),
            attributes: vec![],
            dropped_attributes_count: 0,
            flags: 1,
        }]
    );
    assert_eq!(span.dropped_links_count, 2);
    assert_eq!(
        span.status,
        Some(Status {
            message: "x".into(),
            code: StatusCode::Error as i32,
        })
    );
}

#[test]
fn snake_case_names_decode_the_same() {
    let camel = with_span(
        r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "parentSpanId":"0102030405060708","traceState":"a=b","startTimeUnixNano":"5",
            "endTimeUnixNano":"6","droppedAttributesCount":1,"droppedEventsCount":2,
            "droppedLinksCount":3,"attributes":[{"key":"k","value":{"intValue":"9"}},
            {"key":"d","value":{"doubleValue":2.5}},{"key":"b","value":{"bytesValue":"AQ=="}},
            {"key":"a","value":{"arrayValue":{"values":[{"boolValue":true}]}}},
            {"key":"l","value":{"kvlistValue":{"values":[{"key":"x","value":{"stringValue":"y"}}]}}}],
            "events":[{"timeUnixNano":"7","name":"e","droppedAttributesCount":4}],
            "links":[{"traceId":"01","spanId":"02","traceState":"t","droppedAttributesCount":5}]}"#,
    );
    let snake = r#"{"resource_spans":[{"schema_url":"u","resource":{"dropped_attributes_count":3},
        "scope_spans":[{"schema_url":"v","scope":{"name":"n","dropped_attributes_count":1},
        "spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
            "parent_span_id":"0102030405060708","trace_state":"a=b","start_time_unix_nano":"5",
            "end_time_unix_nano":"6","dropped_attributes_count":1,"dropped_events_count":2,
            "dropped_links_count":3,"attributes":[{"key":"k","value":{"int_value":"9"}},
            {"key":"d","value":{"double_value":2.5}},{"key":"b","value":{"bytes_value":"AQ=="}},
            {"key":"a","value":{"array_value":{"values":[{"bool_value":true}]}}},
            {"key":"l","value":{"kvlist_value":{"values":[{"key":"x","value":{"string_value":"y"}}]}}}],
            "events":[{"time_unix_nano":"7","name":"e","dropped_attributes_count":4}],
            "links":[{"trace_id":"01","span_id":"02","trace_state":"t","dropped_attributes_count":5}]}]}]}]}"#;
    let camel_req = decode_ok(&camel);
    let snake_req = decode_ok(snake);
    assert_eq!(only_span(&camel_req), only_span(&snake_req));
    let span = only_span(&snake_req);
    assert_eq!(span.trace_id, TRACE_ID);
    assert_eq!(span.start_time_unix_nano, 5);
    assert_eq!(span.dropped_links_count, 3);
    assert_eq!(span.attributes.len(), 5);
    assert_eq!(span.events[0].time_unix_nano, 7);
    assert_eq!(span.links[0].trace_id, vec![1]);
    let rs = &snake_req.resource_spans[0];
    assert_eq!(rs.schema_url, "u");
    assert_eq!(rs.resource.as_ref().unwrap().dropped_attributes_count, 3);
    assert_eq!(rs.scope_spans[0].schema_url, "v");
    assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "n");
}

#[test]
fn unknown_fields_are_ignored() {
    let body = r#"{"resourceSpans":[{"futureField":[1,2],"scopeSpans":[{"spans":[
        {"name":"x","unknownField":{"a":1},"kind":1,"status":{"deprecatedCode":1,"code":1}}]}]}],
        "extra":true}"#;
    let req = decode_ok(body);
    let span = only_span(&req);
    assert_eq!(span.name, "x");
    assert_eq!(span.kind, SpanKind::Internal as i32);
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Ok as i32);
}

#[test]
fn enum_names_and_numeric_strings() {
    let req = decode_ok(&with_span(
        r#"{"kind":"SPAN_KIND_CLIENT","status":{"code":"STATUS_CODE_ERROR"}}"#,
    ));
    assert_eq!(only_span(&req).kind, SpanKind::Client as i32);
    assert_eq!(
        only_span(&req).status.as_ref().unwrap().code,
        StatusCode::Error as i32
    );
    let req = decode_ok(&with_span(r#"{"kind":"3"}"#));
    assert_eq!(only_span(&req).kind, 3);
    let err = decode(&with_span(r#"{"kind":"SPAN_KIND_BOGUS"}"#)).unwrap_err();
    assert!(err.to_string().contains("kind"), "{err}");
}

#[test]
fn integers_as_strings_or_numbers() {
    let req = decode_ok(&with_span(
        r#"{"startTimeUnixNano":1.7e18,"endTimeUnixNano":"18446744073709551615",
            "droppedAttributesCount":"4","flags":"1","attributes":[
            {"key":"min","value":{"intValue":"-9223372036854775808"}},
            {"key":"num","value":{"intValue":12}}]}"#,
    ));
    let span = only_span(&req);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.end_time_unix_nano, u64::MAX);
    assert_eq!(span.dropped_attributes_count, 4);
    assert_eq!(span.flags, 1);
    assert_eq!(
        span.attributes[0].value.as_ref().unwrap().value,
        Some(any_value::Value::IntValue(i64::MIN))
    );
    assert_eq!(
        span.attributes[1].value.as_ref().unwrap().value,
        Some(any_value::Value::IntValue(12))
    );

    for bad in [
        r#"{"startTimeUnixNano":"-1"}"#,
        r#"{"startTimeUnixNano":"soon"}"#,
        r#"{"droppedAttributesCount":4294967296}"#,
        r#"{"startTimeUnixNano":1.5}"#,
        r#"{"attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]}"#,
    ] {
        assert!(decode(&with_span(bad)).is_err(), "{bad} should fail");
    }
}

#[test]
fn nulls_mean_unset() {
    let req = decode_ok(&with_span(
        r#"{"name":null,"traceId":null,"status":null,"attributes":null,"kind":null,
            "events":[{"name":"e","attributes":[{"key":"k","value":null}]}],
            "links":[{"traceId":"01","attributes":[{"key":"k","value":{"intValue":null}}]}]}"#,
    ));
    let span = only_span(&req);
    assert_eq!(span.name, "");
    assert!(span.trace_id.is_empty());
    assert!(span.status.is_none());
    assert!(span.attributes.is_empty());
    assert!(span.events[0].attributes[0].value.is_none());
    assert_eq!(
        span.links[0].attributes[0].value,
        Some(AnyValue { value: None })
    );
}

#[test]
fn hex_ids_round_trip() {
    let req = decode_ok(&with_span(&format!(r#"{{"traceId":"{TRACE_ID_HEX}"}}"#)));
    assert_eq!(only_span(&req).trace_id, TRACE_ID);
    assert_eq!(hex::encode(&only_span(&req).trace_id), TRACE_ID_HEX);
    // Upper case is accepted too.
    let upper = TRACE_ID_HEX.to_uppercase();
    let req = decode_ok(&with_span(&format!(r#"{{"traceId":"{upper}"}}"#)));
    assert_eq!(only_span(&req).trace_id, TRACE_ID);
}

#[test]
fn wrong_length_and_empty_ids_decode() {
    let req = decode_ok(&with_span(
        r#"{"traceId":"0102030405060708","spanId":"0102","parentSpanId":""}"#,
    ));
    let span = only_span(&req);
    assert_eq!(span.trace_id, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(span.span_id, vec![1, 2]);
    assert!(span.parent_span_id.is_empty());
    let req = decode_ok(&with_span(r#"{"traceId":"","spanId":""}"#));
    assert!(only_span(&req).trace_id.is_empty());
    assert!(only_span(&req).span_id.is_empty());
}

#[test]
fn invalid_hex_is_rejected() {
    for span in [
        r#"{"traceId":"zz8efff798038103d269b633813fc60c"}"#,
        r#"{"spanId":"eee19b7ec3c1b17"}"#,
        r#"{"parentSpanId":"W47/95gDgQPSabYzgT/GDA=="}"#,
        r#"{"traceId":1234}"#,
        r#"{"links":[{"spanId":"xyz0"}]}"#,
    ] {
        let err = decode(&with_span(span)).unwrap_err();
        assert!(
            matches!(err, OtlpJsonError::Invalid { .. }),
            "{span}: {err:?}"
        );
    }
    let err = decode(&with_span(r#"{"traceId":"zz"}"#)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid OTLP/JSON request body: resourceSpans[0].scopeSpans[0].spans[0].traceId: \
         invalid hex ID \"zz\": Invalid character 'z' at position 0"
    );
}

#[test]
fn truncated_json_is_rejected_with_position() {
    let body = &JS_EXPORTER_BODY[..200];
    let err = decode(body).unwrap_err();
    assert!(matches!(err, OtlpJsonError::Syntax(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("invalid OTLP/JSON request body: "), "{msg}");
    assert!(msg.contains("EOF while parsing"), "{msg}");
    assert!(msg.contains("line "), "{msg}");
    assert!(msg.contains("column "), "{msg}");

    let err = decode("").unwrap_err();
    assert!(matches!(err, OtlpJsonError::Syntax(_)));
}

#[test]
fn wrong_shapes_are_rejected() {
    let err = decode("[]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid OTLP/JSON request body: (root): expected an object, found an array"
    );
    let err = decode(r#"{"resourceSpans":{}}"#).unwrap_err();
    assert!(err.to_string().contains("resourceSpans: expected an array"));
    let err = decode(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]}"#);
    assert!(err.unwrap_err().to_string().contains("spans[0].name"));
    let err = decode(&with_span(
        r#"{"attributes":[{"key":"k","value":{"bytesValue":"!!"}}]}"#,
    ));
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("attributes[0].value.bytesValue: invalid base64"));
}

#[test]
fn empty_requests() {
    assert!(decode_ok("{}").resource_spans.is_empty());
    assert!(decode_ok(r#"{"resourceSpans":[]}"#)
        .resource_spans
        .is_empty());
    let req = decode_ok(r#"{"resourceSpans":[{}]}"#);
    assert_eq!(req.resource_spans, vec![ResourceSpans::default()]);
}

#[test]
fn doubles_and_bytes_variants() {
    let req = decode_ok(&with_span(
        r#"{"attributes":[
            {"key":"inf","value":{"doubleValue":"Infinity"}},
            {"key":"ninf","value":{"doubleValue":"-Infinity"}},
            {"key":"int","value":{"doubleValue":3}},
            {"key":"str","value":{"doubleValue":"1.25"}},
            {"key":"nopad","value":{"bytesValue":"AP9oaQ"}},
            {"key":"url","value":{"bytesValue":"AP9-_w=="}}]}"#,
    ));
    let values: Vec<_> = only_span(&req)
        .attributes
        .iter()
        .map(|a| a.value.clone().unwrap().value.unwrap())
        .collect();
    assert_eq!(
        values,
        vec![
            any_value::Value::DoubleValue(f64::INFINITY),
            any_value::Value::DoubleValue(f64::NEG_INFINITY),
            any_value::Value::DoubleValue(3.0),
            any_value::Value::DoubleValue(1.25),
            any_value::Value::BytesValue(vec![0, 0xff, b'h', b'i']),
            any_value::Value::BytesValue(vec![0, 0xff, 0x7e, 0xff]),
        ]
    );
}

#[test]
fn legacy_instrumentation_library_names() {
    let body = r#"{"resourceSpans":[{"instrumentationLibrarySpans":[{
        "instrumentationLibrary":{"name":"old","version":"0.1"},
        "spans":[{"name":"s"}]}]}]}"#;
    let req = decode_ok(body);
    let ss = &req.resource_spans[0].scope_spans[0];
    assert_eq!(ss.scope.as_ref().unwrap().name, "old");
    assert_eq!(ss.spans[0].name, "s");
}

#[test]
fn entity_refs() {
    let body = r#"{"resourceSpans":[{"resource":{"entityRefs":[
        {"type":"service","idKeys":["service.name"],"descriptionKeys":[]}]}}]}"#;
    let req = decode_ok(body);
    let refs = &req.resource_spans[0].resource.as_ref().unwrap().entity_refs;
    assert_eq!(refs[0].r#type, "service");
    assert_eq!(refs[0].id_keys, vec!["service.name".to_string()]);
}

#[test]
fn decoded_request_round_trips_through_query_json() {
    // The ingest and query encodings differ only in ID encoding (hex vs base64).
    let req = decode_ok(JS_EXPORTER_BODY);
    let json = crate::json::resource_spans_json(&req.resource_spans[0]);
    let span = &json["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], "W47/95gDgQPSabYzgT/GDA==");
    assert_eq!(span["kind"], "SPAN_KIND_SERVER");
    assert_eq!(span["startTimeUnixNano"], "1700000000000000000");
    assert_eq!(span["status"]["code"], "STATUS_CODE_ERROR");
}
