//! Per-trace admission (`max_traces_per_user`, `max_bytes_per_trace`), decided before the WAL
//! append so refused traces are never written anywhere.
//!
//! * A trace not in the tenant's live set is refused with [`PushErrorReason::MaxLiveTraces`]
//!   when the live set already holds `max_traces_per_user` traces (new traces admitted earlier
//!   in the same push count).
//! * A trace is refused with [`PushErrorReason::TraceTooLarge`] when the bytes this ingester
//!   holds for it and has not yet cut into a block (live set + head block), plus this share,
//!   would exceed `max_bytes_per_trace`. Once a trace's data is cut into a block the count
//!   starts again, as in Tempo's ingesters (the limit bounds memory, not the stored trace).
//! * 0 disables either limit.
//! * The check and the later insert are not one atomic step: concurrent pushes of one tenant
//!   can overshoot a limit by at most what they carry between them.

use strata_config::TenantLimits;
use strata_proto::roles::{PushErrorReason, PushRequest, TracePush};

use crate::instance::Instance;
use crate::Ingester;

/// The limits one push is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceLimits {
    pub max_live_traces: u64,
    pub max_bytes_per_trace: u64,
}

impl From<&TenantLimits> for TraceLimits {
    fn from(l: &TenantLimits) -> Self {
        Self {
            max_live_traces: l.ingestion.max_traces_per_user,
            max_bytes_per_trace: l.global.max_bytes_per_trace,
        }
    }
}

/// One reason per trace of the push, in order; [`PushErrorReason::NoError`] for admitted ones.
pub fn admit(inst: &Instance, traces: &[TracePush], limits: TraceLimits) -> Vec<PushErrorReason> {
    let mut live = inst.live_traces() as u64;
    traces
        .iter()
        .map(|t| {
            let new = !inst.is_live(&t.trace_id);
            if new && limits.max_live_traces > 0 && live >= limits.max_live_traces {
                return PushErrorReason::MaxLiveTraces;
            }
            let held = inst.uncut_bytes(&t.trace_id);
            if limits.max_bytes_per_trace > 0
                && held + t.payload.len() as u64 > limits.max_bytes_per_trace
            {
                return PushErrorReason::TraceTooLarge;
            }
            live += u64::from(new);
            PushErrorReason::NoError
        })
        .collect()
}

impl Ingester {
    /// Checks each trace of a push against the tenant's limits; returns the admitted part and,
    /// when anything was refused, one reason per trace of the original request.
    pub(crate) fn admit_traces(&self, req: PushRequest) -> (PushRequest, Vec<PushErrorReason>) {
        let overrides = self.inner.overrides.lock().clone();
        let limits = overrides.limits(&req.tenant);
        let reasons = {
            let inst = self.instance(&req.tenant);
            let g = inst.lock();
            admit(&g, &req.traces, TraceLimits::from(limits.as_ref()))
        };
        if reasons.iter().all(|r| *r == PushErrorReason::NoError) {
            return (req, Vec::new());
        }
        let PushRequest { tenant, traces } = req;
        let mut kept = Vec::with_capacity(traces.len());
        for (t, r) in traces.into_iter().zip(&reasons) {
            if *r == PushErrorReason::NoError {
                kept.push(t);
            } else {
                tracing::debug!(tenant = %tenant, trace = %t.trace_id, reason = r.label(),
                    "trace refused");
                self.inner
                    .metrics
                    .traces_refused
                    .get_or_create(&crate::metrics::RefusedLabels {
                        tenant: tenant.to_string(),
                        reason: r.label().to_string(),
                    })
                    .inc();
            }
        }
        (
            PushRequest {
                tenant,
                traces: kept,
            },
            reasons,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use strata_common::TraceId;

    use super::*;
    use crate::instance::tests::push;
    use crate::instance::CutPolicy;

    use PushErrorReason::{MaxLiveTraces, NoError, TraceTooLarge};

    #[test]
    fn live_trace_limit_counts_new_traces_only() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut inst = Instance::default();
        inst.push([push(1, 10)], t0, 0);
        let l = TraceLimits {
            max_live_traces: 2,
            max_bytes_per_trace: 0,
        };
        // Trace 1 exists; 2 fits; 3 would be the third live trace.
        assert_eq!(
            admit(&inst, &[push(2, 1), push(1, 1), push(3, 1)], l),
            vec![NoError, NoError, MaxLiveTraces]
        );
        let off = TraceLimits {
            max_live_traces: 0,
            ..l
        };
        assert_eq!(
            admit(&inst, &[push(2, 1), push(3, 1)], off),
            vec![NoError; 2]
        );
    }

    #[test]
    fn trace_size_counts_live_and_head_until_cut() {
        let t0 = SystemTime::UNIX_EPOCH;
        let policy = CutPolicy {
            trace_idle_period: Duration::from_secs(1),
            trace_live_period: Duration::from_secs(10),
            max_block_duration: Duration::from_secs(100),
            max_block_bytes: 1 << 30,
        };
        let mut inst = Instance::default();
        inst.push([push(1, 60)], t0, 0);
        let l = TraceLimits {
            max_live_traces: 0,
            max_bytes_per_trace: 100,
        };
        assert_eq!(admit(&inst, &[push(1, 40)], l), vec![NoError]);
        assert_eq!(admit(&inst, &[push(1, 41)], l), vec![TraceTooLarge]);
        assert_eq!(admit(&inst, &[push(2, 101)], l), vec![TraceTooLarge]);
        // In the head block it still counts...
        inst.move_to_head(t0 + Duration::from_secs(5), &policy, false);
        assert_eq!(inst.uncut_bytes(&TraceId([1; 16])), 60);
        assert_eq!(admit(&inst, &[push(1, 41)], l), vec![TraceTooLarge]);
        // ...not once cut.
        inst.cut_if_ready(t0 + Duration::from_secs(5), &policy, true)
            .unwrap();
        assert_eq!(admit(&inst, &[push(1, 41)], l), vec![NoError]);
    }
}
