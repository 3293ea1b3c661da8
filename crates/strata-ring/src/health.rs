//! Membership plus health: which members are on the ring now.
//!
//! Every `heartbeat_period` each member is probed ([`Probe`]); a probe that fails (or takes
//! longer than the period, at least one second) marks the member unhealthy until a later
//! probe passes. A caller that sees a member fail for a reason that says it cannot take
//! traffic (a push answered `Unavailable`, a timeout) marks it unhealthy at once
//! ([`MemberSet::mark_unhealthy`]) rather than paying that failure on every call until the next
//! probe; the next passing probe restores it. Members new to the membership start healthy.
//! Unhealthy members are probed again every [`UNHEALTHY_REPROBE`] (or every `heartbeat_period`
//! when that is shorter) between the full rounds, with that as their time limit, so a member
//! that was not up yet at this process's first probe (every role starts at once), or that was
//! restarted, is back on the ring within about a second rather than a whole period: with two of
//! three ingesters probed too early, a distributor refused every push for the period (seen as
//! 5 s of failed pushes at a cluster's start). The healthy ring is rebuilt lazily, only when the
//! healthy set changed since the last [`MemberSet::healthy_ring`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use strata_config::RingConfig;
use tokio_util::sync::CancellationToken;

use crate::{Membership, Ring};

/// How often unhealthy members are probed between full rounds (module docs).
pub const UNHEALTHY_REPROBE: Duration = Duration::from_secs(1);

/// Whether a member answers (e.g. an ingester's readiness check).
#[async_trait]
pub trait Probe: Send + Sync {
    async fn probe(&self, addr: &str) -> bool;
}

struct State {
    /// Members whose last probe failed.
    unhealthy: HashSet<String>,
    /// The last ring built from the healthy members.
    ring: Arc<Ring>,
}

/// A [`Membership`] with per-member health.
pub struct MemberSet {
    membership: Membership,
    probe: Arc<dyn Probe>,
    virtual_nodes: usize,
    heartbeat: Duration,
    state: Mutex<State>,
    /// Where member counts are reported ([`MemberSet::report_to`]), under which ring name.
    report: std::sync::OnceLock<(crate::RingMetrics, String)>,
}

impl MemberSet {
    pub fn new(membership: Membership, probe: Arc<dyn Probe>, cfg: &RingConfig) -> Self {
        let ring = Arc::new(Ring::new(membership.members(), cfg.virtual_nodes));
        Self {
            membership,
            probe,
            virtual_nodes: cfg.virtual_nodes,
            heartbeat: cfg.heartbeat_period,
            state: Mutex::new(State {
                unhealthy: HashSet::new(),
                ring,
            }),
            report: std::sync::OnceLock::new(),
        }
    }

    /// Reports this set's healthy and unhealthy counts to `metrics` as ring `ring` from now
    /// on (the first call wins).
    pub fn report_to(&self, metrics: crate::RingMetrics, ring: &str) {
        let _ = self.report.set((metrics, ring.to_string()));
        let all = self.all();
        let st = self.state.lock();
        self.report_counts(&all, &st);
    }

    fn report_counts(&self, all: &[String], st: &State) {
        if let Some((m, ring)) = self.report.get() {
            let unhealthy = all.iter().filter(|a| st.unhealthy.contains(*a)).count();
            m.set(ring, all.len() - unhealthy, unhealthy);
        }
    }

    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Every member, healthy or not, sorted.
    pub fn all(&self) -> Vec<String> {
        self.membership.members()
    }

    /// The healthy members, sorted.
    pub fn healthy(&self) -> Vec<String> {
        let all = self.all();
        let st = self.state.lock();
        all.into_iter()
            .filter(|m| !st.unhealthy.contains(m))
            .collect()
    }

    pub fn is_healthy(&self, addr: &str) -> bool {
        !self.state.lock().unhealthy.contains(addr)
    }

    pub fn healthy_count(&self) -> usize {
        self.healthy().len()
    }

    /// The ring of the healthy members.
    pub fn healthy_ring(&self) -> Arc<Ring> {
        let healthy = self.healthy();
        let mut st = self.state.lock();
        if st.ring.members() != healthy.as_slice() {
            st.ring = Arc::new(Ring::new(healthy, self.virtual_nodes));
        }
        st.ring.clone()
    }

    /// Takes `addr` off the healthy ring now, until a probe passes again. Ignored for an
    /// address that is not a member.
    pub fn mark_unhealthy(&self, addr: &str, why: &str) {
        if !self.membership.members().iter().any(|m| m == addr) {
            return;
        }
        let mut st = self.state.lock();
        if st.unhealthy.insert(addr.to_string()) {
            tracing::warn!(member = addr, reason = why, "ring member marked unhealthy");
            self.report_counts(&self.membership.members(), &st);
        }
    }

    /// Probes every member now (concurrently) and records the results.
    pub async fn check_now(&self) {
        let all = self.all();
        self.check(&all, &all, self.heartbeat.max(Duration::from_secs(1)))
            .await;
    }

    /// Probes the unhealthy members now (concurrently), each within `limit`, and records the
    /// results.
    async fn check_unhealthy(&self, limit: Duration) {
        let all = self.all();
        let unhealthy: Vec<String> = {
            let st = self.state.lock();
            all.iter()
                .filter(|m| st.unhealthy.contains(*m))
                .cloned()
                .collect()
        };
        if !unhealthy.is_empty() {
            self.check(&all, &unhealthy, limit).await;
        }
    }

    /// Probes `probed` (members of `all`, the current membership) within `limit` each.
    async fn check(&self, all: &[String], probed: &[String], limit: Duration) {
        let results = futures::future::join_all(probed.iter().map(|addr| async move {
            let ok = tokio::time::timeout(limit, self.probe.probe(addr))
                .await
                .unwrap_or(false);
            (addr.as_str(), ok)
        }))
        .await;
        let mut st = self.state.lock();
        st.unhealthy.retain(|m| all.contains(m));
        for (addr, ok) in results {
            if ok {
                if st.unhealthy.remove(addr) {
                    tracing::info!(member = addr, "ring member healthy again");
                }
            } else if st.unhealthy.insert(addr.to_string()) {
                tracing::warn!(member = addr, "ring member failed its health check");
            }
        }
        self.report_counts(all, &st);
    }

    /// Keeps the membership fresh and probes every `heartbeat_period` (the unhealthy members
    /// every [`UNHEALTHY_REPROBE`] too) until `shutdown`.
    pub async fn run(&self, shutdown: CancellationToken) {
        let heartbeat = async {
            let period = self.heartbeat.max(Duration::from_millis(10));
            let reprobe = period.min(UNHEALTHY_REPROBE);
            let mut tick = tokio::time::interval(reprobe);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_round: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.cancelled() => return,
                }
                // Half a tick of slack: the round falls due on the tick nearest the period.
                if last_round.is_none_or(|t| t.elapsed() + reprobe / 2 >= period) {
                    last_round = Some(tokio::time::Instant::now());
                    self.check_now().await;
                } else {
                    self.check_unhealthy(reprobe).await;
                }
            }
        };
        tokio::join!(self.membership.run(shutdown.clone()), heartbeat);
    }
}
