//! `strata_ring_members{ring,state}`: how many members of each ring a process sees healthy
//! and unhealthy, updated at every health check and whenever traffic takes a member off.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabels {
    /// Which ring (`ingester`, `metrics-generator`, `compactor`).
    pub ring: String,
    /// `healthy` or `unhealthy`.
    pub state: String,
}

/// The gauge family every ring of one process reports to. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct RingMetrics {
    members: Family<MemberLabels, Gauge>,
}

impl RingMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "strata_ring_members",
            "Members of a ring by health, as this process sees them",
            m.members.clone(),
        );
        m
    }

    pub(crate) fn set(&self, ring: &str, healthy: usize, unhealthy: usize) {
        for (state, n) in [("healthy", healthy), ("unhealthy", unhealthy)] {
            self.members
                .get_or_create(&MemberLabels {
                    ring: ring.to_string(),
                    state: state.to_string(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}
