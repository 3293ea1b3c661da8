//! Running the client scripts and checking the trace they send.

use std::path::{Path, PathBuf};
use std::process::Command;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use strata_integration_tests::otlp::get_trace;
use strata_integration_tests::{eventually_async, Server};

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub(crate) fn venv() -> PathBuf {
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
pub(crate) struct Sent {
    pub(crate) trace_id: [u8; 16],
    pub(crate) root_id: Vec<u8>,
    pub(crate) child_id: Vec<u8>,
    t0: u64,
    pub(crate) json: serde_json::Value,
}

/// Packages installed beside the venv (mk/receivers.mk) for clients that need older versions.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Extra {
    None,
    /// py_zipkin 0.20, the last with Zipkin v1 Thrift.
    PyZipkin020,
    /// OpenTelemetry 1.21 with its Jaeger exporters (discontinued after 1.21).
    OtelJaeger,
}

/// Runs `tests/receivers/<script> <args>` with the venv's Python (and `extra` first on the
/// path).
pub(crate) fn run_client(script: &str, args: &[&str], extra: Extra) -> Sent {
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
pub(crate) struct Found {
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) scope: (String, String),
    pub(crate) span: Span,
}

pub(crate) async fn read_back(server: &Server, sent: &Sent, spans: usize) -> Vec<Found> {
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

pub(crate) fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

pub(crate) fn string(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// How a protocol carries the known trace.
pub(crate) struct Expect {
    /// Attribute values keep their types (else every tag is a string, as Zipkin sends them).
    pub(crate) typed: bool,
    /// Root span times are the ones the client set (py_zipkin's root span has its own).
    pub(crate) exact_root_times: bool,
    /// The root's event name.
    pub(crate) event: &'static str,
    /// Instrumentation scope (name, version) when the protocol carries it.
    pub(crate) scope: Option<(&'static str, &'static str)>,
    /// Attributes set on the root span, beyond `http.method`.
    pub(crate) otel_attrs: bool,
}

/// Checks the trace the client scripts send (see their docstrings).
pub(crate) fn check_trace(found: &[Found], sent: &Sent, want: &Expect) {
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

pub(crate) fn udp_send(port: u16, datagram: &[u8]) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(datagram, ("127.0.0.1", port)).unwrap();
}

/// Metric samples of `name` whose labels contain every one of `labels`.
pub(crate) fn labelled(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
