//! Export of finished self-tracing spans: a bounded queue filled by the layer (a full queue
//! drops the span and counts it), drained by a thread of its own that posts batches as
//! OTLP/HTTP protobuf (`ExportTraceServiceRequest`) to `<endpoint>/v1/traces` every
//! `export_interval`, or as soon as a batch is full. A failed export is logged and its spans
//! dropped: self-tracing is best effort and never slows the query path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;
use strata_config::SelfTracingConfig;

/// Spans per export request at most.
const MAX_BATCH: usize = 512;

/// A recorded attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    I64(i64),
    F64(f64),
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// A traced span once closed.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    /// `SPAN_KIND_SERVER` (a request root) rather than internal.
    pub server: bool,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, Value)>,
    /// Status error, with its message.
    pub error: Option<String>,
}

/// Where the layer puts finished spans.
#[derive(Clone)]
pub struct SpanSink {
    tx: SyncSender<FinishedSpan>,
    dropped: Arc<AtomicU64>,
}

impl SpanSink {
    /// Queues `span`; drops it (counted) when the queue is full or the exporter is gone.
    pub fn push(&self, span: FinishedSpan) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(span) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts the exporter thread for `cfg` and returns the sink that feeds it.
pub fn spawn(cfg: &SelfTracingConfig) -> SpanSink {
    let (tx, rx) = sync_channel(cfg.max_queue_spans);
    let dropped = Arc::new(AtomicU64::new(0));
    let sink = SpanSink {
        tx,
        dropped: dropped.clone(),
    };
    let cfg = cfg.clone();
    let started = std::thread::Builder::new()
        .name("self-tracing".into())
        .spawn(move || run(cfg, rx, dropped));
    if let Err(e) = started {
        eprintln!("self-tracing: cannot start the exporter thread: {e}");
    }
    sink
}

fn run(cfg: SelfTracingConfig, rx: Receiver<FinishedSpan>, dropped: Arc<AtomicU64>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("self-tracing: no runtime for the exporter: {e}");
            return;
        }
    };
    // reqwest's futures (timeouts) need the runtime's context from their creation on.
    let _entered = rt.enter();
    let client = match reqwest_tls::Client::builder()
        .timeout(cfg.export_timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("self-tracing: no HTTP client: {e}");
            return;
        }
    };
    let url = format!("{}/v1/traces", cfg.endpoint.trim_end_matches('/'));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut reported_drops = 0;
    loop {
        let deadline = Instant::now() + cfg.export_interval;
        let mut closed = false;
        while batch.len() < MAX_BATCH {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(s) => batch.push(s),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let body = encode(&cfg.service_name, &batch).encode_to_vec();
            let mut req = client
                .post(&url)
                .header("Content-Type", "application/x-protobuf")
                .body(body);
            if !cfg.tenant.is_empty() {
                req = req.header("X-Scope-OrgID", &cfg.tenant);
            }
            let n = batch.len();
            batch.clear();
            match rt.block_on(req.send()) {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(url = %url, status = r.status().as_u16(), spans = n,
                    "self-tracing export refused; spans dropped"),
                Err(e) => tracing::warn!(url = %url, error = %e, spans = n,
                    "self-tracing export failed; spans dropped"),
            }
        }
        let d = dropped.load(Ordering::Relaxed);
        if d > reported_drops {
            tracing::warn!(
                dropped = d - reported_drops,
                "self-tracing queue full; spans dropped"
            );
            reported_drops = d;
        }
        if closed {
            return;
        }
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn kv(key: &str, value: &Value) -> KeyValue {
    let value = match value {
        Value::Str(s) => any_value::Value::StringValue(s.clone()),
        Value::I64(v) => any_value::Value::IntValue(*v),
        Value::F64(v) => any_value::Value::DoubleValue(*v),
        Value::Bool(v) => any_value::Value::BoolValue(*v),
    };
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// One OTLP request holding `spans`, under one resource (`service.name`) and scope.
pub fn encode(service_name: &str, spans: &[FinishedSpan]) -> ExportTraceServiceRequest {
    let spans = spans
        .iter()
        .map(|s| Span {
            trace_id: s.trace_id.to_vec(),
            span_id: s.span_id.to_vec(),
            parent_span_id: s.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
            name: s.name.clone(),
            kind: if s.server {
                span::SpanKind::Server
            } else {
                span::SpanKind::Internal
            } as i32,
            start_time_unix_nano: nanos(s.start),
            end_time_unix_nano: nanos(s.end).max(nanos(s.start)),
            attributes: s.attributes.iter().map(|(k, v)| kv(k, v)).collect(),
            status: s.error.as_ref().map(|m| Status {
                message: m.clone(),
                code: status::StatusCode::Error as i32,
            }),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", &Value::Str(service_name.to_string()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "strata".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
