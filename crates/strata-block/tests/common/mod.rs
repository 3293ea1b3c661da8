//! Shared test helpers: building traces, normalising them, writing blocks.
#![allow(dead_code)]

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use strata_block::{BlockMeta, BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, SharedClock, TenantId, TraceId};
use strata_proto::otlp::trace::{ResourceSpans, Span};
#[allow(unused_imports)] // Not every test binary uses every helper.
pub use strata_testkit::{kv, normalise, s};

pub fn tid(n: u8) -> TraceId {
    let mut b = [0u8; 16];
    b[15] = n;
    b[0] = n.wrapping_mul(7);
    TraceId(b)
}

pub fn simple_span(trace: TraceId, n: u64, start: u64) -> Span {
    strata_testkit::span(&trace, n + 1, &format!("span-{n}"), start, start + 10)
}

/// One resource and scope holding `spans`.
pub fn batch(service: &str, spans: Vec<Span>) -> ResourceSpans {
    strata_testkit::resource_spans(
        Some(strata_testkit::resource(service)),
        Some(strata_testkit::scope("lib", "")),
        spans,
    )
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
    write_block_format(
        store,
        traces,
        row_group_max_spans,
        strata_block::FORMAT_VERSION,
    )
    .await
}

/// [`write_block`] in block format `format`.
pub async fn write_block_format(
    store: &Arc<dyn ObjectStore>,
    traces: &[(TraceId, Vec<ResourceSpans>)],
    row_group_max_spans: usize,
    format: &str,
) -> BlockMeta {
    let mut w = writer_format(store, row_group_max_spans, format);
    for (id, rs) in traces {
        w.add_trace(*id, rs).await.unwrap();
    }
    w.finish().await.unwrap()
}

/// A writer of a new block in `format`.
pub fn writer_format(
    store: &Arc<dyn ObjectStore>,
    row_group_max_spans: usize,
    format: &str,
) -> BlockWriter {
    let (_, clock) = clock();
    BlockWriter::new_with_format(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        opts(row_group_max_spans),
        clock,
        format,
    )
    .unwrap()
}

/// Every row of `reader`'s block with `columns`, in one batch.
pub async fn scan_all(
    reader: &strata_block::BlockReader,
    columns: Vec<&'static str>,
) -> arrow_array::RecordBatch {
    let mut scan = reader
        .scan(strata_block::ScanRequest {
            columns,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut batches = Vec::new();
    while let Some(b) = scan.next().await.unwrap() {
        batches.push(b);
    }
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}
