//! Trace context across the internal gRPC (self-tracing, `server.self_tracing`): the client
//! sends the caller's W3C `traceparent` as call metadata when the calling code runs in a traced
//! span; the server runs such a call in a span continuing it, so a query's trace shows each
//! ingester's part. Calls without the metadata (pushes, health checks, untraced callers) get
//! no span and start no trace.

use tonic::Request;

/// The metadata key (gRPC metadata keys are lower case).
const METADATA: &str = "traceparent";

/// Adds the current trace context, if any, to an outgoing call.
pub(crate) fn inject<T>(req: &mut Request<T>) {
    if let Some(ctx) = strata_common::trace_context::current_trace() {
        if let Ok(v) = ctx.traceparent().parse() {
            req.metadata_mut().insert(METADATA, v);
        }
    }
}

/// The span an incoming call runs in: named `name`, a child of the caller's span when the
/// call carries a `traceparent`, else disabled.
pub(crate) fn server_span<T>(req: &Request<T>, name: &'static str) -> tracing::Span {
    match req.metadata().get(METADATA).and_then(|v| v.to_str().ok()) {
        Some(tp) => tracing::info_span!(
            "ingester call",
            otel.name = name,
            otel.kind = "server",
            traceparent = tp
        ),
        None => tracing::Span::none(),
    }
}
