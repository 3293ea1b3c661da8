//! Trace-by-ID latency over many small blocks on an object store with a round-trip latency
//! (issue 15 item 4). Run by `scripts/byid_bench.sh` (`make bench-byid`).
//!
//! What it does, in one process:
//!
//! 1. Generates `--blocks` blocks of `--traces-per-block` traces × `--spans-per-trace` spans
//!    (random 128-bit trace IDs, deterministic from `--seed`) and writes each twice into
//!    in-memory object stores, once per bloom false-positive rate of `--fp` (the first is the
//!    previous default, for comparison).
//! 2. Serves each store through [`InstrumentedStore`] with `--latency-ms` added to every
//!    request, as a remote store's round trip, and loads a querier [`BlockList`] from it (its
//!    poll time and requests are reported).
//! 3. Runs `--lookups` trace-by-ID lookups one after another through
//!    [`BlockList::find_trace`] — the querier's own block path — for IDs present (one from
//!    each of `--lookups` distinct blocks, so the first pass finds no footer cached) and IDs
//!    absent, and reports per case p50/p99 latency, object-store requests per lookup and
//!    candidate blocks (those whose bloom admits the ID) per lookup. Every answer is checked:
//!    a present ID must come back with all its spans, an absent one with none.
//!
//! Cases: `cold` (present IDs, footers not yet cached), `warm` (the same IDs again),
//! `absent`, and `row filter` (row groups read through the `trace_id` row filter instead of
//! whole, footers warm: with the first `--fp`, the behaviour before this benchmark); with the
//! last `--fp` also `no cache` (a footer cache of 0 bytes: every lookup fetches the footer
//! again — for small blocks the whole file, in one read). The floor is one ranged read of
//! 1 KiB through the same store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use strata_block::{BlockWriter, FooterCache, WriterOptions};
use strata_common::{BlockId, SystemClock, TenantId, TraceId};
use strata_proto::otlp::common::{any_value, AnyValue, InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_querier::BlockList;
use strata_storage::{BlockPaths, InstrumentedStore, Operation, StoreMetrics, StoreStats};

#[derive(Parser)]
struct Args {
    /// Blocks in the store.
    #[arg(long, default_value_t = 1000)]
    blocks: usize,
    #[arg(long, default_value_t = 100)]
    traces_per_block: usize,
    #[arg(long, default_value_t = 10)]
    spans_per_trace: usize,
    /// Added to every object-store request.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Lookups per case.
    #[arg(long, default_value_t = 200)]
    lookups: usize,
    /// Bloom false-positive rates to compare, comma-separated; the last is the default
    /// `storage.block.bloom_false_positive`.
    #[arg(long, default_value = "0.01,0.0001", value_delimiter = ',')]
    fp: Vec<f64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Footer cache capacity of the cached cases (the querier's default).
    #[arg(long, default_value_t = 256 << 20)]
    footer_cache_bytes: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
}

fn kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

/// One trace: a resource per trace, spans with a few attributes.
fn trace(rng: &mut SmallRng, id: TraceId, spans: usize, base: u64) -> Vec<ResourceSpans> {
    let services = ["frontend", "cart", "checkout", "payment", "db"];
    let spans = (0..spans)
        .map(|i| {
            let start = base + rng.random_range(0..1_000_000_000u64);
            Span {
                trace_id: id.as_bytes().to_vec(),
                span_id: rng.random::<u64>().to_be_bytes().to_vec(),
                name: format!("GET /api/{}", i % 7),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + rng.random_range(1_000..50_000_000u64),
                attributes: vec![
                    kv("http.method", "GET"),
                    kv("http.route", &format!("/api/{}", i % 7)),
                    kv("user.id", &format!("u{}", rng.random_range(0..10_000))),
                ],
                ..Default::default()
            }
        })
        .collect();
    vec![ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv(
                "service.name",
                services[rng.random_range(0..services.len())],
            )],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "bench".into(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }]
}

/// The generated data set: per block, its traces in ID order.
type Blocks = Vec<Vec<(TraceId, Vec<ResourceSpans>)>>;

fn generate(a: &Args) -> Blocks {
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let base = 1_764_000_000_000_000_000u64;
    (0..a.blocks)
        .map(|b| {
            let mut ids: Vec<TraceId> = (0..a.traces_per_block)
                .map(|_| TraceId(rng.random()))
                .collect();
            ids.sort();
            let at = base + b as u64 * 60_000_000_000;
            ids.into_iter()
                .map(|id| (id, trace(&mut rng, id, a.spans_per_trace, at)))
                .collect()
        })
        .collect()
}

async fn write(store: &Arc<dyn ObjectStore>, blocks: &Blocks, fp: f64, traces: usize) {
    for traces_of in blocks {
        let opts = WriterOptions {
            bloom_false_positive: fp,
            expected_traces: traces,
            ..WriterOptions::default()
        };
        let mut w = BlockWriter::new(
            store.clone(),
            TenantId::single(),
            BlockId::new_random(),
            opts,
            Arc::new(SystemClock),
        )
        .expect("writer");
        for (id, rs) in traces_of {
            w.add_trace(*id, rs).await.expect("add");
        }
        w.finish().await.expect("finish");
    }
}

fn reads(s: &StoreStats) -> u64 {
    s.requests(Operation::GetRange) + s.requests(Operation::Get) + s.requests(Operation::Head)
}

#[derive(Default)]
struct Case {
    name: String,
    fp: f64,
    millis: Vec<f64>,
    reads: u64,
    candidates: u64,
    lookups: u64,
    touched_one_or_none: u64,
}

impl Case {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.millis.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    }
    fn per(&self, n: u64) -> f64 {
        n as f64 / self.lookups.max(1) as f64
    }
}

/// Looks every `(id, expected spans)` up through `list`; checks each answer.
async fn run_case(
    name: &str,
    fp: f64,
    list: &BlockList,
    store: &InstrumentedStore,
    ids: &[(TraceId, usize)],
) -> Case {
    let tenant = TenantId::single();
    let mut c = Case {
        name: name.into(),
        fp,
        ..Case::default()
    };
    for (id, want) in ids {
        let candidates = list.candidates(&tenant, id, None).len() as u64;
        let before = store.stats();
        let t = Instant::now();
        let results = list.find_trace(&tenant, id, None).await;
        c.millis.push(t.elapsed().as_secs_f64() * 1e3);
        c.reads += reads(&store.stats().since(&before));
        c.candidates += candidates;
        c.lookups += 1;
        if candidates <= 1 {
            c.touched_one_or_none += 1;
        }
        let spans: usize = results
            .into_iter()
            .map(|r| r.expect("block read").map_or(0, |f| f.spans))
            .sum();
        assert_eq!(spans, *want, "{name}: trace {id}");
    }
    c
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let latency = Duration::from_millis(a.latency_ms);
    eprintln!(
        "byid-bench: generating {} blocks × {} traces × {} spans",
        a.blocks, a.traces_per_block, a.spans_per_trace
    );
    let blocks = generate(&a);
    let mut rng = SmallRng::seed_from_u64(a.seed ^ 0x5eed);
    // Present: one trace from each of `lookups` distinct blocks.
    let mut present = Vec::new();
    for b in 0..a.lookups.min(a.blocks) {
        let block = &blocks[b * a.blocks / a.lookups.min(a.blocks)];
        let (id, _) = &block[rng.random_range(0..block.len())];
        present.push((*id, a.spans_per_trace));
    }
    let absent: Vec<(TraceId, usize)> =
        (0..a.lookups).map(|_| (TraceId(rng.random()), 0)).collect();

    let mut cases = Vec::new();
    let mut polls = Vec::new();
    let mut floor = Case {
        name: "floor: one 1 KiB ranged read".into(),
        ..Case::default()
    };
    let last_fp = *a.fp.last().expect("--fp");
    for &fp in &a.fp {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let t = Instant::now();
        write(&inner, &blocks, fp, a.traces_per_block).await;
        eprintln!("byid-bench: fp {fp}: wrote in {:.1?}", t.elapsed());
        let store =
            InstrumentedStore::new(inner, StoreMetrics::unregistered()).with_latency(latency);
        let shared: Arc<dyn ObjectStore> = Arc::new(store.clone());
        let cached = |bytes: usize| {
            BlockList::new(shared.clone()).with_footer_cache(Arc::new(FooterCache::new(bytes)))
        };
        let list = cached(a.footer_cache_bytes);
        let before = store.stats();
        let t = Instant::now();
        let n = list.poll().await.expect("poll");
        polls.push((fp, n, t.elapsed(), reads(&store.stats().since(&before))));
        cases.push(run_case("present, cold", fp, &list, &store, &present).await);
        cases.push(run_case("present, warm", fp, &list, &store, &present).await);
        cases.push(run_case("absent", fp, &list, &store, &absent).await);
        if let Some(fc) = list.footer_cache() {
            let s = fc.stats();
            eprintln!(
                "byid-bench: fp {fp}: footer cache {} entries, {} bytes, {} hits, {} misses",
                s.entries, s.bytes, s.hits, s.misses
            );
        }
        // The read strategy before whole row-group reads: a `trace_id` row filter, two reads
        // per block (footers warmed first). With the previous bloom rate, this is the
        // previous behaviour.
        let filtered = cached(a.footer_cache_bytes).with_whole_read_bytes(0);
        filtered.poll().await.expect("poll");
        run_case("(warm-up)", fp, &filtered, &store, &present).await;
        cases.push(run_case("present, warm, row filter", fp, &filtered, &store, &present).await);
        cases.push(run_case("absent, row filter", fp, &filtered, &store, &absent).await);
        if fp == last_fp {
            let none = cached(0);
            none.poll().await.expect("poll");
            cases.push(run_case("present, no cache", fp, &none, &store, &present).await);
            cases.push(run_case("absent, no cache", fp, &none, &store, &absent).await);
            let any = list.all(&TenantId::single());
            let path = BlockPaths::new(TenantId::single(), any[0].reader.meta().block_id).data();
            for _ in 0..a.lookups {
                let t = Instant::now();
                shared.get_range(&path, 0..1024).await.expect("get_range");
                floor.millis.push(t.elapsed().as_secs_f64() * 1e3);
                floor.reads += 1;
                floor.lookups += 1;
            }
        }
    }
    cases.push(floor);

    println!(
        "{} blocks × {} spans ({} traces of {} spans), {} ms per object-store request, \
         {} lookups per case, run one after another:",
        a.blocks,
        a.traces_per_block * a.spans_per_trace,
        a.traces_per_block,
        a.spans_per_trace,
        a.latency_ms,
        a.lookups
    );
    println!();
    println!("| bloom fp | case | p50 ms | p99 ms | requests / lookup | candidate blocks / lookup | lookups with ≤ 1 candidate |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for c in &cases {
        let fp = if c.fp > 0.0 {
            format!("{}", c.fp)
        } else {
            "—".into()
        };
        println!(
            "| {fp} | {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0} % |",
            c.name,
            c.pct(0.5),
            c.pct(0.99),
            c.per(c.reads),
            c.per(c.candidates),
            100.0 * c.per(c.touched_one_or_none)
        );
    }
    println!();
    println!("| bloom fp | blocks loaded | first poll | requests |");
    println!("|---:|---:|---:|---:|");
    for (fp, n, t, r) in &polls {
        println!("| {fp} | {n} | {:.2} s | {r} |", t.as_secs_f64());
    }
    if let Some(path) = &a.json_out {
        let cases: Vec<_> = cases
            .iter()
            .map(|c| {
                serde_json::json!({
                    "fp": c.fp, "case": c.name, "p50_ms": c.pct(0.5), "p99_ms": c.pct(0.99),
                    "requests_per_lookup": c.per(c.reads),
                    "candidates_per_lookup": c.per(c.candidates),
                    "lookups": c.lookups,
                })
            })
            .collect();
        let polls: Vec<_> = polls
            .iter()
            .map(|(fp, n, t, r)| serde_json::json!({"fp": fp, "blocks": n, "seconds": t.as_secs_f64(), "requests": r}))
            .collect();
        let doc = serde_json::json!({
            "blocks": a.blocks, "traces_per_block": a.traces_per_block,
            "spans_per_trace": a.spans_per_trace, "latency_ms": a.latency_ms,
            "cases": cases, "polls": polls,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
    }
}
