//! The querier's search over blocks, split into jobs and run in parallel, against one
//! sequential search of every block: over many generated blocks (traces longer than a row
//! group, traces shared by two blocks, overlapping time ranges), every job size and
//! concurrency answers exactly the sequential answer, and a search with a small `limit`
//! stops early (fewer jobs run than planned, every job completed) with the newest traces.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use strata_block::{BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, TenantId, TraceId};
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_ingester::testing::Node;
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::tempopb;
use strata_querier::{BlockList, Querier, QuerierMetrics, QuerierSettings};

const BASE_NS: u64 = 1_700_000_000 * 1_000_000_000;
const SEC: u64 = 1_000_000_000;
const BLOCKS: u64 = 24;

/// splitmix64: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn trace(&mut self) -> TraceId {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_be_bytes());
        b[8..].copy_from_slice(&self.next().to_be_bytes());
        TraceId(b)
    }
}

/// A trace's spans `first..first + n`, starting at `start`, 1 ms apart, names `op-0..op-4`;
/// span 1 is the root.
fn spans(id: TraceId, n: u64, start: u64, svc: &str, first: u64) -> Vec<ResourceSpans> {
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
async fn write(store: &Arc<dyn ObjectStore>, tenant: &TenantId, rng: &mut Rng, shared: bool) {
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

fn querier(store: &Arc<dyn ObjectStore>, target: u64, concurrent: usize) -> Querier {
    let search = strata_config::QuerierSearchConfig {
        target_bytes_per_job: target,
        concurrent_jobs: concurrent,
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
async fn sequential(
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

fn request(query: &str, limit: u32, range: Option<(u64, u64)>) -> tempopb::SearchRequest {
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
fn same(got: &[tempopb::TraceSearchMetadata], want: &[tempopb::TraceSearchMetadata], label: &str) {
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

const QUERIES: [&str; 4] = [
    "{ }",
    r#"{ name = "op-3" }"#,
    r#"{ resource.service.name = "svc-2" && duration > 1500us }"#,
    r#"{ resource.service.name = "svc-carry" }"#,
];

/// (target bytes per job, concurrent jobs): one job per block in turn, and row-group jobs
/// with several concurrencies.
fn setups(block_bytes: u64) -> Vec<(u64, usize)> {
    vec![
        (0, 1),
        (block_bytes / 4, 1),
        (block_bytes / 4, 3),
        (1, 0),
        (block_bytes / 2, 8),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_in_parallel_answer_like_one_sequential_search() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("shared").unwrap();
    write(&store, &tenant, &mut Rng(3), true).await;
    let reference = querier(&store, 0, 1);
    assert_eq!(reference.blocks().poll().await.unwrap(), BLOCKS as usize);
    let block_bytes = reference.blocks().all(&tenant)[0].reader.meta().size_bytes;
    let mid = 1_700_000_000 + 600;
    for (target, concurrent) in setups(block_bytes) {
        let q = querier(&store, target, concurrent);
        q.blocks().poll().await.unwrap();
        for query in QUERIES {
            for range in [None, Some((mid, mid + 200))] {
                let req = request(query, 100_000, range);
                let want = sequential(&reference, &tenant, &req).await;
                assert!(!want.is_empty(), "{query} {range:?} matches");
                let (got, cut) = q.search(&tenant, &req).await.unwrap();
                assert!(cut.is_none());
                let m = got.metrics.unwrap_or_default();
                same(
                    &got.traces,
                    &want,
                    &format!("{query} {range:?}, target {target}, {concurrent} at once"),
                );
                assert_eq!(m.completed_jobs, m.total_jobs);
            }
        }
        let jobs = q.metrics().search_jobs.get();
        if target > 0 && target < block_bytes {
            // Big blocks were split: more jobs than blocks (4 searches of every block, 4 of a
            // few).
            assert!(
                jobs > 4 * BLOCKS + 8,
                "{jobs} jobs for 4 searches of {BLOCKS} blocks and 4 of some"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_search_stops_early_with_the_newest_traces() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("limited").unwrap();
    write(&store, &tenant, &mut Rng(11), false).await;
    let reference = querier(&store, 0, 1);
    reference.blocks().poll().await.unwrap();
    let block_bytes = reference.blocks().all(&tenant)[0].reader.meta().size_bytes;
    for (target, concurrent) in setups(block_bytes) {
        let q = querier(&store, target, concurrent);
        q.blocks().poll().await.unwrap();
        for query in &QUERIES[..3] {
            for limit in [1, 5, 20] {
                let req = request(query, limit, None);
                let want = sequential(&reference, &tenant, &req).await;
                assert_eq!(want.len(), limit as usize, "{query}");
                let before = q.metrics().search_jobs.get();
                let (got, _) = q.search(&tenant, &req).await.unwrap();
                let ran = q.metrics().search_jobs.get() - before;
                let m = got.metrics.unwrap_or_default();
                let label = format!("{query} limit {limit}, target {target}, {concurrent} at once");
                same(&got.traces, &want, &label);
                assert_eq!(
                    m.completed_jobs, m.total_jobs,
                    "{label}: the answer is whole"
                );
                // The ingester's job is not run by the block executor.
                assert!(
                    ran < u64::from(m.total_jobs) - 1,
                    "{label}: ran {ran} of {} block jobs",
                    m.total_jobs - 1
                );
                if target == 0 {
                    assert!(ran < BLOCKS / 4, "{label}: ran {ran} of {BLOCKS} blocks");
                }
            }
        }
    }
}
