//! The metrics-generator role: metrics derived from every span the distributors accept, before
//! sampling (Tempo's metrics-generator, with its metric names; contract §4.7).
//!
//! ```text
//! distributor pipeline ─► metrics hand-off (SpanConsumer) ─► MetricsGenerator::consume
//!                                                              └─ per tenant: enabled processors
//!                                                                 write its TenantRegistry
//! GET /metrics/generator ◄─ every tenant's series, `tenant` label added
//! ```
//!
//! * [`MetricsGenerator`] implements [`SpanConsumer`]; `strata run` hands it to the
//!   distributor's pipeline, so it sees 100 % of accepted spans whatever the head sampling.
//! * Processors run per tenant as `overrides.*.metrics_generator.processors` says:
//!   `span-metrics` ([`spanmetrics`]) and `service-graphs` ([`servicegraphs`]), whose waiting
//!   edges expire every second (on the injected clock) in [`MetricsGenerator::run`].
//! * Each tenant has its own [`registry::TenantRegistry`] (one lock, taken once per push),
//!   bounded by `max_active_series` (refusals counted) and cleaned of series not updated for
//!   `metrics_generator.registry.stale_duration` by [`MetricsGenerator::run`], every
//!   `collection_interval`, on the injected clock.
//! * [`MetricsGenerator::router`] serves the series for scraping at [`SCRAPE_PATH`].
//! * With `metrics_generator.storage.remote_write` set, the same series are remote-written to
//!   Prometheus every `collection_interval` ([`remote_write`]).

pub mod app;
pub mod expose;
pub mod labels;
pub mod metrics;
pub mod push;
pub mod registry;
pub mod remote_write;
pub mod servicegraphs;
pub mod spanmetrics;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::{Mutex, RwLock};
use prometheus_client::registry::Registry;
use strata_common::{SharedClock, TenantId};
use strata_config::{
    Config, MetricsGeneratorConfig, PROCESSOR_SERVICE_GRAPHS, PROCESSOR_SPAN_METRICS,
};
use strata_proto::roles::{RoleError, SpanConsumer, TraceSpans};
use strata_server::Overrides;
use tokio_util::sync::CancellationToken;

use crate::expose::Format;
use crate::labels::KeyBuf;
use crate::metrics::GeneratorMetrics;
use crate::registry::{GroupSpec, TenantRegistry};
use crate::remote_write::metrics::RemoteWriteMetrics;
use crate::remote_write::{RemoteWriter, DRAIN_DEADLINE};
use crate::servicegraphs::{EdgeCounts, EdgeStore, ServiceGraphs};
use crate::spanmetrics::SpanMetrics;

/// Where `strata run` serves the generated series (API port).
pub const SCRAPE_PATH: &str = "/metrics/generator";
/// Where one tenant's series are served, behind the tenant gate (`strata run`'s API port).
pub const TENANT_SERIES_PATH: &str = "/api/metrics-generator/series";

/// Group index of span metrics in every tenant's registry.
const SPAN_METRICS_GROUP: usize = 0;
/// Group index of service graphs.
const SERVICE_GRAPHS_GROUP: usize = 1;

struct Tenant {
    name: String,
    registry: Mutex<TenantRegistry>,
    /// Service-graph edges waiting for their other side; locked before `registry`.
    edges: Mutex<EdgeStore>,
    /// The span-metrics processor with the tenant's dimensions (the configured one unless
    /// overridden).
    span_metrics: Mutex<Arc<SpanMetrics>>,
    metrics: metrics::TenantMetrics,
}

impl Tenant {
    fn count_edges(&self, c: EdgeCounts) {
        self.metrics.edges.inc_by(c.new_edges);
        self.metrics.edges_dropped_spans.inc_by(c.dropped_spans);
        self.metrics.edges_expired.inc_by(c.expired);
        self.metrics.series_limited.inc_by(c.series_limited);
    }
}

struct Inner {
    cfg: MetricsGeneratorConfig,
    span_metrics: Arc<SpanMetrics>,
    service_graphs: ServiceGraphs,
    specs: Vec<Arc<GroupSpec>>,
    overrides: Overrides,
    clock: SharedClock,
    tenants: RwLock<HashMap<TenantId, Arc<Tenant>>>,
    metrics: GeneratorMetrics,
    writer: Option<RemoteWriter>,
}

/// A generator that cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("metrics_generator: {0}")]
pub struct GeneratorError(String);

/// The generator. Cheap to clone.
#[derive(Clone)]
pub struct MetricsGenerator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MetricsGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsGenerator").finish_non_exhaustive()
    }
}

impl MetricsGenerator {
    /// The generator `cfg.metrics_generator` describes (remote write included), with its own
    /// metrics in `registry`.
    pub fn from_config(
        cfg: &Config,
        overrides: Overrides,
        clock: SharedClock,
        registry: &mut Registry,
    ) -> Result<Self, GeneratorError> {
        let mut g = Self::new(
            &cfg.metrics_generator,
            overrides,
            clock,
            GeneratorMetrics::new(registry),
        );
        let rw_metrics = RemoteWriteMetrics::new(registry);
        let writer = RemoteWriter::from_config(&cfg.metrics_generator, &rw_metrics)
            .map_err(GeneratorError)?;
        Arc::get_mut(&mut g.inner).expect("not shared yet").writer = writer;
        Ok(g)
    }

    pub fn new(
        cfg: &MetricsGeneratorConfig,
        overrides: Overrides,
        clock: SharedClock,
        metrics: GeneratorMetrics,
    ) -> Self {
        let span_metrics = Arc::new(SpanMetrics::new(&cfg.processor.span_metrics));
        let service_graphs = ServiceGraphs::new(&cfg.processor.service_graphs);
        let specs = vec![span_metrics.spec().clone(), service_graphs.spec().clone()];
        Self {
            inner: Arc::new(Inner {
                cfg: cfg.clone(),
                span_metrics,
                service_graphs,
                specs,
                overrides,
                clock,
                tenants: RwLock::new(HashMap::new()),
                metrics,
                writer: None,
            }),
        }
    }

    fn tenant(&self, id: &TenantId) -> Arc<Tenant> {
        if let Some(t) = self.inner.tenants.read().get(id) {
            return t.clone();
        }
        let mut w = self.inner.tenants.write();
        w.entry(id.clone())
            .or_insert_with(|| {
                Arc::new(Tenant {
                    name: id.to_string(),
                    registry: Mutex::new(TenantRegistry::new(&self.inner.specs)),
                    edges: Mutex::new(EdgeStore::default()),
                    span_metrics: Mutex::new(self.inner.span_metrics.clone()),
                    metrics: self.inner.metrics.tenant(id.as_str()),
                })
            })
            .clone()
    }

    /// Runs the tenant's enabled processors on `traces` (synchronously; what
    /// [`SpanConsumer::consume`] does).
    pub fn process(&self, tenant: &TenantId, traces: &[TraceSpans]) {
        let limits = self.inner.overrides.limits(tenant);
        let gen = &limits.metrics_generator;
        let span_metrics = gen.has(PROCESSOR_SPAN_METRICS);
        let service_graphs = gen.has(PROCESSOR_SERVICE_GRAPHS);
        if !span_metrics && !service_graphs {
            return;
        }
        let max_active = gen
            .max_active_series
            .unwrap_or(self.inner.cfg.registry.max_active_series);
        let now_ms = self.now_ms();
        let t = self.tenant(tenant);
        let mut key = KeyBuf::default();
        if span_metrics {
            let processor =
                self.tenant_span_metrics(&t, gen.processor.span_metrics.dimensions.as_deref());
            let mut reg = t.registry.lock();
            let dropped = reg.set_group_spec(SPAN_METRICS_GROUP, processor.spec());
            t.metrics.series_removed.inc_by(dropped);
            let done = processor.process(
                &mut reg,
                SPAN_METRICS_GROUP,
                traces,
                now_ms,
                max_active,
                &mut key,
            );
            t.metrics.spans_received.inc_by(done.spans);
            t.metrics.series_limited.inc_by(done.series_limited);
        }
        if service_graphs {
            let mut edges = t.edges.lock();
            let done = self.inner.service_graphs.process(
                &mut edges,
                &mut t.registry.lock(),
                SERVICE_GRAPHS_GROUP,
                traces,
                now_ms,
                max_active,
                &mut key,
            );
            t.count_edges(done);
            if !span_metrics {
                let spans: u32 = traces.iter().map(|t| t.span_count).sum();
                t.metrics.spans_received.inc_by(spans as u64);
            }
        }
        t.metrics
            .active_series
            .set(t.registry.lock().active_series() as i64);
    }

    /// The tenant's span-metrics processor for `dimensions` (None: the configured ones),
    /// rebuilt when they changed.
    fn tenant_span_metrics(&self, t: &Tenant, dimensions: Option<&[String]>) -> Arc<SpanMetrics> {
        let global = &self.inner.span_metrics;
        let want = dimensions.unwrap_or(global.dimensions());
        let mut current = t.span_metrics.lock();
        if current.dimensions() != want {
            *current = if want == global.dimensions() {
                global.clone()
            } else {
                Arc::new(global.with_dimensions(want))
            };
        }
        current.clone()
    }

    fn now_ms(&self) -> u64 {
        self.inner.clock.now_unix_nanos() / 1_000_000
    }

    fn max_active(&self, tenant: &TenantId) -> u64 {
        self.inner
            .overrides
            .limits(tenant)
            .metrics_generator
            .max_active_series
            .unwrap_or(self.inner.cfg.registry.max_active_series)
    }

    /// Expires, in every tenant, service-graph edges whose wait is over (virtual-node edges or
    /// counted as expired).
    pub fn expire_edges(&self) {
        let now_ms = self.now_ms();
        let tenants: Vec<(TenantId, Arc<Tenant>)> = self
            .inner
            .tenants
            .read()
            .iter()
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect();
        for (id, t) in tenants {
            let max_active = self.max_active(&id);
            let mut edges = t.edges.lock();
            if edges.is_empty() {
                continue;
            }
            let mut reg = t.registry.lock();
            let done = self.inner.service_graphs.expire(
                &mut edges,
                &mut reg,
                SERVICE_GRAPHS_GROUP,
                now_ms,
                max_active,
            );
            t.count_edges(done);
            t.metrics.active_series.set(reg.active_series() as i64);
        }
    }

    /// Removes, in every tenant, series not updated for `registry.stale_duration`.
    pub fn remove_stale(&self) {
        let stale_ms = self.inner.cfg.registry.stale_duration.as_millis() as u64;
        let cutoff = (self.inner.clock.now_unix_nanos() / 1_000_000).saturating_sub(stale_ms);
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.read().values().cloned().collect();
        for t in tenants {
            let (removed, active) = {
                let mut reg = t.registry.lock();
                (reg.remove_stale(cutoff), reg.active_series())
            };
            if removed > 0 {
                t.metrics.series_removed.inc_by(removed);
            }
            t.metrics.active_series.set(active as i64);
        }
    }

    /// Queues every tenant's series, stamped now, at every remote-write endpoint (nothing
    /// without remote write).
    pub fn collect(&self) {
        let Some(writer) = &self.inner.writer else {
            return;
        };
        let now_ms = self.now_ms();
        let opts = writer.options(now_ms);
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.read().values().cloned().collect();
        for t in tenants {
            let mut series = Vec::new();
            remote_write::collect::collect_tenant(
                &mut series,
                &t.name,
                &t.registry.lock(),
                now_ms,
                &opts,
            );
            writer.enqueue(&t.name, series);
        }
    }

    /// The remote writer, when one is configured.
    pub fn remote_writer(&self) -> Option<&RemoteWriter> {
        self.inner.writer.as_ref()
    }

    /// Until `token` is cancelled: every second expires waiting service-graph edges; every
    /// `registry.collection_interval` removes stale series and queues a remote-write
    /// collection. At cancellation, a last collection is sent (within [`DRAIN_DEADLINE`]).
    pub async fn run(self, token: CancellationToken) {
        let senders = self
            .inner
            .writer
            .as_ref()
            .map(RemoteWriter::spawn)
            .unwrap_or_default();
        let every: Duration = self.inner.cfg.registry.collection_interval;
        let mut tick = tokio::time::interval(Duration::from_secs(1).min(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_collection = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tick.tick() => {
                    self.expire_edges();
                    if last_collection.elapsed() >= every {
                        last_collection = tokio::time::Instant::now();
                        self.remove_stale();
                        self.collect();
                    }
                }
            }
        }
        if let Some(writer) = &self.inner.writer {
            self.collect();
            writer.stop(DRAIN_DEADLINE).await;
            for s in senders {
                let _ = s.await;
            }
        }
    }

    /// Every tenant's series as one page in `format`.
    pub fn render(&self, format: Format) -> String {
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.read().values().cloned().collect();
        self.render_tenants(tenants, format)
    }

    /// One tenant's series (none when it has none), in `format`.
    pub fn render_tenant(&self, tenant: &TenantId, format: Format) -> String {
        let tenants: Vec<Arc<Tenant>> = self
            .inner
            .tenants
            .read()
            .get(tenant)
            .cloned()
            .into_iter()
            .collect();
        self.render_tenants(tenants, format)
    }

    fn render_tenants(&self, mut tenants: Vec<Arc<Tenant>>, format: Format) -> String {
        tenants.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = String::new();
        for (g, spec) in self.inner.specs.iter().enumerate() {
            for (i, inst) in spec.instruments.iter().enumerate() {
                let guards: Vec<_> = tenants.iter().map(|t| t.registry.lock()).collect();
                expose::write_instrument(
                    &mut out,
                    format,
                    g,
                    i,
                    inst,
                    tenants
                        .iter()
                        .zip(guards.iter())
                        .map(|(t, r)| (t.name.as_str(), &**r)),
                );
            }
        }
        {
            let guards: Vec<_> = tenants.iter().map(|t| t.registry.lock()).collect();
            expose::write_info(
                &mut out,
                spanmetrics::TARGET_INFO,
                tenants
                    .iter()
                    .zip(guards.iter())
                    .map(|(t, r)| (t.name.as_str(), &**r)),
            );
        }
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        out
    }

    /// `GET` [`SCRAPE_PATH`]: the series for a Prometheus to scrape.
    pub fn router(&self) -> Router {
        Router::new()
            .route(SCRAPE_PATH, get(scrape))
            .with_state(self.clone())
    }

    /// `GET` [`TENANT_SERIES_PATH`] behind the tenant gate of `resolver` (credentials and
    /// `X-Scope-OrgID`, as the query API): the requesting tenant's series only. The trace
    /// explorer's service graph reads it.
    pub fn tenant_router(&self, resolver: strata_server::auth::TenantResolver) -> Router {
        let routes = Router::new().route(TENANT_SERIES_PATH, get(tenant_series));
        strata_server::auth::layer::http_routes(
            routes,
            resolver,
            strata_server::auth::Edge::Query,
            "query",
        )
        .with_state(self.clone())
    }
}

async fn tenant_series(
    State(g): State<MetricsGenerator>,
    axum::Extension(tenant): axum::Extension<TenantId>,
) -> Response {
    (
        [(header::CONTENT_TYPE, Format::Prometheus.content_type())],
        g.render_tenant(&tenant, Format::Prometheus),
    )
        .into_response()
}

async fn scrape(State(g): State<MetricsGenerator>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    (
        [(header::CONTENT_TYPE, format.content_type())],
        g.render(format),
    )
        .into_response()
}

#[async_trait]
impl SpanConsumer for MetricsGenerator {
    async fn consume(&self, tenant: &TenantId, traces: &[TraceSpans]) -> Result<(), RoleError> {
        self.process(tenant, traces);
        Ok(())
    }

    /// Only tenants with a processor configured are processed (see [`Self::process`]).
    fn wants_spans(&self, tenant: &TenantId) -> bool {
        let limits = self.inner.overrides.limits(tenant);
        let gen = &limits.metrics_generator;
        gen.has(PROCESSOR_SPAN_METRICS) || gen.has(PROCESSOR_SERVICE_GRAPHS)
    }
}

#[cfg(test)]
mod tests;
