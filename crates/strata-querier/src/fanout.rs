//! Recent data from every ingester of the ring, merged into one answer: the
//! [`IngesterQuerier`] the querier process uses (`strata run` passes the ingester itself).
//!
//! Every ingester is asked through the ring's [`Pool::fan_out`](strata_ring::Pool::fan_out):
//! unhealthy ones included, up to `R - 1` failures tolerated (`R = min(RF, n)`), more fail the
//! read (`Unavailable`, naming the failures) rather than answer with data possibly missing.
//!
//! Merging (each replica answers for the same data), with [`strata_engine::merge`]:
//! * trace by ID: all payloads concatenated, `inspected_bytes` summed (the querier
//!   deduplicates spans);
//! * search: per trace ID (one entry per trace however many replicas hold it), cut to the
//!   request's `limit` ([`search_limit`]: 20 when 0), metrics summed;
//! * tag names: per scope, deduplicated and sorted, at most `max_tags_per_scope` per scope;
//! * tag values: deduplicated by (type, value), sorted, at most `max_tag_values`;
//! * metrics: partial series summed (or min/max) by the function's rule
//!   ([`MetricsAccumulator`](strata_engine::metrics::MetricsAccumulator)). Each ingester counts
//!   only the copies a replicated push sent it as counted (not those marked `replica`; see
//!   `strata_ring`'s push module), so summing counts every span once.
//!
//! [`IngesterHealth::ready`] is `Ok` while at least a quorum (`R/2 + 1`) of members is
//! healthy ([`Pool::check_quorum`](strata_ring::Pool::check_quorum)).

use std::sync::Arc;

use async_trait::async_trait;
use strata_common::{TenantId, TraceId};
use strata_engine::merge::{merge_search, merge_tag_names, merge_tag_values, search_limit};
use strata_engine::metrics::MetricsJob;
use strata_proto::roles::{IngesterHealth, IngesterQuerier, RoleError, TraceFragments};
use strata_proto::tempopb;
use strata_ring::IngesterPool;

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
}

#[async_trait]
impl IngesterQuerier for FanoutQuerier {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        let parts = self
            .pool
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
            .pool
            .fan_out("search", |c| async move { c.search(tenant, req).await })
            .await?;
        Ok(merge_search(parts, search_limit(req.limit)))
    }

    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        let parts = self
            .pool
            .fan_out("search tags", |c| async move {
                c.search_tags(tenant, req).await
            })
            .await?;
        Ok(merge_tag_names(parts, req.max_tags_per_scope))
    }

    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        let parts = self
            .pool
            .fan_out("search tag values", |c| async move {
                c.search_tag_values(tenant, req).await
            })
            .await?;
        Ok(merge_tag_values(parts, req.max_tag_values))
    }

    async fn metrics_query_range(
        &self,
        tenant: &TenantId,
        req: &tempopb::QueryRangeRequest,
    ) -> Result<tempopb::QueryRangeResponse, RoleError> {
        let job = MetricsJob::new(req).map_err(|e| RoleError::InvalidArgument(e.to_string()))?;
        let parts = self
            .pool
            .fan_out("metrics query", |c| async move {
                c.metrics_query_range(tenant, req).await
            })
            .await?;
        let mut acc = job.accumulator();
        for p in parts {
            acc.merge(p);
        }
        Ok(acc.to_partial())
    }
}

#[async_trait]
impl IngesterHealth for FanoutQuerier {
    async fn ready(&self) -> Result<(), RoleError> {
        self.pool.check_quorum()
    }
}

#[cfg(test)]
mod tests;
