//! Tenant credentials against the real binary (`auth.enabled`): the OpenTelemetry SDK's
//! exporters with an `Authorization` header get in, wrong or missing credentials are 401 /
//! `UNAUTHENTICATED`, a tenant the credential does not allow is 403 / `PERMISSION_DENIED`,
//! failures are counted, and no read endpoint shows one tenant's traces, tag names, tag values
//! or metric counts to another tenant's credential. Credentials come from the main file (a
//! token, a password hashed by `strata auth hash-password`) and from the per-tenant overrides
//! file, whose credentials change when it is rewritten. Split roles check the same credentials
//! where requests enter: the distributor (OTLP) and the querier (query API).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use prost::Message;
use serde_json::Value;
use sha2::{Digest, Sha256};
use strata_integration_tests::dataset::trim_hex;
use strata_integration_tests::otlp::{kv, s, simple_request, trace_id};
use strata_integration_tests::{eventually_async, strata_bin, Server, NO_BLOCKS};

const TOKEN_A: &str = "tok-a-0123456789abcdef";
const TOKEN_B_OLD: &str = "tok-b-old-0123456789";
const TOKEN_B_NEW: &str = "tok-b-new-9876543210";
const PASSWORD: &str = "grafana-s3cret";

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// `strata auth hash-password` with the password on stdin.
fn hash_password(password: &str) -> String {
    let mut child = Command::new(strata_bin())
        .args(["auth", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running strata auth");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The per-tenant file giving team-b the bearer token `token`.
fn overrides_file(token: &str) -> String {
    format!(
        "overrides:\n  team-b:\n    auth:\n      credentials:\n        - name: b\n          token_sha256: {}\n",
        sha256_hex(token)
    )
}

/// A server with credentials: token A → team-a; user `grafana` → team-b (default) and team-a;
/// team-b's own token in the per-tenant file.
fn start(overrides: &Path, receivers: bool) -> Server {
    let yaml = format!(
        "multitenancy_enabled:
  true
auth:
  enabled: true
  credentials:
    - name: a
      token_sha256: {}
      tenants: [team-a]
    - name: grafana
      username: grafana
      password_hash: \"{}\"
      tenants: [team-b, team-a]
overrides:
  per_tenant_override_config: {}
  per_tenant_override_period: 200ms
  defaults:
    metrics_generator:
      processors: [span-metrics]
{NO_BLOCKS}",
        sha256_hex(TOKEN_A),
        hash_password(PASSWORD),
        overrides.display()
    );
    if receivers {
        Server::start_with_receivers(&yaml)
    } else {
        Server::start(&yaml)
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

/// A request of one trace `n` with `spans` spans of service `service`, each with attribute
/// `secret.<marker>` = `<marker>-value`.
fn request(n: u64, spans: u64, service: &str, marker: &str) -> ExportTraceServiceRequest {
    let mut req = simple_request(&[trace_id(n)], spans);
    let rs = &mut req.resource_spans[0];
    rs.resource.as_mut().unwrap().attributes = vec![kv("service.name", s(service))];
    for span in &mut rs.scope_spans[0].spans {
        span.attributes = vec![kv(
            &format!("secret.{marker}"),
            s(&format!("{marker}-value")),
        )];
    }
    req
}

async fn grpc_push(
    server: &Server,
    auth: Option<&str>,
    org: Option<&str>,
    req: ExportTraceServiceRequest,
) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(server.otlp_grpc_endpoint())
        .await
        .unwrap();
    let mut r = tonic::Request::new(req);
    if let Some(a) = auth {
        r.metadata_mut().insert("authorization", a.parse().unwrap());
    }
    if let Some(o) = org {
        r.metadata_mut().insert("x-scope-orgid", o.parse().unwrap());
    }
    client.export(r).await.map(|_| ())
}

async fn http_push(
    server: &Server,
    auth: Option<&str>,
    org: Option<&str>,
    req: &ExportTraceServiceRequest,
) -> u16 {
    let mut b = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec());
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    if let Some(o) = org {
        b = b.header("x-scope-orgid", o);
    }
    b.send().await.unwrap().status().as_u16()
}

/// GET on the query API: (status, `WWW-Authenticate` present, body).
async fn get(
    server: &Server,
    auth: Option<&str>,
    org: Option<&str>,
    path: &str,
) -> (u16, bool, String) {
    let mut b = reqwest::Client::new().get(server.url(path));
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    if let Some(o) = org {
        b = b.header("x-scope-orgid", o);
    }
    let r = b.send().await.unwrap();
    let status = r.status().as_u16();
    let challenge = r.headers().contains_key("www-authenticate");
    (status, challenge, r.text().await.unwrap())
}

/// `strata_auth_failures_total{reason,protocol}` on `/metrics` (0 when absent).
async fn failures(server: &Server, reason: &str, protocol: &str) -> f64 {
    let page = server.metrics().await;
    let prefix =
        format!("strata_auth_failures_total{{reason=\"{reason}\",protocol=\"{protocol}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Polls `f` every 100 ms for up to 10 s until it returns true.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 10 s");
}

/// One trace of service `service` through the SDK's simple processor and `exporter`.
fn emit(exporter: opentelemetry_otlp::SpanExporter, service: &str) -> [u8; 16] {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        )
        .build();
    let tracer = provider.tracer("strata-tests");
    let span = tracer.start("GET /auth");
    let id = opentelemetry::trace::Span::span_context(&span)
        .trace_id()
        .to_bytes();
    drop(span);
    let _ = provider.shutdown();
    id
}

fn sdk_grpc(server: &Server, auth: Option<&str>) -> opentelemetry_otlp::SpanExporter {
    let mut md = tonic::metadata::MetadataMap::new();
    if let Some(a) = auth {
        md.insert("authorization", a.parse().unwrap());
    }
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.otlp_grpc_endpoint())
        .with_metadata(md)
        .build()
        .unwrap()
}

fn sdk_http(server: &Server, auth: Option<&str>) -> opentelemetry_otlp::SpanExporter {
    let headers: HashMap<String, String> = auth
        .map(|a| [("authorization".to_string(), a.to_string())].into())
        .unwrap_or_default();
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(server.otlp_http_url())
        .with_protocol(Protocol::HttpBinary)
        .with_headers(headers)
        .build()
        .unwrap()
}

/// Whether tenant A's token finds trace `id` by ID.
async fn a_sees(server: &Server, id: [u8; 16]) -> bool {
    let path = format!("/api/traces/{}", hex::encode(id));
    get(server, Some(&bearer(TOKEN_A)), None, &path).await.0 == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_exporters_and_zipkin_need_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(&file, overrides_file(TOKEN_B_OLD)).unwrap();
    let server = start(&file, true);

    // The SDK's exporters with the right header: accepted, readable by the same tenant.
    let a = bearer(TOKEN_A);
    for protocol in ["otlp_grpc", "otlp_http"] {
        let exporter = match protocol {
            "otlp_grpc" => sdk_grpc(&server, Some(&a)),
            _ => sdk_http(&server, Some(&a)),
        };
        let id = tokio::task::spawn_blocking(move || emit(exporter, "sdk-ok"))
            .await
            .unwrap();
        assert!(
            a_sees(&server, id).await,
            "{protocol}: exported trace readable"
        );
    }
    // Missing and wrong credentials: refused, counted by reason and protocol, nothing stored.
    for protocol in ["otlp_grpc", "otlp_http"] {
        for (auth, reason) in [(None, "missing"), (Some(bearer("wrong")), "invalid")] {
            let before = failures(&server, reason, protocol).await;
            let exporter = match protocol {
                "otlp_grpc" => sdk_grpc(&server, auth.as_deref()),
                _ => sdk_http(&server, auth.as_deref()),
            };
            let id = tokio::task::spawn_blocking(move || emit(exporter, "sdk-refused"))
                .await
                .unwrap();
            let after = failures(&server, reason, protocol).await;
            assert!(after > before, "{protocol} {reason}: {before} -> {after}");
            assert!(
                !a_sees(&server, id).await,
                "{protocol} {reason}: nothing stored"
            );
        }
    }

    // The codes clients see.
    let req = || request(1, 1, "svc", "x");
    for (auth, org, code) in [
        (None, None, tonic::Code::Unauthenticated),
        (Some(bearer("wrong")), None, tonic::Code::Unauthenticated),
        (
            Some("Basic !!!".to_string()),
            None,
            tonic::Code::Unauthenticated,
        ),
        (
            Some(bearer(TOKEN_A)),
            Some("team-b"),
            tonic::Code::PermissionDenied,
        ),
        (
            Some(basic("grafana", "nope")),
            None,
            tonic::Code::Unauthenticated,
        ),
    ] {
        let err = grpc_push(&server, auth.as_deref(), org, req())
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{auth:?} {org:?}: {err:?}");
    }
    for (auth, org, status) in [
        (None, None, 401),
        (Some(bearer("wrong")), None, 401),
        (Some(bearer(TOKEN_A)), Some("team-b"), 403),
        (Some(bearer(TOKEN_A)), Some("team-a"), 200),
        (Some(basic("grafana", PASSWORD)), Some("team-a"), 200),
    ] {
        assert_eq!(
            http_push(&server, auth.as_deref(), org, &req()).await,
            status,
            "{auth:?} {org:?}"
        );
    }
    assert!(failures(&server, "forbidden", "otlp_http").await >= 1.0);
    assert!(failures(&server, "forbidden", "otlp_grpc").await >= 1.0);

    // Zipkin with team-b's token from the per-tenant file; refused without.
    let zid = "5af7183fb1d4cf5f5af7183fb1d4cf5f";
    let body = format!(
        r#"[{{"traceId":"{zid}","id":"6b221d5bc9e6496c","name":"zipkin-span","timestamp":1700000000000000,"duration":1000,"localEndpoint":{{"serviceName":"zipkin-b"}}}}]"#
    );
    let zipkin = |auth: Option<String>| {
        let mut b = reqwest::Client::new()
            .post(format!("{}/api/v2/spans", server.zipkin_url()))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.send()
    };
    assert_eq!(zipkin(None).await.unwrap().status().as_u16(), 401);
    assert_eq!(
        zipkin(Some(bearer(TOKEN_A)))
            .await
            .unwrap()
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        zipkin(Some(bearer(TOKEN_B_OLD)))
            .await
            .unwrap()
            .status()
            .as_u16(),
        202
    );
    let path = format!("/api/traces/{zid}");
    let (st, _, body) = get(&server, Some(&bearer(TOKEN_B_OLD)), None, &path).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("zipkin-b"), "{body}");
    assert!(failures(&server, "missing", "zipkin").await >= 1.0);

    // Rotating team-b's token in the per-tenant file: the old one stops working.
    std::fs::write(&file, overrides_file(TOKEN_B_NEW)).unwrap();
    eventually("the new token works", || async {
        get(
            &server,
            Some(&bearer(TOKEN_B_NEW)),
            None,
            "/api/search/tags",
        )
        .await
        .0 == 200
    })
    .await;
    let (st, _, _) = get(
        &server,
        Some(&bearer(TOKEN_B_OLD)),
        None,
        "/api/search/tags",
    )
    .await;
    assert_eq!(st, 401);
}

/// Sum of every count in a metrics answer (range: samples; instant: one value per series).
fn total(v: &Value) -> f64 {
    let mut sum = 0.0;
    for s in v["series"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some(samples) = s["samples"].as_array() {
            sum += samples
                .iter()
                .map(|x| x["value"].as_f64().unwrap_or(0.0))
                .sum::<f64>();
        } else {
            sum += s["value"].as_f64().unwrap_or(0.0);
        }
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_read_endpoint_crosses_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(&file, overrides_file(TOKEN_B_OLD)).unwrap();
    let server = start(&file, false);
    // team-a: 2 spans of svc-alpha; team-b: 5 spans of svc-beta.
    let (id_a, id_b) = (trace_id(1), trace_id(2));
    grpc_push(
        &server,
        Some(&bearer(TOKEN_A)),
        None,
        request(1, 2, "svc-alpha", "alpha"),
    )
    .await
    .unwrap();
    let b = request(2, 5, "svc-beta", "beta");
    assert_eq!(
        http_push(&server, Some(&bearer(TOKEN_B_OLD)), None, &b).await,
        200
    );

    let count = "{} | count_over_time()";
    let range = format!(
        "/api/metrics/query_range?q={}&start=1699999940&end=1700000060&step=60s",
        urlencode(count)
    );
    let instant = format!(
        "/api/metrics/query?q={}&start=1699999940&end=1700000060",
        urlencode(count)
    );
    let (ta, tb) = (hex::encode(id_a), hex::encode(id_b));
    // (path, what tenant A's answer must show, what it must not show).
    let reads: Vec<(String, Vec<String>, Vec<String>)> = vec![
        (
            format!("/api/traces/{ta}"),
            vec!["svc-alpha".into()],
            vec!["beta".into()],
        ),
        (
            format!("/api/v2/traces/{ta}"),
            vec!["svc-alpha".into()],
            vec!["beta".into()],
        ),
        (
            format!("/api/v2/traces/{tb}"),
            vec![],
            vec!["beta".into(), "secret".into()],
        ),
        (
            "/api/search?q=%7B%7D".into(),
            vec![trim_hex(&id_a)],
            vec![trim_hex(&id_b), "beta".into()],
        ),
        (
            "/api/search?q=%7Bresource.service.name%3D%22svc-beta%22%7D".into(),
            vec![],
            vec![trim_hex(&id_b), "beta".into()],
        ),
        (
            "/api/search/tags".into(),
            vec!["secret.alpha".into()],
            vec!["beta".into()],
        ),
        (
            "/api/v2/search/tags".into(),
            vec!["secret.alpha".into()],
            vec!["beta".into()],
        ),
        (
            "/api/search/tag/service.name/values".into(),
            vec!["svc-alpha".into()],
            vec!["beta".into()],
        ),
        (
            "/api/v2/search/tag/resource.service.name/values".into(),
            vec!["svc-alpha".into()],
            vec!["beta".into()],
        ),
        (
            "/api/v2/search/tag/span.secret.beta/values".into(),
            vec![],
            vec!["beta-value".into()],
        ),
        // The trace explorer's service-graph source: the tenant's generator series only.
        (
            "/api/metrics-generator/series".into(),
            vec!["svc-alpha".into()],
            vec!["beta".into()],
        ),
        (range.clone(), vec![], vec!["beta".into()]),
        (instant.clone(), vec![], vec!["beta".into()]),
    ];
    let a = bearer(TOKEN_A);
    for (path, shows, hides) in &reads {
        let (st, _, body) = get(&server, Some(&a), None, path).await;
        assert_eq!(st, 200, "{path}: {body}");
        for s in shows {
            assert!(body.contains(s.as_str()), "{path} shows {s}: {body}");
        }
        for h in hides {
            assert!(!body.contains(h.as_str()), "{path} hides {h}: {body}");
        }
        // The same read naming team-b, with no or bad credentials.
        let (st, _, body) = get(&server, Some(&a), Some("team-b"), path).await;
        assert_eq!(st, 403, "{path}: {body}");
        assert!(!body.contains("beta"), "{path}: {body}");
        let (st, challenge, _) = get(&server, None, Some("team-b"), path).await;
        assert_eq!((st, challenge), (401, true), "{path}");
        let (st, _, _) = get(&server, Some(&bearer(TOKEN_B_NEW)), Some("team-b"), path).await;
        assert_eq!(st, 401, "{path}");
        let (st, _, _) = get(&server, Some(&a), Some("team-a|team-b"), path).await;
        assert_eq!(st, 403, "{path}");
    }
    // Trace B by ID (v1) is simply not there for A.
    let (st, _, body) = get(&server, Some(&a), None, &format!("/api/traces/{tb}")).await;
    assert_eq!((st, body.as_str()), (404, ""));

    // Metric counts: A counts its 2 spans only, B its 5.
    let counts = |auth: String, org: Option<&'static str>, path: String| {
        let server = &server;
        async move {
            let (st, _, body) = get(server, Some(&auth), org, &path).await;
            assert_eq!(st, 200, "{path}: {body}");
            total(&serde_json::from_str(&body).unwrap())
        }
    };
    for path in [&range, &instant] {
        assert_eq!(counts(a.clone(), None, path.clone()).await, 2.0, "{path}");
        assert_eq!(
            counts(bearer(TOKEN_B_OLD), None, path.clone()).await,
            5.0,
            "{path}"
        );
        // The password credential allows both: team-b by default, team-a when named.
        let g = basic("grafana", PASSWORD);
        assert_eq!(counts(g.clone(), None, path.clone()).await, 5.0, "{path}");
        assert_eq!(
            counts(g.clone(), Some("team-a"), path.clone()).await,
            2.0,
            "{path}"
        );
        let (st, _, body) = get(&server, Some(&g), Some("team-a|team-b"), path).await;
        assert_eq!(st, 400, "{body}");
    }
    assert!(failures(&server, "forbidden", "query").await >= reads.len() as f64);
    assert!(failures(&server, "missing", "query").await >= reads.len() as f64);
    let page = server.metrics().await;
    let auth_lines: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("strata_auth"))
        .collect();
    assert!(
        auth_lines.iter().all(|l| !l.contains("team-")),
        "{auth_lines:?}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Split roles check credentials where requests enter: the distributor on OTLP (HTTP and
/// gRPC) and the querier on the query API, with the same `auth` section; a token's tenant is
/// the one its trace is stored and read under, and another tenant's header is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_roles_check_credentials_at_the_distributor_and_the_querier() {
    use strata_integration_tests::cluster::{Cluster, ClusterSpec};
    let cluster = Cluster::start(ClusterSpec {
        ingesters: 1,
        distributors: 1,
        replication_factor: 1,
        common_extra: format!(
            "multitenancy_enabled: true\nauth:\n  enabled: true\n  credentials:\n    - name: a\n      token_sha256: {}\n      tenants: [team-a]\n",
            sha256_hex(TOKEN_A)
        ),
        ..ClusterSpec::default()
    });
    let http = reqwest::Client::new();
    let push = |auth: Option<String>, org: Option<&'static str>| {
        let mut b = http
            .post(&cluster.otlp_http[0])
            .header("content-type", "application/x-protobuf")
            .body(request(0x5a1, 2, "split", "split").encode_to_vec());
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        if let Some(o) = org {
            b = b.header("x-scope-orgid", o);
        }
        b.send()
    };
    assert_eq!(push(None, None).await.unwrap().status(), 401);
    assert_eq!(
        push(Some(bearer("wrong")), None).await.unwrap().status(),
        401
    );
    assert_eq!(
        push(Some(bearer(TOKEN_A)), Some("team-b"))
            .await
            .unwrap()
            .status(),
        403
    );
    eventually_async(20, || async {
        let status = push(Some(bearer(TOKEN_A)), None).await.unwrap().status();
        (status == 200).then_some(())
    })
    .await;

    let mut client = TraceServiceClient::connect(cluster.otlp_grpc[0].clone())
        .await
        .unwrap();
    let mut unauthenticated = tonic::Request::new(request(0x5a2, 1, "split", "split"));
    unauthenticated
        .metadata_mut()
        .insert("x-scope-orgid", "team-a".parse().unwrap());
    let err = client.export(unauthenticated).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    let id = trim_hex(&trace_id(0x5a1));
    let get = |auth: Option<String>, org: Option<&'static str>| {
        let mut b = http.get(cluster.querier.url(&format!("/api/traces/{id}")));
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        if let Some(o) = org {
            b = b.header("x-scope-orgid", o);
        }
        b.header("accept", "application/json").send()
    };
    assert_eq!(get(None, Some("team-a")).await.unwrap().status(), 401);
    assert_eq!(
        get(Some(bearer(TOKEN_A)), Some("team-b"))
            .await
            .unwrap()
            .status(),
        403
    );
    let body = eventually_async(20, || async {
        let r = get(Some(bearer(TOKEN_A)), None).await.unwrap();
        (r.status() == 200).then_some(())?;
        let text = r.text().await.unwrap();
        text.contains("split-value").then_some(text)
    })
    .await;
    assert!(body.contains("\"split\""), "{body}");
}
