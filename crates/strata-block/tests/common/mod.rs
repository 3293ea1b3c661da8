//! Shared test helpers: building traces, normalising them, writing blocks.
#![allow(dead_code)]

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use strata_block::{BlockMeta, BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, SharedClock, TenantId, TraceId};
use strata_proto::otlp::common::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};

pub fn tid(n: u8) -> TraceId {
    let mut b = [0u8; 16];
    b[15] = n;
    b[0] = n.wrapping_mul(7);
    TraceId(b)
}

pub fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

pub fn simple_span(trace: TraceId, n: u64, start: u64) -> Span {
    Span {
        trace_id: trace.0.to_vec(),
        span_id: (n + 1).to_be_bytes().to_vec(),
        name: format!("span-{n}"),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 10,
        ..Default::default()
    }
}

/// One resource and scope holding `spans`.
pub fn batch(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", s(service))],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "lib".into(),
                ..Default::default()
            }),
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

/// Sorts resource_spans, scope_spans and spans deterministically, merging nothing.
pub fn normalise(mut rs: Vec<ResourceSpans>) -> Vec<ResourceSpans> {
    use prost::Message;
    for r in &mut rs {
        for ss in &mut r.scope_spans {
            ss.spans.sort_by(|a, b| {
                (a.start_time_unix_nano, &a.span_id).cmp(&(b.start_time_unix_nano, &b.span_id))
            });
        }
        r.scope_spans.sort_by_key(|ss| ss.encode_to_vec());
    }
    rs.sort_by_key(|r| r.encode_to_vec());
    rs
}

pub fn store() -> Arc<dyn ObjectStore> {
    Arc::new(InMemory::new())
}

pub fn clock() -> (ManualClock, SharedClock) {
    let c = ManualClock::default();
    (c.clone(), Arc::new(c))
}

pub fn opts(row_group_max_spans: usize) -> WriterOptions {
    WriterOptions {
        row_group_max_spans,
        bloom_false_positive: 0.01,
        zstd_level: 3,
        expected_traces: 16,
    }
}

/// Writes `traces` (already in ID order) into a new block.
pub async fn write_block(
    store: &Arc<dyn ObjectStore>,
    traces: &[(TraceId, Vec<ResourceSpans>)],
    row_group_max_spans: usize,
) -> BlockMeta {
    let (_, clock) = clock();
    let mut w = BlockWriter::new(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        opts(row_group_max_spans),
        clock,
    )
    .unwrap();
    for (id, rs) in traces {
        w.add_trace(*id, rs).await.unwrap();
    }
    w.finish().await.unwrap()
}
