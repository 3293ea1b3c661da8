//! The test cluster: real in-process ingesters (`strata_ingester::testing`: memory object
//! store, WAL in a tempdir), each behind a switch that can take it "down". The switch is the
//! only test double: when down every call answers `Unavailable`, otherwise it forwards to the
//! ingester. Limit refusals come from the ingesters themselves (their overrides).

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_common::{TenantId, TraceId};
use strata_config::{IngesterConfig, RingConfig};
use strata_ingester::testing::{conn_factory, start_nodes};

pub use strata_ingester::testing::{span_count, Node};

use crate::{ring_key, ConnFactory, IngesterPool, Membership, ReplicatedPusher, Ring};

/// `n` ingesters named `ingester-0`…, a pool over them with replication factor `rf`.
pub struct Cluster {
    pub nodes: BTreeMap<String, Arc<Node>>,
    pub pool: Arc<IngesterPool>,
}

impl Cluster {
    pub fn start(n: usize, rf: usize) -> Self {
        Self::start_with(n, rf, &|_| {})
    }

    /// Like [`Cluster::start`], with `tweak` applied to every ingester's configuration.
    pub fn start_with(n: usize, rf: usize, tweak: &dyn Fn(&mut IngesterConfig)) -> Self {
        Self::start_ring(n, rf, tweak, &|_| {})
    }

    /// Like [`Cluster::start_with`], with `ring` applied to the pool's ring configuration.
    pub fn start_ring(
        n: usize,
        rf: usize,
        tweak: &dyn Fn(&mut IngesterConfig),
        ring: &dyn Fn(&mut RingConfig),
    ) -> Self {
        let nodes = start_nodes(n, tweak);
        let mut cfg = RingConfig {
            replication_factor: rf,
            members: nodes.keys().cloned().collect(),
            ..Default::default()
        };
        ring(&mut cfg);
        let factory: ConnFactory = conn_factory(&nodes);
        let pool = Arc::new(IngesterPool::new(
            Membership::from_config(&cfg),
            factory,
            &cfg,
        ));
        Self { nodes, pool }
    }

    pub fn node(&self, name: &str) -> &Node {
        &self.nodes[name]
    }

    pub fn pusher(&self) -> ReplicatedPusher {
        ReplicatedPusher::new(self.pool.clone())
    }

    /// The trace's preference list over every member.
    pub fn prefs(&self, id: TraceId) -> Vec<String> {
        let ring = Ring::new(self.nodes.keys().cloned(), 128);
        ring.preference_list(ring_key(&TenantId::single(), &id))
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The members whose ingester holds spans of `id`.
    pub async fn holders(&self, id: TraceId) -> Vec<String> {
        let mut out = Vec::new();
        for (name, node) in &self.nodes {
            if node.spans(id).await > 0 {
                out.push(name.clone());
            }
        }
        out
    }
}

pub use strata_testkit::{push_request as push_of, service_trace as trace, trace_id_front as tid};
