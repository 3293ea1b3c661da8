//! The distributor's accept path on one thread, next to plain prost decoding of the same body,
//! in one run: the decoding path (prost decode → validate → truncate → group → encode each
//! trace) and the fast path (wire walk → split into shares), on `strata loadgen`-like requests
//! (500 spans, 10 per trace, 8 attributes of mixed types). The three are measured in turns,
//! `--rounds` times, so that a busy machine slows them alike; spans per second are printed as a
//! Markdown table with the ratio to the decode baseline.
//!
//!   cargo run --release -p strata-distributor --example accept_path -- [--seconds N] [--rounds N]

use std::time::{Duration, Instant};

use prost::Message;
use strata_distributor::stage::{group, split, truncate, validate, wire};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_proto::roles::TraceSpans;

const SPANS: u64 = 500;
const SPANS_PER_TRACE: u64 = 10;
const MAX_ATTRIBUTE_BYTES: usize = 2048;

fn request() -> ExportTraceServiceRequest {
    let kv = |k: &str, v: Value| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    };
    let spans = (0..SPANS)
        .map(|i| {
            let trace = i / SPANS_PER_TRACE + 1;
            let mut trace_id = [0u8; 16];
            trace_id[8..].copy_from_slice(&trace.to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: (i + 1).to_be_bytes().to_vec(),
                parent_span_id: if i % SPANS_PER_TRACE == 0 {
                    Vec::new()
                } else {
                    (i - i % SPANS_PER_TRACE + 1).to_be_bytes().to_vec()
                },
                name: format!("GET /api/v1/items/{}", i % 20),
                kind: 2,
                start_time_unix_nano: 1_700_000_000_000_000_000 + i * 1_000,
                end_time_unix_nano: 1_700_000_000_000_500_000 + i * 1_000,
                attributes: vec![
                    kv("http.method", Value::StringValue("GET".into())),
                    kv(
                        "http.route",
                        Value::StringValue("/api/v1/items/{id}".into()),
                    ),
                    kv("http.status_code", Value::IntValue(200)),
                    kv(
                        "net.peer.name",
                        Value::StringValue(format!("host-{}", i % 7)),
                    ),
                    kv("retry", Value::BoolValue(i % 3 == 0)),
                    kv("ratio", Value::DoubleValue(i as f64 / 7.0)),
                    kv("user.id", Value::StringValue(format!("user-{i}"))),
                    kv("component", Value::StringValue("http".into())),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", Value::StringValue("checkout".into())),
                    kv("host.name", Value::StringValue("node-1".into())),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

/// Runs `f` (which handles one request) for `secs`; returns spans per second.
fn measure(secs: f64, mut f: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut spans = 0usize;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        spans += f();
    }
    spans as f64 / start.elapsed().as_secs_f64()
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let secs = arg("--seconds", 2.0);
    let rounds = arg("--rounds", 3.0) as usize;
    let body = request().encode_to_vec();
    let decode = || {
        let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("decodes");
        validate::span_count(&req)
    };
    let decoding_path = || {
        let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("decodes");
        let mut valid = validate::validate(req).expect("valid");
        truncate::apply(&mut valid, MAX_ATTRIBUTE_BYTES);
        let traces = group::group(valid);
        let pushes: Vec<_> = traces.iter().map(TraceSpans::encode).collect();
        drop(traces);
        pushes.iter().map(|p| p.span_count as usize).sum()
    };
    let fast_path = || {
        let scanned = wire::scan(&body, MAX_ATTRIBUTE_BYTES).expect("fast path");
        let pushes = split::split(&body, &scanned);
        pushes.iter().map(|p| p.span_count as usize).sum()
    };
    let mut totals = [0.0f64; 3];
    for _ in 0..rounds {
        totals[0] += measure(secs, decode);
        totals[1] += measure(secs, decoding_path);
        totals[2] += measure(secs, fast_path);
    }
    let names = [
        "prost decode only (baseline)",
        "decoding path: decode, validate, truncate, group, encode",
        "fast path: wire walk, split",
    ];
    println!(
        "| work on a {} B request of {SPANS} spans | spans/s (one core) | vs. decode |",
        body.len()
    );
    println!("|---|---:|---:|");
    for (name, total) in names.iter().zip(totals) {
        let rate = total / rounds as f64;
        println!(
            "| {name} | {rate:.0} | {:.2}x |",
            rate / (totals[0] / rounds as f64)
        );
    }
}
