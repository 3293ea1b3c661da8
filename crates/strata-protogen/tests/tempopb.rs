//! `proto/tempopb/tempo.proto` and the hand-written structs of `strata_proto::tempopb` describe
//! the same messages: every struct, with every field set, encodes to bytes the schema decodes
//! with no unknown field and every declared field present, and those bytes re-encoded from the
//! schema's side decode back to the same struct.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, Value};
use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_proto::tempopb as t;

#[allow(dead_code)]
#[path = "../src/generate.rs"]
mod generate;

fn pool() -> DescriptorPool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fds = generate::descriptors_with(&root, &[], &["tempopb/tempo.proto"]).unwrap();
    DescriptorPool::from_file_descriptor_set(fds).unwrap()
}

/// Every field of `msg` is present, recursively into `tempopb` messages.
fn assert_all_set(msg: &DynamicMessage, path: &str) {
    let desc = msg.descriptor();
    if desc.package_name() != "tempopb" {
        return;
    }
    assert_eq!(msg.unknown_fields().count(), 0, "{path}: unknown fields");
    for f in desc.fields() {
        let here = format!("{path}.{}", f.name());
        assert!(msg.has_field(&f), "{here} is not set by the Rust struct");
        match msg.get_field(&f).as_ref() {
            Value::Message(m) => assert_all_set(m, &here),
            Value::List(items) => items.iter().for_each(|v| {
                if let Value::Message(m) = v {
                    assert_all_set(m, &here)
                }
            }),
            Value::Map(entries) => entries.values().for_each(|v| {
                if let Value::Message(m) = v {
                    assert_all_set(m, &here)
                }
            }),
            _ => {}
        }
    }
}

fn check<M: Message + Default + PartialEq + std::fmt::Debug>(
    pool: &DescriptorPool,
    name: &str,
    m: M,
) {
    let desc = pool
        .get_message_by_name(&format!("tempopb.{name}"))
        .unwrap_or_else(|| panic!("tempo.proto lacks {name}"));
    let bytes = m.encode_to_vec();
    let dynamic = DynamicMessage::decode(desc, bytes.as_slice())
        .unwrap_or_else(|e| panic!("{name}: schema cannot decode the struct's bytes: {e}"));
    assert_all_set(&dynamic, name);
    let back = M::decode(dynamic.encode_to_vec().as_slice()).unwrap();
    assert_eq!(
        back, m,
        "{name}: round trip through the schema changed the value"
    );
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn span_set() -> t::SpanSet {
    t::SpanSet {
        spans: vec![t::SearchSpan {
            span_id: "0102030405060708".into(),
            name: "op".into(),
            start_time_unix_nano: 11,
            duration_nanos: 12,
            attributes: vec![kv("a", "b")],
        }],
        matched: 3,
        attributes: vec![kv("c", "d")],
    }
}

#[test]
fn tempo_proto_matches_the_hand_written_structs() {
    let pool = pool();
    let trace = t::Trace {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "s".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    check(&pool, "Trace", trace.clone());
    let metrics = t::TraceByIdMetrics { inspected_bytes: 7 };
    check(&pool, "TraceByIDMetrics", metrics);
    check(
        &pool,
        "TraceByIDResponse",
        t::TraceByIdResponse {
            trace: Some(trace),
            metrics: Some(metrics),
            status: t::PartialStatus::Partial as i32,
            message: "cut".into(),
        },
    );
    check(
        &pool,
        "SearchRequest",
        t::SearchRequest {
            tags: BTreeMap::from([("k".to_string(), "v".to_string())]),
            min_duration_ms: 1,
            max_duration_ms: 2,
            limit: 3,
            start: 4,
            end: 5,
            query: "{}".into(),
            spans_per_span_set: 6,
        },
    );
    let metadata = t::TraceSearchMetadata {
        trace_id: "abc".into(),
        root_service_name: "svc".into(),
        root_trace_name: "root".into(),
        start_time_unix_nano: 9,
        duration_ms: 10,
        span_set: Some(span_set()),
        span_sets: vec![span_set()],
        service_stats: BTreeMap::from([(
            "svc".to_string(),
            t::ServiceStats {
                span_count: 4,
                error_count: 1,
            },
        )]),
    };
    check(
        &pool,
        "SearchResponse",
        t::SearchResponse {
            traces: vec![metadata],
            metrics: Some(t::SearchMetrics {
                inspected_traces: 1,
                inspected_bytes: 2,
                total_blocks: 3,
                completed_jobs: 4,
                total_jobs: 5,
                total_block_bytes: 6,
                inspected_spans: 7,
            }),
        },
    );
    check(
        &pool,
        "SearchTagsRequest",
        t::SearchTagsRequest {
            scope: "span".into(),
            start: 1,
            end: 2,
            max_tags_per_scope: 3,
            query: "{}".into(),
        },
    );
    let meta = t::MetadataMetrics { inspected_bytes: 5 };
    check(
        &pool,
        "SearchTagsV2Response",
        t::SearchTagsV2Response {
            scopes: vec![t::SearchTagsV2Scope {
                name: "span".into(),
                tags: vec!["http.method".into()],
            }],
            metrics: Some(meta),
        },
    );
    check(
        &pool,
        "SearchTagValuesRequest",
        t::SearchTagValuesRequest {
            tag_name: "span.http.method".into(),
            query: "{}".into(),
            start: 1,
            end: 2,
            max_tag_values: 3,
            v2: true,
        },
    );
    check(
        &pool,
        "SearchTagValuesV2Response",
        t::SearchTagValuesV2Response {
            tag_values: vec![t::TagValue {
                r#type: "string".into(),
                value: "GET".into(),
            }],
            metrics: Some(meta),
        },
    );
    let search_metrics = t::SearchMetrics {
        inspected_traces: 1,
        inspected_bytes: 2,
        total_blocks: 3,
        completed_jobs: 4,
        total_jobs: 5,
        total_block_bytes: 6,
        inspected_spans: 7,
    };
    check(
        &pool,
        "QueryRangeRequest",
        t::QueryRangeRequest {
            query: "{ } | rate()".into(),
            start: 1,
            end: 2,
            step: 3,
            exemplars: 4,
            max_series: 5,
            instant: Some(true),
            exclude_blocks: vec!["b".into()],
        },
    );
    check(
        &pool,
        "QueryRangeResponse",
        t::QueryRangeResponse {
            series: vec![t::TimeSeries {
                labels: vec![kv("a", "b")],
                samples: vec![t::Sample {
                    value: 1.5,
                    timestamp_ms: 2,
                }],
                exemplars: vec![t::Exemplar {
                    labels: vec![kv("trace:id", "00")],
                    value: 0.5,
                    timestamp_ms: 3,
                }],
            }],
            metrics: Some(search_metrics),
            status: t::PartialStatus::Partial as i32,
            message: "cut".into(),
        },
    );
    check(
        &pool,
        "QueryInstantResponse",
        t::QueryInstantResponse {
            series: vec![t::InstantSeries {
                labels: vec![kv("a", "b")],
                value: 2.5,
            }],
            metrics: Some(search_metrics),
            status: t::PartialStatus::Partial as i32,
            message: "cut".into(),
        },
    );
}
