//! Search over recent data (the ingester) and blocks.
//!
//! Blocks overlapping the requested range are searched newest first (by end time), a few at a
//! time. Once `limit` traces are held, a block whose every span ends before the start of the
//! `limit`-th newest trace cannot change the answer, and it and all older blocks are skipped.
//!
//! Without `start`/`end` everything is searched (Tempo 3 would default to the last 15
//! minutes; the early exit keeps an unbounded search cheap when recent data suffices).

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use strata_common::TenantId;
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_proto::tempopb;
use tracing::Instrument;

use crate::blocklist::BlockEntry;
use crate::{Querier, QueryError};

/// Blocks searched concurrently.
const BLOCK_CONCURRENCY: usize = 4;

impl Querier {
    pub async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, QueryError> {
        let job = SearchJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
        self.metrics.searches.inc();
        let started = std::time::Instant::now();
        let mut acc = SearchAccumulator::new();
        let recent = self
            .ingester
            .search(tenant, req)
            .instrument(tracing::info_span!("ingesters.search"))
            .await
            .map_err(|e| QueryError::from_role("searching ingester", e))?;
        acc.add_response(recent);
        acc.metrics.total_jobs += 1;
        acc.metrics.completed_jobs += 1;

        let mut blocks: Vec<Arc<BlockEntry>> = self
            .blocks
            .all(tenant)
            .into_iter()
            .filter(|b| {
                let m = b.reader.meta();
                job.overlaps(m.start_time_unix_nano, m.end_time_unix_nano)
            })
            .collect();
        blocks.sort_by_key(|b| std::cmp::Reverse(b.reader.meta().end_time_unix_nano));
        acc.metrics.total_jobs += blocks.len() as u32;
        let mut rest = blocks.into_iter().peekable();
        while rest.peek().is_some() {
            let cutoff = acc.cutoff(job.limit());
            let wave: Vec<Arc<BlockEntry>> = rest
                .by_ref()
                .take_while(|b| cutoff.is_none_or(|c| b.reader.meta().end_time_unix_nano >= c))
                .take(BLOCK_CONCURRENCY)
                .collect();
            if wave.is_empty() {
                break;
            }
            let results: Vec<_> = stream::iter(wave)
                .map(|b| {
                    let job = job.clone();
                    let span = tracing::info_span!(
                        "block.search",
                        block_id = %b.reader.meta().block_id
                    );
                    tokio::spawn(
                        async move {
                            let mut part = SearchAccumulator::new();
                            job.search_block(&b.reader, &mut part)
                                .await
                                .map(|_| part.finish(u32::MAX as usize))
                        }
                        .instrument(span),
                    )
                })
                .buffer_unordered(BLOCK_CONCURRENCY)
                .collect()
                .await;
            for r in results {
                let part = r
                    .map_err(|e| QueryError::Internal(format!("search task: {e}")))?
                    .map_err(|e| QueryError::Internal(format!("searching a block: {e}")))?;
                acc.add_response(part);
                acc.metrics.completed_jobs += 1;
            }
        }
        self.metrics
            .search_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(acc.finish(job.limit()))
    }
}
