//! The OpenTelemetry SDK as a test client: tracer providers exporting over OTLP/gRPC in
//! batches, with trace IDs from a fixed sequence so that every run (and every deployment a test
//! compares) sends the same IDs.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{
    Span as _, SpanId, SpanKind, Status, TraceContextExt, TraceId, Tracer, TracerProvider as _,
};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::{IdGenerator, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// Trace ID `n` of the fixed sequence: `n` mixed (splitmix64) over all 16 bytes, so the low 56
/// bits that head sampling reads look random.
pub fn sequential_trace_id(n: u64) -> [u8; 16] {
    let mut x = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Trace IDs `sequential_trace_id(0)`, `(1)`, …; span IDs counted on the same counter.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdGenerator for SequentialIds {
    fn new_trace_id(&self) -> TraceId {
        TraceId::from_bytes(sequential_trace_id(
            self.next.fetch_add(1, Ordering::SeqCst),
        ))
    }
    fn new_span_id(&self) -> SpanId {
        SpanId::from_bytes((self.next.fetch_add(1, Ordering::SeqCst) + 1).to_be_bytes())
    }
}

/// A provider for `service` exporting in batches over OTLP/gRPC (gzip) to `endpoint`, with
/// [`SequentialIds`]. Call `shutdown()` to flush.
pub fn batch_provider(endpoint: &str, service: &str) -> SdkTracerProvider {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_compression(opentelemetry_otlp::Compression::Gzip)
        .build()
        .expect("OTLP exporter");
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(SequentialIds::default())
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        )
        .build()
}

/// A provider for `service` exporting through `exporter` with a simple processor: each span's
/// `end()` returns once the server answered. Call `shutdown()` when done.
pub fn simple_provider(
    exporter: opentelemetry_otlp::SpanExporter,
    service: &str,
) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        )
        .build()
}

/// A two-service shop through real OTel SDK exporters: `traces` traces of `frontend` serving
/// `GET /checkout` and calling `backend` (`GET /stock`, every fifth failed), which queries a
/// database (`SELECT orders`). The frontend's spans go to `frontend_ep`, the backend's to
/// `backend_ep` (the backend only sees the propagated context, as another process would).
pub fn emit_checkout(frontend_ep: &str, backend_ep: &str, traces: u64) {
    let (a, b) = (
        batch_provider(frontend_ep, "frontend"),
        batch_provider(backend_ep, "backend"),
    );
    let (ta, tb) = (a.tracer("frontend"), b.tracer("backend"));
    for n in 0..traces {
        let root = ta
            .span_builder("GET /checkout")
            .with_kind(SpanKind::Server)
            .start(&ta);
        let cx = opentelemetry::Context::current_with_span(root);
        let call = ta
            .span_builder("GET /stock")
            .with_kind(SpanKind::Client)
            .start_with_context(&ta, &cx);
        let call_cx = cx.with_span(call);
        let remote = opentelemetry::Context::new()
            .with_remote_span_context(call_cx.span().span_context().clone());
        let mut served = tb
            .span_builder("GET /stock")
            .with_kind(SpanKind::Server)
            .start_with_context(&tb, &remote);
        if n % 5 == 0 {
            served.set_status(Status::error("out of stock"));
        }
        let served_cx = remote.with_span(served);
        tb.span_builder("SELECT orders")
            .with_kind(SpanKind::Client)
            .with_attributes([
                opentelemetry::KeyValue::new("db.system", "postgresql"),
                opentelemetry::KeyValue::new("db.name", "orders"),
            ])
            .start_with_context(&tb, &served_cx)
            .end();
        served_cx.span().end();
        call_cx.span().end();
        cx.span().end();
    }
    a.shutdown().expect("frontend flush");
    b.shutdown().expect("backend flush");
}
