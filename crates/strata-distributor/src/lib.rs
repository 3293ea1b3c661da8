//! The distributor: receives spans, runs them through the ingest [`pipeline`] (rate limit →
//! validate → truncate → group → metrics hand-off → head sampling → replicate) and acknowledges
//! a push only when the ingesters have made it durable.
//!
//! Receivers ([`receiver`]) turn their protocol into OTLP and call [`Distributor::push`] (OTLP
//! protobuf bodies: [`Distributor::receive_protobuf`], which skips decoding when it can); the
//! tenant is decided before that by the distributor's [`TenantResolver`] (credentials and
//! `X-Scope-OrgID`, `strata_server::auth`), in middleware in front of every receiver. Status codes come from the one
//! table in [`strata_proto::status`]: a request with a bad trace or span ID is refused whole
//! (`INVALID_ARGUMENT` / HTTP 400), a rate-limited one is `RESOURCE_EXHAUSTED` / 429 with a
//! retry delay, an ingester failure `UNAVAILABLE` / 503 so clients retry. Every refused span is
//! counted in `strata_discarded_spans_total{tenant,reason}`.
//!
//! Per-tenant limits come from [`Overrides`]; [`Distributor::from_config`] builds the same
//! pipeline for `strata run` and the `strata-distributor` binary.

pub mod app;
pub mod forward;
pub mod metrics;
pub mod pipeline;
pub mod receiver;
pub mod stage;

use std::sync::Arc;

use prometheus_client::registry::Registry;
use strata_common::SharedClock;
use strata_config::Config;
use strata_proto::roles::{IngesterPusher, SpanConsumer};
use strata_server::auth::TenantResolver;
use strata_server::Overrides;

pub use metrics::DistributorMetrics;
pub use pipeline::{Accepted, Pipeline, Received};
pub use strata_proto::status::{ApiError as PushError, BACKPRESSURE_RETRY_AFTER};

/// The header (HTTP) and metadata key (gRPC) carrying the tenant.
pub const TENANT_HEADER: &str = strata_server::auth::ORG_ID_HEADER;

/// Settings the distributor needs.
#[derive(Debug, Clone)]
pub struct DistributorSettings {
    pub multitenancy_enabled: bool,
    pub max_request_bytes: usize,
}

impl DistributorSettings {
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            multitenancy_enabled: cfg.multitenancy_enabled,
            max_request_bytes: cfg.distributor.max_request_bytes,
        }
    }
}

/// The distributor role. Cheap to clone.
#[derive(Clone)]
pub struct Distributor {
    pipeline: Pipeline,
    settings: DistributorSettings,
    tenants: TenantResolver,
}

impl Distributor {
    /// The distributor `cfg` describes, pushing to `pusher`, with its metrics in `registry`:
    /// the one place both `strata run` and the distributor binary build it.
    pub fn from_config(
        cfg: &Config,
        pusher: Arc<dyn IngesterPusher>,
        overrides: Overrides,
        clock: SharedClock,
        registry: &mut Registry,
    ) -> Self {
        let metrics = DistributorMetrics::new(registry);
        Self::with_pipeline(
            Pipeline::new(pusher, overrides, clock, metrics),
            DistributorSettings::from_config(cfg),
        )
    }

    /// Hands every accepted span, before sampling, to `consumer` (the metrics-generator)
    /// instead of discarding the hand-off.
    pub fn with_span_consumer(mut self, consumer: Arc<dyn SpanConsumer>) -> Self {
        self.pipeline = self.pipeline.with_span_consumer(consumer);
        self
    }

    /// A distributor running `pipeline`.
    /// Tenants come from `X-Scope-OrgID` alone until [`Distributor::with_tenants`].
    pub fn with_pipeline(pipeline: Pipeline, settings: DistributorSettings) -> Self {
        let tenants = TenantResolver::open(settings.multitenancy_enabled);
        Self {
            pipeline,
            settings,
            tenants,
        }
    }

    /// Decides tenants with `resolver` (the process's, with its credentials).
    pub fn with_tenants(mut self, resolver: TenantResolver) -> Self {
        self.tenants = resolver;
        self
    }

    /// What decides the tenant of each request.
    pub fn tenants(&self) -> &TenantResolver {
        &self.tenants
    }

    pub fn settings(&self) -> &DistributorSettings {
        &self.settings
    }

    /// The distributor's metrics.
    pub fn metrics(&self) -> &DistributorMetrics {
        self.pipeline.metrics()
    }

    /// Runs one received request through the pipeline; returns once it is durable.
    pub async fn push(&self, received: Received) -> Result<Accepted, PushError> {
        self.pipeline.run(received).await
    }
}
