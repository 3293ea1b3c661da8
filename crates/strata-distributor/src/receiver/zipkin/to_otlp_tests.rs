use std::net::Ipv4Addr;

use strata_proto::otlp::common::any_value::Value;
use strata_proto::otlp::trace::span::SpanKind;
use strata_proto::otlp::trace::status::StatusCode;

use super::*;
use crate::receiver::zipkin::model::{Annotation, Endpoint, Kind, ZipkinSpan};

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn base() -> ZipkinSpan {
    ZipkinSpan {
        trace_id: [7; 16],
        id: [2; 8],
        parent_id: Some([1; 8]),
        name: "get /users".into(),
        kind: Some(Kind::Server),
        timestamp: Some(1_700_000_000_000_000),
        duration: 1500,
        local_endpoint: Some(Endpoint {
            service_name: "api".into(),
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ipv6: None,
            port: 8080,
        }),
        remote_endpoint: Some(Endpoint {
            service_name: "db".into(),
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 2)),
            ipv6: None,
            port: 5432,
        }),
        annotations: vec![Annotation {
            timestamp: 1_700_000_000_000_100,
            value: "cache miss".into(),
        }],
        tags: vec![
            ("http.method".into(), s("GET")),
            ("host.name".into(), s("node-1")),
            ("otel.library.name".into(), s("my-lib")),
            ("otel.library.version".into(), s("1.2")),
        ],
        shared: false,
    }
}

#[test]
fn translates_every_field() {
    let req = to_request(vec![base()]);
    let rs = &req.resource_spans[0];
    let res = &rs.resource.as_ref().unwrap().attributes;
    assert_eq!(attr(res, "service.name"), Some(&s("api")));
    assert_eq!(attr(res, "host.name"), Some(&s("node-1")));
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("my-lib", "1.2")
    );
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(span.trace_id, vec![7; 16]);
    assert_eq!(span.span_id, vec![2; 8]);
    assert_eq!(span.parent_span_id, vec![1; 8]);
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_700_000_000_001_500_000);
    let a = &span.attributes;
    assert_eq!(attr(a, "http.method"), Some(&s("GET")));
    assert_eq!(attr(a, "net.host.ip"), Some(&s("10.0.0.1")));
    assert_eq!(attr(a, "net.host.port"), Some(&Value::IntValue(8080)));
    assert_eq!(attr(a, "peer.service"), Some(&s("db")));
    assert_eq!(attr(a, "net.peer.ip"), Some(&s("10.0.0.2")));
    assert_eq!(attr(a, "net.peer.port"), Some(&Value::IntValue(5432)));
    assert!(attr(a, "host.name").is_none() && attr(a, "otel.library.name").is_none());
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "cache miss");
    assert_eq!(span.events[0].time_unix_nano, 1_700_000_000_000_100_000);
    assert!(span.status.is_none());
}

#[test]
fn status_from_tags() {
    let mut z = base();
    z.tags = vec![
        ("otel.status_code".into(), s("STATUS_CODE_ERROR")),
        ("otel.status_description".into(), s("boom")),
    ];
    let req = to_request(vec![z]);
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    let st = span.status.as_ref().unwrap();
    assert_eq!(
        (st.code, st.message.as_str()),
        (StatusCode::Error as i32, "boom")
    );
    assert!(span
        .attributes
        .iter()
        .all(|a| !a.key.starts_with("otel.status")));

    let mut z = base();
    z.tags = vec![("error".into(), s("true"))];
    let span = &to_request(vec![z]).resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert!(attr(&span.attributes, "error").is_none());

    let mut z = base();
    z.tags = vec![
        ("otel.status_code".into(), s("ERROR")),
        ("error".into(), s("timeout")),
    ];
    let span = &to_request(vec![z]).resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(attr(&span.attributes, "error"), Some(&s("timeout")));

    let mut z = base();
    z.tags = vec![("otel.status_code".into(), s("Ok"))];
    let span = &to_request(vec![z]).resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Ok as i32);
}

#[test]
fn kinds_parents_and_absent_times() {
    let mut z = base();
    z.kind = None;
    z.parent_id = Some(z.id);
    z.timestamp = None;
    z.tags = vec![("span.kind".into(), s("internal"))];
    z.local_endpoint = None;
    let req = to_request(vec![z]);
    let rs = &req.resource_spans[0];
    assert!(rs.resource.as_ref().unwrap().attributes.is_empty());
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(span.kind, SpanKind::Internal as i32);
    assert!(span.parent_span_id.is_empty());
    assert_eq!(span.start_time_unix_nano, 0);
    assert_eq!(span.end_time_unix_nano, 1_500_000);
    assert_eq!(
        attr(&span.attributes, START_TIME_ABSENT),
        Some(&Value::BoolValue(true))
    );

    for (k, want) in [
        (Kind::Client, SpanKind::Client),
        (Kind::Producer, SpanKind::Producer),
        (Kind::Consumer, SpanKind::Consumer),
    ] {
        let mut z = base();
        z.kind = Some(k);
        let span = &to_request(vec![z]).resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.kind, want as i32);
    }
}

#[test]
fn annotation_with_attributes_as_the_collector_writes_them() {
    let mut z = base();
    z.annotations = vec![Annotation {
        timestamp: 5,
        value: r#"retry|{"attempt":2,"reason":"a|b","ok":false,"ratio":0.5}|3"#.into(),
    }];
    let span = &to_request(vec![z]).resource_spans[0].scope_spans[0].spans[0];
    let e = &span.events[0];
    assert_eq!(e.name, "retry");
    assert_eq!(attr(&e.attributes, "attempt"), Some(&Value::IntValue(2)));
    assert_eq!(attr(&e.attributes, "reason"), Some(&s("a|b")));
    assert_eq!(attr(&e.attributes, "ok"), Some(&Value::BoolValue(false)));
    assert_eq!(attr(&e.attributes, "ratio"), Some(&Value::DoubleValue(0.5)));
    assert_eq!(e.dropped_attributes_count, 3);
}

#[test]
fn spans_of_one_service_share_a_resource() {
    let mut other = base();
    other.local_endpoint.as_mut().unwrap().service_name = "web".into();
    let req = to_request(vec![base(), other, base()]);
    assert_eq!(req.resource_spans.len(), 2);
    assert_eq!(req.resource_spans[0].scope_spans[0].spans.len(), 2);
}
