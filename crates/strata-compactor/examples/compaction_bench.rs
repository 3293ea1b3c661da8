//! Compaction benchmark: deterministic traces written as level-0 blocks with RF-3 copies,
//! compacted by the real [`Compactor`], then measured.
//!
//! `cargo run --release -p strata-compactor --example compaction_bench -- [traces] [blocks]`
//! (defaults 20000 traces of 8 spans, 10 groups × 3 replicas = 30 blocks). Prints a Markdown
//! section on stdout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use object_store::local::LocalFileSystem;
use prost::Message;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use strata_block::{read_bloom, BlockMeta, BlockReader, BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, SharedClock, TenantId, TraceId};
use strata_compactor::{Compactor, CompactorMetrics, CompactorSettings, NoOverrides, OwnAll};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value, AnyValue, InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{span::Event, ResourceSpans, ScopeSpans, Span, Status};
use strata_storage::{InstrumentedStore, SharedStore, StoreMetrics};

const SPANS_PER_TRACE: usize = 8;
const RF: usize = 3;
const BASE_SECS: u64 = 1_700_000_000;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// One trace: a root and children over a few services, with HTTP-like attributes.
fn gen_trace(rng: &mut SmallRng, n: u64) -> (TraceId, Vec<ResourceSpans>) {
    let mut id = [0u8; 16];
    rng.fill(&mut id[..]);
    let tid = TraceId(id);
    let services = ["frontend", "cart", "checkout", "payment", "shipping", "db"];
    let ops = [
        "GET /api/cart",
        "POST /api/checkout",
        "SELECT",
        "charge",
        "quote",
        "render",
    ];
    let start = (BASE_SECS + n % 1800) * 1_000_000_000 + rng.random_range(0..1_000_000_000);
    let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    let mut parent = Vec::new();
    for i in 0..SPANS_PER_TRACE {
        let mut sid = [0u8; 8];
        rng.fill(&mut sid[..]);
        let svc = services[(i + n as usize) % services.len()];
        let begin = start + i as u64 * 1_000_000;
        let dur = rng.random_range(100_000..50_000_000);
        let status = rng.random_range(0..100) < 3;
        by_service.entry(svc).or_default().push(Span {
            trace_id: id.to_vec(),
            span_id: sid.to_vec(),
            parent_span_id: parent.clone(),
            name: ops[rng.random_range(0..ops.len())].into(),
            kind: 1 + (i % 3) as i32,
            start_time_unix_nano: begin,
            end_time_unix_nano: begin + dur,
            attributes: vec![
                kv("http.method", s(if i % 2 == 0 { "GET" } else { "POST" })),
                kv(
                    "http.status_code",
                    any_value::Value::IntValue(if status { 500 } else { 200 }),
                ),
                kv(
                    "http.url",
                    s(&format!(
                        "https://shop.example/api/item/{}",
                        rng.random_range(0..5000)
                    )),
                ),
                kv(
                    "net.peer.port",
                    any_value::Value::IntValue(rng.random_range(1024..65535)),
                ),
            ],
            events: if status {
                vec![Event {
                    time_unix_nano: begin + 10,
                    name: "exception".into(),
                    attributes: vec![kv("exception.message", s("upstream timeout"))],
                    ..Default::default()
                }]
            } else {
                Vec::new()
            },
            status: Some(Status {
                code: if status { 2 } else { 0 },
                ..Default::default()
            }),
            ..Default::default()
        });
        if i == 0 {
            parent = sid.to_vec();
        }
    }
    let rs = by_service
        .into_iter()
        .map(|(svc, spans)| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s(svc)),
                    kv("host.name", s(&format!("{svc}-7f9c-{}", n % 4))),
                    kv("deployment.environment", s("production")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "bench".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    (tid, rs)
}

async fn write(
    store: &SharedStore,
    t: &TenantId,
    traces: &[(TraceId, Vec<ResourceSpans>)],
) -> BlockMeta {
    let clock: SharedClock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(BASE_SECS),
    ));
    let mut w = BlockWriter::new(
        store.clone(),
        t.clone(),
        BlockId::new_random(),
        WriterOptions::default(),
        clock,
    )
    .unwrap();
    for (id, rs) in traces {
        w.add_trace(*id, rs).await.unwrap();
    }
    w.finish().await.unwrap()
}

/// Object-store requests of trace-by-ID lookups as a querier does them (blooms cached, each
/// admitted block opened by a fresh reader, as after a poll): (requests per lookup, blocks
/// opened per lookup).
async fn lookup_cost(
    store: &Arc<InstrumentedStore>,
    t: &TenantId,
    blocks: &[BlockMeta],
    ids: &[TraceId],
) -> (f64, f64) {
    let shared: SharedStore = store.clone();
    let mut blooms = Vec::new();
    for m in blocks {
        blooms.push(read_bloom(shared.as_ref(), t, m.block_id).await.unwrap());
    }
    let before = store.stats();
    let mut opened = 0usize;
    for id in ids {
        for (m, b) in blocks.iter().zip(&blooms) {
            if b.may_contain(id) {
                opened += 1;
                let r = BlockReader::new(shared.clone(), m.clone());
                r.find_trace(id).await.unwrap();
            }
        }
    }
    let d = store.stats().since(&before);
    let n = ids.len() as f64;
    (d.total_requests() as f64 / n, opened as f64 / n)
}

/// User plus system CPU time of this process so far, in seconds (`/proc/self/stat`, in clock
/// ticks of 1/100 s); 0 where there is no procfs.
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name, from the 3rd (state); utime and stime are
    // the 14th and 15th.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split(' ').collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
    match (tick(14 - 3), tick(15 - 3)) {
        (Some(u), Some(s)) => (u + s) as f64 / 100.0,
        _ => 0.0,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_traces = args.first().copied().unwrap_or(20_000);
    let groups = args.get(1).copied().unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let local: SharedStore = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let store = Arc::new(InstrumentedStore::new(local, StoreMetrics::unregistered()));
    let shared: SharedStore = store.clone();
    let t = TenantId::single();

    let mut rng = SmallRng::seed_from_u64(42);
    let mut all: Vec<(TraceId, Vec<ResourceSpans>)> = (0..n_traces as u64)
        .map(|n| gen_trace(&mut rng, n))
        .collect();
    let unique_spans = (n_traces * SPANS_PER_TRACE) as u64;
    // OTLP baselines over the same unique spans.
    let req = ExportTraceServiceRequest {
        resource_spans: all.iter().flat_map(|(_, rs)| rs.clone()).collect(),
    };
    let otlp = req.encode_to_vec();
    let otlp_zstd = zstd::encode_all(otlp.as_slice(), 3).unwrap();
    drop(req);

    all.sort_by_key(|(id, _)| *id);
    let mut shuffled: Vec<usize> = (0..all.len()).collect();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.random_range(0..=i));
    }
    let mut l0 = Vec::new();
    for g in 0..groups {
        let mut part: Vec<_> = shuffled
            .iter()
            .filter(|i| *i % groups == g)
            .map(|i| all[*i].clone())
            .collect();
        part.sort_by_key(|(id, _)| *id);
        for _ in 0..RF {
            l0.push(write(&shared, &t, &part).await);
        }
    }
    let l0_bytes: u64 = l0.iter().map(|m| m.size_bytes + m.bloom_bytes).sum();
    let l0_spans: u64 = l0.iter().map(|m| m.total_spans).sum();
    let probe: Vec<TraceId> = (0..200).map(|i| all[(i * 7919) % all.len()].0).collect();
    let (req_before, open_before) = lookup_cost(&store, &t, &l0, &probe).await;

    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(BASE_SECS + 86_400),
    ));
    let settings = CompactorSettings::default();
    let c = Compactor::new(
        shared.clone(),
        settings.clone(),
        Arc::new(OwnAll),
        Arc::new(NoOverrides),
        clock,
        CompactorMetrics::unregistered(),
    );
    let started = Instant::now();
    let cpu_before = process_cpu_secs();
    let mut cycles = 0;
    loop {
        let rep = c.run_cycle().await.unwrap();
        cycles += 1;
        if rep.jobs.is_empty() {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = process_cpu_secs() - cpu_before;
    let index = strata_block::read_index(shared.as_ref(), &t)
        .await
        .unwrap()
        .unwrap();
    let out = index.blocks.clone();
    let out_bytes: u64 = out.iter().map(|m| m.size_bytes + m.bloom_bytes).sum();
    let out_spans: u64 = out.iter().map(|m| m.total_spans).sum();
    assert_eq!(
        out_spans, unique_spans,
        "compaction lost or kept duplicate spans"
    );
    let (req_after, open_after) = lookup_cost(&store, &t, &out, &probe).await;

    let per = |b: u64| b as f64 / unique_spans as f64;
    println!("| measure | value |\n|---|---|");
    println!("| data set | {n_traces} traces × {SPANS_PER_TRACE} spans = {unique_spans} unique spans; {} level-0 blocks ({groups} groups × RF {RF}), {l0_spans} stored spans |", l0.len());
    println!("| compaction | {cycles} cycles (max_compaction_objects {}), {} output block(s), levels {:?} |", settings.max_compaction_objects, out.len(), out.iter().map(|m| m.compaction_level).collect::<Vec<_>>());
    println!("| compaction time | {secs:.2} s |");
    println!(
        "| throughput | {:.0} input spans/s ({:.0} unique spans/s written) |",
        l0_spans as f64 / secs,
        unique_spans as f64 / secs
    );
    println!(
        "| compaction CPU (the whole process while the cycles ran) | {cpu:.2} s, {:.0} input spans per CPU-second |",
        l0_spans as f64 / cpu
    );
    println!(
        "| bytes/span, level-0 blocks (RF 3, data + bloom) | {:.1} |",
        l0_bytes as f64 / l0_spans as f64
    );
    println!(
        "| **bytes/span, after compaction (data + bloom)** | **{:.1}** |",
        per(out_bytes)
    );
    println!(
        "| bytes/span, OTLP protobuf (ExportTraceServiceRequest) | {:.1} |",
        per(otlp.len() as u64)
    );
    println!(
        "| bytes/span, OTLP protobuf + zstd-3 (whole stream) | {:.1} |",
        per(otlp_zstd.len() as u64)
    );
    println!("| trace by ID before compaction | {req_before:.1} object-store requests, {open_before:.1} blocks opened per lookup |");
    println!("| trace by ID after compaction | {req_after:.1} object-store requests, {open_after:.1} blocks opened per lookup |");
}
