//! Batches built from OTLP spans, and helpers shared by the tag tests.

use arrow_array::{BooleanArray, RecordBatch};
use strata_block::{ResourceCtx, ScopeCtx, SpanBatchBuilder};
use strata_common::TraceId;
use strata_engine::tags::{
    TagNamesCollector, TagScope, TagTarget, TagValue, TagValueType, TagValuesCollector,
    DEFAULT_MAX_BYTES,
};
use strata_proto::otlp::common::{any_value::Value, InstrumentationScope, KeyValueList};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::span::{Event, Link};
use strata_proto::otlp::trace::{Span, Status};
use strata_traceql::{Attribute, AttributeScope};

pub use strata_testkit::{array as arr, kv, resource_with as resource, s};

pub fn span(trace: u8, id: u8, parent: u8, name: &str, kind: i32) -> Span {
    let trace = TraceId([trace; 16]);
    let sid = u64::from_be_bytes([id; 8]);
    Span {
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        kind,
        ..strata_testkit::span(&trace, sid, name, 1_000 + u64::from(id), 2_000)
    }
}

pub struct Row {
    resource: Option<Resource>,
    scope: Option<InstrumentationScope>,
    span: Span,
}

pub fn build(rows: &[Row]) -> RecordBatch {
    let mut b = SpanBatchBuilder::default();
    for r in rows {
        let res = ResourceCtx::new(r.resource.as_ref(), "");
        let scope = ScopeCtx {
            scope: r.scope.as_ref(),
            schema_url: "",
        };
        let tid = TraceId::from_slice(&r.span.trace_id).expect("trace id");
        b.append(&tid, &res, &scope, &r.span).expect("append");
    }
    b.finish().expect("finish")
}

/// Trace 1: root "GET /users" (server, error) and child "SELECT" (client) under service
/// `frontend` with scope `lib-a`; trace 2: root "consume" (consumer) under `worker`, no scope.
pub fn rows_trace1() -> Vec<Row> {
    let res = resource(vec![
        kv("service.name", s("frontend")),
        kv("host.name", s("h1")),
    ]);
    let scope = InstrumentationScope {
        name: "lib-a".into(),
        version: "1.0".into(),
        attributes: vec![kv("lib.attr", s("la"))],
        ..Default::default()
    };
    let mut root = span(1, 1, 0, "GET /users", 2);
    root.status = Some(Status {
        code: 2,
        message: "boom".into(),
    });
    root.attributes = vec![
        kv("http.method", s("GET")),
        kv("http.status_code", Value::IntValue(500)),
        kv("ratio", Value::DoubleValue(0.5)),
        kv("cached", Value::BoolValue(true)),
        kv("tags", arr(vec![s("a"), s("b")])),
        kv("nums", arr(vec![Value::IntValue(1), Value::IntValue(2)])),
        kv("mixed", arr(vec![s("x"), Value::IntValue(1)])),
        kv("with space", s("v 1")),
        kv("a/b", s("slash")),
        kv("empty", s("")),
        kv("blob", Value::BytesValue(vec![1, 2])),
        kv(
            "kv",
            Value::KvlistValue(KeyValueList {
                values: vec![kv("in", s("side"))],
            }),
        ),
    ];
    root.events = vec![Event {
        name: "exception".into(),
        attributes: vec![kv("exception.type", s("IOError"))],
        ..Default::default()
    }];
    let mut child = span(1, 2, 1, "SELECT", 3);
    child.attributes = vec![kv("db.system", s("postgres")), kv("http.method", s("POST"))];
    child.links = vec![Link {
        trace_id: vec![9; 16],
        span_id: vec![9; 8],
        attributes: vec![kv("link.kind", s("follows"))],
        ..Default::default()
    }];
    vec![
        Row {
            resource: Some(res.clone()),
            scope: Some(scope.clone()),
            span: root,
        },
        Row {
            resource: Some(res),
            scope: Some(scope),
            span: child,
        },
    ]
}

pub fn rows_trace2() -> Vec<Row> {
    let res = resource(vec![
        kv("service.name", s("worker")),
        kv("http.method", s("RES")),
    ]);
    let mut root = span(2, 3, 0, "consume", 5);
    root.attributes = vec![
        kv("http.status_code", Value::IntValue(200)),
        kv("ratio", Value::DoubleValue(2.0)),
    ];
    vec![Row {
        resource: Some(res),
        scope: None,
        span: root,
    }]
}

pub fn fixture() -> RecordBatch {
    let mut rows = rows_trace1();
    rows.extend(rows_trace2());
    build(&rows)
}

pub fn mask(bits: &[bool]) -> BooleanArray {
    BooleanArray::from(bits.to_vec())
}

pub fn attr(scope: AttributeScope, name: &str) -> TagTarget {
    TagTarget::Attribute(Attribute {
        scope,
        parent: false,
        name: name.into(),
    })
}

pub fn names(
    scopes: &[TagScope],
    batch: &RecordBatch,
    rows: Option<&BooleanArray>,
) -> Vec<(TagScope, Vec<String>)> {
    let mut c = TagNamesCollector::new(scopes, None, DEFAULT_MAX_BYTES);
    c.add_batch(batch, rows).expect("add");
    c.finish()
}

pub fn values(
    target: &TagTarget,
    batch: &RecordBatch,
    rows: Option<&BooleanArray>,
) -> Vec<(TagValueType, String)> {
    let mut c = TagValuesCollector::new(target, None, DEFAULT_MAX_BYTES);
    c.add_batch(batch, rows).expect("add");
    let (vals, truncated) = c.finish();
    assert!(!truncated);
    vals.into_iter()
        .map(|TagValue { kind, value }| (kind, value))
        .collect()
}

pub fn typed(kind: TagValueType, vs: &[&str]) -> Vec<(TagValueType, String)> {
    vs.iter().map(|v| (kind, v.to_string())).collect()
}

pub fn strings(vs: &[&str]) -> Vec<String> {
    vs.iter().map(|v| v.to_string()).collect()
}

pub use TagValueType::{Bool, Float, Int, Keyword, String as Str};
