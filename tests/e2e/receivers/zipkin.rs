//! Zipkin: OpenTelemetry's exporters and py_zipkin in every encoding, bad input, refusals.

use std::io::Write;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use strata_integration_tests::otlp::get_trace;
use strata_integration_tests::{metric_sum, Server};

use super::support::{attr, check_trace, labelled, read_back, run_client, string, Expect, Extra};

/// Both OpenTelemetry Zipkin exporters (JSON and protobuf) into `POST /api/v2/spans`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_zipkin_exporters_json_and_protobuf() {
    let server = Server::start_with_receivers("");
    let url = format!("{}/api/v2/spans", server.zipkin_url());
    for exporter in ["zipkin-json", "zipkin-proto"] {
        let sent = run_client("otel_trace.py", &[exporter, &url], Extra::None);
        assert_eq!(sent.json["result"], "SUCCESS", "{exporter}");
        let found = read_back(&server, &sent, 2).await;
        check_trace(
            &found,
            &sent,
            &Expect {
                typed: false,
                exact_root_times: true,
                // The Python exporter writes an event as `{"name": {attributes}}`; the
                // Collector's mapping keeps that text as the event name.
                event: r#"{"cache miss": {"attempt": 2}}"#,
                scope: Some(("shop.cart", "1.4.0")),
                otel_attrs: true,
            },
        );
        let root = found
            .iter()
            .find(|f| f.span.span_id == sent.root_id)
            .unwrap();
        // Resource attributes the exporter sent as tags are back on the resource.
        assert_eq!(
            attr(&root.resource, "deployment.environment"),
            Some(&string("test")),
            "{exporter}"
        );
        assert_eq!(
            attr(&root.resource, "telemetry.sdk.language"),
            Some(&string("python")),
            "{exporter}"
        );
        let child = found
            .iter()
            .find(|f| f.span.span_id == sent.child_id)
            .unwrap();
        assert_eq!(
            attr(&child.span.attributes, "error"),
            Some(&string("timeout"))
        );
    }
    let page = server.metrics().await;
    assert!(metric_sum(&page, "strata_distributor_spans_received_total") >= 4.0);
    assert_eq!(
        labelled(
            &page,
            "strata_distributor_receiver_spans_total",
            &["receiver=\"zipkin\"", "result=\"accepted\""]
        ),
        4.0,
        "{page}"
    );
}

/// py_zipkin, Zipkin's own Python instrumentation, in every encoding: v1 Thrift and JSON into
/// `/api/v1/spans`, v2 JSON and protobuf into `/api/v2/spans`. Its trace IDs are 64-bit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn py_zipkin_every_encoding() {
    let server = Server::start_with_receivers("");
    for encoding in ["V1_THRIFT", "V1_JSON", "V2_JSON", "V2_PROTO3"] {
        let version = if encoding.starts_with("V1") {
            "v1"
        } else {
            "v2"
        };
        let url = format!("{}/api/{version}/spans", server.zipkin_url());
        let extra = if encoding == "V1_THRIFT" {
            Extra::PyZipkin020
        } else {
            Extra::None
        };
        let sent = run_client("py_zipkin_trace.py", &[encoding, &url], extra);
        assert_eq!(
            sent.json["statuses"],
            serde_json::json!([202]),
            "{encoding}"
        );
        assert_eq!(
            sent.trace_id[..8],
            [0; 8],
            "a 64-bit trace ID is left-padded"
        );
        let found = read_back(&server, &sent, 2).await;
        check_trace(
            &found,
            &sent,
            &Expect {
                typed: false,
                // py_zipkin times a root span itself.
                exact_root_times: false,
                event: "cache miss",
                scope: None,
                otel_attrs: false,
            },
        );
        let child = found
            .iter()
            .find(|f| f.span.span_id == sent.child_id)
            .unwrap();
        let a = &child.span.attributes;
        assert_eq!(
            attr(a, "peer.service"),
            Some(&string("postgres")),
            "{encoding}"
        );
        assert_eq!(
            attr(a, "net.peer.ip"),
            Some(&string("10.0.0.2")),
            "{encoding}"
        );
        assert_eq!(
            attr(a, "net.peer.port"),
            Some(&Value::IntValue(5432)),
            "{encoding}"
        );
        assert_eq!(attr(a, "error"), Some(&string("timeout")), "{encoding}");
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

const V2_SPAN: &str = r#"[{"traceId":"5af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331",
  "name":"gzipped","timestamp":1700000000000000,"duration":10,
  "localEndpoint":{"serviceName":"gz"}}]"#;

async fn post(url: &str, ct: &str, encoding: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("Content-Type", ct)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("Content-Encoding", e);
    }
    req.send().await.expect("zipkin reachable")
}

/// Compressed bodies are accepted; malformed, truncated, wrongly compressed and oversized ones
/// get 400 or 413 and the server keeps serving what it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zipkin_bad_input_gets_its_status_and_leaves_data_intact() {
    let server = Server::start_with_receivers("distributor:\n  max_request_bytes: 4096\n");
    let v2 = format!("{}/api/v2/spans", server.zipkin_url());
    let v1 = format!("{}/api/v1/spans", server.zipkin_url());
    let ok = post(
        &v2,
        "application/json",
        Some("gzip"),
        gzip(V2_SPAN.as_bytes()),
    )
    .await;
    assert_eq!(ok.status(), 202);
    let deflated = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(V2_SPAN.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    assert_eq!(
        post(&v2, "application/json", Some("deflate"), deflated)
            .await
            .status(),
        202
    );

    let half = &V2_SPAN.as_bytes()[..V2_SPAN.len() / 2];
    for (url, ct, enc, body) in [
        (&v2, "application/json", None, b"not json".to_vec()),
        (&v2, "application/json", None, half.to_vec()),
        (&v2, "application/x-protobuf", None, vec![0xff; 7]),
        (
            &v1,
            "application/x-thrift",
            None,
            vec![0x0c, 0x7f, 0xff, 0xff, 0xff],
        ),
        (&v1, "application/json", None, b"[{\"traceId\":1}]".to_vec()),
        (&v2, "application/json", Some("gzip"), b"not gzip".to_vec()),
        (
            &v2,
            "application/json",
            None,
            br#"[{"traceId":"01","id":"0000000000000000"}]"#.to_vec(),
        ),
    ] {
        let r = post(url, ct, enc, body.clone()).await;
        assert_eq!(r.status(), 400, "{url} {ct} {enc:?} {body:?}");
    }
    let big = format!(
        "[{}]",
        vec![V2_SPAN.trim_matches(|c| c == '[' || c == ']'); 40].join(",")
    );
    assert_eq!(
        post(&v2, "application/json", None, big.clone().into_bytes())
            .await
            .status(),
        413
    );
    assert_eq!(
        post(&v2, "application/json", Some("gzip"), gzip(big.as_bytes()))
            .await
            .status(),
        413
    );
    let get = reqwest::get(&v2).await.unwrap();
    assert_eq!(get.status(), 405);

    let mut id = [0u8; 16];
    hex::decode_to_slice("5af7651916cd43dd8448eb211c80319c", &mut id).unwrap();
    let rs = get_trace(&server.url(""), &id)
        .await
        .expect("earlier trace still there");
    assert!(strata_integration_tests::otlp::span_count(&rs) >= 1);
    let page = server.metrics().await;
    assert!(metric_sum(&page, "strata_discarded_spans_total") >= 1.0);
}

/// Zipkin clients never see 429 or 503: a rate-limited push and a push without a tenant (with
/// multitenancy on) are 500, as Tempo's Zipkin receiver answers (contract §1.3); a tenant's
/// push is stored under that tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zipkin_refusals_are_500_and_tenants_apply() {
    let server = Server::start_with_receivers(
        "multitenancy_enabled:
  true
overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 1
      burst_size_bytes: 300
",
    );
    let v2 = format!("{}/api/v2/spans", server.zipkin_url());
    let no_tenant = post(&v2, "application/json", None, V2_SPAN.as_bytes().to_vec()).await;
    assert_eq!(no_tenant.status(), 500);
    let limited = reqwest::Client::new()
        .post(&v2)
        .header("Content-Type", "application/json")
        .header("X-Scope-OrgID", "acme")
        .body(format!(
            r#"[{{"traceId":"2","id":"2","name":"big","tags":{{"pad":"{}"}}}}]"#,
            "x".repeat(500)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 500);
    assert!(limited.headers().get("retry-after").is_none());
    let page = server.metrics().await;
    assert!(page.contains("reason=\"rate_limited\""), "{page}");
    assert_eq!(
        labelled(
            &page,
            "strata_distributor_receiver_spans_total",
            &["receiver=\"zipkin\"", "result=\"refused\""]
        ),
        1.0,
        "{page}"
    );

    let small = r#"[{"traceId":"1","id":"1","name":"s","localEndpoint":{"serviceName":"a"}}]"#;
    let accepted = reqwest::Client::new()
        .post(&v2)
        .header("Content-Type", "application/json")
        .header("X-Scope-OrgID", "acme")
        .body(small)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202, "{}", accepted.text().await.unwrap());
    let found = reqwest::Client::new()
        .get(server.url("/api/traces/1"))
        .header("X-Scope-OrgID", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    let other = reqwest::Client::new()
        .get(server.url("/api/traces/1"))
        .header("X-Scope-OrgID", "other")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
