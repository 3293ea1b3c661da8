//! The hand-off to trace-derived metrics: every accepted span goes to a
//! [`SpanConsumer`] (the metrics-generator) before sampling, so metrics count 100 % of spans
//! whatever fraction is stored.
//!
//! A hand-off never fails the client's push: an error is logged and counted
//! (`strata_distributor_span_handoff_failures{tenant}`) and the push goes on. Without a
//! metrics-generator the consumer is [`NoMetrics`], which takes nothing.

use async_trait::async_trait;
use strata_common::TenantId;
use strata_proto::roles::{RoleError, SpanConsumer, TraceSpans};

/// The consumer used while no metrics-generator is configured: takes nothing, never fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

#[async_trait]
impl SpanConsumer for NoMetrics {
    async fn consume(&self, _tenant: &TenantId, _traces: &[TraceSpans]) -> Result<(), RoleError> {
        Ok(())
    }

    fn wants_spans(&self, _tenant: &TenantId) -> bool {
        false
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use parking_lot::Mutex;

    use super::*;

    /// Records what it was handed, or fails every hand-off.
    #[derive(Default)]
    pub(crate) struct Recording {
        pub seen: Mutex<Vec<(TenantId, Vec<TraceSpans>)>>,
        pub fail: bool,
    }

    #[async_trait]
    impl SpanConsumer for Recording {
        async fn consume(&self, tenant: &TenantId, traces: &[TraceSpans]) -> Result<(), RoleError> {
            self.seen.lock().push((tenant.clone(), traces.to_vec()));
            if self.fail {
                return Err(RoleError::Unavailable("generator down".into()));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn no_metrics_takes_anything() {
        NoMetrics.consume(&TenantId::single(), &[]).await.unwrap();
    }
}
