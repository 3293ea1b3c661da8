//! The Zipkin and Jaeger receivers against the real binary, fed by real client libraries:
//! each sends one known trace (`tests/receivers/*.py`), which is read back by ID through
//! `GET /api/traces/{id}` (protobuf) and checked field by field: service name, span names,
//! kinds, parent link, attributes, events, status and timestamps. Malformed input gets the
//! status the protocol's contract gives and leaves the server serving earlier data.
//!
//! The clients run with the Python of the venv that `make test-deps` installs
//! (mk/receivers.mk): `$STRATA_TOOLS/receivers-venv`, default `<workspace>/target/tools/...`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use strata_integration_tests::otlp::get_trace;
use strata_integration_tests::{eventually_async, metric_sum, Server};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn venv() -> PathBuf {
    let tools = std::env::var("STRATA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target/tools"));
    let venv = tools.join("receivers-venv");
    assert!(
        venv.join("bin/python").exists(),
        "{} not found: run `make test-deps` (mk/receivers.mk) first (make test does)",
        venv.display()
    );
    venv
}

/// What a client script reports having sent.
#[derive(Debug)]
struct Sent {
    trace_id: [u8; 16],
    root_id: Vec<u8>,
    child_id: Vec<u8>,
    t0: u64,
    json: serde_json::Value,
}

/// Packages installed beside the venv (mk/receivers.mk) for clients that need older versions.
#[derive(Clone, Copy, PartialEq)]
enum Extra {
    None,
    /// py_zipkin 0.20, the last with Zipkin v1 Thrift.
    PyZipkin020,
    /// OpenTelemetry 1.21 with its Jaeger exporters (discontinued after 1.21).
    OtelJaeger,
}

/// Runs `tests/receivers/<script> <args>` with the venv's Python (and `extra` first on the
/// path).
fn run_client(script: &str, args: &[&str], extra: Extra) -> Sent {
    let venv = venv();
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.arg(repo().join("tests/receivers").join(script))
        .args(args);
    match extra {
        Extra::None => {}
        Extra::PyZipkin020 => {
            cmd.env("PYTHONPATH", venv.join("py-zipkin-0.20"));
        }
        Extra::OtelJaeger => {
            cmd.env("PYTHONPATH", venv.join("otel-jaeger-1.21"));
        }
    }
    let out = cmd.output().expect("running the client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .last()
            .expect("the script prints one JSON line"),
    )
    .expect("JSON output");
    let hex = |k: &str| hex::decode(json[k].as_str().expect(k)).expect("hex");
    let mut trace_id = [0u8; 16];
    let t = hex("trace_id");
    trace_id[16 - t.len()..].copy_from_slice(&t);
    Sent {
        trace_id,
        root_id: hex("root_id"),
        child_id: hex("child_id"),
        t0: json["t0"].as_u64().expect("t0"),
        json,
    }
}

/// A span with the attributes of its resource and its scope's name and version.
struct Found {
    resource: Vec<KeyValue>,
    scope: (String, String),
    span: Span,
}

async fn read_back(server: &Server, sent: &Sent, spans: usize) -> Vec<Found> {
    let base = server.url("");
    let rs: Vec<ResourceSpans> = eventually_async(20, || {
        let base = base.clone();
        async move {
            let rs = get_trace(&base, &sent.trace_id).await?;
            (strata_integration_tests::otlp::span_count(&rs) >= spans).then_some(rs)
        }
    })
    .await;
    let mut out = Vec::new();
    for r in rs {
        let resource = r.resource.map(|r| r.attributes).unwrap_or_default();
        for ss in r.scope_spans {
            let scope = ss.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            for span in ss.spans {
                out.push(Found {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    span,
                });
            }
        }
    }
    out
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn string(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// How a protocol carries the known trace.
struct Expect {
    /// Attribute values keep their types (else every tag is a string, as Zipkin sends them).
    typed: bool,
    /// Root span times are the ones the client set (py_zipkin's root span has its own).
    exact_root_times: bool,
    /// The root's event name.
    event: &'static str,
    /// Instrumentation scope (name, version) when the protocol carries it.
    scope: Option<(&'static str, &'static str)>,
    /// Attributes set on the root span, beyond `http.method`.
    otel_attrs: bool,
}

/// Checks the trace the client scripts send (see their docstrings).
fn check_trace(found: &[Found], sent: &Sent, want: &Expect) {
    let label = &sent.json;
    assert_eq!(found.len(), 2, "{label}: two spans");
    let root = found
        .iter()
        .find(|f| f.span.span_id == sent.root_id)
        .unwrap_or_else(|| panic!("{label}: root span"));
    let child = found
        .iter()
        .find(|f| f.span.span_id == sent.child_id)
        .unwrap_or_else(|| panic!("{label}: child span"));
    for f in [root, child] {
        assert_eq!(f.span.trace_id, sent.trace_id, "{label}");
        assert_eq!(
            attr(&f.resource, "service.name"),
            Some(&string("checkout")),
            "{label}"
        );
        if let Some((name, version)) = want.scope {
            assert_eq!(f.scope, (name.to_string(), version.to_string()), "{label}");
        }
    }
    // Names, kinds, parent link.
    assert_eq!(root.span.name, "GET /cart", "{label}");
    assert_eq!(child.span.name, "SELECT carts", "{label}");
    assert_eq!(root.span.kind, SpanKind::Server as i32, "{label}");
    assert_eq!(child.span.kind, SpanKind::Client as i32, "{label}");
    assert!(root.span.parent_span_id.is_empty(), "{label}");
    assert_eq!(child.span.parent_span_id, sent.root_id, "{label}");
    // Timestamps: microseconds on the wire, nanoseconds here (clients that compute start and
    // duration from float seconds may be a microsecond off in each).
    let ms = 1_000_000;
    let near = |got: u64, want: u64| got.abs_diff(want) <= 2000;
    assert!(
        near(child.span.start_time_unix_nano, sent.t0 + 2 * ms),
        "{label}"
    );
    assert!(
        near(child.span.end_time_unix_nano, sent.t0 + 5 * ms),
        "{label}"
    );
    if want.exact_root_times {
        assert!(near(root.span.start_time_unix_nano, sent.t0), "{label}");
        assert!(
            near(root.span.end_time_unix_nano, sent.t0 + 10 * ms),
            "{label}"
        );
    } else {
        assert!(root.span.start_time_unix_nano >= sent.t0, "{label}");
        assert!(
            root.span.end_time_unix_nano >= root.span.start_time_unix_nano,
            "{label}"
        );
    }
    // Attributes.
    let a = &root.span.attributes;
    assert_eq!(attr(a, "http.method"), Some(&string("GET")), "{label}");
    if want.otel_attrs {
        let (code, ratio, cached) = if want.typed {
            (
                Value::IntValue(200),
                Value::DoubleValue(0.5),
                Value::BoolValue(true),
            )
        } else {
            (string("200"), string("0.5"), string("true"))
        };
        assert_eq!(attr(a, "http.status_code"), Some(&code), "{label}");
        assert_eq!(attr(a, "cart.ratio"), Some(&ratio), "{label}");
        assert_eq!(attr(a, "cart.cached"), Some(&cached), "{label}");
    }
    assert_eq!(
        attr(&child.span.attributes, "db.system"),
        Some(&string("postgresql")),
        "{label}"
    );
    // Event, one millisecond in.
    assert_eq!(root.span.events.len(), 1, "{label}");
    let e = &root.span.events[0];
    assert_eq!(e.name, want.event, "{label}");
    assert!(near(e.time_unix_nano, sent.t0 + ms), "{label}");
    // Status.
    let status = child.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, StatusCode::Error as i32, "{label}");
    assert!(
        root.span.status.as_ref().is_none_or(|s| s.code == 0),
        "{label}"
    );
}

/// Both OpenTelemetry Zipkin exporters (JSON and protobuf) into `POST /api/v2/spans`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_zipkin_exporters_json_and_protobuf() {
    let server = Server::start("");
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
    let server = Server::start("");
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
    let server = Server::start("distributor:\n  max_request_bytes: 4096\n");
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
    let server = Server::start(
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

/// The OpenTelemetry Jaeger exporters (the last release, 1.21) into every Jaeger transport:
/// gRPC `PostSpans`, Thrift over HTTP `POST /api/traces`, and the agent's compact (6831) and
/// binary (6832) UDP ports. Tags keep their types; the trace looks the same from each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_jaeger_exporters_over_grpc_http_and_both_udp_ports() {
    let server = Server::start("");
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
    let server = Server::start("");
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

fn udp_send(port: u16, datagram: &[u8]) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(datagram, ("127.0.0.1", port)).unwrap();
}

/// Metric samples of `name` whose labels contain every one of `labels`.
fn labelled(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Jaeger HTTP: wrong content type, garbage, truncation, oversized bodies and other methods get
/// their statuses. UDP: garbage, truncated and too-large datagrams are counted by reason, and
/// both ports keep taking spans afterwards; earlier data stays readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_bad_input_is_refused_or_counted_and_serving_goes_on() {
    let server = Server::start("distributor:\n  max_request_bytes: 4096\n");
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

/// A minimal binary-Thrift `jaeger.Batch`: service "svc", one span `name` of trace `trace_low`.
fn thrift_batch(trace_low: u64, span_id: u64, name: &str) -> Vec<u8> {
    let mut b = vec![0x0c, 0, 1, 0x0b, 0, 1, 0, 0, 0, 3];
    b.extend_from_slice(b"svc");
    b.push(0); // end of Process
    b.extend_from_slice(&[0x0f, 0, 2, 0x0c, 0, 0, 0, 1]);
    let i64_field = |b: &mut Vec<u8>, id: u8, v: u64| {
        b.extend_from_slice(&[0x0a, 0, id]);
        b.extend_from_slice(&v.to_be_bytes());
    };
    i64_field(&mut b, 1, trace_low);
    i64_field(&mut b, 2, 0);
    i64_field(&mut b, 3, span_id);
    i64_field(&mut b, 4, 0);
    b.extend_from_slice(&[0x0b, 0, 5]);
    b.extend_from_slice(&(name.len() as u32).to_be_bytes());
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(&[0x08, 0, 7, 0, 0, 0, 1]);
    i64_field(&mut b, 8, 1_700_000_000_000_000);
    i64_field(&mut b, 9, 10);
    b.extend_from_slice(&[0, 0]); // end of Span, end of Batch
    b
}

/// With multitenancy on, Jaeger HTTP needs `X-Scope-OrgID` (else 500, like Zipkin) and gRPC
/// the `x-scope-orgid` metadata (else UNAVAILABLE, like OTLP/gRPC), and both store under that
/// tenant; UDP carries no tenant, so its datagrams are refused and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_tenants() {
    let server = Server::start("multitenancy_enabled:\n  true\n");
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
    let server = Server::start(
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
