//! Search and tag discovery over the ingester's recent data: in-memory traces (turned into
//! record batches of the block schema, a chunk at a time) and recently flushed blocks.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use strata_block::BlockReader;
use strata_common::{TenantId, TraceId};
use strata_engine::live::{traces_to_batches, LIVE_BATCH_ROWS};
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_engine::tag_search::{Collect, TagNamesJob, TagQuery, TagValuesJob};
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::roles::RoleError;
use strata_proto::tempopb;

use crate::Ingester;

/// In-memory traces with their encoded shares, in trace-ID order.
type LiveTraces = Vec<(TraceId, Vec<Bytes>)>;

/// Traces decoded and evaluated per chunk of live data.
const CHUNK_TRACES: usize = 2048;

impl Ingester {
    /// In-memory traces of a tenant (only their counted shares when `counted_only`, for
    /// TraceQL metrics) and its recently flushed blocks.
    pub(crate) fn recent_data(
        &self,
        tenant: &TenantId,
        counted_only: bool,
    ) -> (LiveTraces, Vec<Arc<BlockReader>>) {
        let instance = self.inner.tenants.lock().get(tenant).cloned();
        let live = instance
            .map(|i| i.lock().snapshot(counted_only).into_iter().collect())
            .unwrap_or_default();
        let blocks = self.recent_readers(tenant);
        (live, blocks)
    }

    pub(crate) async fn search_recent(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        let job = SearchJob::new(req).map_err(|e| RoleError::InvalidArgument(e.to_string()))?;
        let (live, blocks) = self.recent_data(tenant, false);
        let job2 = job.clone();
        let mut acc = tokio::task::spawn_blocking(move || search_live(&job2, live))
            .await
            .map_err(|e| RoleError::Internal(format!("search task: {e}")))??;
        for b in blocks {
            job.search_block(&b, &mut acc)
                .await
                .map_err(|e| RoleError::Internal(format!("searching a recent block: {e}")))?;
        }
        Ok(acc.finish(job.limit()))
    }
}

/// Evaluates the live data, a chunk of traces at a time.
fn search_live(job: &SearchJob, live: LiveTraces) -> Result<SearchAccumulator, RoleError> {
    let mut acc = SearchAccumulator::new();
    let bytes = for_each_live_batch(&live, |b| {
        job.search_batch(b, &mut acc).map_err(internal)?;
        Ok(true)
    })?;
    acc.metrics.inspected_bytes += bytes;
    Ok(acc)
}

pub(crate) fn decode_chunk(
    chunk: &[(TraceId, Vec<Bytes>)],
) -> Result<Vec<(TraceId, Vec<ResourceSpans>)>, RoleError> {
    chunk
        .iter()
        .map(|(id, payloads)| {
            let mut rs = Vec::new();
            for p in payloads {
                let t = tempopb::Trace::decode(p.as_ref()).map_err(|e| {
                    RoleError::Internal(format!("stored trace {id} does not decode: {e}"))
                })?;
                rs.extend(t.resource_spans);
            }
            Ok((*id, rs))
        })
        .collect()
}

/// Runs `f` over the live data as batches, a chunk of traces at a time.
pub(crate) fn for_each_live_batch(
    live: &[(TraceId, Vec<Bytes>)],
    mut f: impl FnMut(&arrow_array::RecordBatch) -> Result<bool, RoleError>,
) -> Result<u64, RoleError> {
    let mut bytes = 0;
    for chunk in live.chunks(CHUNK_TRACES) {
        let decoded = decode_chunk(chunk)?;
        let batches = traces_to_batches(
            decoded.iter().map(|(id, rs)| (*id, rs.as_slice())),
            LIVE_BATCH_ROWS,
        )
        .map_err(|e| RoleError::Internal(e.to_string()))?;
        bytes += chunk
            .iter()
            .flat_map(|(_, p)| p)
            .map(|p| p.len() as u64)
            .sum::<u64>();
        for b in &batches {
            if !f(b)? {
                return Ok(bytes);
            }
        }
    }
    Ok(bytes)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> RoleError {
    RoleError::Internal(e.to_string())
}

impl Ingester {
    pub(crate) async fn search_tags_recent(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        let job = TagNamesJob::new(req).map_err(|e| RoleError::InvalidArgument(e.to_string()))?;
        self.tags_recent(tenant, job).await
    }

    pub(crate) async fn search_tag_values_recent(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        let job = TagValuesJob::new(req).map_err(|e| RoleError::InvalidArgument(e.to_string()))?;
        self.tags_recent(tenant, job).await
    }

    /// Runs a tag request over the live data (on a blocking thread), then the recent blocks,
    /// stopping once the collector is full.
    async fn tags_recent<Q: TagQuery>(
        &self,
        tenant: &TenantId,
        mut job: Q,
    ) -> Result<Q::Response, RoleError> {
        let (live, blocks) = if job.reads_data() {
            self.recent_data(tenant, false)
        } else {
            Default::default()
        };
        let (mut job, mut c) = tokio::task::spawn_blocking(move || {
            let mut c = job.collector();
            let bytes = for_each_live_batch(&live, |b| {
                job.add_batch(b, &mut c).map_err(internal)?;
                Ok(!c.is_full())
            })?;
            job.add_inspected_bytes(bytes);
            Ok::<_, RoleError>((job, c))
        })
        .await
        .map_err(internal)??;
        for b in blocks {
            if c.is_full() {
                break;
            }
            job.add_block(&b, &mut c).await.map_err(internal)?;
        }
        Ok(job.response(c))
    }
}
