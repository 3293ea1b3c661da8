use strata_proto::otlp::common::any_value::Value;
use strata_proto::otlp::trace::span::SpanKind;
use strata_proto::otlp::trace::status::StatusCode;

use super::*;
use crate::receiver::jaeger::model::{Log, SpanRef};

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn tags(t: &[(&str, Value)]) -> Tags {
    t.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn base() -> JaegerSpan {
    JaegerSpan {
        trace_id: [9; 16],
        span_id: [2; 8],
        parent_span_id: [1; 8],
        operation_name: "GET /cart".into(),
        start_unix_nano: 1_700_000_000_000_000_000,
        duration_nano: 1_500_000,
        tags: tags(&[
            ("span.kind", s("server")),
            ("http.status_code", Value::IntValue(200)),
            ("cart.ratio", Value::DoubleValue(0.5)),
            ("cart.cached", Value::BoolValue(true)),
            ("otel.scope.name", s("shop.cart")),
            ("otel.scope.version", s("1.4.0")),
        ]),
        logs: vec![Log {
            time_unix_nano: 1_700_000_000_000_100_000,
            fields: tags(&[("event", s("cache miss")), ("attempt", Value::IntValue(2))]),
        }],
        ..Default::default()
    }
}

fn batch(spans: Vec<JaegerSpan>) -> Batch {
    Batch {
        process: Some(Process {
            service_name: "checkout".into(),
            tags: tags(&[
                ("hostname", s("node-1")),
                ("jaeger.version", s("Python-4.8.0")),
                ("deployment.environment", s("test")),
            ]),
        }),
        spans,
    }
}

fn one(spans: Vec<JaegerSpan>) -> ExportTraceServiceRequest {
    to_request(vec![batch(spans)])
}

#[test]
fn translates_every_field() {
    let req = one(vec![base()]);
    let rs = &req.resource_spans[0];
    let res = &rs.resource.as_ref().unwrap().attributes;
    assert_eq!(attr(res, "service.name"), Some(&s("checkout")));
    assert_eq!(attr(res, "host.name"), Some(&s("node-1")));
    assert_eq!(
        attr(res, "opencensus.exporterversion"),
        Some(&s("Jaeger-Python-4.8.0"))
    );
    assert_eq!(attr(res, "deployment.environment"), Some(&s("test")));
    assert!(attr(res, "hostname").is_none() && attr(res, "jaeger.version").is_none());
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("shop.cart", "1.4.0")
    );
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(span.trace_id, vec![9; 16]);
    assert_eq!(span.parent_span_id, vec![1; 8]);
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        1_500_000
    );
    let a = &span.attributes;
    assert_eq!(attr(a, "http.status_code"), Some(&Value::IntValue(200)));
    assert_eq!(attr(a, "cart.ratio"), Some(&Value::DoubleValue(0.5)));
    assert_eq!(attr(a, "cart.cached"), Some(&Value::BoolValue(true)));
    assert!(attr(a, "span.kind").is_none() && attr(a, "otel.scope.name").is_none());
    assert_eq!(span.events[0].name, "cache miss");
    assert_eq!(
        attr(&span.events[0].attributes, "attempt"),
        Some(&Value::IntValue(2))
    );
    assert!(span.status.is_none());
}

#[test]
fn statuses() {
    let status_of = |t: &[(&str, Value)], kind: &str| {
        let mut sp = base();
        sp.tags = tags(t);
        sp.tags.push(("span.kind".into(), s(kind)));
        one(vec![sp]).resource_spans[0].scope_spans[0].spans[0]
            .status
            .clone()
    };
    let st = status_of(
        &[
            ("error", Value::BoolValue(true)),
            ("otel.status_code", s("ERROR")),
            ("otel.status_description", s("timeout")),
        ],
        "client",
    )
    .unwrap();
    assert_eq!(
        (st.code, st.message.as_str()),
        (StatusCode::Error as i32, "timeout")
    );
    let st = status_of(&[("otel.status_code", s("ok"))], "client").unwrap();
    assert_eq!(st.code, StatusCode::Ok as i32);
    let st = status_of(&[("http.status_code", Value::IntValue(503))], "server").unwrap();
    assert_eq!(st.code, StatusCode::Error as i32);
    assert!(status_of(&[("http.status_code", Value::IntValue(404))], "server").is_none());
    let st = status_of(&[("http.status_code", s("404"))], "client").unwrap();
    assert_eq!(st.code, StatusCode::Error as i32);
    // error=false is just an attribute.
    assert!(status_of(&[("error", Value::BoolValue(false))], "client").is_none());
}

#[test]
fn references_give_parent_and_links() {
    let mut sp = base();
    sp.parent_span_id = [0; 8];
    sp.references = vec![
        SpanRef {
            ref_type: RefType::FollowsFrom,
            trace_id: [9; 16],
            span_id: [5; 8],
        },
        SpanRef {
            ref_type: RefType::ChildOf,
            trace_id: [9; 16],
            span_id: [4; 8],
        },
        SpanRef {
            ref_type: RefType::ChildOf,
            trace_id: [8; 16],
            span_id: [3; 8],
        },
    ];
    let req = one(vec![sp.clone()]);
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.parent_span_id, vec![4; 8]);
    assert_eq!(span.links.len(), 2);
    assert_eq!(
        attr(&span.links[0].attributes, "opentracing.ref_type"),
        Some(&s("follows_from"))
    );
    assert_eq!(span.links[1].trace_id, vec![8; 16]);

    sp.references.remove(1);
    let req = one(vec![sp]);
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(
        span.parent_span_id,
        vec![5; 8],
        "FOLLOWS_FROM within the trace"
    );
}

#[test]
fn a_span_process_overrides_the_batch_process() {
    let mut other = base();
    other.process = Some(Process {
        service_name: "payments".into(),
        tags: vec![],
    });
    let req = one(vec![base(), other]);
    assert_eq!(req.resource_spans.len(), 2);
    let res = &req.resource_spans[1].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(res, "service.name"), Some(&s("payments")));
}
