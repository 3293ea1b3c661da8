//! The distributor: receives OTLP over gRPC and HTTP, checks tenant and IDs, regroups spans by
//! trace ID and hands them to the ingester through [`IngesterPusher`]. A push is acknowledged
//! only when the ingester has made it durable.
//!
//! Status codes follow the OpenTelemetry Collector receivers that Tempo embeds: a request with a
//! bad trace or span ID is refused whole (`INVALID_ARGUMENT` / HTTP 400) and counted in
//! `strata_discarded_spans_total{reason}`; an ingester failure is `UNAVAILABLE` / 503 so clients
//! retry.
//!
//! Per-tenant limits come from [`Overrides`] (set with [`Distributor::with_overrides`]; without
//! it, the compiled defaults apply). In Tempo's order: tenant → empty request accepted → rate
//! limit ([`limiter`]: a request over the tenant's token bucket is refused whole with
//! `RESOURCE_EXHAUSTED` / HTTP 429 + `Retry-After`, its spans counted with
//! `reason="rate_limited"`) → ID validation → attribute truncation ([`truncate`], counted in
//! `strata_distributor_attributes_truncated_total{tenant}`) → regroup → push. Traces the
//! ingester refuses (`max_traces_per_user`, `max_bytes_per_trace`) are counted by reason while
//! the request succeeds.

pub mod app;
pub mod limiter;
pub mod metrics;
pub mod receiver;
pub mod regroup;
pub mod truncate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use strata_common::{SharedClock, SystemClock, TenantId, SINGLE_TENANT};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::roles::{IngesterPusher, PushErrorReason, PushRequest, RoleError};
use strata_server::Overrides;

use limiter::{Decision, RateLimiter};

pub use metrics::DistributorMetrics;

/// The header (HTTP) and metadata key (gRPC) carrying the tenant.
pub const TENANT_HEADER: &str = "x-scope-orgid";

/// A refused push, with the transport code it maps to.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PushError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    ResourceExhausted(String),
    /// The tenant's ingestion rate limit refused the request; retrying after `retry_after`
    /// can succeed (unless the request is bigger than the burst size, as the message says).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    Internal(String),
}

impl PushError {
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            PushError::InvalidArgument(_) => tonic::Code::InvalidArgument,
            PushError::Unavailable(_) => tonic::Code::Unavailable,
            PushError::ResourceExhausted(_) | PushError::RateLimited { .. } => {
                tonic::Code::ResourceExhausted
            }
            PushError::Internal(_) => tonic::Code::Internal,
        }
    }

    /// How long a client should wait before retrying, when retrying can help.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PushError::RateLimited { retry_after, .. } => Some(*retry_after),
            PushError::ResourceExhausted(_) => Some(BACKPRESSURE_RETRY_AFTER),
            _ => None,
        }
    }

    /// The gRPC status. A retryable refusal carries `google.rpc.RetryInfo`: the OTLP
    /// specification lets exporters retry `RESOURCE_EXHAUSTED` only when it is present
    /// (without it, an OpenTelemetry Collector drops the batch).
    pub fn to_status(&self) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        match self.retry_after() {
            Some(delay) => tonic::Status::with_error_details(
                self.grpc_code(),
                self.to_string(),
                ErrorDetails::with_retry_info(Some(delay.max(Duration::from_secs(1)))),
            ),
            None => tonic::Status::new(self.grpc_code(), self.to_string()),
        }
    }
}

/// The retry delay suggested when an ingester pushes back (`RESOURCE_EXHAUSTED` without a
/// rate-limit computation): HTTP `Retry-After: 5`, gRPC `RetryInfo` of 5 s.
pub const BACKPRESSURE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl From<RoleError> for PushError {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::InvalidArgument(m) => PushError::InvalidArgument(m),
            RoleError::ResourceExhausted(m) => PushError::ResourceExhausted(m),
            RoleError::Unavailable(m) => PushError::Unavailable(m),
            RoleError::Internal(m) => PushError::Internal(m),
        }
    }
}

/// Settings the distributor needs.
#[derive(Debug, Clone)]
pub struct DistributorSettings {
    pub multitenancy_enabled: bool,
    pub max_request_bytes: usize,
}

/// The distributor role. Cheap to clone.
#[derive(Clone)]
pub struct Distributor {
    pusher: Arc<dyn IngesterPusher>,
    settings: DistributorSettings,
    metrics: DistributorMetrics,
    overrides: Overrides,
    limiter: Arc<RateLimiter>,
}

impl Distributor {
    pub fn new(
        pusher: Arc<dyn IngesterPusher>,
        settings: DistributorSettings,
        metrics: DistributorMetrics,
    ) -> Self {
        Self {
            pusher,
            settings,
            metrics,
            overrides: Overrides::default(),
            limiter: Arc::new(RateLimiter::new(Arc::new(SystemClock))),
        }
    }

    /// Uses `overrides` for per-tenant limits and `clock` for rate limiting (resets the rate
    /// limiter's buckets; call before serving).
    pub fn with_overrides(mut self, overrides: Overrides, clock: SharedClock) -> Self {
        self.overrides = overrides;
        self.limiter = Arc::new(RateLimiter::new(clock));
        self
    }

    pub fn settings(&self) -> &DistributorSettings {
        &self.settings
    }

    /// Resolves the tenant of a request from its `X-Scope-OrgID` value(s).
    pub fn tenant(&self, values: &[&str]) -> Result<TenantId, PushError> {
        if !self.settings.multitenancy_enabled {
            return Ok(TenantId::single());
        }
        match values {
            [one] => TenantId::new(one).map_err(|e| PushError::InvalidArgument(e.to_string())),
            // Tempo answers a missing or repeated header with a plain "no org id" error, which
            // the receivers turn into UNAVAILABLE.
            _ => Err(PushError::Unavailable("no org id".into())),
        }
    }

    /// Validates, regroups and pushes one export request; returns once it is durable.
    pub async fn push(
        &self,
        tenant: &TenantId,
        req: ExportTraceServiceRequest,
        request_bytes: usize,
        protocol: &str,
    ) -> Result<(), PushError> {
        let started = Instant::now();
        let spans = regroup::span_count(&req);
        if spans == 0 {
            return Ok(());
        }
        let limits = self.overrides.limits(tenant);
        self.rate_limit(tenant, &limits.ingestion, &req, spans)?;
        let mut req = req;
        let traces = match regroup::validate(&req).and_then(|()| {
            let cut = truncate::truncate_attributes(&mut req, limits.ingestion.max_attribute_bytes);
            if cut > 0 {
                self.metrics
                    .attributes_truncated
                    .get_or_create(&metrics::TenantLabels {
                        tenant: tenant.to_string(),
                    })
                    .inc_by(cut);
            }
            regroup::regroup(req)
        }) {
            Ok(t) => t,
            Err(invalid) => {
                self.metrics
                    .discard(tenant.as_str(), invalid.reason(), spans);
                return Err(PushError::InvalidArgument(invalid.to_string()));
            }
        };
        let push = PushRequest {
            tenant: tenant.clone(),
            traces,
        };
        let counts: Vec<u32> = push.traces.iter().map(|t| t.span_count).collect();
        match self.pusher.push(push).await {
            Err(e) => {
                let reason = match e {
                    RoleError::ResourceExhausted(_) => "ingester_backpressure",
                    _ => "ingester_error",
                };
                self.metrics.discard(tenant.as_str(), reason, spans);
                return Err(e.into());
            }
            Ok(resp) => {
                // Refused traces are dropped and counted; the request as a whole succeeds,
                // as in Tempo.
                for (i, n) in counts.iter().enumerate() {
                    let r = resp.reason(i);
                    if r != PushErrorReason::NoError {
                        self.metrics
                            .discard(tenant.as_str(), r.label(), *n as usize);
                    }
                }
            }
        }
        let labels = metrics::TenantLabels {
            tenant: tenant.to_string(),
        };
        self.metrics
            .spans_received
            .get_or_create(&labels)
            .inc_by(spans as u64);
        self.metrics
            .bytes_received
            .get_or_create(&labels)
            .inc_by(request_bytes as u64);
        self.metrics
            .push_seconds
            .get_or_create(&metrics::ProtocolLabels {
                protocol: protocol.to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }
}

impl Distributor {
    /// Applies the tenant's token bucket to the request's protobuf-encoded size.
    fn rate_limit(
        &self,
        tenant: &TenantId,
        limits: &strata_config::IngestionLimits,
        req: &ExportTraceServiceRequest,
        spans: usize,
    ) -> Result<(), PushError> {
        let bytes = req.encoded_len() as u64;
        let (rate, burst) = (limits.rate_limit_bytes, limits.burst_size_bytes);
        let (message, wait) = match self.limiter.check(tenant, limits, bytes) {
            Decision::Allowed => return Ok(()),
            Decision::Wait(wait) => (
                format!(
                    "RATE_LIMITED: ingestion rate limit (local: {rate} bytes/s, burst size: \
                     {burst} bytes) exceeded while adding {bytes} bytes for tenant {tenant}"
                ),
                wait,
            ),
            Decision::TooBig => (
                format!(
                    "RATE_LIMITED: request of {bytes} bytes exceeds the ingestion burst size \
                     ({burst} bytes, rate {rate} bytes/s) of tenant {tenant}; send smaller batches"
                ),
                Duration::from_secs_f64(burst as f64 / rate.max(1) as f64),
            ),
        };
        self.metrics.discard(tenant.as_str(), "rate_limited", spans);
        Err(PushError::RateLimited {
            message,
            retry_after: wait.max(Duration::from_secs(1)),
        })
    }
}

/// The tenant used when multitenancy is off.
pub fn default_tenant() -> &'static str {
    SINGLE_TENANT
}
