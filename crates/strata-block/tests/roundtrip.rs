//! Every OTLP field survives write → find_trace / read_all.

mod common;

use common::*;
use strata_block::BlockReader;
use strata_common::TraceId;
use strata_proto::otlp::common::{
    any_value::Value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::span::{Event, Link, SpanKind};
use strata_proto::otlp::trace::{status::StatusCode, ResourceSpans, ScopeSpans, Span, Status};

/// Attributes of every value kind, including nesting and both kinds of absence.
fn all_kinds(prefix: &str) -> Vec<KeyValue> {
    let nested = Value::ArrayValue(ArrayValue {
        values: vec![
            AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: vec![
                        kv("inner.s", s("x")),
                        kv("inner.d", Value::DoubleValue(-0.25)),
                        kv(
                            "inner.arr",
                            Value::ArrayValue(ArrayValue {
                                values: vec![AnyValue {
                                    value: Some(Value::BoolValue(false)),
                                }],
                            }),
                        ),
                    ],
                })),
            },
            AnyValue {
                value: Some(Value::IntValue(7)),
            },
            AnyValue { value: None },
        ],
    });
    vec![
        kv(&format!("{prefix}.str"), s("hello ☃")),
        kv(&format!("{prefix}.empty_str"), s("")),
        kv(&format!("{prefix}.bool"), Value::BoolValue(true)),
        kv(&format!("{prefix}.int"), Value::IntValue(i64::MIN)),
        kv(&format!("{prefix}.double"), Value::DoubleValue(3.5e-300)),
        kv(
            &format!("{prefix}.bytes"),
            Value::BytesValue(vec![0, 1, 2, 255]),
        ),
        kv(&format!("{prefix}.array_of_kvlist"), nested),
        kv(
            &format!("{prefix}.kvlist"),
            Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("a", Value::IntValue(1)),
                    kv(
                        "b",
                        Value::KvlistValue(KeyValueList {
                            values: vec![kv("c", Value::BytesValue(vec![9]))],
                        }),
                    ),
                ],
            }),
        ),
        kv(
            &format!("{prefix}.empty_array"),
            Value::ArrayValue(ArrayValue::default()),
        ),
        KeyValue {
            key: format!("{prefix}.no_value"),
            value: None,
            ..Default::default()
        },
        KeyValue {
            key: format!("{prefix}.empty_any_value"),
            value: Some(AnyValue { value: None }),
            ..Default::default()
        },
        // Duplicate keys are kept as sent.
        kv(&format!("{prefix}.str"), s("again")),
    ]
}

fn rich_trace(id: TraceId) -> Vec<ResourceSpans> {
    let t = id.0.to_vec();
    let root = Span {
        trace_id: t.clone(),
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        trace_state: "vendor=abc,other=1".into(),
        parent_span_id: vec![],
        flags: 0x301,
        name: "GET /checkout".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes: all_kinds("span"),
        dropped_attributes_count: 4,
        events: vec![
            Event {
                time_unix_nano: 1_700_000_000_100_000_000,
                name: "exception".into(),
                attributes: all_kinds("event"),
                dropped_attributes_count: 2,
            },
            Event {
                time_unix_nano: 1_700_000_000_000_000_001,
                name: String::new(),
                attributes: vec![],
                dropped_attributes_count: 0,
            },
        ],
        dropped_events_count: 5,
        links: vec![
            Link {
                trace_id: vec![9; 16],
                span_id: vec![8; 8],
                trace_state: "k=v".into(),
                attributes: all_kinds("link"),
                dropped_attributes_count: 6,
                flags: 0x100,
            },
            Link {
                trace_id: vec![7; 16],
                span_id: vec![6; 8],
                ..Default::default()
            },
        ],
        dropped_links_count: 7,
        status: Some(Status {
            message: "payment declined".into(),
            code: StatusCode::Error as i32,
        }),
    };
    let child = Span {
        trace_id: t.clone(),
        span_id: vec![2; 8],
        parent_span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        name: "SELECT".into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: 1_700_000_000_200_000_000,
        end_time_unix_nano: 1_700_000_000_300_000_000,
        status: Some(Status {
            message: String::new(),
            code: StatusCode::Ok as i32,
        }),
        ..Default::default()
    };
    // Earlier start than the root, no status, end before start, unknown kind.
    let odd = Span {
        trace_id: t.clone(),
        span_id: vec![3; 8],
        parent_span_id: vec![2; 8],
        name: "odd".into(),
        kind: 42,
        start_time_unix_nano: 1_699_999_999_000_000_000,
        end_time_unix_nano: 5,
        status: None,
        ..Default::default()
    };
    let other_service = Span {
        trace_id: t.clone(),
        span_id: vec![4; 8],
        parent_span_id: vec![2; 8],
        name: "charge".into(),
        kind: SpanKind::Consumer as i32,
        start_time_unix_nano: 1_700_000_000_250_000_000,
        end_time_unix_nano: 1_700_000_000_260_000_000,
        attributes: vec![kv("x", Value::IntValue(1))],
        ..Default::default()
    };
    let no_resource = Span {
        trace_id: t,
        span_id: vec![5; 8],
        name: "orphan".into(),
        start_time_unix_nano: 1_700_000_000_250_000_000,
        end_time_unix_nano: 1_700_000_000_250_000_000,
        ..Default::default()
    };
    vec![
        ResourceSpans {
            resource: Some(Resource {
                attributes: {
                    let mut a = vec![kv("service.name", s("checkout"))];
                    a.extend(all_kinds("res"));
                    a
                },
                dropped_attributes_count: 3,
                entity_refs: vec![EntityRef {
                    schema_url: "https://example.com/entity".into(),
                    r#type: "service".into(),
                    id_keys: vec!["service.name".into()],
                    description_keys: vec!["res.str".into()],
                }],
            }),
            scope_spans: vec![
                ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "io.opentelemetry.http".into(),
                        version: "1.2.3".into(),
                        attributes: all_kinds("scope"),
                        dropped_attributes_count: 1,
                    }),
                    spans: vec![root, odd],
                    schema_url: "https://opentelemetry.io/schemas/1.20.0".into(),
                },
                ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "db".into(),
                        version: String::new(),
                        attributes: vec![],
                        dropped_attributes_count: 0,
                    }),
                    spans: vec![child],
                    schema_url: String::new(),
                },
            ],
            schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
        },
        ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::IntValue(5))],
                dropped_attributes_count: 0,
                entity_refs: vec![],
            }),
            scope_spans: vec![ScopeSpans {
                scope: None,
                spans: vec![other_service],
                schema_url: "scope-url-without-scope".into(),
            }],
            schema_url: String::new(),
        },
        ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope::default()),
                spans: vec![no_resource],
                schema_url: String::new(),
            }],
            schema_url: "url-without-resource".into(),
        },
    ]
}

#[tokio::test]
async fn rich_trace_round_trips_every_field() {
    let store = store();
    let id = tid(42);
    let written = rich_trace(id);
    // Neighbours on both sides, so that the lookup really has to filter rows.
    let traces = vec![
        (tid(1), vec![batch("a", vec![simple_span(tid(1), 0, 10)])]),
        (id, written.clone()),
        (
            tid(200),
            vec![batch("b", vec![simple_span(tid(200), 0, 10)])],
        ),
    ];
    let meta = write_block(&store, &traces, 3).await;
    assert_eq!(meta.total_spans, 7);
    assert_eq!(meta.total_traces, 3);

    let reader = BlockReader::new(store.clone(), meta);
    let found = reader
        .find_trace(&id)
        .await
        .unwrap()
        .expect("trace present");
    assert_eq!(found.spans, 5);
    assert!(found.inspected_bytes > 0);
    assert_eq!(
        normalise(found.resource_spans.clone()),
        normalise(written.clone())
    );

    let all = reader.read_all().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].0, id);
    assert_eq!(normalise(all[1].1.clone()), normalise(written));
}

#[tokio::test]
async fn spans_of_one_trace_come_back_sorted_by_start_even_across_calls() {
    let store = store();
    let id = tid(3);
    let (_, clock) = clock();
    let mut w = strata_block::BlockWriter::new(
        store.clone(),
        strata_common::TenantId::single(),
        strata_common::BlockId::new_random(),
        opts(2),
        clock,
    )
    .unwrap();
    w.add_trace(
        id,
        &[batch(
            "svc",
            vec![simple_span(id, 0, 50), simple_span(id, 1, 30)],
        )],
    )
    .await
    .unwrap();
    w.add_trace(id, &[batch("svc", vec![simple_span(id, 2, 10)])])
        .await
        .unwrap();
    let meta = w.finish().await.unwrap();
    assert_eq!(meta.total_traces, 1);
    assert_eq!(meta.total_spans, 3);
    assert_eq!(
        (meta.start_time_unix_nano, meta.end_time_unix_nano),
        (10, 60)
    );

    let found = BlockReader::new(store, meta)
        .find_trace(&id)
        .await
        .unwrap()
        .unwrap();
    // Identical resource and scope from both calls are merged into one group.
    assert_eq!(found.resource_spans.len(), 1);
    let starts: Vec<u64> = found.resource_spans[0].scope_spans[0]
        .spans
        .iter()
        .map(|s| s.start_time_unix_nano)
        .collect();
    assert_eq!(starts, vec![10, 30, 50]);
}

#[tokio::test]
async fn owned_spans_write_the_same_rows_as_borrowed_ones() {
    let id = tid(7);
    let mut metas = Vec::new();
    for owned in [false, true] {
        let store = store();
        let (_, clock) = clock();
        let mut w = strata_block::BlockWriter::new(
            store.clone(),
            strata_common::TenantId::single(),
            strata_common::BlockId::new_random(),
            opts(3),
            clock,
        )
        .unwrap();
        if owned {
            w.add_trace_owned(id, rich_trace(id)).await.unwrap();
        } else {
            w.add_trace(id, &rich_trace(id)).await.unwrap();
        }
        let meta = w.finish().await.unwrap();
        let reader = BlockReader::new(store.clone(), meta.clone());
        let found = reader
            .find_trace(&id)
            .await
            .unwrap()
            .expect("trace present");
        metas.push((meta.total_spans, normalise(found.resource_spans)));
    }
    assert_eq!(metas[0], metas[1]);
    assert_eq!(normalise(rich_trace(id)), metas[1].1);
}
