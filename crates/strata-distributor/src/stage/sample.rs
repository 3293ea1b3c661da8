//! Head sampling: which traces of a push are stored. It runs after the metrics hand-off (which
//! has seen every span) and before replication, and decides per whole trace of the push.
//! Spans sampled out are answered with success (they are not an error to the client) and
//! counted by reason (`strata_distributor_spans_sampled_out{tenant,reason}`), never silently.
//!
//! Until a sampling policy is configured the sampler is [`KeepAll`].

use strata_common::TenantId;
use strata_proto::roles::TraceSpans;

/// What a sampler decided for one push.
#[derive(Debug, Default)]
pub struct Sampled {
    /// The traces to store, in their original order.
    pub kept: Vec<TraceSpans>,
    /// Spans dropped, by reason (the metric's `reason` label).
    pub dropped: Vec<(&'static str, u32)>,
}

/// A head-sampling policy.
pub trait Sampler: Send + Sync {
    fn sample(&self, tenant: &TenantId, traces: Vec<TraceSpans>) -> Sampled;

    /// Whether [`Self::sample`] would keep every trace of `tenant` unchanged (then the pipeline
    /// may skip it, and decoding, on its fast path). The default is the safe answer.
    fn keeps_all(&self, _tenant: &TenantId) -> bool {
        false
    }
}

/// Keeps every trace.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAll;

impl Sampler for KeepAll {
    fn sample(&self, _tenant: &TenantId, traces: Vec<TraceSpans>) -> Sampled {
        Sampled {
            kept: traces,
            dropped: Vec::new(),
        }
    }

    fn keeps_all(&self, _tenant: &TenantId) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::group::{group, tests::request};
    use crate::stage::validate::validate;

    #[test]
    fn keep_all_keeps_every_trace_in_order() {
        let traces = group(validate(request()).unwrap());
        let out = KeepAll.sample(&TenantId::single(), traces.clone());
        assert_eq!(out.kept, traces);
        assert!(out.dropped.is_empty());
    }
}
