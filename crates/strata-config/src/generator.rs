//! The `metrics_generator` section (trace-derived metrics, in Tempo's shape) and the per-tenant
//! `overrides.*.metrics_generator` limits that turn its processors on.
//!
//! ```yaml
//! metrics_generator:
//!   processor:
//!     span_metrics:
//!       dimensions: [http.method]        # extra labels from resource or span attributes
//!   registry:
//!     stale_duration: 15m
//!     max_active_series: 0
//! overrides:
//!   defaults:
//!     metrics_generator:
//!       processors: [span-metrics]
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{GeneratorForwarderConfig, GeneratorStorageConfig, RingConfig};

/// Processor name of the span-metrics processor in `metrics_generator.processors`.
pub const PROCESSOR_SPAN_METRICS: &str = "span-metrics";
/// Processor name of the service-graphs processor in `metrics_generator.processors`.
pub const PROCESSOR_SERVICE_GRAPHS: &str = "service-graphs";
/// Every processor name a tenant may enable.
pub const PROCESSORS: [&str; 2] = [PROCESSOR_SPAN_METRICS, PROCESSOR_SERVICE_GRAPHS];

/// `ExponentialBuckets(start, factor, count)`: `start`, `start*factor`, … (`count` values).
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        out.push(b);
        b *= factor;
    }
    out
}

/// The top-level `metrics_generator` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsGeneratorConfig {
    pub processor: GeneratorProcessorConfig,
    pub registry: GeneratorRegistryConfig,
    /// Prometheus remote write of the series.
    pub storage: GeneratorStorageConfig,
    /// The generators, as distributors find them in distributed mode (static `members` or
    /// `dns`, like the ingester ring; `replication_factor` must stay 1). Unset: the
    /// distributor hands spans to no generator (`strata run` has its own, in process).
    pub ring: RingConfig,
    /// The distributor's queue towards the generators.
    pub forwarder: GeneratorForwarderConfig,
}

/// `metrics_generator.processor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorProcessorConfig {
    pub span_metrics: SpanMetricsConfig,
    pub service_graphs: ServiceGraphsConfig,
}

/// `metrics_generator.processor.service_graphs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceGraphsConfig {
    /// How long a client or server span waits for its other side before the edge expires
    /// (becoming a virtual-node edge when it can, else counted as expired). Default `10s`.
    #[serde(with = "humantime_serde")]
    pub wait: Duration,
    /// Most edges waiting for their other side, per tenant; spans that would open more are
    /// dropped and counted. Default 10 000.
    pub max_items: usize,
    /// Upper bounds (seconds) of the `_server_seconds`/`_client_seconds` histograms. Default
    /// Tempo's `ExponentialBuckets(0.1, 2, 8)`: 0.1 … 12.8.
    pub histogram_buckets: Vec<f64>,
    /// Span attributes naming an uninstrumented peer (first found wins): a client span without
    /// a server side, or a root server span, becomes an edge to or from that name.
    /// Default `[peer.service, db.name, db.system, db.system.name]`.
    pub peer_attributes: Vec<String>,
    /// Attributes (resource, then span) marking a client span as a database call: the edge is
    /// complete at once, `connection_type="database"`, the server named by `peer.service`,
    /// `server.address`, `network.peer.address[:network.peer.port]` or this attribute's value.
    /// Default `[db.namespace, db.name, db.system, db.system.name]`.
    pub database_name_attributes: Vec<String>,
}

impl Default for ServiceGraphsConfig {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(10),
            max_items: 10_000,
            histogram_buckets: exponential_buckets(0.1, 2.0, 8),
            peer_attributes: ["peer.service", "db.name", "db.system", "db.system.name"]
                .map(String::from)
                .to_vec(),
            database_name_attributes: ["db.namespace", "db.name", "db.system", "db.system.name"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// `metrics_generator.processor.span_metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanMetricsConfig {
    /// Upper bounds (seconds) of `traces_spanmetrics_latency`'s buckets, strictly increasing
    /// (`+Inf` is implied). Default Tempo's `ExponentialBuckets(0.002, 2, 14)`: 0.002 … 16.384.
    pub histogram_buckets: Vec<f64>,
    /// Which intrinsic labels every series carries.
    pub intrinsic_dimensions: IntrinsicDimensions,
    /// Extra labels: each is an attribute name looked up on the resource, then on the span; the
    /// label is the name with every character other than `[A-Za-z0-9_]` replaced by `_`
    /// (`__`-prefixed if that collides with an intrinsic label). A span without the attribute
    /// gets no such label. Default none.
    pub dimensions: Vec<String>,
    /// Adds `job` (`service.namespace/service.name`, or `service.name`) and `instance`
    /// (`service.instance.id`) labels to every span-metrics series, and a
    /// `traces_target_info{job, instance, <resource attributes>} 1` series per resource, so
    /// resource attributes can be joined onto the span metrics in PromQL. Default false.
    pub enable_target_info: bool,
    /// Resource attributes left out of `traces_target_info`. Default none.
    pub target_info_excluded_dimensions: Vec<String>,
    /// With `enable_target_info`, whether series get the `instance` label. Default true.
    pub enable_instance_label: bool,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        Self {
            histogram_buckets: exponential_buckets(0.002, 2.0, 14),
            intrinsic_dimensions: IntrinsicDimensions::default(),
            dimensions: Vec::new(),
            enable_target_info: false,
            target_info_excluded_dimensions: Vec::new(),
            enable_instance_label: true,
        }
    }
}

/// `metrics_generator.processor.span_metrics.intrinsic_dimensions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntrinsicDimensions {
    /// `service` (the resource's `service.name`). Default true.
    pub service: bool,
    /// `span_name`. Default true.
    pub span_name: bool,
    /// `span_kind` (`SPAN_KIND_SERVER`, …). Default true.
    pub span_kind: bool,
    /// `status_code` (`STATUS_CODE_UNSET`, `STATUS_CODE_OK`, `STATUS_CODE_ERROR`). Default true.
    pub status_code: bool,
    /// `status_message`. Default false.
    pub status_message: bool,
}

impl Default for IntrinsicDimensions {
    fn default() -> Self {
        Self {
            service: true,
            span_name: true,
            span_kind: true,
            status_code: true,
            status_message: false,
        }
    }
}

/// `metrics_generator.registry`: the per-tenant series store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorRegistryConfig {
    /// How often series are remote-written and stale series looked for. Default `15s`.
    #[serde(with = "humantime_serde")]
    pub collection_interval: Duration,
    /// A series not updated for this long is removed. Default `15m`.
    #[serde(with = "humantime_serde")]
    pub stale_duration: Duration,
    /// Most active series per tenant (a histogram counts one series per bucket plus `+Inf`,
    /// `_sum` and `_count`); spans that would create more are not counted in a new series and
    /// the refused series are counted in
    /// `strata_metrics_generator_registry_series_limited_total{tenant}`. 0: no limit.
    /// Per-tenant override: `overrides.*.metrics_generator.max_active_series`. Default 0.
    pub max_active_series: u64,
    /// Labels added to every remote-written series (not to the scrape page, where the
    /// scraping Prometheus adds its own). Default none.
    pub external_labels: std::collections::BTreeMap<String, String>,
}

impl Default for GeneratorRegistryConfig {
    fn default() -> Self {
        Self {
            collection_interval: Duration::from_secs(15),
            stale_duration: Duration::from_secs(15 * 60),
            max_active_series: 0,
            external_labels: Default::default(),
        }
    }
}

impl MetricsGeneratorConfig {
    /// Settings that cannot work, as a message naming the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, b) in [
            (
                "span_metrics",
                &self.processor.span_metrics.histogram_buckets,
            ),
            (
                "service_graphs",
                &self.processor.service_graphs.histogram_buckets,
            ),
        ] {
            if b.is_empty()
                || b.iter().any(|x| !x.is_finite())
                || b.windows(2).any(|w| w[1] <= w[0])
            {
                return Err(format!("metrics_generator.processor.{key}.histogram_buckets must be non-empty, finite and strictly increasing"));
            }
        }
        let sg = &self.processor.service_graphs;
        if sg.wait.is_zero() {
            return Err("metrics_generator.processor.service_graphs.wait must be > 0".into());
        }
        if sg.max_items == 0 {
            return Err("metrics_generator.processor.service_graphs.max_items must be > 0".into());
        }
        for d in &self.processor.span_metrics.dimensions {
            if d.is_empty() {
                return Err(
                    "metrics_generator.processor.span_metrics.dimensions: empty attribute name"
                        .into(),
                );
            }
        }
        if self.registry.collection_interval.is_zero() {
            return Err("metrics_generator.registry.collection_interval must be > 0".into());
        }
        if self.registry.stale_duration.is_zero() {
            return Err("metrics_generator.registry.stale_duration must be > 0".into());
        }
        for name in self.registry.external_labels.keys() {
            if !crate::generator_output::is_label_name(name) {
                return Err(format!(
                    "metrics_generator.registry.external_labels: {name:?} is not a Prometheus label name"
                ));
            }
        }
        crate::generator_output::validate(&self.storage, &self.ring, &self.forwarder)
    }
}

/// `overrides.*.metrics_generator`: which processors run for a tenant, and its series limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorLimits {
    /// Processors run on the tenant's spans: `span-metrics`, `service-graphs`. Default none
    /// (no trace-derived metrics).
    pub processors: Vec<String>,
    /// Replaces `metrics_generator.registry.max_active_series` for the tenant when set.
    pub max_active_series: Option<u64>,
    /// Per-tenant processor settings.
    pub processor: GeneratorProcessorLimits,
}

/// `overrides.*.metrics_generator.processor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorProcessorLimits {
    pub span_metrics: SpanMetricsLimits,
}

/// `overrides.*.metrics_generator.processor.span_metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanMetricsLimits {
    /// Replaces `metrics_generator.processor.span_metrics.dimensions` for the tenant when set
    /// (a change drops the tenant's span-metrics series, which restart under the new labels).
    pub dimensions: Option<Vec<String>>,
}

impl GeneratorLimits {
    /// Unknown processor names, as a message naming the key.
    pub fn validate(&self) -> Result<(), String> {
        for p in &self.processors {
            if !PROCESSORS.contains(&p.as_str()) {
                return Err(format!(
                    "metrics_generator.processors: unknown processor {p:?} (known: {})",
                    PROCESSORS.join(", ")
                ));
            }
        }
        if let Some(d) = &self.processor.span_metrics.dimensions {
            if d.iter().any(String::is_empty) {
                return Err(
                    "metrics_generator.processor.span_metrics.dimensions: empty attribute name"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// Whether `name` (one of [`PROCESSORS`]) is enabled.
    pub fn has(&self, name: &str) -> bool {
        self.processors.iter().any(|p| p == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_buckets_are_tempos() {
        let b = SpanMetricsConfig::default().histogram_buckets;
        assert_eq!(b.len(), 14);
        assert_eq!(b[0], 0.002);
        assert_eq!(b[13].to_string(), "16.384");
        let s: Vec<String> = b.iter().map(|x| x.to_string()).collect();
        assert_eq!(s[1..4], ["0.004", "0.008", "0.016"]);
        let g = ServiceGraphsConfig::default().histogram_buckets;
        let s: Vec<String> = g.iter().map(|x| x.to_string()).collect();
        assert_eq!(s, ["0.1", "0.2", "0.4", "0.8", "1.6", "3.2", "6.4", "12.8"]);
        assert!(MetricsGeneratorConfig::default().validate().is_ok());
    }

    #[test]
    fn bad_settings_name_their_key() {
        let mut c = MetricsGeneratorConfig::default();
        c.processor.span_metrics.histogram_buckets = vec![1.0, 0.5];
        assert!(c.validate().unwrap_err().contains("histogram_buckets"));
        let mut c = MetricsGeneratorConfig::default();
        c.registry.stale_duration = Duration::ZERO;
        assert!(c.validate().unwrap_err().contains("stale_duration"));
        let mut c = MetricsGeneratorConfig::default();
        c.processor.service_graphs.max_items = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .contains("service_graphs.max_items"));
        let yaml_err = |y: &str| crate::Config::from_yaml(y).unwrap_err().to_string();
        let e = yaml_err(
            "metrics_generator:\n  storage:\n    remote_write:\n      - url: prometheus:9090\n",
        );
        assert!(e.contains("remote_write[0].url"), "{e}");
        let e = yaml_err("metrics_generator:\n  storage:\n    remote_write:\n      - url: http://p/api/v1/write\n        headers: {\"a b\": x}\n");
        assert!(e.contains("remote_write[0].headers"), "{e}");
        let e = yaml_err("metrics_generator:\n  registry:\n    external_labels: {__x: y}\n");
        assert!(e.contains("external_labels"), "{e}");
        let e = yaml_err(
            "metrics_generator:\n  ring:\n    members: [a:1]\n    replication_factor: 2\n",
        );
        assert!(
            e.contains("metrics_generator.ring.replication_factor"),
            "{e}"
        );
        let e = yaml_err("metrics_generator:\n  forwarder:\n    workers: 0\n");
        assert!(e.contains("metrics_generator.forwarder"), "{e}");
        let ok = crate::Config::from_yaml(
            "metrics_generator:\n  storage:\n    path: /var/tempo/generator/wal\n    remote_write:\n      - url: https://mimir/api/v1/push\n        headers: {X-Scope-OrgID: a}\n        send_exemplars: false\n    remote_write_add_org_id_header: false\n  registry:\n    external_labels: {source: strata}\n",
        )
        .unwrap();
        assert_eq!(ok.metrics_generator.storage.remote_write.len(), 1);
        let l = GeneratorLimits {
            processors: vec!["span-metrics".into(), "local-blocks".into()],
            ..GeneratorLimits::default()
        };
        let e = l.validate().unwrap_err();
        assert!(
            e.contains("metrics_generator.processors") && e.contains("local-blocks"),
            "{e}"
        );
    }
}
