//! TraceQL metrics over recent data (the ingesters) and blocks, merged into one answer.
//!
//! The querier reads every block of its block list overlapping the range, several at a time
//! (one task per block, as many at once as there are cores), and asks the ingesters for the
//! rest: their in-memory traces and the blocks they flushed that the querier does not list
//! yet (the request names the blocks the querier reads in `exclude_blocks`). Every source
//! answers partial series ([`MetricsAccumulator`]), merged by the function's rule, so a span
//! is counted once whether it is still live or already in a block.
//!
//! The tenant's scan budget (`read.max_block_bytes_per_query`, [`ScanBudget`]) is charged
//! blocks newest first (by end time); blocks it refuses are not read, stay excluded from the
//! ingesters' part (the querier answers for every block it lists), and make the answer
//! partial: a [`Cut`] is returned with it and those blocks are left uncompleted jobs.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use strata_common::TenantId;
use strata_engine::metrics::{MetricsAccumulator, MetricsJob};
use strata_proto::tempopb;
use tracing::Instrument;

use crate::blocklist::BlockEntry;
use crate::budget::{Cut, ScanBudget};
use crate::{Querier, QueryError};

/// Blocks evaluated at once: one per core.
fn block_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Querier {
    /// Runs an aligned metrics request (see [`MetricsJob::new`]); returns the job and the
    /// merged partial series, for [`MetricsJob::finish`] or
    /// [`MetricsJob::finish_instant`], and the cut when the scan budget left blocks unread.
    pub async fn metrics_query(
        &self,
        tenant: &TenantId,
        req: &tempopb::QueryRangeRequest,
    ) -> Result<(MetricsJob, MetricsAccumulator, Option<Cut>), QueryError> {
        let job = MetricsJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
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
        let mut recent_req = req.clone();
        recent_req.exclude_blocks = blocks
            .iter()
            .map(|b| b.reader.meta().block_id.to_string())
            .collect();
        let recent = self
            .ingester
            .metrics_query_range(tenant, &recent_req)
            .instrument(tracing::info_span!("ingesters.metrics_query_range"))
            .await
            .map_err(|e| QueryError::from_role("metrics query on ingesters", e))?;
        let mut acc = job.accumulator();
        acc.merge(recent);
        acc.metrics.total_jobs += 1 + blocks.len() as u32;
        acc.metrics.completed_jobs += 1;
        let (read, budget) = self.within_budget(tenant, blocks);
        let cut = self.report_cut(tenant, &budget, "metrics");
        let parts: Vec<_> = stream::iter(read)
            .map(|b| {
                let job = job.clone();
                let span = tracing::info_span!(
                    "block.metrics_query",
                    block_id = %b.reader.meta().block_id
                );
                tokio::spawn(
                    async move {
                        let mut part = job.accumulator();
                        job.observe_block(&b.reader, &mut part).await.map(|_| part)
                    }
                    .instrument(span),
                )
            })
            .buffer_unordered(block_concurrency())
            .collect()
            .await;
        for p in parts {
            match p.map_err(|e| QueryError::Internal(format!("metrics task: {e}")))? {
                Ok(part) => {
                    acc.merge_acc(part);
                    acc.metrics.completed_jobs += 1;
                }
                Err(e) => {
                    return Err(QueryError::Internal(format!(
                        "metrics query over a block: {e}"
                    )))
                }
            }
        }
        Ok((job, acc, cut))
    }

    /// Splits newest-first `blocks` into those the tenant's scan budget admits and the budget
    /// (holding the refused ones as skipped); see [`Querier::report_cut`].
    pub(crate) fn within_budget(
        &self,
        tenant: &TenantId,
        blocks: Vec<Arc<BlockEntry>>,
    ) -> (Vec<Arc<BlockEntry>>, ScanBudget) {
        let mut budget = self.scan_budget(tenant);
        let mut read = Vec::with_capacity(blocks.len());
        for b in blocks {
            let size = b.reader.meta().size_bytes;
            if budget.admit(size) {
                read.push(b);
            } else {
                budget.skip(size);
            }
        }
        (read, budget)
    }

    /// The cut of a query whose `budget` left blocks unread, logged and counted
    /// (`reason="block_bytes"`); `what` names the query kind in the log.
    pub(crate) fn report_cut(
        &self,
        tenant: &TenantId,
        budget: &ScanBudget,
        what: &str,
    ) -> Option<Cut> {
        let cut = budget.cut(tenant)?;
        tracing::info!(%tenant, query = what, message = %cut.message(), "query cut by its scan budget");
        self.metrics.cuts.count(tenant, "block_bytes");
        Some(cut)
    }
}
