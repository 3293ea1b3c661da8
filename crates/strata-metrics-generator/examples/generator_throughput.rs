//! Span-metrics and service-graph processing speed on decoded spans, in spans per second on
//! one core: span metrics alone, then both processors; next to the baseline of the same run,
//! prost-decoding the same traces (what every span costs before any processing); and the
//! memory one tenant's registry takes per 10 000 active series.
//!
//! `cargo run --release -p strata-metrics-generator --example generator_throughput [spans] [seconds]`
//!
//! Besides the human-readable lines it prints `result <key> <value>` lines for
//! `scripts/generator_bench.sh`.
//!
//! The data set: batches of 100 traces × 10 spans, 20 services, 50 span names, every kind and
//! status, two configured dimensions (one on the resource, one on the span) — about 1 000
//! label sets, so the run measures steady-state updates of existing series plus the attribute
//! lookups and key building every span pays. Each trace's spans form a chain (span i+1 is the
//! child of span i); kinds cycle through all six, so service graphs pair some of them and
//! leave others waiting (expired by the clock as the run goes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_common::{SystemClock, TenantId, TraceId};
use strata_config::{MetricsGeneratorConfig, TenantLimits};
use strata_metrics_generator::metrics::GeneratorMetrics;
use strata_metrics_generator::MetricsGenerator;
use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span, Status};
use strata_proto::roles::TraceSpans;
use strata_proto::tempopb;
use strata_server::Overrides;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn batch(seed: u64) -> Vec<TraceSpans> {
    (0..100u64)
        .map(|t| {
            let n = seed * 100 + t;
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(&(n + 1).to_be_bytes());
            let service = format!("service-{}", n % 20);
            let spans: Vec<Span> = (0..10u64)
                .map(|i| Span {
                    trace_id: id.to_vec(),
                    span_id: (n * 16 + i + 1).to_be_bytes().to_vec(),
                    parent_span_id: if i == 0 {
                        Vec::new()
                    } else {
                        (n * 16 + i).to_be_bytes().to_vec()
                    },
                    name: format!("operation-{}", (n + i * 7) % 50),
                    kind: (i % 6) as i32,
                    start_time_unix_nano: 1_700_000_000_000_000_000,
                    end_time_unix_nano: 1_700_000_000_000_000_000
                        + (n * 7919 + i * 104_729) % 2_000_000_000,
                    status: Some(Status {
                        code: (i % 3) as i32,
                        message: String::new(),
                    }),
                    attributes: vec![
                        kv("http.method", ["GET", "POST"][(i % 2) as usize]),
                        kv("http.route", "/api/v1/items/{id}"),
                        kv("net.peer.name", "db.internal"),
                    ],
                    ..Default::default()
                })
                .collect();
            TraceSpans {
                trace_id: TraceId(id),
                span_count: spans.len() as u32,
                start_unix_nano: 0,
                end_unix_nano: 0,
                trace: tempopb::Trace {
                    resource_spans: vec![ResourceSpans {
                        resource: Some(Resource {
                            attributes: vec![
                                kv("service.name", &service),
                                kv("deployment.environment", "prod"),
                                kv("host.name", "node-1"),
                            ],
                            ..Default::default()
                        }),
                        scope_spans: vec![ScopeSpans {
                            spans,
                            ..Default::default()
                        }],
                        schema_url: String::new(),
                    }],
                },
            }
        })
        .collect()
}

/// Spans per second of `TraceSpans`' prost decode of the same traces, one thread.
fn decode_baseline(target: u64, max_secs: u64) -> f64 {
    use prost::Message;
    let encoded: Vec<Vec<bytes::Bytes>> = (0..20)
        .map(|b| {
            batch(b)
                .iter()
                .map(|t| bytes::Bytes::from(t.trace.encode_to_vec()))
                .collect()
        })
        .collect();
    let per_batch: u64 = 1_000;
    let started = Instant::now();
    let mut spans = 0u64;
    let mut sink = 0usize;
    'run: loop {
        for b in &encoded {
            for t in b {
                let trace = tempopb::Trace::decode(t.clone()).expect("decodes");
                sink += trace.resource_spans.len();
            }
            spans += per_batch;
            if spans >= target || started.elapsed() > Duration::from_secs(max_secs) {
                break 'run;
            }
        }
    }
    std::hint::black_box(sink);
    let sps = spans as f64 / started.elapsed().as_secs_f64();
    println!("prost decode of the same traces (baseline): {sps:.0} spans/s on one core");
    println!("result decode_spans_per_second {sps:.0}");
    sps
}

/// Resident memory of this process, bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Bytes of resident memory per 10 000 active series: one tenant, span metrics with a
/// dimension unique per span, so every span makes a new label set (19 series: calls, size and
/// a 14-bucket latency histogram).
fn memory_per_10k_series() {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.span_metrics.dimensions = vec!["request.id".into()];
    let mut limits = TenantLimits::default();
    limits.metrics_generator.processors = vec!["span-metrics".into()];
    let g = MetricsGenerator::new(
        &cfg,
        Overrides::fixed(limits),
        Arc::new(SystemClock),
        GeneratorMetrics::default(),
    );
    let tenant = TenantId::single();
    let before = rss_bytes();
    let mut series = 0u64;
    for b in 0..100u64 {
        let mut traces = batch(b);
        for (i, t) in traces.iter_mut().enumerate() {
            for (j, s) in t.trace.resource_spans[0].scope_spans[0]
                .spans
                .iter_mut()
                .enumerate()
            {
                s.attributes.push(kv("request.id", &format!("{b}-{i}-{j}")));
            }
        }
        g.process(&tenant, &traces);
        series += traces.iter().map(|t| t.span_count as u64).sum::<u64>() * 19;
    }
    let grown = rss_bytes().saturating_sub(before);
    let per_10k = grown as f64 / series as f64 * 10_000.0;
    println!(
        "memory: {series} active series took {:.1} MiB = {:.2} MiB per 10 000 series",
        grown as f64 / 1048576.0,
        per_10k / 1048576.0
    );
    println!("result bytes_per_10k_series {per_10k:.0}");
    std::hint::black_box(&g);
}

fn measure(processors: &[&str], target: u64, max_secs: u64) {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.span_metrics.dimensions =
        vec!["deployment.environment".into(), "http.method".into()];
    let mut limits = TenantLimits::default();
    limits.metrics_generator.processors = processors.iter().map(|p| p.to_string()).collect();
    let g = MetricsGenerator::new(
        &cfg,
        Overrides::fixed(limits),
        Arc::new(SystemClock),
        GeneratorMetrics::default(),
    );
    let tenant = TenantId::single();
    let batches: Vec<Vec<TraceSpans>> = (0..20).map(batch).collect();
    let per_batch: u64 = batches[0].iter().map(|t| t.span_count as u64).sum();
    // Warm-up: create every series.
    for b in &batches {
        g.process(&tenant, b);
    }

    let started = Instant::now();
    let mut spans = 0u64;
    'run: loop {
        for b in &batches {
            g.process(&tenant, b);
            spans += per_batch;
            if spans >= target || started.elapsed() > Duration::from_secs(max_secs) {
                break 'run;
            }
        }
        g.expire_edges();
    }
    let secs = started.elapsed().as_secs_f64();
    let page = g.render(strata_metrics_generator::expose::Format::Prometheus);
    let count = |p: &str| page.lines().filter(|l| l.starts_with(p)).count();
    println!(
        "{}: {spans} spans in {secs:.2} s = {:.0} spans/s on one core ({} span-metrics label sets, {} edges)",
        processors.join("+"),
        spans as f64 / secs,
        count("traces_spanmetrics_calls_total{"),
        count("traces_service_graph_request_total{"),
    );
    println!(
        "result {}_spans_per_second {:.0}",
        processors.join("+"),
        spans as f64 / secs
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let target: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let max_secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    decode_baseline(target, max_secs);
    measure(&["span-metrics"], target, max_secs);
    measure(&["span-metrics", "service-graphs"], target, max_secs);
    memory_per_10k_series();
}
