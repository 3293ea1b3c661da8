//! The ingesters of a ring and one connection to each.
//!
//! A connection is made by the [`ConnFactory`] the first time an address is needed and reused
//! afterwards; [`IngesterPool::run`] drops connections of addresses that left the membership.
//! Health is each ingester's [`IngesterHealth::ready`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use strata_config::RingConfig;
use strata_proto::roles::IngesterConn;
use tokio_util::sync::CancellationToken;

use crate::{MemberSet, Membership, Probe};

/// Makes the connection to the ingester at an address (e.g. a lazily connecting gRPC client).
pub type ConnFactory = Arc<dyn Fn(&str) -> Arc<dyn IngesterConn> + Send + Sync>;

struct Conns {
    factory: ConnFactory,
    cache: Mutex<HashMap<String, Arc<dyn IngesterConn>>>,
}

impl Conns {
    fn get(&self, addr: &str) -> Arc<dyn IngesterConn> {
        let mut cache = self.cache.lock();
        if let Some(c) = cache.get(addr) {
            return c.clone();
        }
        let c = (self.factory)(addr);
        cache.insert(addr.to_string(), c.clone());
        c
    }
}

#[async_trait]
impl Probe for Conns {
    async fn probe(&self, addr: &str) -> bool {
        let conn = self.get(addr);
        conn.ready().await.is_ok()
    }
}

/// Ingesters on a ring, their health, and a connection to each.
pub struct IngesterPool {
    members: MemberSet,
    conns: Arc<Conns>,
    replication_factor: usize,
    heartbeat: Duration,
}

impl IngesterPool {
    pub fn new(membership: Membership, factory: ConnFactory, cfg: &RingConfig) -> Self {
        let conns = Arc::new(Conns {
            factory,
            cache: Mutex::new(HashMap::new()),
        });
        Self {
            members: MemberSet::new(membership, conns.clone(), cfg),
            conns,
            replication_factor: cfg.replication_factor.max(1),
            heartbeat: cfg.heartbeat_period,
        }
    }

    /// [`IngesterPool::new`] with the membership `cfg` describes.
    pub fn from_config(cfg: &RingConfig, factory: ConnFactory) -> Self {
        Self::new(Membership::from_config(cfg), factory, cfg)
    }

    pub fn members(&self) -> &MemberSet {
        &self.members
    }

    /// The (cached) connection to `addr`.
    pub fn conn(&self, addr: &str) -> Arc<dyn IngesterConn> {
        self.conns.get(addr)
    }

    /// The configured replication factor (at least 1).
    pub fn replication_factor(&self) -> usize {
        self.replication_factor
    }

    /// `min(replication_factor, members)`: what a push can actually reach.
    pub fn effective_replication_factor(&self) -> usize {
        self.replication_factor.min(self.members.all().len())
    }

    /// Copies a push needs: `effective_replication_factor / 2 + 1`.
    pub fn quorum(&self) -> usize {
        self.effective_replication_factor() / 2 + 1
    }

    /// Builds the pool from `cfg`, checks every member once, and keeps membership and health
    /// current (in a spawned task) until `shutdown`. Returns the pool and that task.
    pub async fn spawn(
        cfg: &RingConfig,
        factory: ConnFactory,
        shutdown: CancellationToken,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let pool = Arc::new(Self::from_config(cfg, factory));
        pool.members().check_now().await;
        let p = pool.clone();
        let task = tokio::spawn(async move { p.run(shutdown).await });
        (pool, task)
    }

    /// Runs membership refresh and health checks until `shutdown`, dropping connections of
    /// members that left.
    pub async fn run(&self, shutdown: CancellationToken) {
        let prune = async {
            let mut tick = tokio::time::interval(self.heartbeat.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let all = self.members.all();
                        self.conns.cache.lock().retain(|a, _| all.contains(a));
                    }
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        tokio::join!(self.members.run(shutdown.clone()), prune);
    }
}

#[async_trait]
impl Probe for IngesterPool {
    async fn probe(&self, addr: &str) -> bool {
        self.conns.probe(addr).await
    }
}
