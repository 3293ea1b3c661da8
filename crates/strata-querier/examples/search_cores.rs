//! Speed-up of one search over many blocks from 1 to N cores (`scripts/search_cores.sh`).
//!
//! Writes a deterministic data set (in memory) of `--blocks` blocks of `--spans` spans each
//! (traces of 1 to 30 spans, 5 services, 8 span names, row groups of `--row-group` spans),
//! then runs each query `--runs` times through [`Querier::search`] with
//! `querier.search.concurrent_jobs` = the cores this process may use (restrict them with
//! `taskset`) and `target_bytes_per_job` = `--target` bytes, and prints one line per query:
//! the cores, the median wall time, the jobs run per search, jobs per second, the CPU time
//! over wall time of the runs (how many cores were busy), jobs per CPU second and the share
//! of the CPU time spent by the coordinator on the main thread (serial). The queries
//! have no early exit (a limit above the number of matches), so every job runs.
//!
//! Usage: `search_cores [--blocks 16] [--spans 200000] [--row-group 20000] [--target BYTES]
//! [--runs 5]`.

use std::sync::Arc;
use std::time::Instant;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use strata_block::{BlockWriter, WriterOptions};
use strata_common::{BlockId, ManualClock, TenantId, TraceId};
use strata_ingester::testing::Node;
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::tempopb;
use strata_querier::{BlockList, Querier, QuerierMetrics, QuerierSettings};

const BASE_NS: u64 = 1_700_000_000 * 1_000_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

async fn write(store: &Arc<dyn ObjectStore>, tenant: &TenantId, blocks: u64, spans: u64, rg: u64) {
    let mut rng = Rng(42);
    for b in 0..blocks {
        let mut traces: Vec<(TraceId, Vec<ResourceSpans>)> = Vec::new();
        let mut left = spans;
        while left > 0 {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&rng.next().to_be_bytes());
            id[8..].copy_from_slice(&rng.next().to_be_bytes());
            let id = TraceId(id);
            let n = (1 + rng.next() % 30).min(left);
            left -= n;
            let start = BASE_NS + b * 600_000_000_000 + rng.next() % 600_000_000_000;
            let svc = format!("svc-{}", rng.next() % 5);
            let s = (0..n)
                .map(|i| {
                    let st = start + i * 1_000_000;
                    let dur = 1_000_000 + rng.next() % 20_000_000;
                    let name = format!("op-{}", rng.next() % 8);
                    strata_testkit::span(&id, i + 1, &name, st, st + dur)
                })
                .collect();
            traces.push((
                id,
                vec![strata_testkit::resource_spans(
                    Some(strata_testkit::resource(&svc)),
                    Some(strata_testkit::scope("lib", "")),
                    s,
                )],
            ));
        }
        traces.sort_by_key(|(id, _)| *id);
        let opts = WriterOptions {
            row_group_max_spans: rg as usize,
            expected_traces: traces.len(),
            ..WriterOptions::default()
        };
        let mut w = BlockWriter::new(
            store.clone(),
            tenant.clone(),
            BlockId::new_random(),
            opts,
            Arc::new(ManualClock::default()),
        )
        .expect("writer");
        for (id, rs) in &traces {
            w.add_trace(*id, rs).await.expect("add");
        }
        w.finish().await.expect("finish");
    }
}

/// CPU seconds (user + system) used by this process's threads: (all, the main thread), from
/// `/proc/self/task/*/stat` (zeros elsewhere). The search's coordinator (choosing jobs and
/// merging their answers) runs on the main thread (`block_on`); jobs run on the workers.
fn cpu_seconds() -> (f64, f64) {
    let ticks = |path: &std::path::Path| {
        let stat = std::fs::read_to_string(path).unwrap_or_default();
        // After the command name (which ends with ')'): utime and stime are the 12th and
        // 13th fields, in clock ticks (100 per second on Linux).
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        f.get(11).zip(f.get(12)).map_or(0, |(u, s)| u + s)
    };
    let me = std::process::id().to_string();
    let (mut all, mut main) = (0, 0);
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let n = ticks(&t.path().join("stat"));
        all += n;
        if t.file_name().to_string_lossy() == me {
            main += n;
        }
    }
    (all as f64 / 100.0, main as f64 / 100.0)
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(cores));
}

async fn run(cores: usize) {
    let (blocks, spans, rg) = (
        arg("--blocks", 16),
        arg("--spans", 200_000),
        arg("--row-group", 20_000),
    );
    let runs = arg("--runs", 5) as usize;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::single();
    let t = Instant::now();
    write(&store, &tenant, blocks, spans, rg).await;
    eprintln!(
        "wrote {blocks} blocks of {spans} spans in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let search = strata_config::QuerierSearchConfig {
        target_bytes_per_job: arg(
            "--target",
            strata_config::QuerierSearchConfig::default().target_bytes_per_job,
        ),
        concurrent_jobs: cores,
        ..Default::default()
    };
    let settings = QuerierSettings {
        multitenancy_enabled: false,
        max_bytes_per_trace: 1 << 20,
        blocklist_poll: std::time::Duration::from_secs(3600),
        search,
    };
    let metrics = QuerierMetrics::new(&mut prometheus_client::registry::Registry::default());
    let node = Arc::new(Node::start("ingester-0", &|_| {}));
    let q = Querier::new(node, BlockList::new(store.clone()), settings, metrics);
    q.blocks().poll().await.expect("poll");
    let bytes: u64 = q
        .blocks()
        .all(&tenant)
        .iter()
        .map(|b| b.reader.meta().size_bytes)
        .sum();
    eprintln!("{bytes} bytes of blocks");
    for query in [
        "{ }",
        r#"{ name = "op-3" && duration > 15ms }"#,
        r#"{ resource.service.name = "svc-2" && duration > 18ms }"#,
    ] {
        let req = tempopb::SearchRequest {
            query: query.into(),
            limit: 10_000_000,
            ..Default::default()
        };
        // One warm-up run reads the footers into the cache.
        q.search(&tenant, &req).await.expect("search");
        let mut times = Vec::new();
        let mut jobs = 0;
        let mut found = 0;
        let cpu = cpu_seconds();
        let wall = Instant::now();
        for _ in 0..runs {
            let before = q.metrics().search_jobs.get();
            let t = Instant::now();
            let (resp, _) = q.search(&tenant, &req).await.expect("search");
            times.push(t.elapsed().as_secs_f64());
            jobs = q.metrics().search_jobs.get() - before;
            found = resp.traces.len();
        }
        let (after, wall) = (cpu_seconds(), wall.elapsed().as_secs_f64());
        let (cpu, main) = (after.0 - cpu.0, after.1 - cpu.1);
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        // cpu/wall: cores busy on average (up to `cores`); jobs per CPU second: the per-core
        // throughput, independent of other processes' load; serial: the coordinator's share
        // of the CPU time, which more cores do not shorten (Amdahl).
        println!(
            "cores={cores} query={query:?} traces={found} jobs={jobs} median_s={median:.3} jobs_per_s={:.1} cpu_per_wall={:.2} jobs_per_cpu_s={:.1} serial={:.2}",
            jobs as f64 / median,
            cpu / wall,
            (jobs * runs as u64) as f64 / cpu.max(0.01),
            main / cpu.max(0.01),
        );
    }
}
