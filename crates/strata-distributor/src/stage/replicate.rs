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
use strata_proto::roles::{
    IngesterPusher, PushErrorReason, PushRequest, RoleError, TracePush, TraceSpans,
};

/// The hand-over to the ingesters.
#[derive(Clone)]
pub struct Replicate {
    pusher: Arc<dyn IngesterPusher>,
}

impl Replicate {
    pub fn new(pusher: Arc<dyn IngesterPusher>) -> Self {
        Self { pusher }
    }

    /// Early backpressure ([`IngesterPusher::admit`]) for a request of about `bytes`:
    /// `Ok(true)` when the request is admitted and must be pushed with `admitted` set.
    pub async fn admit(&self, tenant: &TenantId, bytes: u64) -> Result<bool, RoleError> {
        self.pusher.admit(tenant, bytes).await
    }

    /// Encodes `traces`, frees them, then pushes (as already admitted when `admitted`); on
    /// success, the traces the ingesters refused, as (reason, spans).
    ///
    /// The decoded spans are dropped before the push is awaited: a task may resume on another
    /// worker thread, and memory freed by a thread other than the one that allocated it makes
    /// glibc's allocator slow (measured: a third of ingest throughput when they were dropped
    /// after the WAL fsync).
    pub async fn push(
        &self,
        tenant: &TenantId,
        traces: Vec<TraceSpans>,
        admitted: bool,
    ) -> Result<Vec<(PushErrorReason, u32)>, RoleError> {
        let encoded = traces.iter().map(TraceSpans::encode).collect();
        drop(traces);
        self.push_encoded(tenant, encoded, admitted).await
    }

    /// [`Self::push`] of traces already encoded (the pipeline's fast path).
    pub async fn push_encoded(
        &self,
        tenant: &TenantId,
        traces: Vec<TracePush>,
        admitted: bool,
    ) -> Result<Vec<(PushErrorReason, u32)>, RoleError> {
        let counts: Vec<u32> = traces.iter().map(|t| t.span_count).collect();
        let push = PushRequest {
            tenant: tenant.clone(),
            traces,
        };
        let resp = if admitted {
            self.pusher.push_admitted(push).await?
        } else {
            self.pusher.push(push).await?
        };
        Ok(counts
            .into_iter()
            .enumerate()
            .map(|(i, n)| (resp.reason(i), n))
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
