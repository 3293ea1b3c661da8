//! Random OTLP for the fuzz targets (`strata-fuzzkit` strategies): export requests built from
//! arbitrary fields — IDs mostly of the right length but sometimes not, attribute values of
//! every kind (nested), multi-byte text, extreme times and unknown enum values — so decoders
//! and the pipeline see valid structure with hostile contents.

use strata_fuzzkit::proptest::collection::vec;
use strata_fuzzkit::proptest::prelude::*;
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::span::{Event, Link};
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span, Status};

/// Short text, ASCII most of the time, else with multi-byte characters (truncation at a byte
/// limit must respect character boundaries).
pub fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => "[a-z._]{0,12}",
        1 => "[a-zé☃\u{1F600}\u{0}\"\\\\]{0,24}",
    ]
}

/// An ID of `len` bytes, or (one time in eight) of another length, empty or all zero.
pub fn id(len: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        14 => vec(any::<u8>(), len),
        1 => vec(any::<u8>(), 0..20),
        1 => Just(vec![0; len]),
    ]
}

/// An attribute value of any kind, nested up to two levels.
pub fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        text().prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        any::<f64>().prop_map(Value::DoubleValue),
        vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
    ];
    let value = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(|v| Value::ArrayValue(ArrayValue {
                values: v.into_iter().map(|v| AnyValue { value: Some(v) }).collect(),
            })),
            vec((text(), inner), 0..3).prop_map(|kvs| Value::KvlistValue(KeyValueList {
                values: kvs.into_iter().map(|(k, v)| kv(k, Some(v))).collect(),
            })),
        ]
    });
    prop::option::weighted(0.95, value).prop_map(|value| AnyValue { value })
}

fn kv(key: String, value: Option<Value>) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue { value }),
        ..Default::default()
    }
}

/// Up to `n` attributes.
pub fn attributes(n: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    vec(
        (text(), prop::option::weighted(0.95, any_value())).prop_map(|(key, value)| KeyValue {
            key,
            value,
            ..Default::default()
        }),
        0..=n,
    )
}

/// A W3C trace state, often with an OpenTelemetry sampling threshold (`ot=th:…`), well
/// formed or not.
pub fn trace_state() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "ot=th:[0-9a-f]{0,16}(;rv:[0-9a-f]{0,16})?(,vendor=[a-z0-9]{0,4})?",
        "[a-z]{0,3}=[a-z]{0,3},ot=[a-z:;0-9]{0,12}",
    ]
}

/// A time: realistic, zero or extreme.
fn time() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 1_600_000_000_000_000_000u64..1_900_000_000_000_000_000,
        1 => any::<u64>(),
        1 => Just(0u64),
    ]
}

/// A span of trace `trace` (the trace ID is usually shared across a request's spans).
pub fn span(trace: Vec<u8>) -> impl Strategy<Value = Span> {
    let event = (time(), text(), attributes(2)).prop_map(|(t, name, attributes)| Event {
        time_unix_nano: t,
        name,
        attributes,
        dropped_attributes_count: 0,
    });
    let link = (id(16), id(8), text(), attributes(1), any::<u32>()).prop_map(
        |(trace_id, span_id, trace_state, attributes, flags)| Link {
            trace_id,
            span_id,
            trace_state,
            attributes,
            flags,
            dropped_attributes_count: 0,
        },
    );
    (
        (
            prop_oneof![9 => Just(trace), 1 => id(16)],
            id(8),
            id(8),
            text(),
            trace_state(),
        ),
        (-1i32..8, time(), time(), any::<u32>()),
        (attributes(4), vec(event, 0..3), vec(link, 0..2)),
        (-1i32..4, text()),
    )
        .prop_map(
            |(
                (trace_id, span_id, parent_span_id, name, trace_state),
                (kind, start, end, flags),
                (attributes, events, links),
                (code, message),
            )| Span {
                trace_id,
                span_id,
                parent_span_id,
                name,
                trace_state,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                flags,
                attributes,
                events,
                links,
                status: Some(Status { code, message }),
                ..Default::default()
            },
        )
}

/// An export request: 1–2 resources of 1–2 scopes of 1–3 spans, over one or two traces.
pub fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope = || {
        (text(), text(), attributes(1)).prop_map(|(name, version, attributes)| {
            InstrumentationScope {
                name,
                version,
                attributes,
                ..Default::default()
            }
        })
    };
    (id(16), id(16)).prop_flat_map(move |(a, b)| {
        let spans = vec(prop_oneof![span(a.clone()), span(b.clone())], 1..4);
        let scope_spans = vec(
            (prop::option::of(scope()), spans).prop_map(|(scope, spans)| ScopeSpans {
                scope,
                spans,
                schema_url: String::new(),
            }),
            1..3,
        );
        let resource = (attributes(3), text()).prop_map(|(mut attributes, service)| {
            attributes.push(kv("service.name".into(), Some(Value::StringValue(service))));
            Resource {
                attributes,
                ..Default::default()
            }
        });
        vec(
            (prop::option::weighted(0.9, resource), scope_spans).prop_map(
                |(resource, scope_spans)| ResourceSpans {
                    resource,
                    scope_spans,
                    schema_url: String::new(),
                },
            ),
            1..3,
        )
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
    })
}
