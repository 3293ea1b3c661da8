//! Queriers sharing one search (`querier.search.peers`), as separate processes over one
//! store: querier A and querier B list each other (and themselves) as peers, the cluster's
//! own querier shares with nobody. After traces are flushed to several blocks, a search
//! through A answers the same traces as B and as the unshared querier, and B's metrics show
//! it ran jobs for A. Once B is killed with SIGKILL, searches through A still answer 200 and
//! whole (the jobs meant for B run on A, counted as fallbacks), and B, down, is not tried
//! again by the next search.
//!
//! With the query API on HTTPS and tenant credentials on, the jobs go over HTTPS (the peer
//! verified with `ingester_client.grpc_client_config`'s CA) carrying the caller's token: the
//! peers run them (none falls back) and the answer is the unshared querier's.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;
use strata_common::TraceId;
use strata_integration_tests::cluster::{Cluster, ClusterSpec, RoleProcess};
use strata_integration_tests::tls::https_client;
use strata_integration_tests::{eventually_async, free_ports, otlp};
use strata_testkit::pki::Pki;

const BATCHES: u64 = 6;
const TRACES: u64 = 12;

/// Batch `b`: `TRACES` traces of 3 spans each, starting at distinct times near `now`.
fn batch(b: u64, now: u64) -> ExportTraceServiceRequest {
    let mut spans = Vec::new();
    for k in 0..TRACES {
        let id = TraceId(otlp::trace_id(b * 1_000 + k));
        let start = now - 600_000_000_000 + (b * TRACES + k) * 1_000_000;
        for s in 1..=3u64 {
            let mut span =
                strata_testkit::span(&id, s, &format!("op-{s}"), start, start + s * 1_000);
            if s > 1 {
                span.parent_span_id = 1u64.to_be_bytes().to_vec();
            }
            spans.push(span);
        }
    }
    strata_testkit::request(vec![strata_testkit::resource_spans(
        Some(strata_testkit::resource(&format!("svc-{b}"))),
        None,
        spans,
    )])
}

/// `GET /api/search` on `q`: status and body.
async fn search(q: &RoleProcess, limit: u32) -> (u16, Value) {
    let url = q.url(&format!("/api/search?q=%7B%7D&limit={limit}&spss=10"));
    let resp = reqwest::get(&url).await.expect("search request");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The traces of an answer by ID.
fn traces(v: &Value) -> BTreeMap<String, Value> {
    v["traces"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t["traceID"].as_str().unwrap_or_default().to_string(),
                        t.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `strata_querier_peer_search_jobs_total{outcome="<outcome>"}` on `q`'s `/metrics`.
async fn peer_jobs(q: &RoleProcess, outcome: &str) -> u64 {
    let page = reqwest::get(q.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    let key = format!("strata_querier_peer_search_jobs_total{{outcome=\"{outcome}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&key)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

fn block_count(cluster: &Cluster, tenant: &str) -> usize {
    let dir = cluster.dir.path().join("blocks").join(tenant);
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(|e| e.ok())
            .filter(|e| e.path().join("meta.json").exists())
            .count()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queriers_share_a_search_and_fall_back_when_a_peer_dies() {
    let cluster = Cluster::start(ClusterSpec {
        ingesters: 1,
        distributors: 1,
        replication_factor: 1,
        ingester_settings: "  trace_idle_period: 300ms\n  flush_check_period: 100ms\n  max_block_duration: 500ms\n  complete_block_timeout: 1m\n".into(),
        ..ClusterSpec::default()
    });
    let ports = free_ports(2);
    let members = format!("[127.0.0.1:{}, 127.0.0.1:{}]", ports[0], ports[1]);
    // One local job at a time: every other job of a search goes to the peer if it can.
    let section = format!(
        "querier:\n  search:\n    target_bytes_per_job: 0\n    concurrent_jobs: 1\n    peers:\n      members: {members}\n      job_timeout: 20s\n      retry_after: 1h\n"
    );
    let a = cluster.start_querier("querier-a", ports[0], &section);
    let mut b = cluster.start_querier("querier-b", ports[1], &section);

    // Batches far enough apart to be cut into blocks of their own.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for i in 0..BATCHES {
        otlp::grpc_push(&cluster.otlp_grpc[0], batch(i, now))
            .await
            .expect("push acknowledged");
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let total = (BATCHES * TRACES) as usize;
    // Every trace in blocks, and every querier's block list
    // caught up (polled every 500ms): the unshared querier finds them all and the block
    // count has stopped changing.
    let mut last = 0;
    eventually_async(120, || {
        let blocks = block_count(&cluster, "single-tenant");
        let stable = blocks == last && blocks >= 3;
        last = blocks;
        let q = &cluster.querier;
        async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let (status, v) = search(q, 1_000).await;
            (stable && status == 200 && traces(&v).len() == total).then_some(())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    for limit in [1_000, 10] {
        let (status, alone) = search(&cluster.querier, limit).await;
        assert_eq!(status, 200);
        let (status, via_b) = search(&b, limit).await;
        assert_eq!(status, 200);
        let (status, shared) = search(&a, limit).await;
        assert_eq!(status, 200, "{shared}");
        let want = traces(&alone);
        assert_eq!(want.len(), (limit as usize).min(total));
        assert_eq!(
            traces(&shared),
            want,
            "limit {limit}: A (shared) vs unshared"
        );
        assert_eq!(traces(&via_b), want, "limit {limit}: B vs unshared");
        let m = &shared["metrics"];
        assert_eq!(m["completedJobs"], m["totalJobs"], "{m}");
    }
    assert!(
        peer_jobs(&b, "served").await > 0,
        "B ran no job for A:\n{}",
        a.log()
    );
    assert!(peer_jobs(&a, "remote").await > 0);
    assert_eq!(peer_jobs(&a, "fallback").await, 0, "{}", a.log());
    // Neither sent a job to itself (it would have refused it, 409) nor was refused.
    assert_eq!(peer_jobs(&a, "refused").await, 0, "{}", a.log());
    assert_eq!(peer_jobs(&b, "refused").await, 0, "{}", b.log());

    // B dies: A's searches still answer whole, B's jobs running on A.
    let (_, before) = search(&a, 1_000).await;
    b.kill9();
    let (status, after) = search(&a, 1_000).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(traces(&after), traces(&before), "whole after B's SIGKILL");
    let m = &after["metrics"];
    assert_eq!(m["completedJobs"], m["totalJobs"], "{m}");
    let fallbacks = peer_jobs(&a, "fallback").await;
    // Only the jobs in flight to B when it was found dead (jobs_per_peer: 2).
    assert!(
        (1..=2).contains(&fallbacks),
        "{fallbacks} fallbacks: the jobs sent to the dead B are counted"
    );
    // B is down for retry_after: the next search sends it nothing.
    let (status, again) = search(&a, 1_000).await;
    assert_eq!(status, 200);
    assert_eq!(traces(&again), traces(&before));
    assert_eq!(peer_jobs(&a, "fallback").await, fallbacks);
}

const TOKEN: &str = "tok-peers-0123456789abcdef";

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// `GET {base}/api/search` with `client` and the bearer token: status and body.
async fn search_as(client: &reqwest_tls::Client, base: &str) -> (u16, Value) {
    let resp = client
        .get(format!("{base}/api/search?q=%7B%7D&limit=1000&spss=10"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("search request");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `strata_querier_peer_search_jobs_total{outcome}` on `/metrics` at `base` (HTTPS).
async fn peer_jobs_at(client: &reqwest_tls::Client, base: &str, outcome: &str) -> u64 {
    let page = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    let key = format!("strata_querier_peer_search_jobs_total{{outcome=\"{outcome}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&key)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_is_shared_over_https_with_the_callers_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let leaf = pki.issue("server", "localhost");
    let ca = pki.ca_cert().display().to_string();
    let tls = format!(
        "    cert_file: {}\n    key_file: {}\n",
        leaf.cert.display(),
        leaf.key.display()
    );
    // Internal clients (ingesters' gRPC and peers' HTTPS) trust the cluster's CA.
    let cluster = Cluster::start(ClusterSpec {
        ingesters: 1,
        distributors: 1,
        replication_factor: 1,
        ingester_settings: "  trace_idle_period: 300ms\n  flush_check_period: 100ms\n  max_block_duration: 500ms\n  complete_block_timeout: 1m\n".into(),
        server_extra: format!("  grpc_tls_config:\n{tls}"),
        common_extra: format!(
            "multitenancy_enabled: true\nauth:\n  enabled: true\n  credentials:\n    - name: a\n      token_sha256: {}\n      tenants: [team-a]\ningester_client:\n  grpc_client_config:\n    tls_enabled: true\n    tls_ca_path: {ca}\n",
            sha256_hex(TOKEN)
        ),
        ..ClusterSpec::default()
    });
    let ports = free_ports(2);
    let members = format!("[127.0.0.1:{}, 127.0.0.1:{}]", ports[0], ports[1]);
    let section = format!(
        "querier:\n  search:\n    target_bytes_per_job: 0\n    concurrent_jobs: 1\n    peers:\n      members: {members}\n"
    );
    let https = format!("  http_tls_config:\n{tls}");
    let start = |name: &str, port: u16| {
        cluster.start_querier_with(name, port, &https, &section, Some(pki.ca_cert()))
    };
    let (a, b) = (start("querier-a", ports[0]), start("querier-b", ports[1]));
    let (url_a, url_b) = (
        format!("https://127.0.0.1:{}", a.http_port),
        format!("https://127.0.0.1:{}", b.http_port),
    );
    let client = https_client(pki.ca_cert());

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let http = reqwest::Client::new();
    for i in 0..4 {
        let resp = http
            .post(&cluster.otlp_http[0])
            .header("content-type", "application/x-protobuf")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(prost::Message::encode_to_vec(&batch(i, now)))
            .send()
            .await
            .expect("push");
        assert_eq!(resp.status(), 200);
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let total = (4 * TRACES) as usize;
    let plain = reqwest_tls::Client::new();
    let unshared = cluster.querier.url("");
    let mut last = 0;
    eventually_async(120, || {
        let blocks = block_count(&cluster, "team-a");
        let stable = blocks == last && blocks >= 3;
        last = blocks;
        let (plain, unshared) = (&plain, &unshared);
        async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let (status, v) = search_as(plain, unshared).await;
            (stable && status == 200 && traces(&v).len() == total).then_some(())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (status, want) = search_as(&plain, &unshared).await;
    assert_eq!(status, 200);
    let (status, shared) = search_as(&client, &url_a).await;
    assert_eq!(status, 200, "{shared}");
    assert_eq!(traces(&shared), traces(&want));
    assert_eq!(traces(&shared).len(), total);
    // B ran A's jobs: TLS verified, the token forwarded and accepted.
    assert!(
        peer_jobs_at(&client, &url_b, "served").await > 0,
        "{}",
        a.log()
    );
    assert!(peer_jobs_at(&client, &url_a, "remote").await > 0);
    assert_eq!(
        peer_jobs_at(&client, &url_a, "fallback").await,
        0,
        "{}",
        a.log()
    );
    // Without the token the search itself is refused, before any job is shared.
    let resp = client
        .get(format!("{url_a}/api/search?q=%7B%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
