//! Logging and self-tracing, set up once per process by [`init`].
//!
//! * **Log lines** ([`format`]): `server.log_format` `logfmt` (default) or `json`, to stderr,
//!   filtered by `server.log_level` (or `RUST_LOG`). A line logged inside a traced span carries
//!   that span's `trace_id` and `span_id`.
//! * **Trace context** ([`context`]): a span of a `strata*` crate with a `traceparent` field
//!   starts a trace (continuing that W3C header when it holds a valid one, else with a new
//!   random ID); spans opened under it join it. Other spans cost nothing. The querier's
//!   request middleware opens such a root span for every query request; the internal gRPC
//!   passes the context on (`traceparent` metadata, `strata-rpc`), so each ingester's part of a
//!   query is a span of the same trace.
//! * **Export** ([`export`]): with `server.self_tracing.endpoint` set, every finished traced
//!   span is queued (bounded) and sent in batches over OTLP/HTTP protobuf by a thread of its
//!   own, so a slow query can be opened as a trace — in Strata itself when the endpoint is its
//!   own OTLP receiver.

pub mod context;
pub mod export;
pub mod format;

use strata_config::{LogFormat, ServerConfig};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub use context::{current_trace, SpanContext, TRACEPARENT};

/// Installs the global subscriber for `server` (log level, format, self-tracing). Does nothing
/// when a subscriber is already installed (tests).
pub fn init(server: &ServerConfig) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&server.log_level));
    let lines = tracing_subscriber::fmt::layer()
        .event_format(format::LineFormat::new(server.log_format))
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let sink = server
        .self_tracing
        .enabled()
        .then(|| export::spawn(&server.self_tracing));
    // Spans of Strata's own crates only, at every level: they are rare (request roots and the
    // steps under them), and their IDs must exist whatever the log level.
    let traced = context::ContextLayer::new(sink).with_filter(filter_fn(|m| {
        m.is_span() && m.target().starts_with("strata")
    }));
    let _ = tracing_subscriber::registry()
        .with(traced)
        .with(lines)
        .try_init();
}

/// Logs at `level` in the default format, without self-tracing (command-line tools).
pub fn init_level(level: &str) {
    init(&ServerConfig {
        log_level: level.to_string(),
        log_format: LogFormat::default(),
        ..ServerConfig::default()
    });
}
