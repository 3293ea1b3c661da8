//! What every query API request leaves behind, whatever its route:
//!
//! * a root span `query` (self-tracing, `strata_server::telemetry`) named `GET <route>`,
//!   continuing the request's W3C `traceparent` header when it has a valid one, with the
//!   route, method, status and (on 5xx) an error status; every span opened while serving the
//!   request joins its trace, and every log line logged meanwhile carries its `trace_id`;
//! * one log line `query served` (route, status, duration) inside that span;
//! * `strata_querier_requests_total{route,status}` and
//!   `strata_querier_request_duration_seconds{route}` (the routes as registered, e.g.
//!   `/api/traces/{id}`, so IDs never become label values).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tracing::field::Empty;
use tracing::Instrument;

use crate::Querier;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

/// Request counts and latencies of the query API.
#[derive(Clone)]
pub struct RequestMetrics {
    pub requests: Family<RouteStatus, Counter>,
    pub duration: Family<RouteLabel, Histogram>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            // 1 ms … ~65 s
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 17))
            }),
        }
    }
}

impl RequestMetrics {
    /// Registers under the querier's prefix (`strata_querier_`).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "requests",
            "Query API requests by route and HTTP status",
            self.requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Query API latency by route",
            self.duration.clone(),
        );
    }
}

/// The middleware (a `route_layer`, so the matched route is known).
pub(crate) async fn observe(State(q): State<Querier>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let span = tracing::info_span!(
        "query",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        traceparent = %traceparent,
        http.route = %route,
        http.request.method = %method,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    );
    let started = Instant::now();
    let res = next.run(req).instrument(span.clone()).await;
    let secs = started.elapsed().as_secs_f64();
    let status = res.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    span.in_scope(|| {
        tracing::info!(
            route = %route,
            status = status.as_u16(),
            duration_ms = (secs * 1000.0).round() as u64,
            "query served"
        )
    });
    let m = &q.metrics().requests;
    m.requests
        .get_or_create(&RouteStatus {
            route: route.clone(),
            status: status.as_u16().to_string(),
        })
        .inc();
    m.duration
        .get_or_create(&RouteLabel { route })
        .observe(secs);
    res
}
