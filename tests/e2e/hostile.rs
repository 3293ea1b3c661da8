//! Bad input gets the right status and a clear message, never a crash, and never harms data
//! accepted before it.

use std::io::Write;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use strata_integration_tests::otlp::{get_trace, grpc_push, simple_request, span_count, trace_id};
use strata_integration_tests::Server;

/// `google.rpc.Status` as the OTLP/HTTP receiver returns it.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn post(server: &Server, ct: &str, enc: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("Content-Type", ct)
        .body(body);
    if let Some(e) = enc {
        req = req.header("Content-Encoding", e);
    }
    let resp = req.send().await.expect("server reachable");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

const LIMITS: &str = "
distributor:
  max_request_bytes: 65536
ingester:
  trace_idle_period: 1h
  trace_live_period: 2h
  max_block_duration: 3h
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_otlp_http_requests_are_refused_and_earlier_data_kept() {
    let server = Server::start(LIMITS);
    let good = trace_id(1);
    let body = simple_request(&[good], 3).encode_to_vec();
    assert_eq!(
        post(&server, "application/x-protobuf", None, body.clone())
            .await
            .0,
        200
    );

    // Wrong method and content type.
    let r = reqwest::get(server.otlp_http_url()).await.unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.text().await.unwrap().contains("supported: [POST]"));
    assert_eq!(post(&server, "text/plain", None, body.clone()).await.0, 415);

    // Truncated protobuf.
    let (status, resp) = post(
        &server,
        "application/x-protobuf",
        None,
        body[..body.len() - 7].to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let st = RpcStatus::decode(resp.as_slice()).expect("google.rpc.Status body");
    assert_eq!(st.code, tonic::Code::InvalidArgument as i32);

    // A trace ID of 8 bytes rejects the whole batch, with Tempo's message.
    let mut bad = simple_request(&[trace_id(2), trace_id(3)], 2);
    bad.resource_spans[0].scope_spans[0].spans[3]
        .trace_id
        .truncate(8);
    let (status, resp) = post(&server, "application/x-protobuf", None, bad.encode_to_vec()).await;
    assert_eq!(status, 400);
    let st = RpcStatus::decode(resp.as_slice()).unwrap();
    assert_eq!(st.message, "trace ids must be 128 bit, received 64 bits");
    assert!(
        get_trace(&server.url(""), &trace_id(2)).await.is_none(),
        "nothing of a refused batch is kept"
    );

    // An all-zero span ID, in JSON.
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"0000000000000000","name":"x"}}]}}]}}]}}"#,
        hex::encode(trace_id(4))
    );
    let (status, resp) = post(&server, "application/json", None, json.into_bytes()).await;
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("span ids must be 64 bit"),
        "{v}"
    );
    // Invalid hex in JSON, and malformed JSON.
    let (status, _) = post(
        &server,
        "application/json",
        None,
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        post(
            &server,
            "application/json",
            None,
            b"{\"resourceSpans\": [".to_vec()
        )
        .await
        .0,
        400
    );

    // Oversized body, compressed garbage, and a decompression bomb.
    let big = simple_request(&(0..3000).map(trace_id).collect::<Vec<_>>(), 1).encode_to_vec();
    assert!(big.len() > 65536);
    assert_eq!(
        post(&server, "application/x-protobuf", None, big.clone())
            .await
            .0,
        413
    );
    assert_eq!(
        post(
            &server,
            "application/x-protobuf",
            Some("gzip"),
            b"not gzip".to_vec()
        )
        .await
        .0,
        400
    );
    let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
    assert!(bomb.len() < 65536);
    assert_eq!(
        post(&server, "application/x-protobuf", Some("gzip"), bomb)
            .await
            .0,
        413
    );
    // A compressed body that fits is accepted.
    let id5 = trace_id(5);
    let ok = gzip(&simple_request(&[id5], 2).encode_to_vec());
    assert_eq!(
        post(&server, "application/x-protobuf", Some("gzip"), ok)
            .await
            .0,
        200
    );

    // The server is fine and kept everything it acknowledged.
    let base = server.url("");
    assert_eq!(span_count(&get_trace(&base, &good).await.unwrap()), 3);
    assert_eq!(span_count(&get_trace(&base, &id5).await.unwrap()), 2);
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(
            r#"strata_discarded_spans_total{tenant="single-tenant",reason="invalid_trace_id"} 4"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"reason="invalid_span_id"} 1"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_otlp_grpc_requests_get_invalid_argument() {
    let server = Server::start(LIMITS);
    let endpoint = server.otlp_grpc_endpoint();
    let mut bad = simple_request(&[trace_id(1)], 1);
    bad.resource_spans[0].scope_spans[0].spans[0].span_id = vec![1, 2, 3];
    let err = grpc_push(&endpoint, bad).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("span ids must be 64 bit"),
        "{}",
        err.message()
    );
    let big = simple_request(&(0..3000).map(trace_id).collect::<Vec<_>>(), 1);
    let err = grpc_push(&endpoint, big).await.unwrap_err();
    assert_ne!(err.code(), tonic::Code::Ok);
    // An empty request is fine.
    grpc_push(&endpoint, ExportTraceServiceRequest::default())
        .await
        .unwrap();
    grpc_push(&endpoint, simple_request(&[trace_id(9)], 1))
        .await
        .unwrap();
    assert!(get_trace(&server.url(""), &trace_id(9)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_api_contract() {
    let server = Server::start(LIMITS);
    let c = reqwest::Client::new();
    let get = |p: &str| c.get(server.url(p)).send();

    let r = get("/api/echo").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "echo\n");
    assert_eq!(
        get("/ready").await.unwrap().text().await.unwrap(),
        "ready\n"
    );
    let info: serde_json::Value = get("/api/status/buildinfo")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(info.get(k).is_some(), "buildinfo lacks {k}: {info}");
    }

    // Missing trace: v1 404 with an empty body, v2 200 with an empty `trace`.
    let missing = "0123456789abcdef0123456789abcdef";
    let r = get(&format!("/api/traces/{missing}")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = get(&format!("/api/v2/traces/{missing}")).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["trace"], serde_json::json!({}));

    // Bad IDs and ranges are 400 with a plain-text reason.
    for p in [
        "/api/traces/xyz",
        &format!("/api/traces/{}", "a".repeat(33)),
        "/api/v2/traces/nothex",
    ] {
        let r = get(p).await.unwrap();
        assert_eq!(r.status(), 400, "{p}");
        assert!(r.text().await.unwrap().contains("invalid trace id"));
    }
    assert_eq!(
        get("/api/traces/abc?start=20&end=10")
            .await
            .unwrap()
            .status(),
        400
    );

    // Short IDs are left-padded: a trace whose ID has leading zero bytes is found by its
    // trimmed hex form.
    let mut id = [0u8; 16];
    id[12..].copy_from_slice(&[0xab, 0xcd, 0xef, 0x01]);
    grpc_push(&server.otlp_grpc_endpoint(), simple_request(&[id], 2))
        .await
        .unwrap();
    let r = c
        .get(server.url("/api/v2/traces/abcdef01"))
        .header("Accept", "application/protobuf")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/protobuf");
    #[derive(Clone, PartialEq, prost::Message)]
    struct ByIdResponse {
        #[prost(message, optional, tag = "1")]
        trace: Option<opentelemetry_proto::tonic::trace::v1::TracesData>,
    }
    let body = ByIdResponse::decode(r.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!(span_count(&body.trace.unwrap().resource_spans), 2);

    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    for name in [
        "strata_distributor_spans_received_total",
        "strata_distributor_bytes_received_total",
        "strata_ingester_wal_fsync_duration_seconds",
        "strata_ingester_blocks_cut_total",
        "strata_ingester_blocks_flushed_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_is_429_with_retry_after_and_resource_exhausted() {
    let server = Server::start(
        "ingester:\n  max_unflushed_bytes: 2000\n  trace_idle_period: 1h\n  trace_live_period: 2h\n  max_block_duration: 3h\n",
    );
    let ids: Vec<_> = (0..40).map(trace_id).collect();
    grpc_push(&server.otlp_grpc_endpoint(), simple_request(&ids, 1))
        .await
        .unwrap();
    let err = grpc_push(
        &server.otlp_grpc_endpoint(),
        simple_request(&[trace_id(77)], 1),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    let resp = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("Content-Type", "application/x-protobuf")
        .body(simple_request(&[trace_id(78)], 1).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "5");
    // Accepted data is intact; refused data was never stored.
    assert!(get_trace(&server.url(""), &ids[0]).await.is_some());
    assert!(get_trace(&server.url(""), &trace_id(78)).await.is_none());
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"reason="ingester_backpressure"} 2"#),
        "{metrics}"
    );
}
