//! TraceQL metrics benchmark: three metrics queries over the search benchmark's data set,
//! spans per second on one core.
//!
//! ```text
//! cargo run --release -p strata-engine --example search_bench -- --spans N --dir D --reuse --only none
//! cargo run --release -p strata-engine --example metrics_bench -- [--dir D] [--runs R] [--json]
//! ```
//!
//! The data set is the one `search_bench` generates (its `search-bench.json` manifest in
//! `--dir`, default `target/search-bench-data`): synthetic spans of a ten-service shop whose
//! traces start within one hour from 2026-01-01T00:00:00Z. Each query ([`QUERIES`]) runs over
//! that hour in 1-minute steps, `MetricsJob::observe_block` over every block in turn on a
//! `current_thread` Tokio runtime, then `MetricsJob::finish`; the median of `--runs` (default
//! 3) is reported. "Spans/s" is the number of spans in the data set divided by that time.
//! `scripts/metrics_bench.sh` runs it next to DuckDB (one thread) computing the same series
//! with SQL over the same `data.parquet` files (`scripts/metrics_bench_duckdb.py`), and
//! records both in `docs/BENCHMARKS.md`. No figure is checked against a threshold.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use serde_json::json;
use strata_block::{BlockMeta, BlockReader};
use strata_engine::metrics::{MetricsJob, MetricsRange};
use strata_proto::tempopb::QueryRangeRequest;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// 2026-01-01T00:00:00Z, where the search benchmark's traces start.
const BASE_NS: u64 = 1_767_225_600_000_000_000;
const HOUR_NS: u64 = 3_600_000_000_000;
const STEP_NS: u64 = 60_000_000_000;

/// (name, TraceQL), run in this order; `scripts/metrics_bench_duckdb.py` has the same names.
pub const QUERIES: &[(&str, &str)] = &[
    (
        "count by service",
        "{ } | count_over_time() by (resource.service.name)",
    ),
    (
        "rate, attribute filter",
        "{ span.http.response.status_code >= 500 } | rate()",
    ),
    (
        "quantiles of duration",
        "{ } | quantile_over_time(duration, .5, .99)",
    ),
];

struct Args {
    dir: PathBuf,
    runs: usize,
    json: bool,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut a = Args {
        dir: PathBuf::from("target/search-bench-data"),
        runs: 3,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dir" => a.dir = PathBuf::from(value()?),
            "--runs" => a.runs = value()?.parse::<usize>()?.max(1),
            "--json" => a.json = true,
            "-h" | "--help" => {
                println!("metrics_bench [--dir PATH] [--runs R] [--json]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(a)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(args.dir.join("search-bench.json")).map_err(|e| {
            format!(
                "{}: {e}; generate the data set with the search_bench example first",
                args.dir.display()
            )
        })?,
    )?;
    let metas: Vec<BlockMeta> = serde_json::from_value(manifest["blocks"].clone())?;
    let spans: u64 = metas.iter().map(|m| m.total_spans).sum();
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&args.dir)?);
    let readers: Vec<BlockReader> = metas
        .iter()
        .map(|m| BlockReader::new(store.clone(), m.clone()))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        for r in &readers {
            r.parquet_metadata().await?;
        }
        Ok::<_, strata_block::BlockError>(())
    })?;
    let range = MetricsRange::aligned(BASE_NS, BASE_NS + HOUR_NS, STEP_NS);
    if !args.json {
        println!("| query | TraceQL | series | samples | Strata ms | Strata spans/s/core |");
        println!("|---|---|---:|---:|---:|---:|");
    }
    for (name, query) in QUERIES {
        let job = MetricsJob::new(&QueryRangeRequest {
            query: query.to_string(),
            start: range.start,
            end: range.end,
            step: range.step,
            ..Default::default()
        })?;
        let mut times = Vec::new();
        let mut shape = (0, 0);
        for _ in 0..args.runs {
            let t = Instant::now();
            let resp = rt.block_on(async {
                let mut acc = job.accumulator();
                for r in &readers {
                    job.observe_block(r, &mut acc).await?;
                }
                Ok::<_, strata_engine::EngineError>(job.finish(&acc))
            })?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            shape = (
                resp.series.len(),
                resp.series.iter().map(|s| s.samples.len()).sum::<usize>(),
            );
        }
        let ms = median(&times);
        let per_sec = spans as f64 / (ms / 1e3);
        eprintln!("{name}: {ms:.0} ms");
        if args.json {
            println!(
                "{}",
                json!({"query": name, "traceql": query, "spans": spans, "series": shape.0,
                       "samples": shape.1, "ms": ms, "runs_ms": times, "spans_per_sec": per_sec})
            );
        } else {
            println!(
                "| {name} | `{}` | {} | {} | {ms:.0} | {per_sec:.0} |",
                query.replace('|', "\\|"),
                shape.0,
                shape.1
            );
        }
    }
    Ok(())
}
