//! Generated blocks and a reference search, shared by the search tests: many blocks
//! (traces longer than a row group, traces shared by two blocks, overlapping time ranges)
//! and one sequential search of every block to compare with.

#![allow(dead_code)]

use std::sync::Arc;

use object_store::ObjectStore;
use strata_block::{BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, TenantId, TraceId};
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_ingester::testing::Node;
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::tempopb;
use strata_querier::{BlockList, Querier, QuerierMetrics, QuerierSettings};

pub const BASE_NS: u64 = 1_700_000_000 * 1_000_000_000;
pub const SEC: u64 = 1_000_000_000;
pub const BLOCKS: u64 = 24;

/// splitmix64: deterministic data without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn trace(&mut self) -> TraceId {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_be_bytes());
        b[8..].copy_from_slice(&self.next().to_be_bytes());
        TraceId(b)
    }
}

/// A trace's spans `first..first + n`, starting at `start`, 1 ms apart, names `op-0..op-4`;
/// span 1 is the root.
pub fn spans(id: TraceId, n: u64, start: u64, svc: &str, first: u64) -> Vec<ResourceSpans> {
    let spans = (0..n)
        .map(|i| {
            let s = start + i * 1_000_000;
            let name = format!("op-{}", (first + i) % 5);
            let mut span = strata_testkit::span(&id, first + i + 1, &name, s, s + 2_000_000);
            // One root per trace: span 1 of its first block.
            if first + i > 0 {
                span.parent_span_id = 1u64.to_be_bytes().to_vec();
            }
            span
        })
        .collect();
    vec![strata_testkit::resource_spans(
        Some(strata_testkit::resource(svc)),
        Some(strata_testkit::scope("lib", "")),
        spans,
    )]
}

/// Writes `BLOCKS` blocks for `tenant`; block `b` holds traces starting in
/// `[b * 60 s, b * 60 s + 90 s)` (neighbours overlap), 1 to 40 spans in row groups of 16.
/// With `shared`, some traces have spans in two consecutive blocks.
pub async fn write(store: &Arc<dyn ObjectStore>, tenant: &TenantId, rng: &mut Rng, shared: bool) {
    let mut carry: Vec<TraceId> = Vec::new();
    for b in 0..BLOCKS {
        let mut traces: Vec<(TraceId, Vec<ResourceSpans>)> = Vec::new();
        for &id in &carry {
            traces.push((id, spans(id, 3, BASE_NS + b * 60 * SEC, "svc-carry", 100)));
        }
        carry.clear();
        for k in 0..30 {
            let id = rng.trace();
            let start = BASE_NS + b * 60 * SEC + rng.next() % (90 * SEC);
            let n = 1 + rng.next() % 40;
            let svc = format!("svc-{}", rng.next() % 4);
            traces.push((id, spans(id, n, start, &svc, 0)));
            if shared && k % 10 == 0 {
                carry.push(id);
            }
        }
        traces.sort_by_key(|(id, _)| *id);
        let opts = WriterOptions {
            row_group_max_spans: 16,
            ..WriterOptions::default()
        };
        let mut w = BlockWriter::new(
            store.clone(),
            tenant.clone(),
            BlockId::new_random(),
            opts,
            Arc::new(ManualClock::default()),
        )
        .unwrap();
        for (id, rs) in &traces {
            w.add_trace(*id, rs).await.unwrap();
        }
        w.finish().await.unwrap();
    }
}

pub fn querier(store: &Arc<dyn ObjectStore>, target: u64, concurrent: usize) -> Querier {
    let search = strata_config::QuerierSearchConfig {
        target_bytes_per_job: target,
        concurrent_jobs: concurrent,
        ..Default::default()
    };
    let settings = QuerierSettings {
        multitenancy_enabled: true,
        max_bytes_per_trace: 1 << 20,
        blocklist_poll: std::time::Duration::from_secs(60),
        search,
    };
    let metrics = QuerierMetrics::new(&mut prometheus_client::registry::Registry::default());
    let node = Arc::new(Node::start("ingester-0", &|_| {}));
    Querier::new(node, BlockList::new(store.clone()), settings, metrics)
}

/// Every block searched in turn, whole, into one accumulator.
pub async fn sequential(
    q: &Querier,
    tenant: &TenantId,
    req: &tempopb::SearchRequest,
) -> Vec<tempopb::TraceSearchMetadata> {
    let job = SearchJob::new(req).unwrap();
    let mut acc = SearchAccumulator::new();
    for b in q.blocks().all(tenant) {
        job.search_block(&b.reader, &mut acc).await.unwrap();
    }
    acc.finish(job.limit()).traces
}

pub fn request(query: &str, limit: u32, range: Option<(u64, u64)>) -> tempopb::SearchRequest {
    let (start, end) = range.map_or((0, 0), |(a, b)| (a as u32, b as u32));
    tempopb::SearchRequest {
        query: query.into(),
        limit,
        start,
        end,
        ..Default::default()
    }
}

/// Fails with the first differing trace, briefly.
pub fn same(
    got: &[tempopb::TraceSearchMetadata],
    want: &[tempopb::TraceSearchMetadata],
    label: &str,
) {
    let brief = |t: &tempopb::TraceSearchMetadata| {
        let sets: Vec<(u32, Vec<String>)> = t
            .span_sets
            .iter()
            .map(|s| {
                (
                    s.matched,
                    s.spans.iter().map(|x| x.span_id.clone()).collect(),
                )
            })
            .collect();
        format!(
            "{} start {} {}ms {} {sets:?}",
            t.trace_id, t.start_time_unix_nano, t.duration_ms, t.root_service_name
        )
    };
    assert_eq!(got.len(), want.len(), "{label}: trace count");
    for (g, w) in got.iter().zip(want) {
        assert!(g == w, "{label}:\n got {}\nwant {}", brief(g), brief(w));
    }
}

pub const QUERIES: [&str; 4] = [
    "{ }",
    r#"{ name = "op-3" }"#,
    r#"{ resource.service.name = "svc-2" && duration > 1500us }"#,
    r#"{ resource.service.name = "svc-carry" }"#,
];
