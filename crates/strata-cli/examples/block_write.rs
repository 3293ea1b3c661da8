//! The ingester's block write on one thread, next to prost decoding of the same requests, in one
//! run: `strata loadgen`'s own payloads (the same generator, so the same shape as `make bench`)
//! are cut into per-trace shares by the distributor's fast path, as the ingester stores them;
//! then, in turns, (1) prost decodes the requests (the baseline of issue 16) and (2) a
//! [`BlockWriter`] writes every trace from its shares (`add_trace_shares`, as the ingester's
//! block writers do) into an in-memory object store, in block format v3 and then v4. Turns alternate `--rounds` times so a busy
//! machine slows both alike. Both run on this one thread, so each is timed by the thread's own
//! CPU time (`/proc/thread-self/schedstat`, nanoseconds on CPU), which other processes on a
//! busy machine do not inflate; spans per CPU-second and the ratio are printed as a Markdown
//! table.
//!
//!   cargo run --release -p strata-cli --example block_write -- [--requests N] [--rounds N]

#[path = "../src/loadgen/cpu.rs"]
mod cpu;
#[allow(dead_code)]
#[path = "../src/loadgen/payload.rs"]
mod payload;

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rand::SeedableRng;
use strata_block::{BlockWriter, TraceShare, WriterOptions};
use strata_common::{BlockId, SystemClock, TenantId, TraceId};
use strata_distributor::stage::{split, wire};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every trace's shares, by trace ID (the order a block is written in).
type Shares = BTreeMap<TraceId, Vec<bytes::Bytes>>;

fn shares(requests: &[Vec<u8>]) -> (Shares, usize) {
    let mut out = Shares::new();
    let mut spans = 0;
    for body in requests {
        let scanned = wire::scan(body, 2048).expect("loadgen payloads take the fast path");
        for push in split::split(body, &scanned) {
            spans += push.span_count as usize;
            out.entry(push.trace_id).or_default().push(push.payload);
        }
    }
    (out, spans)
}

async fn write(shares: &Shares, format: &str) -> u64 {
    let store = Arc::new(object_store::memory::InMemory::new());
    let opts = WriterOptions::from_config(&strata_config::BlockConfig::default(), shares.len());
    let mut w = BlockWriter::new_with_format(
        store,
        TenantId::new("bench").expect("tenant"),
        BlockId::new_random(),
        opts,
        Arc::new(SystemClock),
        format,
    )
    .expect("writer");
    for (id, payloads) in shares {
        let s: Vec<TraceShare<'_>> = payloads
            .iter()
            .map(|p| TraceShare {
                bytes: p,
                replica: false,
            })
            .collect();
        assert!(w.add_trace_shares(*id, &s).await.expect("write"), "walked");
    }
    w.finish().await.expect("finish").size_bytes
}

/// Nanoseconds this thread has run on a CPU (Linux).
fn cpu_ns() -> u64 {
    cpu::thread_ns().expect("/proc/thread-self/schedstat")
}

/// Spans per CPU-second of `f`, which returns the spans it handled.
fn per_cpu_second(f: impl FnOnce() -> usize) -> f64 {
    let t = cpu_ns();
    let spans = f();
    spans as f64 * 1e9 / (cpu_ns() - t).max(1) as f64
}

fn main() {
    let n = arg("--requests", 200);
    let rounds = arg("--rounds", 5);
    let shape = payload::Shape {
        spans_per_trace: 10,
        traces_per_request: 50,
        attributes: 8,
        resource_attributes: 13,
    };
    let mut rng = rand::rngs::SmallRng::seed_from_u64(16);
    let template = payload::Template::generate(shape, &mut rng).expect("payload");
    let now = payload::now_unix_nanos();
    let requests: Vec<Vec<u8>> = (0..n)
        .map(|_| template.instantiate_with_ids(&mut rng, now, None))
        .collect();
    let (shares, spans) = shares(&requests);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    println!("| round | prost decode, spans per CPU-s | block write from shares, spans per CPU-s | write ÷ decode | bytes/span |");
    println!("|---:|---:|---:|---:|---:|");
    // Format v3 (a resource on every row), then v4 (each resource once), in every round.
    let formats = [strata_block::FORMAT_VERSION, strata_block::FORMAT_V4];
    for round in 1..=rounds {
        let decode = per_cpu_second(|| {
            requests
                .iter()
                .map(|body| {
                    let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("decode");
                    payload::count_spans(&req)
                })
                .sum()
        });
        for format in formats {
            let mut bytes = 0;
            let written = per_cpu_second(|| {
                bytes = rt.block_on(write(&shares, format));
                spans
            });
            let v = format.trim_start_matches("strata-parquet-");
            println!(
                "| {round} | {decode:.0} | {v}: {written:.0} | {:.3} | {:.1} |",
                written / decode,
                bytes as f64 / spans as f64
            );
        }
    }
}
