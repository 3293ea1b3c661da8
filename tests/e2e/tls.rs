//! TLS on the listeners, with certificates made by `openssl` for each test
//! (`strata_testkit::pki`):
//!
//! * the OpenTelemetry SDK's exporters (gRPC and HTTP) trusting a test CA send to a `strata run`
//!   whose receivers, Zipkin included, and query API serve TLS; traces are read back over HTTPS;
//! * Jaeger's collector gRPC (`PostSpans`) and Thrift-over-HTTP clients send over TLS with the
//!   test CA, and a client that does not trust it gets no answer;
//! * a plain-HTTP client on a TLS port gets no answer and the server goes on; replaced
//!   certificate files are served without a restart;
//! * a cluster of role processes talks mutual TLS between roles (distributor to ingesters and
//!   metrics-generator, querier to ingesters), and an ingester refuses gRPC clients without a
//!   certificate of the cluster's CA.

use std::path::Path;

use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use strata_integration_tests::cluster::{Cluster, ClusterSpec};
use strata_integration_tests::jaeger::thrift_batch;
use strata_integration_tests::otlp::span_count;
use strata_integration_tests::sdk::simple_provider;
use strata_integration_tests::tls::{certificate_der, https_client, served_certificate};
use strata_integration_tests::{
    eventually_async, metric_sum, strata_bin, Ports, Server, NO_BLOCKS,
};
use strata_proto::ingester_rpc::ingester_client::IngesterClient;
use strata_proto::ingester_rpc::ReadyRequest;
use strata_testkit::pki::{Issued, Pki};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// A `cert_file`/`key_file` pair at `indent` spaces, plus `extra` lines at the same indent.
fn tls_block(indent: usize, leaf: &Issued, extra: &[String]) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!(
        "{pad}cert_file: {}\n{pad}key_file: {}\n",
        leaf.cert.display(),
        leaf.key.display()
    );
    for line in extra {
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

/// `strata run` with TLS on the query API, both OTLP receivers, Zipkin and Jaeger's TCP
/// transports (gRPC and Thrift over HTTP).
fn tls_server(pki: &Pki, leaf: &Issued) -> Server {
    let ports = Ports::free_with_receivers();
    let extra = format!(
        "server:
  http_tls_config:
{http}distributor:
  receivers:
    otlp:
      grpc_endpoint: 127.0.0.1:{grpc}
      http_endpoint: 127.0.0.1:{otlp_http}
      grpc_tls:
{tls}      http_tls:
{tls}    zipkin:
      endpoint: 127.0.0.1:{zipkin}
      tls:
{tls}    jaeger:
      protocols:
        grpc:
          endpoint: 127.0.0.1:{jaeger_grpc}
          tls:
{jaeger_tls}        thrift_http:
          endpoint: 127.0.0.1:{jaeger_http}
          tls:
{jaeger_tls}{NO_BLOCKS}",
        http = tls_block(4, leaf, &[]),
        tls = tls_block(8, leaf, &[]),
        jaeger_tls = tls_block(12, leaf, &[]),
        grpc = ports.otlp_grpc,
        otlp_http = ports.otlp_http,
        zipkin = ports.zipkin,
        jaeger_grpc = ports.jaeger_grpc,
        jaeger_http = ports.jaeger_http,
    );
    Server::start_https(ports, &extra, Some(pki.ca_cert()))
}

/// One trace of two spans through `exporter` (a simple processor: `end()` returns once the
/// server answered); its ID.
fn emit(exporter: opentelemetry_otlp::SpanExporter, service: &str) -> [u8; 16] {
    let provider = simple_provider(exporter, service);
    let tracer = provider.tracer("strata-tls-tests");
    let root = tracer.start("GET /secure");
    let id = root.span_context().trace_id().to_bytes();
    let cx = opentelemetry::Context::current_with_span(root);
    tracer.start_with_context("SELECT secrets", &cx);
    cx.span().end();
    provider.shutdown().expect("provider shutdown");
    id
}

/// Spans of trace `id` as `GET /api/traces/{id}` at `api` (an `https://` base) returns them
/// (0 when not found).
async fn spans_over_https(api: &str, ca: &Path, id: &[u8]) -> usize {
    let url = format!("{api}/api/traces/{}", hex::encode(id));
    let resp = https_client(ca)
        .get(url)
        .header("Accept", "application/protobuf")
        .send()
        .await
        .expect("query API reachable over HTTPS");
    if resp.status() == 404 {
        return 0;
    }
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.expect("body");
    span_count(
        &TracesData::decode(body.as_ref())
            .expect("trace")
            .resource_spans,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_sdk_exporters_and_zipkin_over_tls_then_traces_read_back_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let leaf = pki.issue("server", "localhost");
    let server = tls_server(&pki, &leaf);
    let ca_pem = std::fs::read(pki.ca_cert()).unwrap();

    let grpc = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("https://localhost:{}", server.ports.otlp_grpc))
        .with_tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&ca_pem)))
        .build()
        .unwrap();
    let grpc_id = tokio::task::spawn_blocking(move || emit(grpc, "over-grpc"))
        .await
        .unwrap();
    let http = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!(
            "https://localhost:{}/v1/traces",
            server.ports.otlp_http
        ))
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(https_client(pki.ca_cert()))
        .build()
        .unwrap();
    let http_id = tokio::task::spawn_blocking(move || emit(http, "over-http"))
        .await
        .unwrap();

    let zipkin_id = "5af7651916cd43dd8448eb211c80319c";
    let span = format!(
        r#"[{{"traceId":"{zipkin_id}","id":"b7ad6b7169203331","name":"zipkin over tls","timestamp":1700000000000000,"duration":10,"localEndpoint":{{"serviceName":"zipkin-tls"}}}}]"#
    );
    let resp = https_client(pki.ca_cert())
        .post(format!(
            "https://localhost:{}/api/v2/spans",
            server.ports.zipkin
        ))
        .header("Content-Type", "application/json")
        .body(span)
        .send()
        .await
        .expect("zipkin reachable over HTTPS");
    assert_eq!(resp.status(), 202);

    let api = format!("https://localhost:{}", server.ports.api);
    let ca = pki.ca_cert();
    assert_eq!(spans_over_https(&api, ca, &grpc_id).await, 2);
    assert_eq!(spans_over_https(&api, ca, &http_id).await, 2);
    let zipkin = hex::decode(zipkin_id).unwrap();
    assert_eq!(spans_over_https(&api, ca, &zipkin).await, 1);
}

/// Jaeger's TCP transports over TLS: a collector gRPC client (`PostSpans`, as the Jaeger agent
/// and the OpenTelemetry Jaeger exporter send) and a Thrift-over-HTTP `POST /api/traces`, both
/// trusting the test CA; both traces are read back over HTTPS. A gRPC client without the CA
/// fails its handshake: one trusting another CA cannot connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_grpc_and_thrift_http_over_tls() {
    use strata_proto::jaeger_api_v2 as pb;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let leaf = pki.issue("server", "localhost");
    let server = tls_server(&pki, &leaf);
    let ca_pem = std::fs::read(pki.ca_cert()).unwrap();
    let endpoint = format!("https://localhost:{}", server.ports.jaeger_grpc);

    let other = Pki::new(&dir.path().join("other"), "other-ca");
    let other_pem = std::fs::read(other.ca_cert()).unwrap();
    let untrusting = Endpoint::from_shared(endpoint.clone())
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&other_pem)))
        .unwrap()
        .connect()
        .await;
    assert!(
        untrusting.is_err(),
        "a client without the CA must not connect"
    );

    let channel = Endpoint::from_shared(endpoint)
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&ca_pem)))
        .unwrap()
        .connect()
        .await
        .expect("Jaeger gRPC reachable over TLS");
    let mut client = pb::collector_service_client::CollectorServiceClient::new(channel);
    let mut grpc_id = [0u8; 16];
    grpc_id[15] = 0x7a;
    client
        .post_spans(pb::PostSpansRequest {
            batch: Some(pb::Batch {
                process: Some(pb::Process {
                    service_name: "jaeger-grpc-tls".into(),
                    tags: vec![],
                }),
                spans: vec![pb::Span {
                    trace_id: grpc_id.to_vec().into(),
                    span_id: vec![0, 0, 0, 0, 0, 0, 0, 7].into(),
                    operation_name: "over tls".into(),
                    ..Default::default()
                }],
            }),
        })
        .await
        .expect("PostSpans over TLS");

    let resp = https_client(pki.ca_cert())
        .post(format!(
            "https://localhost:{}/api/traces",
            server.ports.jaeger_http
        ))
        .header("Content-Type", "application/x-thrift")
        .body(thrift_batch(0x7b, 1, "thrift over tls"))
        .send()
        .await
        .expect("Jaeger Thrift over HTTPS reachable");
    assert_eq!(resp.status(), 202);

    let api = format!("https://localhost:{}", server.ports.api);
    let ca = pki.ca_cert();
    assert_eq!(spans_over_https(&api, ca, &grpc_id).await, 1);
    let mut thrift_id = [0u8; 16];
    thrift_id[15] = 0x7b;
    assert_eq!(spans_over_https(&api, ca, &thrift_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_clients_are_refused_and_replaced_certificates_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let leaf = pki.issue("server", "localhost");
    let mut server = tls_server(&pki, &leaf);
    let api = format!("127.0.0.1:{}", server.ports.api);

    // Plain HTTP and plain gRPC on TLS ports: no answer, nothing breaks.
    let plain = reqwest::get(format!("http://{api}/ready")).await;
    assert!(
        plain.is_err() || plain.as_ref().is_ok_and(|r| r.status() != 200),
        "plain HTTP must not be served: {plain:?}"
    );
    let plain_grpc = strata_integration_tests::otlp::grpc_push(
        &format!("http://127.0.0.1:{}", server.ports.otlp_grpc),
        strata_integration_tests::otlp::simple_request(&[[7; 16]], 1),
    )
    .await;
    assert!(plain_grpc.is_err(), "plain gRPC must not be served");
    assert_eq!(
        served_certificate(&api, pki.ca_cert()).unwrap(),
        certificate_der(&leaf.cert)
    );

    // New files in place of the old ones: served from the next check on, no restart.
    let next = pki.issue("next", "localhost");
    std::fs::copy(&next.key, &leaf.key).unwrap();
    std::fs::copy(&next.cert, &leaf.cert).unwrap();
    let want = certificate_der(&next.cert);
    eventually_async(30, || async {
        let served = served_certificate(&api, pki.ca_cert()).ok()?;
        (served == want).then_some(())
    })
    .await;
    let grpc = format!("127.0.0.1:{}", server.ports.otlp_grpc);
    eventually_async(30, || async {
        (served_certificate(&grpc, pki.ca_cert()).ok()? == want).then_some(())
    })
    .await;
    let metrics = https_client(pki.ca_cert())
        .get(format!("https://{api}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metric_sum(&metrics, "strata_tls_reloads_total") >= 1.0,
        "{metrics}"
    );
    assert!(
        metric_sum(&metrics, "strata_tls_handshake_failures_total") >= 2.0,
        "the plaintext HTTP and gRPC clients are counted: {metrics}"
    );

    server.stop();
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("TLS certificate reloaded"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_talk_mutual_tls_and_an_ingester_refuses_clients_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let server_leaf = pki.issue("server", "localhost");
    let client_leaf = pki.issue("client", "strata-internal");
    let ca = pki.ca_cert().display().to_string();
    let server_extra = format!(
        "  grpc_tls_config:\n{}",
        tls_block(
            4,
            &server_leaf,
            &[
                "client_auth_type: RequireAndVerifyClientCert".into(),
                format!("client_ca_file: {ca}"),
            ]
        )
    );
    let common_extra = format!(
        "ingester_client:\n  grpc_client_config:\n    tls_enabled: true\n    tls_cert_path: {}\n    tls_key_path: {}\n    tls_ca_path: {ca}\n",
        client_leaf.cert.display(),
        client_leaf.key.display()
    );
    let cluster = Cluster::start(ClusterSpec {
        ingesters: 2,
        distributors: 1,
        replication_factor: 2,
        server_extra,
        common_extra,
        generators: 1,
        generator_extra:
            "overrides:\n  defaults:\n    metrics_generator:\n      processors: [span-metrics]\n"
                .into(),
        ..ClusterSpec::default()
    });

    // Through a distributor (plain OTLP) into the ingesters over mTLS, and back out through
    // the querier (mTLS again).
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(cluster.otlp_grpc[0].clone())
        .build()
        .unwrap();
    let id = tokio::task::spawn_blocking(move || emit(exporter, "cluster-mtls"))
        .await
        .unwrap();
    let api = cluster.querier.url("");
    let spans = eventually_async(30, || async {
        let found = strata_integration_tests::otlp::get_trace(&api, &id).await?;
        Some(span_count(&found))
    })
    .await;
    assert_eq!(spans, 2, "{}", cluster.logs());
    // The distributor also hands the spans to the metrics-generator over mTLS.
    let generator = cluster.generators[0].url("/metrics");
    eventually_async(30, || async {
        let page = reqwest::get(&generator).await.ok()?.text().await.ok()?;
        (metric_sum(&page, "strata_metrics_generator_spans_received_total") >= 2.0).then_some(())
    })
    .await;

    // An ingester's gRPC port, asked directly.
    let ingester = ingester_grpc_port(&cluster);
    let ca_pem = std::fs::read(pki.ca_cert()).unwrap();
    let ready = |tls: Option<ClientTlsConfig>| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://localhost:{ingester}"))
            .unwrap()
            .connect_timeout(std::time::Duration::from_secs(5));
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).unwrap();
        }
        async move {
            let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
            IngesterClient::new(channel)
                .ready(ReadyRequest {})
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    let ca_only = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&ca_pem));
    assert!(ready(None).await.is_err(), "plaintext gRPC must be refused");
    assert!(
        ready(Some(ca_only.clone())).await.is_err(),
        "a client without a certificate must be refused"
    );
    let other = Pki::new(&dir.path().join("other"), "other-ca");
    let stranger = other.issue("stranger", "stranger");
    let identity = |leaf: &Issued| {
        Identity::from_pem(
            std::fs::read(&leaf.cert).unwrap(),
            std::fs::read(&leaf.key).unwrap(),
        )
    };
    assert!(
        ready(Some(ca_only.clone().identity(identity(&stranger))))
            .await
            .is_err(),
        "a certificate of another CA must be refused"
    );
    ready(Some(ca_only.identity(identity(&client_leaf))))
        .await
        .expect("a client certificate of the cluster's CA is accepted");
}

#[test]
fn a_missing_certificate_file_stops_the_process_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.crt");
    let ports = Ports::free();
    let config = dir.path().join("strata.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  http_listen_address: 127.0.0.1:{}\n  http_tls_config:\n    cert_file: {}\n    key_file: {}\ndistributor:\n  receivers:\n    otlp:\n      grpc_endpoint: 127.0.0.1:{}\n      http_endpoint: 127.0.0.1:{}\ningester:\n  wal:\n    path: {}\nstorage:\n  local:\n    path: {}\n",
            ports.api,
            missing.display(),
            dir.path().join("missing.key").display(),
            ports.otlp_grpc,
            ports.otlp_http,
            dir.path().join("wal").display(),
            dir.path().join("blocks").display(),
        ),
    )
    .unwrap();
    let out = std::process::Command::new(strata_bin())
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .expect("running strata");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains(&missing.display().to_string())
            || stdout.contains(&missing.display().to_string()),
        "stderr: {stderr}\nstdout: {stdout}"
    );
}

/// The gRPC port of the cluster's first ingester, from its configuration file.
fn ingester_grpc_port(cluster: &Cluster) -> u16 {
    let cfg = std::fs::read_to_string(cluster.dir.path().join("ingester-0.yaml")).unwrap();
    cfg.lines()
        .find_map(|l| l.trim().strip_prefix("grpc_listen_address: 127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("the ingester's gRPC port")
}
