//! Memory tail sampling needs, for `scripts/sampling_bench.sh`:
//!
//! 1. per million **pending traces**: the live set holding 1 000 000 traces (one 400-byte
//!    share each, about a 4-span trace) waiting for their decision — resident memory grown,
//!    and that minus the payload bytes (the per-trace overhead);
//! 2. per million **remembered decisions**: the decision store after 1 000 000 decisions —
//!    resident memory grown and bytes on disk.
//!
//! `cargo run --release -p strata-ingester --example sampling_memory [traces]`
//! Prints human-readable lines and `result <key> <value>` lines.

use std::time::SystemTime;

use bytes::Bytes;
use strata_common::{TenantId, TraceId};
use strata_ingester::instance::Instance;
use strata_ingester::tail::store::{Decision, DecisionStore};
use strata_proto::roles::TracePush;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn id(n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    b[8..].copy_from_slice(&n.to_be_bytes());
    TraceId(b)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let per_million = |bytes: u64| bytes as f64 * 1_000_000.0 / n as f64 / 1048576.0;

    // 1. Pending traces.
    let payload = Bytes::from(vec![7u8; 400]);
    let before = rss_bytes();
    let mut inst = Instance::default();
    let now = SystemTime::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let pushes: Vec<TracePush> = chunk
            .iter()
            .map(|&i| TracePush {
                trace_id: id(i),
                span_count: 4,
                start_unix_nano: 0,
                end_unix_nano: 0,
                // A copy per trace, as each push brings its own bytes.
                payload: Bytes::copy_from_slice(&payload),
                replica: false,
            })
            .collect();
        inst.push(pushes, now, 1);
    }
    let grown = rss_bytes().saturating_sub(before);
    let overhead = grown.saturating_sub(n * 400);
    println!(
        "pending: {n} live traces of 400 payload bytes: {:.0} MiB per million ({:.0} MiB per million beyond the payloads)",
        per_million(grown),
        per_million(overhead)
    );
    println!("result pending_mib_per_million {:.1}", per_million(grown));
    println!(
        "result pending_overhead_mib_per_million {:.1}",
        per_million(overhead)
    );
    assert_eq!(inst.live_traces() as u64, n);
    drop(inst);

    // 2. Remembered decisions.
    let dir = tempfile::tempdir().expect("tempdir");
    let before = rss_bytes();
    let store = DecisionStore::open(dir.path()).expect("store");
    let tenant = TenantId::single();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let d: Vec<(TraceId, Decision)> = chunk
            .iter()
            .map(|&i| {
                (
                    id(i),
                    if i % 10 == 0 {
                        Decision::Keep
                    } else {
                        Decision::Drop
                    },
                )
            })
            .collect();
        store.put(&tenant, &d, 1_000, 3_600_000).expect("put");
    }
    store.flush().expect("flush");
    let grown = rss_bytes().saturating_sub(before);
    let disk = dir_bytes(dir.path());
    println!(
        "decisions: {n} remembered: {:.0} MiB resident and {:.0} MiB on disk per million",
        per_million(grown),
        per_million(disk)
    );
    println!(
        "result decisions_rss_mib_per_million {:.1}",
        per_million(grown)
    );
    println!(
        "result decisions_disk_mib_per_million {:.1}",
        per_million(disk)
    );
}
