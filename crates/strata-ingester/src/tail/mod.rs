//! Tail sampling: whole traces kept or dropped by the tenant's policies
//! (`overrides.*.sampling.tail.policies`) when they leave the live set for the head block.
//!
//! * **When.** A trace is decided when the flush loop finds it idle for
//!   `ingester.trace_idle_period` (the decision wait) or live past `trace_live_period` (or at
//!   shutdown). Until then it is in the live set: durable in the WAL and searchable. Kept traces
//!   go on to the head block; dropped ones are removed from memory, their bytes released, and
//!   counted (`strata_ingester_tail_sampling_traces_total{tenant,decision,policy}` and
//!   `…_spans_total`): sampling acts after the push was acknowledged, never silently.
//! * **Later spans.** Every decision is remembered per tenant and trace in the decision store
//!   ([`store`], `sled`, `ingester.tail_sampling.decision_ttl` and `max_decisions`), which
//!   survives restarts. A trace whose spans arrive after its decision is decided by the store
//!   (policy label `earlier_decision`), so a kept trace stays whole and a dropped one leaves no
//!   span behind.
//! * **Replicas** each decide alone. Every policy but `rate_limiting` depends only on the
//!   trace's spans, so replicas holding the same spans decide alike; a rate limit is counted
//!   per ingester.
//! * **Failures keep data.** Policies that do not compile (a bad TraceQL query in a
//!   per-tenant overrides file), a decision store that cannot be opened or written, or a trace
//!   that does not decode: the traces concerned are kept, and the failure is logged and
//!   counted (`strata_ingester_tail_sampling_errors_total{tenant}`).

pub mod policy;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_config::{TailPolicy, TailSamplingStoreConfig};
use strata_engine::live::{traces_to_batches, LIVE_BATCH_ROWS};
use strata_engine::search::SearchJob;
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::tempopb;

use self::policy::{Compiled, Policy, RateState, TraceView, TraceqlMatches};
pub use self::store::Decision;
use self::store::DecisionStore;

/// The policy label of decisions taken from the decision store.
pub const EARLIER_DECISION: &str = "earlier_decision";
/// The policy label of dropped traces (no policy kept them).
pub const NO_POLICY: &str = "none";
/// The policy label of traces kept because sampling failed for them.
pub const ERROR_KEPT: &str = "error";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub tenant: String,
    pub decision: &'static str,
    pub policy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

/// `strata_ingester_tail_sampling_*`.
#[derive(Clone, Default)]
pub struct TailMetrics {
    pub traces: Family<DecisionLabels, Counter>,
    pub spans: Family<DecisionLabels, Counter>,
    pub errors: Family<TenantLabels, Counter>,
    pub decisions_stored: Gauge,
    pub decisions_forgotten: Counter,
}

impl TailMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "tail_sampling_traces",
            "Traces decided by tail sampling, by decision (kept, dropped) and deciding policy",
            self.traces.clone(),
        );
        r.register(
            "tail_sampling_spans",
            "Spans of the traces decided by tail sampling, by decision and deciding policy",
            self.spans.clone(),
        );
        r.register(
            "tail_sampling_errors",
            "Tail-sampling failures (bad policy, decision store, undecodable trace); the traces were kept",
            self.errors.clone(),
        );
        r.register(
            "tail_sampling_decisions_stored",
            "Decisions in the decision store, as of its last flush to disk",
            self.decisions_stored.clone(),
        );
        r.register(
            "tail_sampling_decisions_forgotten",
            "Decisions removed from the store (decision_ttl passed or max_decisions reached)",
            self.decisions_forgotten.clone(),
        );
    }

    fn count(&self, tenant: &TenantId, d: Decision, policy: &str, spans: u64) {
        let l = DecisionLabels {
            tenant: tenant.to_string(),
            decision: match d {
                Decision::Keep => "kept",
                Decision::Drop => "dropped",
            },
            policy: policy.to_string(),
        };
        self.traces.get_or_create(&l).inc();
        self.spans.get_or_create(&l).inc_by(spans);
    }

    /// Spans that joined a trace between its decision and its removal (they follow it).
    pub fn late_spans(&self, tenant: &TenantId, d: Decision, spans: u64) {
        if spans == 0 {
            return;
        }
        let l = DecisionLabels {
            tenant: tenant.to_string(),
            decision: match d {
                Decision::Keep => "kept",
                Decision::Drop => "dropped",
            },
            policy: EARLIER_DECISION.to_string(),
        };
        self.spans.get_or_create(&l).inc_by(spans);
    }

    fn error(&self, tenant: &TenantId) {
        self.errors
            .get_or_create(&TenantLabels {
                tenant: tenant.to_string(),
            })
            .inc();
    }
}

/// A tenant's compiled policies, rebuilt when its configuration changes.
struct TenantPolicies {
    source: Vec<TailPolicy>,
    compiled: Result<Vec<(String, Policy)>, String>,
    plans: Vec<SearchJob>,
    rates: Mutex<RateState>,
}

/// A trace to decide: its ID, its encoded shares, its span count.
pub struct Pending {
    pub id: TraceId,
    pub payloads: Vec<Bytes>,
    pub spans: u64,
}

/// The ingester's tail sampler; see the module docs.
pub struct TailSampler {
    cfg: TailSamplingStoreConfig,
    dir: PathBuf,
    store: Mutex<Option<Arc<DecisionStore>>>,
    tenants: Mutex<HashMap<TenantId, Arc<TenantPolicies>>>,
    metrics: TailMetrics,
}

impl std::fmt::Debug for TailSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TailSampler")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Compiles a tenant's policies; the error names the key.
pub fn compile_policies(
    policies: &[TailPolicy],
) -> Result<(Vec<(String, Policy)>, Compiled), policy::CompileError> {
    let mut c = Compiled::default();
    let top = policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            policy::compile(p, &format!("sampling.tail.policies[{i}]"), &mut c)
                .map(|pol| (p.name.clone(), pol))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((top, c))
}

/// What `strata-config` cannot check itself: the TraceQL of tail-sampling policies, in the
/// defaults and in every entry of the per-tenant overrides file; the message names the key.
/// `strata config check`, `strata run` and the ingester binary call it. A per-tenant file that
/// cannot be read here (a config checked on another machine than it runs on) is skipped: the
/// process that uses the configuration reads it, and refuses it then.
pub fn check_config(cfg: &strata_config::Config) -> Result<(), String> {
    let per_tenant = match cfg.overrides.load_per_tenant() {
        Ok(p) => p,
        Err(strata_config::OverridesError::Read { .. }) => Default::default(),
        Err(e) => return Err(e.to_string()),
    };
    let entries = std::iter::once(("overrides.defaults".to_string(), &cfg.overrides.defaults))
        .chain(
            per_tenant
                .wildcard
                .iter()
                .map(|l| ("per-tenant overrides \"*\"".to_string(), l)),
        )
        .chain(
            per_tenant
                .tenants
                .iter()
                .map(|(t, l)| (format!("per-tenant overrides {t:?}"), l)),
        );
    for (at, limits) in entries {
        compile_policies(&limits.sampling.tail.policies).map_err(|e| format!("{at}: {e}"))?;
    }
    Ok(())
}

impl TailSampler {
    /// A sampler whose store lives in `cfg.path`, or `decisions` under `wal_dir`; opened on
    /// first use.
    pub fn new(
        cfg: &TailSamplingStoreConfig,
        wal_dir: &std::path::Path,
        metrics: TailMetrics,
    ) -> Self {
        let dir = if cfg.path.as_os_str().is_empty() {
            wal_dir.join("decisions")
        } else {
            cfg.path.clone()
        };
        Self {
            cfg: cfg.clone(),
            dir,
            store: Mutex::new(None),
            tenants: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    fn store(&self) -> Result<Arc<DecisionStore>, store::StoreError> {
        let mut s = self.store.lock();
        if let Some(st) = s.as_ref() {
            return Ok(st.clone());
        }
        let st = Arc::new(DecisionStore::open(&self.dir)?);
        *s = Some(st.clone());
        Ok(st)
    }

    fn policies(&self, tenant: &TenantId, source: &[TailPolicy]) -> Arc<TenantPolicies> {
        let mut t = self.tenants.lock();
        if let Some(p) = t.get(tenant).filter(|p| p.source == source) {
            return p.clone();
        }
        let (compiled, plans, rates) = match compile_policies(source) {
            Ok((top, c)) => {
                let plans = c
                    .queries
                    .iter()
                    .filter_map(|q| {
                        let req = tempopb::SearchRequest {
                            query: q.clone(),
                            ..Default::default()
                        };
                        SearchJob::new(&req).ok()
                    })
                    .collect();
                (Ok(top), plans, c.rates)
            }
            Err(e) => (Err(e.to_string()), Vec::new(), 0),
        };
        let p = Arc::new(TenantPolicies {
            source: source.to_vec(),
            compiled,
            plans,
            rates: Mutex::new(vec![(0, 0); rates]),
        });
        t.insert(tenant.clone(), p.clone());
        p
    }

    /// Decides `pending` traces of `tenant` under `source` policies at `now_ms`, one decision
    /// per trace in order, counted in the metrics and remembered in the store.
    pub fn decide(
        &self,
        tenant: &TenantId,
        source: &[TailPolicy],
        pending: &[Pending],
        now_ms: u64,
    ) -> Vec<Decision> {
        let policies = self.policies(tenant, source);
        let top = match &policies.compiled {
            Ok(top) => top,
            Err(e) => {
                tracing::error!(%tenant, error = %e, "tail-sampling policies do not compile; keeping every trace");
                self.metrics.error(tenant);
                return self.keep_all(tenant, pending);
            }
        };
        let store = match self.store() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(%tenant, error = %e, dir = %self.dir.display(), "tail-sampling decision store unavailable; deciding without it");
                self.metrics.error(tenant);
                None
            }
        };
        let mut out = vec![Decision::Keep; pending.len()];
        let mut todo: Vec<usize> = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            match store.as_ref().map(|s| s.get(tenant, &p.id, now_ms)) {
                Some(Ok(Some(d))) => {
                    out[i] = d;
                    self.metrics.count(tenant, d, EARLIER_DECISION, p.spans);
                }
                Some(Err(e)) => {
                    tracing::warn!(%tenant, error = %e, "reading a tail-sampling decision");
                    self.metrics.error(tenant);
                    todo.push(i);
                }
                _ => todo.push(i),
            }
        }
        // Decode the traces to decide (sorted by ID, as batches need them).
        let mut decoded: Vec<(usize, Vec<ResourceSpans>)> = Vec::with_capacity(todo.len());
        for &i in &todo {
            let mut rss = Vec::new();
            let ok = pending[i]
                .payloads
                .iter()
                .all(|b| match tempopb::Trace::decode(b.as_ref()) {
                    Ok(t) => {
                        rss.extend(t.resource_spans);
                        true
                    }
                    Err(_) => false,
                });
            if ok {
                decoded.push((i, rss));
            } else {
                self.metrics.error(tenant);
                self.metrics
                    .count(tenant, Decision::Keep, ERROR_KEPT, pending[i].spans);
            }
        }
        decoded.sort_by_key(|(i, _)| pending[*i].id);
        let ql = self.traceql_matches(tenant, &policies.plans, &decoded, pending);
        let now_s = now_ms / 1000;
        let mut rates = policies.rates.lock();
        let mut made = Vec::with_capacity(decoded.len());
        for (i, rss) in &decoded {
            let view = TraceView {
                id: pending[*i].id,
                spans: pending[*i].spans,
                rss,
            };
            let by = top
                .iter()
                .find(|(_, p)| policy::keeps(p, &view, &ql, &mut rates, now_s))
                .map(|(name, _)| name.as_str());
            let d = if by.is_some() {
                Decision::Keep
            } else {
                Decision::Drop
            };
            out[*i] = d;
            self.metrics
                .count(tenant, d, by.unwrap_or(NO_POLICY), pending[*i].spans);
            made.push((pending[*i].id, d));
        }
        drop(rates);
        if let Some(s) = &store {
            if let Err(e) = s.put(
                tenant,
                &made,
                now_ms,
                self.cfg.decision_ttl.as_millis() as u64,
            ) {
                tracing::warn!(%tenant, error = %e, "storing tail-sampling decisions");
                self.metrics.error(tenant);
            }
        }
        out
    }

    fn keep_all(&self, tenant: &TenantId, pending: &[Pending]) -> Vec<Decision> {
        for p in pending {
            self.metrics
                .count(tenant, Decision::Keep, ERROR_KEPT, p.spans);
        }
        vec![Decision::Keep; pending.len()]
    }

    /// Which of `decoded` each plan matches; a failed evaluation matches nothing (and is
    /// counted), so the other policies still decide.
    fn traceql_matches(
        &self,
        tenant: &TenantId,
        plans: &[SearchJob],
        decoded: &[(usize, Vec<ResourceSpans>)],
        pending: &[Pending],
    ) -> TraceqlMatches {
        if plans.is_empty() || decoded.is_empty() {
            return vec![HashSet::new(); plans.len()];
        }
        let batches = match traces_to_batches(
            decoded.iter().map(|(i, rss)| (pending[*i].id, &rss[..])),
            LIVE_BATCH_ROWS,
        ) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%tenant, error = %e, "building batches for TraceQL sampling policies");
                self.metrics.error(tenant);
                return vec![HashSet::new(); plans.len()];
            }
        };
        plans
            .iter()
            .map(|plan| {
                let mut set = HashSet::new();
                for b in &batches {
                    match plan.plan().evaluate(b, 1) {
                        Ok(ms) => set.extend(ms.into_iter().map(|m| m.trace_id)),
                        Err(e) => {
                            tracing::warn!(%tenant, error = %e, "evaluating a TraceQL sampling policy");
                            self.metrics.error(tenant);
                        }
                    }
                }
                set
            })
            .collect()
    }

    /// Forgets expired decisions and the oldest past `max_decisions`, then makes the store
    /// durable; a no-op until the store was opened. Call before deleting WAL segments.
    pub fn maintain(&self, now_ms: u64) {
        let Some(store) = self.store.lock().clone() else {
            return;
        };
        match store.sweep(now_ms, self.cfg.max_decisions) {
            Ok(n) => {
                self.metrics.decisions_forgotten.inc_by(n);
            }
            Err(e) => tracing::warn!(error = %e, "sweeping tail-sampling decisions"),
        }
        if let Err(e) = store.flush() {
            tracing::warn!(error = %e, "flushing tail-sampling decisions");
        }
        self.metrics.decisions_stored.set(store.len() as i64);
    }
}

#[cfg(test)]
mod tests;
