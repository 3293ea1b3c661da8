//! Spans sent by the OpenTelemetry SDK's own OTLP exporters (gRPC, HTTP protobuf, HTTP JSON)
//! come back through Tempo's trace-by-ID API in every encoding.

use opentelemetry::trace::{Span as _, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithTonicConfig};
use strata_integration_tests::otlp::{get_trace, span_count};
use strata_integration_tests::sdk::simple_provider;
use strata_integration_tests::{Server, NO_BLOCKS};

/// Emits one trace of three spans through `exporter` (a simple processor: each `end()` returns
/// after the server answered) and returns its ID.
fn emit_trace(exporter: opentelemetry_otlp::SpanExporter, service: &str) -> [u8; 16] {
    let provider = simple_provider(exporter, service);
    let tracer = provider.tracer("strata-tests");
    let mut root = tracer.start("GET /checkout");
    root.set_attribute(KeyValue::new("http.request.method", "GET"));
    root.set_attribute(KeyValue::new("http.response.status_code", 500i64));
    root.set_attribute(KeyValue::new("ratio", 0.25f64));
    root.set_attribute(KeyValue::new("cached", false));
    root.set_attribute(KeyValue::new(
        "tags",
        Value::Array(Array::String(vec![
            StringValue::from("a"),
            StringValue::from("b"),
        ])),
    ));
    root.add_event("retry", vec![KeyValue::new("attempt", 2i64)]);
    root.set_status(Status::error("upstream failed"));
    let trace_id = root.span_context().trace_id().to_bytes();
    let cx = opentelemetry::Context::current_with_span(root);
    for name in ["db.query", "cache.get"] {
        let mut child = tracer.start_with_context(name, &cx);
        child.end();
    }
    cx.span().end();
    provider.shutdown().expect("provider shutdown");
    trace_id
}

async fn check_trace(server: &Server, id: [u8; 16], service: &str) {
    let base = server.url("");
    let trace = get_trace(&base, &id).await.expect("trace found");
    assert_eq!(span_count(&trace), 3);

    // v1 JSON: `batches`, base64 IDs, enum names, string nanos.
    let url = server.url(&format!("/api/traces/{}", hex::encode(id)));
    let v1: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let batches = v1["batches"].as_array().expect("batches");
    let svc = &batches[0]["resource"]["attributes"];
    assert!(svc.to_string().contains(service), "{svc}");
    let spans: Vec<&serde_json::Value> = batches
        .iter()
        .flat_map(|b| b["scopeSpans"].as_array().unwrap())
        .flat_map(|s| s["spans"].as_array().unwrap())
        .collect();
    let root = spans
        .iter()
        .find(|s| s["name"] == "GET /checkout")
        .expect("root span");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(id);
    assert_eq!(root["traceId"], b64.as_str());
    assert_eq!(root["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(root["status"]["message"], "upstream failed");
    assert!(root["startTimeUnixNano"].is_string());
    assert_eq!(root["events"][0]["name"], "retry");
    let attrs = root["attributes"].to_string();
    for needle in [
        "http.request.method",
        "\"intValue\":\"500\"",
        "\"doubleValue\":0.25",
        "\"boolValue\":false",
        "arrayValue",
    ] {
        assert!(attrs.contains(needle), "{needle} missing from {attrs}");
    }

    // v2 JSON wraps it in `trace` with `resourceSpans`.
    let url = server.url(&format!("/api/v2/traces/{}", hex::encode(id)));
    let v2: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(
        v2["trace"]["resourceSpans"].as_array().unwrap().len(),
        batches.len()
    );
}

fn grpc_exporter(server: &Server) -> opentelemetry_otlp::SpanExporter {
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.otlp_grpc_endpoint())
        .with_compression(opentelemetry_otlp::Compression::Gzip)
        .build()
        .unwrap()
}

fn http_exporter(server: &Server, protocol: Protocol) -> opentelemetry_otlp::SpanExporter {
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(server.otlp_http_url())
        .with_protocol(protocol)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_grpc_gzip_round_trip() {
    let server = Server::start(NO_BLOCKS);
    let exporter = grpc_exporter(&server);
    let id = tokio::task::spawn_blocking(move || emit_trace(exporter, "checkout-grpc"))
        .await
        .unwrap();
    check_trace(&server, id, "checkout-grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_http_protobuf_round_trip() {
    let server = Server::start(NO_BLOCKS);
    let exporter = http_exporter(&server, Protocol::HttpBinary);
    let id = tokio::task::spawn_blocking(move || emit_trace(exporter, "checkout-http"))
        .await
        .unwrap();
    check_trace(&server, id, "checkout-http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_http_json_round_trip() {
    let server = Server::start(NO_BLOCKS);
    let exporter = http_exporter(&server, Protocol::HttpJson);
    let id = tokio::task::spawn_blocking(move || emit_trace(exporter, "checkout-json"))
        .await
        .unwrap();
    check_trace(&server, id, "checkout-json").await;
}

/// The crash test, with the SDK as the client: SIGKILL right after the last
/// acknowledged export, restart, every span is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_spans_survive_sigkill() {
    let mut server = Server::start(NO_BLOCKS);
    let mut ids = Vec::new();
    for i in 0..10 {
        let exporter = grpc_exporter(&server);
        let svc = format!("svc-{i}");
        ids.push(
            tokio::task::spawn_blocking(move || emit_trace(exporter, &svc))
                .await
                .unwrap(),
        );
    }
    server.kill9();
    server.restart();
    for (i, id) in ids.iter().enumerate() {
        check_trace(&server, *id, &format!("svc-{i}")).await;
    }
}
