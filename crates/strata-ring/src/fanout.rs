//! Reads from every ingester of a pool, merged into one answer.
//!
//! Every member of the membership is asked concurrently, unhealthy ones included (they may
//! have recovered, and may hold the only copies of older data). With effective replication
//! factor `R = min(RF, n)` every trace is on `R` ingesters, so up to `R - 1` failed members
//! still leave a complete answer; more fail the read (`Unavailable`, naming the failures)
//! rather than answer with data possibly missing.
//!
//! Merging (each replica answers for the same data):
//! * trace by ID: all payloads concatenated, `inspected_bytes` summed (the querier
//!   deduplicates spans);
//! * search: per trace ID with [`SearchAccumulator`] (one entry per trace however many replicas
//!   hold it), cut to the request's `limit` (20 when 0), metrics summed;
//! * tag names: per scope (scopes in first-seen order), names deduplicated and sorted, at most
//!   `max_tags_per_scope` per scope when set;
//! * tag values: deduplicated by (type, value), sorted, at most `max_tag_values` when set.
//!
//! [`IngesterHealth::ready`] is `Ok` while at least a quorum (`R/2 + 1`) of members is
//! healthy.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use strata_common::{TenantId, TraceId};
use strata_engine::search::SearchAccumulator;
use strata_proto::roles::{
    IngesterConn, IngesterHealth, IngesterQuerier, RoleError, TraceFragments,
};
use strata_proto::tempopb::{self, MetadataMetrics, SearchTagsV2Scope};

use crate::IngesterPool;

/// Tempo's default search limit.
const DEFAULT_LIMIT: usize = 20;

/// An [`IngesterQuerier`] over every ingester of a pool.
#[derive(Clone)]
pub struct FanoutQuerier {
    pool: Arc<IngesterPool>,
}

impl FanoutQuerier {
    pub fn new(pool: Arc<IngesterPool>) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &Arc<IngesterPool> {
        &self.pool
    }

    /// Runs `call` on every member; the successful answers, or `Unavailable` when more than
    /// `R - 1` members failed (or there are no members).
    async fn fan_out<T, F, Fut>(&self, what: &str, call: F) -> Result<Vec<T>, RoleError>
    where
        F: Fn(Arc<dyn IngesterConn>) -> Fut,
        Fut: Future<Output = Result<T, RoleError>>,
    {
        let all = self.pool.members().all();
        if all.is_empty() {
            return Err(RoleError::Unavailable(format!(
                "{what}: no ingesters in the ring"
            )));
        }
        let tolerated = self.pool.effective_replication_factor().saturating_sub(1);
        let calls = all.iter().map(|addr| {
            let fut = call(self.pool.conn(addr));
            async move { (addr.as_str(), fut.await) }
        });
        let mut ok = Vec::with_capacity(all.len());
        let mut failed: Vec<String> = Vec::new();
        for (addr, r) in futures::future::join_all(calls).await {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => {
                    tracing::debug!(ingester = addr, error = %e, "{what} on ingester failed");
                    failed.push(format!("{addr}: {e}"));
                }
            }
        }
        if failed.len() > tolerated {
            return Err(RoleError::Unavailable(format!(
                "{what}: {} of {} ingesters failed (at most {tolerated} tolerated): {}",
                failed.len(),
                all.len(),
                failed.join("; ")
            )));
        }
        Ok(ok)
    }
}

fn metrics_sum(it: impl Iterator<Item = Option<MetadataMetrics>>) -> MetadataMetrics {
    MetadataMetrics {
        inspected_bytes: it.flatten().map(|m| m.inspected_bytes).sum(),
    }
}

#[async_trait]
impl IngesterQuerier for FanoutQuerier {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        let parts = self
            .fan_out("trace by id", |c| async move {
                c.find_trace_by_id(tenant, trace_id).await
            })
            .await?;
        let mut out = TraceFragments::default();
        for p in parts {
            out.payloads.extend(p.payloads);
            out.inspected_bytes += p.inspected_bytes;
        }
        Ok(out)
    }

    async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        let parts = self
            .fan_out("search", |c| async move { c.search(tenant, req).await })
            .await?;
        let mut acc = SearchAccumulator::new();
        for p in parts {
            acc.add_response(p);
        }
        let limit = if req.limit == 0 {
            DEFAULT_LIMIT
        } else {
            req.limit as usize
        };
        Ok(acc.finish(limit))
    }

    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        let parts = self
            .fan_out("search tags", |c| async move {
                c.search_tags(tenant, req).await
            })
            .await?;
        let limit = match req.max_tags_per_scope {
            0 => usize::MAX,
            n => n as usize,
        };
        let mut order: Vec<String> = Vec::new();
        let mut names: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut metrics = Vec::with_capacity(parts.len());
        for p in parts {
            metrics.push(p.metrics);
            for s in p.scopes {
                if !names.contains_key(&s.name) {
                    order.push(s.name.clone());
                }
                names.entry(s.name).or_default().extend(s.tags);
            }
        }
        let scopes = order
            .into_iter()
            .map(|name| {
                let tags = names
                    .remove(&name)
                    .unwrap_or_default()
                    .into_iter()
                    .take(limit)
                    .collect();
                SearchTagsV2Scope { name, tags }
            })
            .collect();
        Ok(tempopb::SearchTagsV2Response {
            scopes,
            metrics: Some(metrics_sum(metrics.into_iter())),
        })
    }

    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        let parts = self
            .fan_out("search tag values", |c| async move {
                c.search_tag_values(tenant, req).await
            })
            .await?;
        let limit = match req.max_tag_values {
            0 => usize::MAX,
            n => n as usize,
        };
        let mut values = BTreeSet::new();
        let mut metrics = Vec::with_capacity(parts.len());
        for p in parts {
            metrics.push(p.metrics);
            values.extend(p.tag_values);
        }
        Ok(tempopb::SearchTagValuesV2Response {
            tag_values: values.into_iter().take(limit).collect(),
            metrics: Some(metrics_sum(metrics.into_iter())),
        })
    }
}

#[async_trait]
impl IngesterHealth for FanoutQuerier {
    async fn ready(&self) -> Result<(), RoleError> {
        let healthy = self.pool.members().healthy_count();
        let quorum = self.pool.quorum();
        if self.pool.members().all().is_empty() || healthy < quorum {
            return Err(RoleError::Unavailable(format!(
                "{healthy} ingesters healthy, {quorum} needed"
            )));
        }
        Ok(())
    }
}
