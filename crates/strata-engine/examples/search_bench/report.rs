//! Output: a Markdown summary and table, or one JSON object per line.

use std::fmt::Write;

use serde_json::json;

use crate::{datagen, Args, BoxError, DataSet, Row};

/// The machine the benchmark ran on.
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub mem_gib: f64,
    /// The 1-, 5- and 15-minute load averages from `/proc/loadavg`.
    pub loadavg: String,
}

impl Machine {
    /// `nproc`, the CPU model from `/proc/cpuinfo`, `MemTotal` from `/proc/meminfo` and the
    /// current load average.
    pub fn detect() -> Self {
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        Self {
            nproc,
            cpu,
            mem_gib: mem_kib / 1_048_576.0,
            loadavg: loadavg
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(b: u64) -> f64 {
    b as f64 / 1_048_576.0
}

/// Millions of spans per second.
fn mspans(spans: u64, ms: f64) -> f64 {
    spans as f64 / ms / 1e3
}

/// A `dataset` line, then one `query` line per row.
pub fn json_lines(
    args: &Args,
    data: &DataSet,
    machine: &Machine,
    rows: &[Row],
) -> Result<String, BoxError> {
    let spans = data.spans();
    let mut out = serde_json::to_string(&json!({
        "type": "dataset",
        "spans": spans,
        "traces": data.traces(),
        "blocks": data.metas.len(),
        "bytes": data.bytes(),
        "bytes_per_span": data.bytes() as f64 / spans as f64,
        "generator_version": datagen::GEN_VERSION,
        "generation_seconds": data.gen_seconds,
        "generation_threads": data.gen_threads,
        "reused": data.reused,
        "runs": args.runs,
        "nproc": machine.nproc,
        "cpu": machine.cpu,
        "memory_gib": machine.mem_gib,
        "loadavg": machine.loadavg,
    }))?;
    out.push('\n');
    for r in rows {
        let line = match &r.outcome {
            Ok(m) => json!({
                "type": "query",
                "kind": r.kind,
                "query": r.query,
                "matched_traces": m.matches,
                "matched_spans": m.matched_spans,
                "strata_ms": m.strata_ms,
                "strata_runs_ms": m.strata_runs,
                "strata_spans_per_second": mspans(spans, m.strata_ms) * 1e6,
                "strata_inspected_bytes": m.strata_bytes,
                "strata_second_pass_spans": m.strata_second_pass_spans,
                "baseline_ms": m.baseline_ms,
                "baseline_runs_ms": m.baseline_runs,
                "baseline_spans_per_second": mspans(spans, m.baseline_ms) * 1e6,
                "baseline_bytes": m.baseline_bytes,
                "ratio": m.strata_ms / m.baseline_ms,
                "columns": m.columns,
                "prefilter_columns": m.prefilter,
                "duckdb_ms": m.duck.as_ref().map(|d| d.ms),
                "duckdb_runs_ms": m.duck.as_ref().map(|d| d.runs.clone()),
                "duckdb_matched_traces": m.duck.as_ref().map(|d| d.traces),
                "duckdb_matched_spans": m.duck.as_ref().map(|d| d.spans),
                "duckdb_agrees": m.agrees(),
                "strata_over_duckdb": m.duck.as_ref().map(|d| m.strata_ms / d.ms),
            }),
            Err(e) => json!({ "type": "query", "kind": r.kind, "query": r.query, "error": e }),
        };
        out.push_str(&serde_json::to_string(&line)?);
        out.push('\n');
    }
    Ok(out)
}

/// The summary, the results table and a legend, as Markdown.
pub fn markdown(args: &Args, data: &DataSet, machine: &Machine, rows: &[Row]) -> String {
    let spans = data.spans();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "- Machine: {}, `nproc` = {}, {:.1} GiB memory, load average {} at the start. Every \
         query runs on one thread.",
        machine.cpu, machine.nproc, machine.mem_gib, machine.loadavg
    );
    let _ = writeln!(
        o,
        "- Data set: **{} spans** in {} traces, {} block(s) of at most {} spans written with \
         the default block settings (row groups of 100,000 spans, zstd 3): {:.1} MiB \
         (`data.parquet` + `bloom`), {:.1} bytes/span.",
        thousands(spans),
        thousands(data.traces()),
        data.metas.len(),
        thousands(datagen::BLOCK_SPANS),
        mib(data.bytes()),
        data.bytes() as f64 / spans as f64,
    );
    let _ = writeln!(
        o,
        "- Generation: {:.1} s on {} threads ({:.0}k spans/s){}.",
        data.gen_seconds,
        data.gen_threads,
        spans as f64 / data.gen_seconds.max(1e-9) / 1e3,
        if data.reused {
            ", in an earlier run (`--reuse`)"
        } else {
            ""
        },
    );
    let _ = writeln!(
        o,
        "- Median of {} runs per query. Mspans/s = spans in the data set ÷ wall time on one \
         core.\n",
        args.runs
    );
    o.push_str(
        "| Kind | Query | Matched traces (spans) | Strata ms | Strata Mspans/s | Strata read MiB \
         | DuckDB ms | **Strata ÷ DuckDB** | Baseline ms | Baseline read MiB | Strata ÷ baseline |\n",
    );
    o.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let q = r.query.replace('|', "\\|");
        let _ = match &r.outcome {
            Ok(m) => {
                let (duck_ms, ratio) = match &m.duck {
                    Some(d) => (format!("{:.0}", d.ms), format!("{:.2}", m.strata_ms / d.ms)),
                    None => ("–".to_string(), "–".to_string()),
                };
                let differs = match (&m.duck, m.agrees()) {
                    (Some(d), Some(false)) => format!(
                        " **≠ DuckDB {} ({})**",
                        thousands(d.traces as u64),
                        thousands(d.spans)
                    ),
                    _ => String::new(),
                };
                writeln!(
                    o,
                    "| {} | `{q}` | {} ({}){differs} | {:.0} | {:.2} | {:.1} | {duck_ms} | {ratio} \
                     | {:.0} | {:.1} | {:.2} |",
                    r.kind,
                    thousands(m.matches as u64),
                    thousands(m.matched_spans),
                    m.strata_ms,
                    mspans(spans, m.strata_ms),
                    mib(m.strata_bytes),
                    m.baseline_ms,
                    mib(m.baseline_bytes),
                    m.strata_ms / m.baseline_ms,
                )
            }
            Err(e) => writeln!(
                o,
                "| {} | `{q}` | failed: {} | | | | | | | | |",
                r.kind,
                e.replace('|', "\\|")
            ),
        };
    }
    o.push_str(
        "\n**Strata**: `SearchJob::search_block` over every block, one `current_thread` Tokio \
         runtime, limit 1,000,000 (every match is collected), then `SearchAccumulator::finish`; \
         *read* is the engine's `inspected_bytes` over both passes. **DuckDB**: \
         `scripts/search_bench_duckdb.py` (the SQL of every query is there), one thread, over the \
         same files, computing matched trace IDs with start, duration, root name and service, \
         and per spanset the matched count and first three spans (Strata also computes \
         per-service span and error counts); its matched traces and spans are checked against \
         Strata's, a difference is shown in bold. Below 1, Strata is faster. **Baseline**: a plain \
         parquet-crate scan (`ParquetRecordBatchReaderBuilder`, batches of 8,192 rows) of the \
         plan's full column list over every row of every block, decoding only; *read* is the \
         compressed size of those column chunks. A ratio above 1 is the cost of evaluation and \
         of the second pass; below 1, the first pass let Strata skip pages the baseline \
         decoded. Footers are parsed before timing for both; the blocks are in the page cache.\n\n\
         Columns per query (first pass → full evaluation):\n\n",
    );
    for r in rows {
        if let Ok(m) = &r.outcome {
            let pre = m
                .prefilter
                .as_ref()
                .map_or("none (one pass)".to_string(), |p| p.join(", "));
            let _ = writeln!(o, "- `{}`: {pre} → {}", r.query, m.columns.join(", "));
        }
    }
    o
}
