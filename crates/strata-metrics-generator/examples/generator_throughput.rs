//! Span-metrics and service-graph processing speed on decoded spans, in spans per second on
//! one core: span metrics alone, then both processors.
//!
//! `cargo run --release -p strata-metrics-generator --example generator_throughput [spans] [seconds]`
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
}

fn main() {
    let mut args = std::env::args().skip(1);
    let target: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let max_secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    measure(&["span-metrics"], target, max_secs);
    measure(&["span-metrics", "service-graphs"], target, max_secs);
}
