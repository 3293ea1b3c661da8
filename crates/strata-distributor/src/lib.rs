//! The distributor: receives OTLP over gRPC and HTTP, checks tenant and IDs, regroups spans by
//! trace ID and hands them to the ingester through [`IngesterPusher`]. A push is acknowledged
//! only when the ingester has made it durable.
//!
//! Status codes follow the OpenTelemetry Collector receivers that Tempo embeds: a request with a
//! bad trace or span ID is refused whole (`INVALID_ARGUMENT` / HTTP 400) and counted in
//! `strata_discarded_spans_total{reason}`; an ingester failure is `UNAVAILABLE` / 503 so clients
//! retry.

pub mod metrics;
pub mod receiver;
pub mod regroup;

use std::sync::Arc;
use std::time::Instant;

use strata_common::{TenantId, SINGLE_TENANT};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::roles::{IngesterPusher, PushErrorReason, PushRequest, RoleError};

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
    #[error("{0}")]
    Internal(String),
}

impl PushError {
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            PushError::InvalidArgument(_) => tonic::Code::InvalidArgument,
            PushError::Unavailable(_) => tonic::Code::Unavailable,
            PushError::ResourceExhausted(_) => tonic::Code::ResourceExhausted,
            PushError::Internal(_) => tonic::Code::Internal,
        }
    }
}

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
        }
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
        let traces = match regroup::validate(&req).and_then(|()| regroup::regroup(req)) {
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
                        self.metrics.discard(tenant.as_str(), r.label(), *n as usize);
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

/// The tenant used when multitenancy is off.
pub fn default_tenant() -> &'static str {
    SINGLE_TENANT
}
