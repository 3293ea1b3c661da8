//! The generator's own Prometheus metrics (on `/metrics`, not among the generated series).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Default)]
pub struct GeneratorMetrics {
    pub spans_received: Family<TenantLabels, Counter>,
    pub active_series: Family<TenantLabels, Gauge>,
    pub series_limited: Family<TenantLabels, Counter>,
    pub series_removed: Family<TenantLabels, Counter>,
    pub edges: Family<TenantLabels, Counter>,
    pub edges_dropped_spans: Family<TenantLabels, Counter>,
    pub edges_expired: Family<TenantLabels, Counter>,
}

/// One tenant's handles, looked up once.
#[derive(Clone)]
pub struct TenantMetrics {
    pub spans_received: Counter,
    pub active_series: Gauge,
    pub series_limited: Counter,
    pub series_removed: Counter,
    pub edges: Counter,
    pub edges_dropped_spans: Counter,
    pub edges_expired: Counter,
}

impl GeneratorMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "strata_metrics_generator_spans_received",
            "Spans run through the tenant's metrics-generator processors",
            m.spans_received.clone(),
        );
        registry.register(
            "strata_metrics_generator_registry_active_series",
            "Active generated series per tenant (a histogram counts each bucket, _sum and _count)",
            m.active_series.clone(),
        );
        registry.register(
            "strata_metrics_generator_registry_series_limited",
            "Generated series not created because of the tenant's max_active_series",
            m.series_limited.clone(),
        );
        registry.register(
            "strata_metrics_generator_registry_series_removed",
            "Generated series removed after stale_duration without updates",
            m.series_removed.clone(),
        );
        registry.register(
            "strata_metrics_generator_service_graphs_edges",
            "Service-graph edges opened (a client or server span without its other side yet)",
            m.edges.clone(),
        );
        registry.register(
            "strata_metrics_generator_service_graphs_dropped_spans",
            "Client or server spans not paired because max_items edges were waiting",
            m.edges_dropped_spans.clone(),
        );
        registry.register(
            "strata_metrics_generator_service_graphs_expired_edges",
            "Edges whose other side did not arrive within wait and that named no virtual node",
            m.edges_expired.clone(),
        );
        m
    }

    pub fn tenant(&self, tenant: &str) -> TenantMetrics {
        let l = TenantLabels {
            tenant: tenant.to_string(),
        };
        TenantMetrics {
            spans_received: self.spans_received.get_or_create(&l).clone(),
            active_series: self.active_series.get_or_create(&l).clone(),
            series_limited: self.series_limited.get_or_create(&l).clone(),
            series_removed: self.series_removed.get_or_create(&l).clone(),
            edges: self.edges.get_or_create(&l).clone(),
            edges_dropped_spans: self.edges_dropped_spans.get_or_create(&l).clone(),
            edges_expired: self.edges_expired.get_or_create(&l).clone(),
        }
    }
}
