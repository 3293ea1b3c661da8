//! The per-tenant scan budget (`overrides.*.read.max_block_bytes_per_query`) against the real
//! binary. Two tenants hold the same four blocks; one may read only its two newest per query.
//! Its searches, TraceQL metrics and tag values are cut to those blocks and say so
//! (`X-Strata-Status: PARTIAL` and `X-Strata-Message` headers, `completedJobs < totalJobs`,
//! the metrics body's `status`/`message`, `strata query`'s stderr, the cut counter), with
//! fewer results than the unbudgeted tenant's complete answers; meanwhile a third tenant's
//! trace lookups and searches stay answered, whole.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;
use strata_integration_tests::otlp::{kv, s, simple_request, trace_id};
use strata_integration_tests::{
    block_metas, eventually, eventually_async, metric_sum, strata_bin, Server, FAST_BLOCKS,
};

const CAPPED: &str = "capped";
const OPEN: &str = "open";
const LIGHT: &str = "light";
const KEY: &str = "read.max_block_bytes_per_query";
/// Batches pushed (each becomes its own block) and traces per batch.
const BATCHES: u64 = 4;
const PER_BATCH: u64 = 10;
/// Span start of batch 0, unix seconds; batch k starts k minutes later.
const BASE_SECS: u64 = 1_700_000_000;

fn start(overrides: &Path) -> Server {
    Server::start(&format!(
        "multitenancy_enabled:
  true
{FAST_BLOCKS}compactor:
  compaction_cycle: 1h
overrides:
  per_tenant_override_config: {}
  per_tenant_override_period: 200ms
",
        overrides.display()
    ))
}

/// Batch `k`: `PER_BATCH` traces of 3 spans, `k` minutes after `BASE_SECS`.
fn batch(k: u64) -> ExportTraceServiceRequest {
    let ids: Vec<[u8; 16]> = (0..PER_BATCH).map(|i| trace_id(k * 100 + i)).collect();
    let mut req = simple_request(&ids, 3);
    let rs = &mut req.resource_spans[0];
    rs.resource.as_mut().unwrap().attributes = vec![kv("service.name", s(&format!("svc-{k}")))];
    let shift = (BASE_SECS + k * 60) * 1_000_000_000 - 1_700_000_000_000_000_000;
    for span in &mut rs.scope_spans[0].spans {
        span.start_time_unix_nano += shift;
        span.end_time_unix_nano += shift;
    }
    req
}

async fn push(server: &Server, tenant: &str, req: ExportTraceServiceRequest) {
    let mut client = TraceServiceClient::connect(server.otlp_grpc_endpoint())
        .await
        .expect("grpc connect");
    let mut r = tonic::Request::new(req);
    r.metadata_mut()
        .insert("x-scope-orgid", tenant.parse().unwrap());
    client.export(r).await.expect("push");
}

/// A GET as `tenant`: status, the partial-answer message (when `X-Strata-Status: PARTIAL`),
/// and the body.
async fn get(server: &Server, tenant: &str, path: &str) -> (u16, Option<String>, String) {
    let r = reqwest::Client::new()
        .get(server.url(path))
        .header("X-Scope-OrgID", tenant)
        .send()
        .await
        .expect("query API reachable");
    let status = r.status().as_u16();
    let partial = match r.headers().get("x-strata-status") {
        Some(v) => {
            assert_eq!(v, "PARTIAL");
            Some(
                r.headers()
                    .get("x-strata-message")
                    .expect("a message with the partial status")
                    .to_str()
                    .unwrap()
                    .to_string(),
            )
        }
        None => None,
    };
    (status, partial, r.text().await.unwrap())
}

const SEARCH_ALL: &str = "/api/search?q=%7B%20%7D&limit=1000";

fn traces(body: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["traces"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["traceID"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn jobs(body: &str) -> (u64, u64) {
    let v: Value = serde_json::from_str(body).unwrap();
    let m = &v["metrics"];
    (
        m["completedJobs"].as_u64().unwrap_or(0),
        m["totalJobs"].as_u64().unwrap_or(0),
    )
}

/// (end time, size, traces) of each of `tenant`'s blocks, newest first.
fn blocks(server: &Server, tenant: &str) -> Vec<(u64, u64, u64)> {
    let mut out: Vec<(u64, u64, u64)> = block_metas(server, tenant)
        .iter()
        .map(|p: &PathBuf| {
            let m: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            (
                m["endTimeUnixNano"].as_u64().unwrap(),
                m["sizeBytes"].as_u64().unwrap(),
                m["totalTraces"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| b.cmp(a));
    out
}

/// Sum of every sample of every series of a metrics answer (range or instant).
fn value_sum(body: &str) -> f64 {
    let v: Value = serde_json::from_str(body).unwrap();
    let mut sum = 0.0;
    for s in v["series"].as_array().into_iter().flatten() {
        for p in s["samples"].as_array().into_iter().flatten() {
            sum += p["value"].as_f64().unwrap_or(0.0);
        }
        sum += s["value"].as_f64().unwrap_or(0.0);
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_over_its_scan_budget_gets_partial_answers_and_others_stay_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(&file, "").unwrap();
    let server = start(&file);

    // Four blocks per tenant, one per batch, with the same data.
    for k in 0..BATCHES {
        push(&server, CAPPED, batch(k)).await;
        push(&server, OPEN, batch(k)).await;
        let want = k as usize + 1;
        eventually(60, || {
            (block_metas(&server, CAPPED).len() >= want && block_metas(&server, OPEN).len() >= want)
                .then_some(())
        });
    }
    for n in 0..5 {
        let mut req = simple_request(&[trace_id(9000 + n)], 2);
        req.resource_spans[0].resource.as_mut().unwrap().attributes =
            vec![kv("service.name", s("light"))];
        push(&server, LIGHT, req).await;
    }
    let all = (BATCHES * PER_BATCH) as usize;
    let metas = blocks(&server, CAPPED);
    assert!(metas.len() >= 3, "{metas:?}");

    // Both tenants' searches are whole once the querier lists every block.
    eventually_async(60, || async {
        let (st, partial, body) = get(&server, CAPPED, SEARCH_ALL).await;
        let (done, total) = jobs(&body);
        (st == 200
            && partial.is_none()
            && traces(&body).len() == all
            && total == 1 + metas.len() as u64
            && done == total)
            .then_some(())
    })
    .await;

    // The capped tenant may read its two newest blocks.
    let budget = metas[0].1 + metas[1].1;
    let kept: u64 = metas[0].2 + metas[1].2;
    let skipped = metas.len() - 2;
    std::fs::write(
        &file,
        format!("overrides:\n  {CAPPED}:\n    read:\n      max_block_bytes_per_query: {budget}\n"),
    )
    .unwrap();
    let (partial, body) = eventually_async(30, || async {
        let (st, partial, body) = get(&server, CAPPED, SEARCH_ALL).await;
        assert_eq!(st, 200, "{body}");
        partial.map(|p| (p, body))
    })
    .await;
    for part in [
        KEY.to_string(),
        format!("tenant {CAPPED}"),
        format!("read {budget} bytes in 2 blocks"),
        format!("skipped {skipped} older blocks"),
    ] {
        assert!(partial.contains(&part), "{part:?} missing from {partial:?}");
    }
    let got = traces(&body);
    assert_eq!(got.len() as u64, kept, "{body}");
    assert!(got.len() < all);
    let (done, total) = jobs(&body);
    assert_eq!((done, total), (3, 1 + metas.len() as u64), "{body}");
    // Grafana decodes this body strictly: nothing but Tempo's fields.
    let v: Value = serde_json::from_str(&body).unwrap();
    for k in v.as_object().unwrap().keys() {
        assert!(["traces", "metrics"].contains(&k.as_str()), "{k}");
    }
    // Protobuf answers carry the same headers.
    let r = reqwest::Client::new()
        .get(server.url(SEARCH_ALL))
        .header("X-Scope-OrgID", CAPPED)
        .header("Accept", "application/protobuf")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-strata-status"], "PARTIAL");

    // The unbudgeted tenant with the same data gets everything.
    let (st, partial, body) = get(&server, OPEN, SEARCH_ALL).await;
    assert_eq!((st, partial), (200, None));
    assert_eq!(traces(&body).len(), all);
    let (done, total) = jobs(&body);
    assert_eq!(done, total);

    // TraceQL metrics: `status`/`message` in the body (range and instant), and the headers.
    let range = format!(
        "q=%7B%20%7D%20%7C%20count_over_time()&start={}&end={}&step=60s",
        BASE_SECS - 60,
        BASE_SECS + BATCHES * 60 + 60
    );
    for path in ["/api/metrics/query_range", "/api/metrics/query"] {
        let url = format!("{path}?{range}");
        let (st, partial, capped) = get(&server, CAPPED, &url).await;
        assert_eq!(st, 200, "{capped}");
        let v: Value = serde_json::from_str(&capped).unwrap();
        assert_eq!(v["status"], "PARTIAL", "{capped}");
        let message = v["message"].as_str().unwrap();
        assert!(
            message.contains(KEY) && message.contains("skipped"),
            "{message}"
        );
        assert_eq!(partial.as_deref(), Some(message));
        let (st, partial, open) = get(&server, OPEN, &url).await;
        assert_eq!((st, partial), (200, None), "{open}");
        assert!(serde_json::from_str::<Value>(&open).unwrap()["status"].is_null());
        assert_eq!(value_sum(&open), (all * 3) as f64, "{path}: {open}");
        assert_eq!(value_sum(&capped), (kept * 3) as f64, "{path}: {capped}");
    }

    // Tag values over a time range read blocks too: cut, and marked in the headers only.
    let values = format!(
        "/api/v2/search/tag/resource.service.name/values?start={}&end={}",
        BASE_SECS - 60,
        BASE_SECS + BATCHES * 60 + 60
    );
    let (st, partial, body) = get(&server, CAPPED, &values).await;
    assert_eq!(st, 200);
    assert!(partial.is_some_and(|p| p.contains(KEY)), "{body}");
    assert!(!body.contains("svc-0") && body.contains("svc-3"), "{body}");
    let (_, partial, body) = get(&server, OPEN, &values).await;
    assert!(partial.is_none() && body.contains("svc-0"), "{body}");

    // `strata query search` prints the server's note on stderr.
    let out = Command::new(strata_bin())
        .args(["query", "search", "{ }", "--limit", "1000"])
        .args(["--addr", &server.url(""), "--org-id", CAPPED])
        .output()
        .expect("running strata query");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(KEY), "{stderr}");

    // While the capped and open tenants search over and over, the light tenant's lookups and
    // searches are answered, whole.
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = Vec::new();
    for tenant in [CAPPED, CAPPED, OPEN, OPEN] {
        let url = server.url(SEARCH_ALL);
        let stop = stop.clone();
        flood.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .get(&url)
                    .header("X-Scope-OrgID", tenant)
                    .send()
                    .await
                    .expect("query API reachable");
                assert_eq!(r.status(), 200);
                assert_eq!(
                    r.headers().contains_key("x-strata-status"),
                    tenant == CAPPED
                );
                n += 1;
            }
            n
        }));
    }
    let started = Instant::now();
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(3) {
        for n in 0..5 {
            let path = format!("/api/traces/{}", hex::encode(trace_id(9000 + n)));
            let (st, partial, _) = get(&server, LIGHT, &path).await;
            assert_eq!((st, partial), (200, None));
        }
        let (st, partial, body) = get(&server, LIGHT, SEARCH_ALL).await;
        assert_eq!((st, partial), (200, None), "{body}");
        assert_eq!(traces(&body).len(), 5, "{body}");
        let (done, total) = jobs(&body);
        assert_eq!(done, total, "{body}");
        answered += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut heavy = 0;
    for f in flood {
        heavy += f.await.unwrap();
    }
    eprintln!("light: {answered} rounds; heavy: {heavy} searches");
    assert!(answered >= 1 && heavy >= 4);

    // Cuts are counted for the capped tenant only.
    let page = server.metrics().await;
    let cut = metric_sum(
        &page,
        &format!("strata_querier_queries_cut_total{{tenant=\"{CAPPED}\",reason=\"block_bytes\"}}"),
    );
    assert!(cut >= 5.0, "{cut}");
    for t in [OPEN, LIGHT] {
        assert!(
            !page.contains(&format!("strata_querier_queries_cut_total{{tenant=\"{t}\"")),
            "{t} was cut"
        );
    }
}
