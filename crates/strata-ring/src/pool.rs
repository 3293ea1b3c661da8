//! The members of a ring and one connection to each, for any role: `Pool<C>` is generic over
//! the connection `C` to a member's service (`dyn IngesterConn` for ingesters, a generator's
//! client for a generator ring, …); all it needs of `C` is [`Member`].
//!
//! * A connection is made by the [`ConnFactory`] the first time an address is needed and
//!   reused afterwards; [`Pool::run`] drops connections of addresses that left the membership.
//! * Health is each member's [`Member::ready`], probed every `heartbeat_period` by the pool's
//!   [`MemberSet`].
//! * With `n` members and replication factor `RF`, `R = min(RF, n)` and the quorum is
//!   `R/2 + 1` ([`Pool::quorum`]).
//! * [`Pool::fan_out`] asks every member, unhealthy ones included (they may have recovered, and
//!   may hold the only copies of older data), concurrently. Every piece of data is on `R`
//!   members, so up to `R - 1` failures still leave a complete set of answers; more fail the
//!   call (`Unavailable`, naming the failures) rather than answer with data possibly missing.
//!   What the answers mean, and how to merge them, is the caller's business.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use strata_config::RingConfig;
use strata_proto::roles::{IngesterConn, RoleError};
use tokio_util::sync::CancellationToken;

use crate::{MemberSet, Membership, Probe};

/// What a [`Pool`] needs of the connection to a member: its name in messages and a readiness
/// check. Implemented for `dyn IngesterConn`; a new role's ring implements it for its own
/// connection type.
#[async_trait]
pub trait Member: Send + Sync {
    /// What the members are called in messages, plural (e.g. `"ingesters"`).
    const PLURAL: &'static str;

    /// `Ok` when the member can take traffic now; the pool's health checks call it.
    async fn ready(&self) -> Result<(), RoleError>;
}

#[async_trait]
impl Member for dyn IngesterConn {
    const PLURAL: &'static str = "ingesters";

    async fn ready(&self) -> Result<(), RoleError> {
        strata_proto::roles::IngesterHealth::ready(self).await
    }
}

#[async_trait]
impl Member for dyn strata_proto::roles::GeneratorConn {
    const PLURAL: &'static str = "metrics-generators";

    async fn ready(&self) -> Result<(), RoleError> {
        strata_proto::roles::GeneratorConn::ready(self).await
    }
}

/// The metrics-generator ring's pool (replication factor 1: a trace's spans go to its owner).
pub type GeneratorPool = Pool<dyn strata_proto::roles::GeneratorConn>;

/// Makes the connection to the member at an address (e.g. a lazily connecting gRPC client).
pub type ConnFactory<C = dyn IngesterConn> = Arc<dyn Fn(&str) -> Arc<C> + Send + Sync>;

/// The ingester ring's pool.
pub type IngesterPool = Pool<dyn IngesterConn>;

struct Conns<C: ?Sized> {
    factory: ConnFactory<C>,
    cache: Mutex<HashMap<String, Arc<C>>>,
}

impl<C: ?Sized> Conns<C> {
    fn get(&self, addr: &str) -> Arc<C> {
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
impl<C: ?Sized + Member> Probe for Conns<C> {
    async fn probe(&self, addr: &str) -> bool {
        let conn = self.get(addr);
        conn.ready().await.is_ok()
    }
}

/// Members on a ring, their health, and a connection to each.
pub struct Pool<C: ?Sized> {
    members: MemberSet,
    conns: Arc<Conns<C>>,
    replication_factor: usize,
    heartbeat: Duration,
}

impl<C: ?Sized + Member + 'static> Pool<C> {
    pub fn new(membership: Membership, factory: ConnFactory<C>, cfg: &RingConfig) -> Self {
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

    /// [`Pool::new`] with the membership `cfg` describes.
    pub fn from_config(cfg: &RingConfig, factory: ConnFactory<C>) -> Self {
        Self::new(Membership::from_config(cfg), factory, cfg)
    }

    /// Builds the pool from `cfg`, checks every member once, and keeps membership and health
    /// current (in a spawned task) until `shutdown`. Returns the pool and that task.
    pub async fn spawn(
        cfg: &RingConfig,
        factory: ConnFactory<C>,
        shutdown: CancellationToken,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let pool = Arc::new(Self::from_config(cfg, factory));
        pool.members().check_now().await;
        let p = pool.clone();
        let task = tokio::spawn(async move { p.run(shutdown).await });
        (pool, task)
    }
}

impl<C: ?Sized + Member> Pool<C> {
    pub fn members(&self) -> &MemberSet {
        &self.members
    }

    /// The (cached) connection to `addr`.
    pub fn conn(&self, addr: &str) -> Arc<C> {
        self.conns.get(addr)
    }

    /// The configured replication factor (at least 1).
    pub fn replication_factor(&self) -> usize {
        self.replication_factor
    }

    /// `min(replication_factor, members)`: how many members hold each piece of data.
    pub fn effective_replication_factor(&self) -> usize {
        self.replication_factor.min(self.members.all().len())
    }

    /// Copies a write needs: `effective_replication_factor / 2 + 1`.
    pub fn quorum(&self) -> usize {
        self.effective_replication_factor() / 2 + 1
    }

    /// `Ok` while the ring has members and at least a [quorum](Pool::quorum) of them is
    /// healthy; otherwise `Unavailable` saying how many are and how many are needed.
    pub fn check_quorum(&self) -> Result<(), RoleError> {
        let healthy = self.members.healthy_count();
        let quorum = self.quorum();
        if self.members.all().is_empty() || healthy < quorum {
            return Err(RoleError::Unavailable(format!(
                "{healthy} {} healthy, {quorum} needed",
                C::PLURAL
            )));
        }
        Ok(())
    }

    /// Runs `call` on every member concurrently (see the module docs); the successful
    /// answers, in no particular order, or `Unavailable` when more than `R - 1` members failed
    /// (or there are no members). `what` names the call in messages.
    pub async fn fan_out<T, F, Fut>(&self, what: &str, call: F) -> Result<Vec<T>, RoleError>
    where
        F: Fn(Arc<C>) -> Fut,
        Fut: Future<Output = Result<T, RoleError>>,
    {
        let all = self.members.all();
        if all.is_empty() {
            return Err(RoleError::Unavailable(format!(
                "{what}: no {} in the ring",
                C::PLURAL
            )));
        }
        let tolerated = self.effective_replication_factor().saturating_sub(1);
        let calls = all.iter().map(|addr| {
            let fut = call(self.conn(addr));
            async move { (addr.as_str(), fut.await) }
        });
        let mut ok = Vec::with_capacity(all.len());
        let mut failed: Vec<String> = Vec::new();
        for (addr, r) in futures::future::join_all(calls).await {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => {
                    tracing::debug!(member = addr, error = %e, "{what} failed");
                    failed.push(format!("{addr}: {e}"));
                }
            }
        }
        if failed.len() > tolerated {
            return Err(RoleError::Unavailable(format!(
                "{what}: {} of {} {} failed (at most {tolerated} tolerated): {}",
                failed.len(),
                all.len(),
                C::PLURAL,
                failed.join("; ")
            )));
        }
        Ok(ok)
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
impl<C: ?Sized + Member> Probe for Pool<C> {
    async fn probe(&self, addr: &str) -> bool {
        self.conns.probe(addr).await
    }
}
