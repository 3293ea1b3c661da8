//! Jaeger: OpenTelemetry's exporters over gRPC, HTTP and both UDP ports, jaeger-client,
//! bad input, tenants and rate limits.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use strata_integration_tests::jaeger::thrift_batch;
use strata_integration_tests::{eventually_async, metric_sum, Server};

use super::support::{
    attr, check_trace, labelled, read_back, run_client, string, udp_send, Expect, Extra,
};

/// The OpenTelemetry Jaeger exporters (the last release, 1.21) into every Jaeger transport:
/// gRPC `PostSpans`, Thrift over HTTP `POST /api/traces`, and the agent's compact (6831) and
/// binary (6832) UDP ports. Tags keep their types; the trace looks the same from each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_jaeger_exporters_over_grpc_http_and_both_udp_ports() {
    let server = Server::start_with_receivers("");
    let http = format!("http://127.0.0.1:{}/api/traces", server.ports.jaeger_http);
    let compact = format!("127.0.0.1:{}", server.ports.jaeger_compact);
    let binary = format!("127.0.0.1:{}", server.ports.jaeger_binary);
    let grpc = format!("127.0.0.1:{}", server.ports.jaeger_grpc);
    for (exporter, target) in [
        ("jaeger-grpc", &grpc),
        ("jaeger-thrift-http", &http),
        ("jaeger-thrift-udp", &compact),
        ("jaeger-thrift-udp-binary", &binary),
    ] {
        let sent = run_client("otel_trace.py", &[exporter, target], Extra::OtelJaeger);
        assert_eq!(sent.json["result"], "SUCCESS", "{exporter}");
        let found = read_back(&server, &sent, 2).await;
        check_trace(
            &found,
            &sent,
            &Expect {
                typed: true,
                exact_root_times: true,
                // The exporter writes an event as a log with field `message`; the Collector's
                // mapping names events by field `event` only.
                event: "",
                scope: Some(("shop.cart", "1.4.0")),
                otel_attrs: true,
            },
        );
        let root = found
            .iter()
            .find(|f| f.span.span_id == sent.root_id)
            .unwrap();
        let e = &root.span.events[0];
        assert_eq!(attr(&e.attributes, "message"), Some(&string("cache miss")));
        assert_eq!(attr(&e.attributes, "attempt"), Some(&Value::IntValue(2)));
        let child = found
            .iter()
            .find(|f| f.span.span_id == sent.child_id)
            .unwrap();
        assert_eq!(child.span.status.as_ref().unwrap().message, "timeout");
    }
    let page = server.metrics().await;
    assert_eq!(
        metric_sum(&page, "strata_distributor_udp_datagrams_dropped_total"),
        0.0
    );
}

/// jaeger-client, Jaeger's own Python tracer, through the agent's compact UDP port: process
/// tags on the resource (`hostname` as `host.name`), typed tags, a log as a named event, 64-bit
/// trace IDs left-padded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_client_over_udp() {
    let server = Server::start_with_receivers("");
    let agent = format!("127.0.0.1:{}", server.ports.jaeger_compact);
    let sent = run_client("jaeger_client_trace.py", &[&agent], Extra::None);
    assert_eq!(sent.trace_id[..8], [0; 8]);
    let found = read_back(&server, &sent, 2).await;
    check_trace(
        &found,
        &sent,
        &Expect {
            typed: true,
            exact_root_times: true,
            event: "cache miss",
            scope: None,
            otel_attrs: true,
        },
    );
    let root = found
        .iter()
        .find(|f| f.span.span_id == sent.root_id)
        .unwrap();
    let res = &root.resource;
    assert_eq!(attr(res, "deployment.environment"), Some(&string("test")));
    assert!(attr(res, "host.name").is_some() && attr(res, "hostname").is_none());
    assert_eq!(
        attr(res, "opencensus.exporterversion"),
        Some(&string("Jaeger-Python-4.8.0"))
    );
    assert_eq!(
        attr(&root.span.events[0].attributes, "attempt"),
        Some(&Value::IntValue(2))
    );
}

/// Jaeger HTTP: wrong content type, garbage, truncation, oversized bodies and other methods get
/// their statuses. UDP: garbage, truncated and too-large datagrams are counted by reason, and
/// both ports keep taking spans afterwards; earlier data stays readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_bad_input_is_refused_or_counted_and_serving_goes_on() {
    let server = Server::start_with_receivers("distributor:\n  max_request_bytes: 4096\n");
    let http = format!("http://127.0.0.1:{}/api/traces", server.ports.jaeger_http);
    let first = run_client(
        "otel_trace.py",
        &["jaeger-thrift-http", &http],
        Extra::OtelJaeger,
    );
    read_back(&server, &first, 2).await;

    let client = reqwest::Client::new();
    let send = |ct: &'static str, body: Vec<u8>| {
        client
            .post(&http)
            .header("Content-Type", ct)
            .body(body)
            .send()
    };
    assert_eq!(
        send("application/json", b"{}".to_vec())
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        send("application/x-thrift", b"garbage".to_vec())
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        send(
            "application/x-thrift",
            vec![0x0c, 0, 1, 0x0b, 0, 1, 0x7f, 0xff, 0xff, 0xff]
        )
        .await
        .unwrap()
        .status(),
        400
    );
    assert_eq!(
        send("application/vnd.apache.thrift.binary", vec![0; 5000])
            .await
            .unwrap()
            .status(),
        413
    );
    assert_eq!(reqwest::get(&http).await.unwrap().status(), 405);

    let (compact, binary) = (server.ports.jaeger_compact, server.ports.jaeger_binary);
    udp_send(compact, b"not thrift at all");
    udp_send(binary, b"not thrift at all");
    // A compact emitBatch header whose body is cut short.
    udp_send(
        compact,
        &[
            0x82, 0x81, 0x01, 0x09, b'e', b'm', b'i', b't', b'B', b'a', b't', b'c', b'h', 0x1c,
        ],
    );
    udp_send(compact, &vec![0u8; 65_100]);
    let page = eventually_async(10, || async {
        let page = server.metrics().await;
        let dropped = metric_sum(&page, "strata_distributor_udp_datagrams_dropped_total");
        (dropped >= 4.0).then_some(page)
    })
    .await;
    let m = "strata_distributor_udp_datagrams_dropped_total";
    assert_eq!(
        labelled(&page, m, &["jaeger_thrift_compact", "decode_error"]),
        2.0,
        "{page}"
    );
    assert_eq!(
        labelled(&page, m, &["jaeger_thrift_compact", "too_large"]),
        1.0
    );
    assert_eq!(
        labelled(&page, m, &["jaeger_thrift_binary", "decode_error"]),
        1.0
    );

    // Both ports still take spans, and the first trace is still there.
    for (exporter, port) in [
        ("jaeger-thrift-udp", compact),
        ("jaeger-thrift-udp-binary", binary),
    ] {
        let target = format!("127.0.0.1:{port}");
        let sent = run_client("otel_trace.py", &[exporter, &target], Extra::OtelJaeger);
        assert_eq!(read_back(&server, &sent, 2).await.len(), 2, "{exporter}");
    }
    assert_eq!(read_back(&server, &first, 2).await.len(), 2);
}

/// With multitenancy on, Jaeger HTTP needs `X-Scope-OrgID` (else 500, like Zipkin) and gRPC
/// the `x-scope-orgid` metadata (else UNAVAILABLE, like OTLP/gRPC), and both store under that
/// tenant; UDP carries no tenant, so its datagrams are refused and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_tenants() {
    let server = Server::start_with_receivers("multitenancy_enabled:\n  true\n");
    let http = format!("http://127.0.0.1:{}/api/traces", server.ports.jaeger_http);
    let post = |tenant: Option<&'static str>| {
        let mut r = reqwest::Client::new()
            .post(&http)
            .header("Content-Type", "application/x-thrift")
            .body(thrift_batch(0xabc, 1, "x"));
        if let Some(t) = tenant {
            r = r.header("X-Scope-OrgID", t);
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 500);
    assert_eq!(post(Some("acme")).await.unwrap().status(), 202);
    let get = |tenant: &'static str| {
        reqwest::Client::new()
            .get(server.url("/api/traces/abc"))
            .header("X-Scope-OrgID", tenant)
            .send()
    };
    assert_eq!(get("acme").await.unwrap().status(), 200);
    assert_eq!(get("other").await.unwrap().status(), 404);

    // gRPC: UNAVAILABLE without a tenant (as OTLP/gRPC), INVALID_ARGUMENT for a bad ID.
    use strata_proto::jaeger_api_v2 as pb;
    let channel = tonic::transport::Channel::from_shared(format!(
        "http://127.0.0.1:{}",
        server.ports.jaeger_grpc
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    let mut client = pb::collector_service_client::CollectorServiceClient::new(channel);
    let request = |trace_id: Vec<u8>, tenant: Option<&str>| {
        let mut r = tonic::Request::new(pb::PostSpansRequest {
            batch: Some(pb::Batch {
                process: Some(pb::Process {
                    service_name: "grpc-svc".into(),
                    tags: vec![],
                }),
                spans: vec![pb::Span {
                    trace_id: trace_id.into(),
                    span_id: vec![0, 0, 0, 0, 0, 0, 0, 9].into(),
                    operation_name: "op".into(),
                    ..Default::default()
                }],
            }),
        });
        if let Some(t) = tenant {
            r.metadata_mut().insert("x-scope-orgid", t.parse().unwrap());
        }
        r
    };
    let mut id = vec![0u8; 16];
    id[15] = 0xde;
    let err = client
        .post_spans(request(id.clone(), None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let err = client
        .post_spans(request(vec![1; 17], Some("acme")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    client.post_spans(request(id, Some("acme"))).await.unwrap();
    let found = reqwest::Client::new()
        .get(server.url("/api/traces/de"))
        .header("X-Scope-OrgID", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);

    let agent = format!("127.0.0.1:{}", server.ports.jaeger_compact);
    run_client(
        "otel_trace.py",
        &["jaeger-thrift-udp", &agent],
        Extra::OtelJaeger,
    );
    eventually_async(10, || async {
        let page = server.metrics().await;
        (labelled(
            &page,
            "strata_distributor_udp_datagrams_dropped_total",
            &["refused"],
        ) >= 1.0)
            .then_some(())
    })
    .await;
}

/// A tenant's rate limit refuses an oversized push on every Jaeger transport: HTTP 500 (no
/// 429 for Jaeger clients, as for Zipkin), gRPC `RESOURCE_EXHAUSTED`, and a UDP datagram
/// counted as refused; a small push still goes through each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_rate_limit_applies_to_every_transport() {
    let server = Server::start_with_receivers(
        "overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 1
      burst_size_bytes: 400
",
    );
    let big = "y".repeat(1000);
    let http = format!("http://127.0.0.1:{}/api/traces", server.ports.jaeger_http);
    let post = |body: Vec<u8>| {
        reqwest::Client::new()
            .post(&http)
            .header("Content-Type", "application/x-thrift")
            .body(body)
            .send()
    };
    let refused = post(thrift_batch(0x51, 1, &big)).await.unwrap();
    assert_eq!(refused.status(), 500);
    assert!(refused.headers().get("retry-after").is_none());
    assert_eq!(
        post(thrift_batch(0x52, 1, "ok")).await.unwrap().status(),
        202
    );

    use strata_proto::jaeger_api_v2 as pb;
    let channel = tonic::transport::Channel::from_shared(format!(
        "http://127.0.0.1:{}",
        server.ports.jaeger_grpc
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    let mut client = pb::collector_service_client::CollectorServiceClient::new(channel);
    let mut trace_id = vec![0u8; 16];
    trace_id[15] = 0x53;
    let err = client
        .post_spans(pb::PostSpansRequest {
            batch: Some(pb::Batch {
                process: Some(pb::Process {
                    service_name: "svc".into(),
                    tags: vec![],
                }),
                spans: vec![pb::Span {
                    trace_id: trace_id.into(),
                    span_id: vec![0, 0, 0, 0, 0, 0, 0, 1].into(),
                    operation_name: big.clone(),
                    ..Default::default()
                }],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);

    // A one-way emitBatch in the binary protocol, carrying the big batch.
    let mut datagram = vec![0x80, 0x01, 0x00, 0x04, 0, 0, 0, 9];
    datagram.extend_from_slice(b"emitBatch");
    datagram.extend_from_slice(&[0, 0, 0, 1, 0x0c, 0, 1]);
    datagram.extend_from_slice(&thrift_batch(0x54, 1, &big));
    datagram.push(0);
    udp_send(server.ports.jaeger_binary, &datagram);
    eventually_async(10, || async {
        let page = server.metrics().await;
        (labelled(
            &page,
            "strata_distributor_udp_datagrams_dropped_total",
            &["jaeger_thrift_binary", "refused"],
        ) >= 1.0)
            .then_some(())
    })
    .await;
    let page = server.metrics().await;
    assert!(
        labelled(&page, "strata_discarded_spans_total", &["rate_limited"]) >= 3.0,
        "{page}"
    );
}
