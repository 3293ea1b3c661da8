//! Replication: the last stage. Each kept trace is encoded once (a prost-encoded
//! `tempopb.Trace`) and the push goes to the [`IngesterPusher`] — in `strata run` the ingester
//! itself, in distributed mode the ring's quorum writer. It returns once the push is durable.
//!
//! Traces an ingester refuses (Tempo's `PushErrorReason`: live-trace or trace-size limits) are
//! returned as refusals to count; the request as a whole still succeeds, as in Tempo. An
//! ingester failure fails the request: `RESOURCE_EXHAUSTED` (backpressure, counted as
//! `ingester_backpressure`) or another error (counted as `ingester_error`).

use std::sync::Arc;

use strata_common::TenantId;
use strata_proto::roles::{IngesterPusher, PushErrorReason, PushRequest, RoleError, TraceSpans};

/// The hand-over to the ingesters.
#[derive(Clone)]
pub struct Replicate {
    pusher: Arc<dyn IngesterPusher>,
}

impl Replicate {
    pub fn new(pusher: Arc<dyn IngesterPusher>) -> Self {
        Self { pusher }
    }

    /// Pushes `traces`; on success, the traces the ingesters refused, as (reason, spans).
    pub async fn push(
        &self,
        tenant: &TenantId,
        traces: &[TraceSpans],
    ) -> Result<Vec<(PushErrorReason, u32)>, RoleError> {
        let push = PushRequest {
            tenant: tenant.clone(),
            traces: traces.iter().map(TraceSpans::encode).collect(),
        };
        let resp = self.pusher.push(push).await?;
        Ok(traces
            .iter()
            .enumerate()
            .map(|(i, t)| (resp.reason(i), t.span_count))
            .filter(|(r, _)| *r != PushErrorReason::NoError)
            .collect())
    }
}

/// The `reason` label under which a failed push's spans are counted.
pub fn failure_reason(e: &RoleError) -> &'static str {
    match e {
        RoleError::ResourceExhausted(_) => "ingester_backpressure",
        _ => "ingester_error",
    }
}
