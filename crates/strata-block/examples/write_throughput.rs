//! Measures block writing: spans/s through `BlockWriter` (OTLP → Arrow → Parquet → local
//! object store) and, as a baseline in the same run, prost-encoding the same spans.
//!
//! `cargo run --release -p strata-block --example write_throughput [spans]`

use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use strata_block::{BlockReader, BlockWriter, WriterOptions};
use strata_common::{BlockId, SharedClock, SystemClock, TenantId, TraceId};
use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn trace(n: u64, spans: u64) -> (TraceId, Vec<ResourceSpans>) {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    let spans: Vec<Span> = (0..spans)
        .map(|i| Span {
            trace_id: id.to_vec(),
            span_id: (n * 100 + i + 1).to_be_bytes().to_vec(),
            parent_span_id: if i == 0 {
                vec![]
            } else {
                (n * 100 + 1).to_be_bytes().to_vec()
            },
            name: format!("GET /api/v1/items/{}", i % 7),
            kind: 2,
            start_time_unix_nano: 1_700_000_000_000_000_000 + n * 1000 + i,
            end_time_unix_nano: 1_700_000_000_000_500_000 + n * 1000 + i,
            attributes: vec![
                kv("http.request.method", Value::StringValue("GET".into())),
                kv(
                    "http.route",
                    Value::StringValue("/api/v1/items/{id}".into()),
                ),
                kv("http.response.status_code", Value::IntValue(200)),
                kv(
                    "url.full",
                    Value::StringValue(format!("https://shop/api/v1/items/{n}")),
                ),
                kv("server.address", Value::StringValue("shop".into())),
                kv(
                    "network.peer.port",
                    Value::IntValue(44_000 + (n % 1000) as i64),
                ),
                kv(
                    "user_agent.original",
                    Value::StringValue("Mozilla/5.0".into()),
                ),
                kv("sampled", Value::BoolValue(true)),
            ],
            ..Default::default()
        })
        .collect();
    let rs = ResourceSpans {
        resource: Some(Resource {
            attributes: vec![
                kv("service.name", Value::StringValue(format!("svc-{}", n % 6))),
                kv("service.version", Value::StringValue("1.4.2".into())),
                kv("k8s.namespace.name", Value::StringValue("prod".into())),
                kv(
                    "k8s.pod.name",
                    Value::StringValue(format!("svc-{}-7d9f", n % 6)),
                ),
                kv("host.name", Value::StringValue("node-3".into())),
            ],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: None,
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    };
    (TraceId(id), vec![rs])
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300_000);
    let per_trace = 10;
    let mut traces: Vec<_> = (0..total / per_trace)
        .map(|n| trace(n, per_trace))
        .collect();
    traces.sort_by_key(|t| t.0);
    let spans = traces.len() as u64 * per_trace;

    let t = Instant::now();
    let mut bytes = 0usize;
    for (_, rs) in &traces {
        for r in rs {
            bytes += r.encode_to_vec().len();
        }
    }
    let encode = t.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn object_store::ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let clock: SharedClock = Arc::new(SystemClock);
    for level in [1, 3] {
        let opts = WriterOptions {
            zstd_level: level,
            ..WriterOptions::default()
        };
        let t = Instant::now();
        let mut w = BlockWriter::new(
            store.clone(),
            TenantId::single(),
            BlockId::new_random(),
            opts,
            clock.clone(),
        )
        .unwrap();
        for (id, rs) in &traces {
            w.add_trace(*id, rs).await.unwrap();
        }
        let meta = w.finish().await.unwrap();
        let write = t.elapsed();
        let reader = BlockReader::new(store.clone(), meta.clone());
        let t = Instant::now();
        let all = reader.read_all().await.unwrap();
        let read = t.elapsed();
        assert_eq!(all.len(), traces.len());
        println!(
            "zstd {level}: write {:.0} spans/s ({:.1} MB/s of protobuf), read_all {:.0} spans/s, {:.1} bytes/span stored (protobuf {:.1})",
            spans as f64 / write.as_secs_f64(),
            bytes as f64 / write.as_secs_f64() / 1e6,
            spans as f64 / read.as_secs_f64(),
            meta.size_bytes as f64 / spans as f64,
            bytes as f64 / spans as f64,
        );
    }
    println!(
        "baseline: prost encode {:.0} spans/s",
        spans as f64 / encode.as_secs_f64()
    );
}
