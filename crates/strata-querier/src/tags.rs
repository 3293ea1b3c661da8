//! Tag names and values over recent data (the ingester) and, when the request has a time
//! range, the blocks overlapping it. Results are merged per scope and cut to the limits.

use std::collections::BTreeSet;

use strata_common::TenantId;
use strata_engine::tag_search::{Collect, TagNamesJob, TagQuery, TagValuesJob};
use strata_engine::tags::{ScopeParam, INTRINSIC_TAGS};
use strata_proto::tempopb::{
    MetadataMetrics, SearchTagValuesRequest, SearchTagValuesV2Response, SearchTagsRequest,
    SearchTagsV2Response, SearchTagsV2Scope,
};

use crate::{Querier, QueryError};

fn internal(what: &str, e: impl std::fmt::Display) -> QueryError {
    QueryError::Internal(format!("{what}: {e}"))
}

impl Querier {
    pub async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &SearchTagsRequest,
    ) -> Result<SearchTagsV2Response, QueryError> {
        let job = TagNamesJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
        let scope = ScopeParam::parse(&req.scope)
            .ok_or_else(|| QueryError::BadRequest(format!("invalid scope: {}", req.scope)))?;
        let recent = self
            .ingester
            .search_tags(tenant, req)
            .await
            .map_err(|e| QueryError::from_role("searching ingester tags", e))?;
        let mine = self.tags_from_blocks(tenant, job, req.end != 0).await?;
        let limit = (req.max_tags_per_scope != 0).then_some(req.max_tags_per_scope as usize);
        let mut scopes: Vec<SearchTagsV2Scope> = Vec::new();
        for s in recent.scopes.into_iter().chain(mine.scopes) {
            match scopes.iter_mut().find(|x| x.name == s.name) {
                Some(x) => x.tags.extend(s.tags),
                None => scopes.push(s),
            }
        }
        for s in &mut scopes {
            let set: BTreeSet<String> = s.tags.drain(..).collect();
            s.tags = set.into_iter().take(limit.unwrap_or(usize::MAX)).collect();
        }
        if scope.intrinsics_v2() {
            scopes.push(SearchTagsV2Scope {
                name: "intrinsic".into(),
                tags: INTRINSIC_TAGS.iter().map(|s| s.to_string()).collect(),
            });
        }
        let inspected = recent.metrics.map_or(0, |m| m.inspected_bytes)
            + mine.metrics.map_or(0, |m| m.inspected_bytes);
        Ok(SearchTagsV2Response {
            scopes,
            metrics: Some(MetadataMetrics {
                inspected_bytes: inspected,
            }),
        })
    }

    pub async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &SearchTagValuesRequest,
    ) -> Result<SearchTagValuesV2Response, QueryError> {
        let job = TagValuesJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
        let recent = self
            .ingester
            .search_tag_values(tenant, req)
            .await
            .map_err(|e| QueryError::from_role("searching ingester tag values", e))?;
        let mine = self.tags_from_blocks(tenant, job, req.end != 0).await?;
        let limit = (req.max_tag_values != 0).then_some(req.max_tag_values as usize);
        let all: BTreeSet<_> = recent
            .tag_values
            .into_iter()
            .chain(mine.tag_values)
            .collect();
        let inspected = recent.metrics.map_or(0, |m| m.inspected_bytes)
            + mine.metrics.map_or(0, |m| m.inspected_bytes);
        Ok(SearchTagValuesV2Response {
            tag_values: all.into_iter().take(limit.unwrap_or(usize::MAX)).collect(),
            metrics: Some(MetadataMetrics {
                inspected_bytes: inspected,
            }),
        })
    }

    /// Runs a tag request over the tenant's blocks (only when the request has a time range:
    /// without one Tempo answers from recent data), stopping once the collector is full.
    async fn tags_from_blocks<Q: TagQuery>(
        &self,
        tenant: &TenantId,
        mut job: Q,
        with_blocks: bool,
    ) -> Result<Q::Response, QueryError> {
        let mut c = job.collector();
        if with_blocks && job.reads_data() {
            for b in self.blocks.all(tenant) {
                if c.is_full() {
                    break;
                }
                job.add_block(&b.reader, &mut c)
                    .await
                    .map_err(|e| internal("reading block tags", e))?;
            }
        }
        Ok(job.response(c))
    }
}
