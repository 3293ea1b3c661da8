//! Multi-tenancy and per-tenant limits against the real binary: tenants see only their own
//! traces, a missing `X-Scope-OrgID` is refused on both sides, and limits from the per-tenant
//! overrides file (rate limit, trace size, attribute size) apply to one tenant only and change
//! when the file is rewritten.

use std::path::Path;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use strata_integration_tests::dataset::trim_hex;
use strata_integration_tests::otlp::{kv, s, simple_request, trace_id};
use strata_integration_tests::Server;

const OVERRIDES: &str = "
overrides:
  slow:
    ingestion:
      rate_limit_bytes: 1
      burst_size_bytes: 1500
  big:
    global:
      max_bytes_per_trace: 300
  trunc:
    ingestion:
      max_attribute_bytes: 8
";

fn start(overrides_file: &Path) -> Server {
    Server::start(&format!(
        "multitenancy_enabled:
  true
ingester:
  trace_idle_period: 1h
  trace_live_period: 2h
  max_block_duration: 3h
  flush_all_on_shutdown: false
overrides:
  per_tenant_override_config: {}
  per_tenant_override_period: 200ms
",
        overrides_file.display()
    ))
}

/// One trace of `spans` spans under service `service`.
fn request(n: u64, spans: u64, service: &str) -> ExportTraceServiceRequest {
    let mut req = simple_request(&[trace_id(n)], spans);
    let res = req.resource_spans[0].resource.as_mut().unwrap();
    res.attributes = vec![kv("service.name", s(service))];
    req
}

async fn grpc_push(
    server: &Server,
    tenant: Option<&str>,
    req: ExportTraceServiceRequest,
) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(server.otlp_grpc_endpoint())
        .await
        .expect("grpc connect");
    let mut r = tonic::Request::new(req);
    if let Some(t) = tenant {
        r.metadata_mut()
            .insert("x-scope-orgid", t.parse().expect("metadata value"));
    }
    client.export(r).await.map(|_| ())
}

async fn http_push(
    server: &Server,
    tenant: Option<&str>,
    req: &ExportTraceServiceRequest,
) -> reqwest::Response {
    let mut b = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("Content-Type", "application/x-protobuf")
        .body(req.encode_to_vec());
    if let Some(t) = tenant {
        b = b.header("X-Scope-OrgID", t);
    }
    b.send().await.expect("otlp http reachable")
}

async fn get(server: &Server, tenant: Option<&str>, path: &str) -> (u16, String) {
    let mut b = reqwest::Client::new().get(server.url(path));
    if let Some(t) = tenant {
        b = b.header("X-Scope-OrgID", t);
    }
    let resp = b.send().await.expect("query API reachable");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

async fn trace_status(server: &Server, tenant: &str, n: u64) -> u16 {
    let path = format!("/api/traces/{}", hex::encode(trace_id(n)));
    get(server, Some(tenant), &path).await.0
}

/// The value of one sample line of `/metrics` starting with `prefix`, if present.
async fn metric(server: &Server, prefix: &str) -> Option<f64> {
    let text = server.metrics().await;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn tenants_are_isolated_and_must_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(&file, OVERRIDES).unwrap();
    let server = start(&file);

    grpc_push(&server, Some("team-a"), request(1, 3, "svc-a"))
        .await
        .expect("push as team-a");
    let r = http_push(&server, Some("team-b"), &request(2, 2, "svc-b")).await;
    assert_eq!(r.status(), 200);

    // Trace by ID: each tenant sees its own trace, the other's is 404.
    assert_eq!(trace_status(&server, "team-a", 1).await, 200);
    assert_eq!(trace_status(&server, "team-b", 2).await, 200);
    assert_eq!(trace_status(&server, "team-a", 2).await, 404);
    assert_eq!(trace_status(&server, "team-b", 1).await, 404);
    assert_eq!(trace_status(&server, "nobody", 1).await, 404);

    // Search and tag values.
    let (id_a, id_b) = (trim_hex(&trace_id(1)), trim_hex(&trace_id(2)));
    let (st, body) = get(&server, Some("team-a"), "/api/search?q=%7B%7D").await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(&id_a) && !body.contains(&id_b), "{body}");
    let (st, body) = get(&server, Some("team-b"), "/api/search?q=%7B%7D").await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(&id_b) && !body.contains(&id_a), "{body}");
    let values = "/api/v2/search/tag/resource.service.name/values";
    let (st, body) = get(&server, Some("team-a"), values).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("svc-a") && !body.contains("svc-b"), "{body}");

    // Missing tenant: 401 `no org id` on queries; UNAVAILABLE / 503 on ingest.
    for path in [
        format!("/api/traces/{}", hex::encode(trace_id(1))),
        "/api/search?q=%7B%7D".to_string(),
        "/api/search/tags".to_string(),
    ] {
        let (st, body) = get(&server, None, &path).await;
        assert_eq!((st, body.trim()), (401, "no org id"), "{path}");
    }
    let err = grpc_push(&server, None, request(3, 1, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(err.message().contains("no org id"), "{err:?}");
    let r = http_push(&server, None, &request(3, 1, "x")).await;
    assert_eq!(r.status(), 503);
    // Invalid tenant IDs: 400 / INVALID_ARGUMENT.
    let (st, _) = get(&server, Some("a/b"), "/api/search?q=%7B%7D").await;
    assert_eq!(st, 400);
    let r = http_push(&server, Some("a/b"), &request(3, 1, "x")).await;
    assert_eq!(r.status(), 400);
    let err = grpc_push(&server, Some(".."), request(3, 1, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
}

#[tokio::test]
async fn per_tenant_limits_apply_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(&file, OVERRIDES).unwrap();
    let server = start(&file);
    assert!(metric(
        &server,
        "strata_overrides_last_reload_success_timestamp_seconds"
    )
    .await
    .is_some_and(|t| t > 0.0));

    // Rate limit: tenant `slow` has a 1500-byte burst refilled at 1 byte/s.
    let mut limited = None;
    for n in 0..100 {
        let r = http_push(&server, Some("slow"), &request(100 + n, 3, "slow")).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let r = limited.expect("slow is rate limited within 100 requests");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
    let body = r.bytes().await.unwrap();
    let status = status_message(&body);
    assert!(
        status.contains("RATE_LIMITED") && status.contains("slow") && status.contains("1500"),
        "{status}"
    );
    let err = grpc_push(&server, Some("slow"), request(300, 3, "slow"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    // OTLP exporters retry RESOURCE_EXHAUSTED only when the status carries RetryInfo.
    use tonic_types::StatusExt;
    let delay = err
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo with a delay on the rate-limited gRPC status");
    assert!(delay >= std::time::Duration::from_secs(1), "{delay:?}");
    // Another tenant is unaffected.
    for n in 0..20 {
        let r = http_push(&server, Some("team-a"), &request(400 + n, 3, "a")).await;
        assert_eq!(r.status(), 200);
    }
    let refused = metric(
        &server,
        "strata_discarded_spans_total{tenant=\"slow\",reason=\"rate_limited\"}",
    )
    .await;
    assert!(refused.is_some_and(|v| v >= 6.0), "{refused:?}");
    assert!(metric(
        &server,
        "strata_discarded_spans_total{tenant=\"team-a\",reason=\"rate_limited\"}"
    )
    .await
    .is_none());

    // Trace size: tenant `big` accepts a 1-span trace, refuses a 20-span one (request succeeds).
    let r = http_push(&server, Some("big"), &request(500, 1, "big")).await;
    assert_eq!(r.status(), 200);
    let r = http_push(&server, Some("big"), &request(501, 20, "big")).await;
    assert_eq!(r.status(), 200, "refused traces do not fail the request");
    // ... but the answer says so, as OTLP's partial success.
    let resp = ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap();
    let partial = resp
        .partial_success
        .expect("partial_success on a partly refused request");
    assert_eq!(partial.rejected_spans, 20);
    assert!(
        partial.error_message.contains("trace_too_large"),
        "{}",
        partial.error_message
    );
    let json = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("Content-Type", "application/json")
        .header("X-Scope-OrgID", "big")
        .body(serde_json::to_vec(&request(502, 20, "big")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    let v: serde_json::Value = json.json().await.unwrap();
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "20", "{v}");
    let mut client = TraceServiceClient::connect(server.otlp_grpc_endpoint())
        .await
        .unwrap();
    let mut grpc = tonic::Request::new(request(503, 20, "big"));
    grpc.metadata_mut()
        .insert("x-scope-orgid", "big".parse().unwrap());
    let partial = client
        .export(grpc)
        .await
        .unwrap()
        .into_inner()
        .partial_success
        .expect("partial_success over gRPC");
    assert_eq!(partial.rejected_spans, 20);
    // A request stored whole has none.
    let r = http_push(&server, Some("big"), &request(504, 1, "big")).await;
    let resp = ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap();
    assert_eq!(resp.partial_success, None);
    assert_eq!(trace_status(&server, "big", 500).await, 200);
    assert_eq!(trace_status(&server, "big", 501).await, 404);
    let too_large = metric(
        &server,
        "strata_discarded_spans_total{tenant=\"big\",reason=\"trace_too_large\"}",
    )
    .await;
    assert_eq!(too_large, Some(60.0));
    let refused = metric(
        &server,
        "strata_ingester_traces_refused_total{tenant=\"big\",reason=\"trace_too_large\"}",
    )
    .await;
    assert_eq!(refused, Some(3.0));
    // The same trace is fine for a tenant with the default limit.
    let r = http_push(&server, Some("team-a"), &request(501, 20, "a")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(trace_status(&server, "team-a", 501).await, 200);

    // Attribute truncation for tenant `trunc` only.
    let mut req = request(600, 1, "a-long-service-name");
    req.resource_spans[0].scope_spans[0].spans[0].attributes =
        vec![kv("http.url", s("https://example.com/path"))];
    let r = http_push(&server, Some("trunc"), &req).await;
    assert_eq!(r.status(), 200);
    let path = format!("/api/traces/{}", hex::encode(trace_id(600)));
    let (st, body) = get(&server, Some("trunc"), &path).await;
    assert_eq!(st, 200);
    assert!(
        body.contains("\"https://\"") && body.contains("\"a-long-s\""),
        "{body}"
    );
    let truncated = metric(
        &server,
        "strata_distributor_attributes_truncated_total{tenant=\"trunc\"}",
    )
    .await;
    assert_eq!(truncated, Some(2.0));

    // Rewriting the file lifts the rate limit after the reload period.
    std::fs::write(
        &file,
        "overrides:\n  slow:\n    ingestion:\n      rate_limit_bytes: 100000000\n      burst_size_bytes: 100000000\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http_push(&server, Some("slow"), &request(700, 3, "slow")).await;
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(
            Instant::now() < deadline,
            "new limit not applied within 30s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A broken rewrite keeps the last good values and is counted.
    std::fs::write(
        &file,
        "overrides:\n  slow:\n    ingestion:\n      bogus: 1\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&server, "strata_overrides_reload_failures_total")
        .await
        .unwrap_or(0.0)
        < 1.0
    {
        assert!(Instant::now() < deadline, "reload failure not counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = http_push(&server, Some("slow"), &request(701, 3, "slow")).await;
    assert_eq!(r.status(), 200, "previous limits stay in force");
}

/// The message of a protobuf `google.rpc.Status` body.
fn status_message(body: &[u8]) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    RpcStatus::decode(body)
        .map(|s| s.message)
        .unwrap_or_else(|e| format!("undecodable status: {e}"))
}

/// Work isolation (`overrides.*.read`): a tenant allowed one query at a time floods the query
/// API with searches; its requests wait for its own slot or are refused (429 naming
/// `read.max_concurrent_queries`, or 504 naming `read.query_timeout`), while another tenant's
/// trace lookups are all answered; every refusal is counted with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heavy_tenant_waits_for_its_own_slots_and_others_stay_answered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(
        &file,
        "overrides:\n  heavy:\n    read:\n      max_concurrent_queries: 1\n      query_timeout: 200ms\n",
    )
    .unwrap();
    let server = start(&file);
    for n in 0..200 {
        grpc_push(&server, Some("heavy"), request(1000 + n, 20, "svc-h"))
            .await
            .expect("push as heavy");
    }
    for n in 0..5 {
        grpc_push(&server, Some("light"), request(2000 + n, 3, "svc-l"))
            .await
            .expect("push as light");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = Vec::new();
    for _ in 0..6 {
        let url = server.url("/api/search?q=%7B%20span.nope%20!%3D%20nil%20%7C%7C%20duration%20%3E%200%20%7D&limit=500");
        let stop = stop.clone();
        flood.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut seen: Vec<(u16, String)> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .get(&url)
                    .header("X-Scope-OrgID", "heavy")
                    .send()
                    .await
                    .expect("query API reachable");
                let status = r.status().as_u16();
                seen.push((status, r.text().await.unwrap_or_default()));
            }
            seen
        }));
    }
    // Meanwhile the light tenant's lookups are all answered.
    let started = Instant::now();
    let mut lookups = 0;
    while started.elapsed() < Duration::from_secs(3) {
        for n in 0..5 {
            assert_eq!(trace_status(&server, "light", 2000 + n).await, 200);
            lookups += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answers = Vec::new();
    for f in flood {
        answers.extend(f.await.unwrap());
    }
    assert!(lookups >= 5);
    let mut refused = 0;
    for (status, body) in &answers {
        match status {
            200 => {}
            429 => {
                assert!(body.contains("read.max_concurrent_queries"), "{body}");
                refused += 1;
            }
            504 => {
                assert!(body.contains("read.query_timeout"), "{body}");
                refused += 1;
            }
            other => panic!("heavy search answered {other}: {body}"),
        }
    }
    let counted = strata_integration_tests::metric_sum(
        &server.metrics().await,
        "strata_querier_queries_refused_total",
    );
    eprintln!(
        "heavy: {} answers, {refused} refused; light: {lookups} lookups",
        answers.len()
    );
    assert_eq!(counted, f64::from(refused), "{} answers", answers.len());
    // The light tenant was never refused.
    assert!(!server
        .metrics()
        .await
        .lines()
        .any(|l| l.starts_with("strata_querier_queries_refused_total{tenant=\"light\"")));
}
