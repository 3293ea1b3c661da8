//! Tag names and values over recent data (the ingester) and, when the request has a time
//! range, the blocks overlapping it. Both answers are merged with [`strata_engine::merge`] (per
//! scope, deduplicated, sorted, cut to the limits); the `intrinsic` scope is added after.
//!
//! Blocks are read newest first within the tenant's scan budget
//! (`read.max_block_bytes_per_query`): blocks it refuses are not read and the answer comes
//! with a [`Cut`], unless the collector filled up first (the answer was complete as bounded).

use strata_common::TenantId;
use strata_engine::merge::{merge_tag_names, merge_tag_values};
use strata_engine::tag_search::{Collect, TagNamesJob, TagQuery, TagValuesJob};
use strata_engine::tags::{ScopeParam, INTRINSIC_TAGS};
use strata_proto::tempopb::{
    SearchTagValuesRequest, SearchTagValuesV2Response, SearchTagsRequest, SearchTagsV2Response,
    SearchTagsV2Scope,
};

use crate::budget::Cut;
use crate::{Querier, QueryError};

fn internal(what: &str, e: impl std::fmt::Display) -> QueryError {
    QueryError::Internal(format!("{what}: {e}"))
}

impl Querier {
    pub async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &SearchTagsRequest,
    ) -> Result<(SearchTagsV2Response, Option<Cut>), QueryError> {
        let job = TagNamesJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
        let scope = ScopeParam::parse(&req.scope)
            .ok_or_else(|| QueryError::BadRequest(format!("invalid scope: {}", req.scope)))?;
        let recent = self
            .ingester
            .search_tags(tenant, req)
            .await
            .map_err(|e| QueryError::from_role("searching ingester tags", e))?;
        let (mine, cut) = self
            .tags_from_blocks(tenant, job, (req.start, req.end))
            .await?;
        let mut merged = merge_tag_names([recent, mine], req.max_tags_per_scope);
        if scope.intrinsics_v2() {
            merged.scopes.push(SearchTagsV2Scope {
                name: "intrinsic".into(),
                tags: INTRINSIC_TAGS.iter().map(|s| s.to_string()).collect(),
            });
        }
        Ok((merged, cut))
    }

    pub async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &SearchTagValuesRequest,
    ) -> Result<(SearchTagValuesV2Response, Option<Cut>), QueryError> {
        let job = TagValuesJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
        let recent = self
            .ingester
            .search_tag_values(tenant, req)
            .await
            .map_err(|e| QueryError::from_role("searching ingester tag values", e))?;
        let (mine, cut) = self
            .tags_from_blocks(tenant, job, (req.start, req.end))
            .await?;
        Ok((merge_tag_values([recent, mine], req.max_tag_values), cut))
    }

    /// Runs a tag request over the tenant's blocks overlapping `(start, end)` (unix seconds),
    /// newest first within the scan budget (only when the request has a time range: without
    /// one Tempo answers from recent data), stopping once the collector is full.
    async fn tags_from_blocks<Q: TagQuery>(
        &self,
        tenant: &TenantId,
        mut job: Q,
        (start, end): (u32, u32),
    ) -> Result<(Q::Response, Option<Cut>), QueryError> {
        let mut c = job.collector();
        let mut cut = None;
        if end != 0 && job.reads_data() {
            // Unix seconds, `end` inclusive; blocks outside are not read (nor charged).
            let (from, to) = (
                u64::from(start) * 1_000_000_000,
                u64::from(end) * 1_000_000_000 + 999_999_999,
            );
            let mut blocks: Vec<_> = self
                .blocks
                .all(tenant)
                .into_iter()
                .filter(|b| {
                    let m = b.reader.meta();
                    m.end_time_unix_nano >= from && m.start_time_unix_nano <= to
                })
                .collect();
            blocks.sort_by_key(|b| std::cmp::Reverse(b.reader.meta().end_time_unix_nano));
            let (read, budget) = self.within_budget(tenant, blocks);
            for b in read {
                if c.is_full() {
                    break;
                }
                job.add_block(&b.reader, &mut c)
                    .await
                    .map_err(|e| internal("reading block tags", e))?;
            }
            if !c.is_full() {
                cut = self.report_cut(tenant, &budget, "tags");
            }
        }
        Ok((job.response(c), cut))
    }
}
