//! Helpers shared by the compactor's tests: blocks written with the real block writer into an
//! in-memory store, and a compactor over them with a manual clock.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::memory::InMemory;
use strata_block::{BlockMeta, BlockReader, BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, SharedClock, TenantId, TraceId};
use strata_compactor::{
    Compactor, CompactorMetrics, CompactorSettings, NoOverrides, OwnAll, Ownership,
    RetentionOverrides,
};
use strata_proto::otlp::trace::{ResourceSpans, Span};
use strata_storage::SharedStore;

/// Unix seconds of the test's epoch (2023-11-14).
pub const BASE_SECS: u64 = 1_700_000_000;
pub const SEC: u64 = 1_000_000_000;

pub fn store() -> SharedStore {
    Arc::new(InMemory::new())
}

pub fn clock_at(unix_secs: u64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(unix_secs),
    ))
}

/// Trace `n`: `10`, zeros, `n` in the last four bytes.
pub fn trace_id(n: u32) -> TraceId {
    strata_testkit::trace_id(u64::from(n))
}

/// A span of trace `t` with span ID derived from (`t`, `n`), starting at `start_ns`.
pub fn span(t: u32, n: u32, start_ns: u64) -> Span {
    let sid = u64::from(t) << 32 | u64::from(n + 1);
    Span {
        kind: 2,
        ..strata_testkit::span(
            &trace_id(t),
            sid,
            &format!("op-{n}"),
            start_ns,
            start_ns + 1_000_000,
        )
    }
}

pub fn share(spans: Vec<Span>) -> Vec<ResourceSpans> {
    vec![strata_testkit::resource_spans(
        Some(strata_testkit::resource("svc")),
        Some(strata_testkit::scope("test", "")),
        spans,
    )]
}

/// Writes a level-`level` block holding `traces` (trace number → spans).
pub async fn write_block(
    store: &SharedStore,
    tenant: &TenantId,
    traces: &BTreeMap<u32, Vec<Span>>,
    level: u32,
) -> BlockMeta {
    write_copies(store, tenant, traces, level, false).await
}

/// [`write_block`] with every span a replica copy when `replica` (the `replica` column).
pub async fn write_copies(
    store: &SharedStore,
    tenant: &TenantId,
    traces: &BTreeMap<u32, Vec<Span>>,
    level: u32,
    replica: bool,
) -> BlockMeta {
    write_format(
        store,
        tenant,
        traces,
        level,
        replica,
        strata_block::FORMAT_VERSION,
    )
    .await
}

/// [`write_copies`] in block format `format`.
pub async fn write_format(
    store: &SharedStore,
    tenant: &TenantId,
    traces: &BTreeMap<u32, Vec<Span>>,
    level: u32,
    replica: bool,
    format: &str,
) -> BlockMeta {
    let clock: SharedClock = clock_at(BASE_SECS);
    let opts = WriterOptions {
        row_group_max_spans: 7,
        ..WriterOptions::default()
    };
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        tenant.clone(),
        BlockId::new_random(),
        opts,
        clock,
        format,
    )
    .unwrap()
    .with_compaction_level(level);
    let mut ids: Vec<_> = traces.keys().copied().collect();
    ids.sort_by_key(|t| trace_id(*t));
    for t in ids {
        w.add_trace_copy(trace_id(t), &share(traces[&t].clone()), replica)
            .await
            .unwrap();
    }
    w.finish().await.unwrap()
}

/// `n` traces of `spans` spans each, all starting at `start_secs`.
pub fn traces(first: u32, n: u32, spans: u32, start_secs: u64) -> BTreeMap<u32, Vec<Span>> {
    (first..first + n)
        .map(|t| {
            let v = (0..spans)
                .map(|s| span(t, s, start_secs * SEC + u64::from(s) * 1000))
                .collect();
            (t, v)
        })
        .collect()
}

/// Every (trace, span ID) of a block, with multiplicity.
pub async fn spans_of(store: &SharedStore, meta: &BlockMeta) -> Vec<(TraceId, Vec<u8>)> {
    let r = BlockReader::new(store.clone(), meta.clone());
    let mut out = Vec::new();
    for (id, rs) in r.read_all().await.unwrap() {
        for s in rs
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            out.push((id, s.span_id.clone()));
        }
    }
    out
}

pub fn settings() -> CompactorSettings {
    CompactorSettings {
        compaction_window: Duration::from_secs(3600),
        max_compaction_objects: 8,
        block_retention: Duration::from_secs(14 * 24 * 3600),
        compacted_block_retention: Duration::from_secs(3600),
        ..CompactorSettings::default()
    }
}

pub fn compactor(
    store: &SharedStore,
    settings: CompactorSettings,
    clock: Arc<ManualClock>,
    ownership: Arc<dyn Ownership>,
    overrides: Arc<dyn RetentionOverrides>,
) -> Compactor {
    Compactor::new(
        store.clone(),
        settings,
        ownership,
        overrides,
        clock,
        CompactorMetrics::unregistered(),
    )
}

pub fn simple(store: &SharedStore, clock: Arc<ManualClock>) -> Compactor {
    compactor(
        store,
        settings(),
        clock,
        Arc::new(OwnAll),
        Arc::new(NoOverrides),
    )
}

pub fn now_secs(c: &ManualClock) -> u64 {
    use strata_common::Clock;
    c.now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
