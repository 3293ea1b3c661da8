//! Blocks for the pruning tests, and a brute-force search to compare with.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use strata_block::{BlockReader, BlockWriter, ScanRequest, WriterOptions};
use strata_common::{BlockId, ManualClock, SharedClock, TenantId, TraceId};
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_proto::otlp::common::{any_value::Value, KeyValue};
use strata_proto::otlp::trace::{span::SpanKind, ResourceSpans, Span, Status};
use strata_proto::tempopb;
use strata_testkit::{array, resource_with};

/// Start of the data, in seconds.
pub const BASE_S: u64 = 1_700_000_000;
const BASE_NS: u64 = BASE_S * 1_000_000_000;
const MS: u64 = 1_000_000;
const US: u64 = 1_000;
/// Row group size of the banded block.
pub const TAIL_ROWS: u64 = 100;

pub use strata_testkit::trace_id;
use strata_testkit::{kv, s as str_value};

/// One span: `(name, kind, start, duration, status)`; parent of span `j` is span `j - 1`.
type SpanSpec = (String, SpanKind, u64, u64, Option<Status>);

fn trace(n: u64, resource: Vec<KeyValue>, spans: Vec<SpanSpec>) -> (TraceId, Vec<ResourceSpans>) {
    let id = trace_id(n);
    let sid = |j: usize| (n * 100 + j as u64 + 1).to_be_bytes().to_vec();
    let spans = spans
        .into_iter()
        .enumerate()
        .map(|(j, (name, kind, start, dur, status))| Span {
            parent_span_id: if j == 0 { vec![] } else { sid(j - 1) },
            kind: kind as i32,
            status,
            attributes: vec![kv("j", Value::IntValue(j as i64))],
            ..strata_testkit::span(&id, n * 100 + j as u64 + 1, &name, start, start + dur)
        })
        .collect();
    let rs = strata_testkit::resource_spans(Some(resource_with(resource)), None, spans);
    (id, vec![rs])
}

/// 300 traces of 1 to 13 spans in bands of 30 traces (`band = n / 30`) that share service
/// `svc-{band}`, names `op-{band}-{j % 3}`, durations from `band` ms, kind (client in band
/// 3) and status (an error in band 7). Trace 50 has no `service.name`, trace 100 an array
/// one, trace 200 an int `service.name` before a string one. The last span of the first trace from 150 on
/// that straddles a multiple of `TAIL_ROWS` rows is named `tail`. Trace `n` starts at
/// `BASE_S + n` seconds, its spans 300 ms apart.
pub fn banded() -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let tail = tail_trace();
    (0..300u64)
        .map(|n| {
            let band = n / 30;
            let len = banded_len(n);
            let tail = n == tail.0;
            let mut resource = vec![kv("service.name", str_value(&format!("svc-{band}")))];
            if n == 100 {
                resource = vec![kv("service.name", array(vec![str_value("svc-arr")]))];
            }
            if n == 50 {
                resource = vec![kv("host.name", str_value("h"))];
            }
            if n == 200 {
                resource.insert(0, kv("service.name", Value::IntValue(7)));
                resource[1] = kv("service.name", str_value("svc-dup"));
            }
            let spans = (0..len)
                .map(|j| {
                    let kind = match (j, band) {
                        (0, _) => SpanKind::Server,
                        (_, 3) => SpanKind::Client,
                        _ => SpanKind::Internal,
                    };
                    let status = match (j, band) {
                        (0, _) => None,
                        (1, 7) => Some(2),
                        (_, b) if b % 2 == 0 => Some(1),
                        _ => Some(0),
                    }
                    .map(|code| Status {
                        code,
                        message: String::new(),
                    });
                    let name = if tail && j + 1 == len {
                        "tail".to_string()
                    } else {
                        format!("op-{band}-{}", j % 3)
                    };
                    (
                        name,
                        kind,
                        BASE_NS + n * 1_000 * MS + j * 300 * MS,
                        band * MS + j * 10 * US + (n % 5) * US,
                        status,
                    )
                })
                .collect();
            trace(n, resource, spans)
        })
        .collect()
}

fn banded_len(n: u64) -> u64 {
    (n * 7 + 3) % 13 + 1
}

/// The banded trace whose last span is `tail`, and the index of its first span in the next
/// row group.
pub fn tail_trace() -> (u64, u64) {
    let mut row = 0;
    for n in 0..300 {
        let (first, len) = (row, banded_len(n));
        row += len;
        if n >= 150 && first / TAIL_ROWS != (row - 1) / TAIL_ROWS {
            return (n, TAIL_ROWS - first % TAIL_ROWS);
        }
    }
    (0, 0)
}

/// `traces` traces of 7 spans; the span at file row `r` lasts `r` µs, is named
/// `op-{r / 7000}` and runs in service `svc-b-{r / 10000}`.
pub fn sequential(traces: u64) -> Vec<(TraceId, Vec<ResourceSpans>)> {
    (0..traces)
        .map(|n| {
            let spans = (0..7u64)
                .map(|j| {
                    let r = n * 7 + j;
                    let kind = if j == 0 {
                        SpanKind::Server
                    } else {
                        SpanKind::Internal
                    };
                    let start = BASE_NS + n * 10 * MS + j * US;
                    (format!("op-{}", r / 7000), kind, start, r * US, None)
                })
                .collect();
            let svc = format!("svc-b-{}", n * 7 / 10_000);
            trace(n, vec![kv("service.name", str_value(&svc))], spans)
        })
        .collect()
}

/// Writes `traces` into a new block of at most `row_group` spans per row group.
pub async fn write(traces: &[(TraceId, Vec<ResourceSpans>)], row_group: usize) -> BlockReader {
    write_format(traces, row_group, strata_block::FORMAT_VERSION).await
}

/// [`write`] in block format `format` (one the writer can write).
pub async fn write_format(
    traces: &[(TraceId, Vec<ResourceSpans>)],
    row_group: usize,
    format: &str,
) -> BlockReader {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let clock: SharedClock = Arc::new(ManualClock::default());
    let opts = WriterOptions {
        row_group_max_spans: row_group,
        bloom_false_positive: 0.01,
        zstd_level: 1,
        expected_traces: traces.len(),
    };
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        opts,
        clock,
        format,
    )
    .expect("writer");
    for (id, rs) in traces {
        w.add_trace(*id, rs).await.expect("add");
    }
    let meta = w.finish().await.expect("finish");
    BlockReader::new(store, meta)
}

/// `traces` dealt round-robin into `inputs` v4 blocks of at most `row_group` spans per row
/// group, concatenated into one block of format v5 (a sorted run per input).
pub async fn concatenated(
    traces: &[(TraceId, Vec<ResourceSpans>)],
    row_group: usize,
    inputs: usize,
) -> BlockReader {
    let mut readers = Vec::new();
    for part in 0..inputs {
        let dealt: Vec<_> = (traces.iter().enumerate())
            .filter(|(i, _)| i % inputs == part)
            .map(|(_, t)| t.clone())
            .collect();
        readers.push(write_format(&dealt, row_group, strata_block::FORMAT_V4).await);
    }
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let clock: SharedClock = Arc::new(ManualClock::default());
    let concat = strata_block::Concat::scan(&readers).await.expect("scan");
    assert_eq!(concat.output_runs(), inputs);
    let opts = WriterOptions {
        zstd_level: 1,
        ..WriterOptions::default()
    };
    let meta = concat
        .write(
            store.clone(),
            TenantId::single(),
            BlockId::new_random(),
            &readers,
            &opts,
            &clock,
            1,
        )
        .await
        .expect("concatenate");
    assert_eq!(meta.format, strata_block::FORMAT_V5);
    let reader = BlockReader::new(store, meta);
    assert_eq!(reader.sorted_runs().await.expect("runs"), inputs);
    reader
}

pub fn job(query: &str, start: u32, end: u32) -> SearchJob {
    SearchJob::new(&tempopb::SearchRequest {
        query: query.into(),
        start,
        end,
        limit: 10_000,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// Every row, whole traces, no statistics.
pub async fn brute_force(
    reader: &BlockReader,
    job: &SearchJob,
) -> Vec<tempopb::TraceSearchMetadata> {
    let mut scan = reader
        .scan(ScanRequest {
            columns: job.plan().columns(),
            whole_traces: true,
            ..Default::default()
        })
        .await
        .expect("scan");
    let mut acc = SearchAccumulator::new();
    while let Some(batch) = scan.next().await.expect("batch") {
        job.search_batch(&batch, &mut acc).expect("search");
    }
    acc.finish(job.limit()).traces
}

/// `search_block`'s traces and accumulator counters.
pub async fn pruned(
    reader: &BlockReader,
    job: &SearchJob,
) -> (Vec<tempopb::TraceSearchMetadata>, u64, u64) {
    let mut acc = SearchAccumulator::new();
    job.search_block(reader, &mut acc)
        .await
        .expect("search_block");
    let (groups, pages) = (acc.pruned_row_groups, acc.pruned_pages);
    (acc.finish(job.limit()).traces, groups, pages)
}

/// Traces `n = 0..` of the given `(service, span names)`; trace `n` starts at `BASE_S + n`
/// seconds, its spans 1 ms apart, each lasting 1 ms.
pub fn named(specs: &[(String, Vec<String>)]) -> Vec<(TraceId, Vec<ResourceSpans>)> {
    specs
        .iter()
        .enumerate()
        .map(|(n, (svc, names))| {
            let n = n as u64;
            let spans = names
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    let j = j as u64;
                    let kind = if j == 0 {
                        SpanKind::Server
                    } else {
                        SpanKind::Internal
                    };
                    (
                        name.clone(),
                        kind,
                        BASE_NS + n * 1_000 * MS + j * MS,
                        MS,
                        None,
                    )
                })
                .collect();
            trace(n, vec![kv("service.name", str_value(svc))], spans)
        })
        .collect()
}

/// `traces` pseudo-random traces (deterministic in `seed`) that exercise the trace-level
/// values: 1 to 24 spans in one to three resources of services `svc-a`..`svc-c` or none,
/// added out of start-time order (some starts equal); no root, one root or two roots
/// (spans with an empty parent), in any position; statuses unset, ok and error; names
/// `op-0`..`op-5` and `GET /api/{k}`; durations from 0 to 40 ms, some ending before they
/// start; span attribute `j` from 0 to 4.
pub fn mixed(traces: u64, seed: u64) -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    (0..traces)
        .map(|n| {
            let id = trace_id(n + 1_000);
            let len = next(24) + 1;
            let roots = match next(4) {
                0 => 0,
                1 => 2,
                _ => 1,
            };
            let root_at: Vec<u64> = (0..roots).map(|_| next(len)).collect();
            let base = BASE_NS + n * 1_000 * MS;
            let groups = next(3) + 1;
            let mut by_group: Vec<Vec<Span>> = vec![Vec::new(); groups as usize];
            for j in 0..len {
                let start = base + next(6) * MS;
                let end = if next(20) == 0 {
                    start.saturating_sub(MS)
                } else {
                    start + next(40) * MS + next(1_000) * US
                };
                let name = if next(3) == 0 {
                    format!("GET /api/{}", next(4))
                } else {
                    format!("op-{}", next(6))
                };
                let status = match next(5) {
                    0 => None,
                    1 => Some(2),
                    2 => Some(1),
                    _ => Some(0),
                }
                .map(|code| Status {
                    code,
                    message: String::new(),
                });
                let kind = if next(2) == 0 {
                    SpanKind::Server
                } else {
                    SpanKind::Client
                };
                let parent = if root_at.contains(&j) {
                    Vec::new()
                } else {
                    (next(1_000) + 1).to_be_bytes().to_vec()
                };
                let span = Span {
                    parent_span_id: parent,
                    kind: kind as i32,
                    status,
                    attributes: vec![kv("j", Value::IntValue(next(5) as i64))],
                    ..strata_testkit::span(&id, n * 100 + j + 1, &name, start, end)
                };
                by_group[next(groups) as usize].push(span);
            }
            let rs = by_group
                .into_iter()
                .enumerate()
                .filter(|(_, spans)| !spans.is_empty())
                .map(|(g, spans)| {
                    let svc = ["svc-a", "svc-b", "svc-c", ""][(g + n as usize) % 4];
                    let attrs = if svc.is_empty() {
                        vec![kv("host.name", str_value("h"))]
                    } else {
                        vec![kv("service.name", str_value(svc))]
                    };
                    strata_testkit::resource_spans(Some(resource_with(attrs)), None, spans)
                })
                .collect();
            (id, rs)
        })
        .collect()
}
