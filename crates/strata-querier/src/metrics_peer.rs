//! `strata_querier_peer_search_jobs_total{outcome}`: search jobs shared between queriers
//! (`querier.search.peers`), counted on both sides.
//!
//! * `remote`: a job of a search received here, answered by a peer;
//! * `fallback`: a job sent to a peer that failed, timed out or refused it, run here instead;
//! * `served`: a job run here for a peer;
//! * `refused`: a peer's job refused here (bad request, unknown block, slots full, error).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// What became of a shared job (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Remote,
    Fallback,
    Served,
    Refused,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Remote => "remote",
            Outcome::Fallback => "fallback",
            Outcome::Served => "served",
            Outcome::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

/// The counter family (module docs).
#[derive(Clone, Default)]
pub struct PeerJobCounter {
    pub family: Family<OutcomeLabels, Counter>,
}

impl PeerJobCounter {
    pub fn count(&self, outcome: Outcome) {
        self.family
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label().to_string(),
            })
            .inc();
    }

    /// The count of `outcome` so far.
    pub fn get(&self, outcome: Outcome) -> u64 {
        self.family
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label().to_string(),
            })
            .get()
    }
}
