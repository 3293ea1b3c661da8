//! TraceQL metrics over the ingester's recent data: in-memory traces (as record batches, a
//! chunk at a time, split into one share per core, each on a blocking thread) and recently
//! flushed blocks, except the blocks the querier reads itself (`exclude_blocks`), so no span
//! is counted twice, and without replica copies (live shares a replicated push marked
//! `replica`, and block rows of the `replica` column), so with a replication factor above 1 each
//! span is still counted once across ingesters. The answer is partial series for the querier to
//! merge.

use std::collections::HashSet;

use strata_common::TenantId;
use strata_engine::metrics::MetricsJob;
use strata_proto::roles::RoleError;
use strata_proto::tempopb;

use crate::search::{for_each_live_batch, internal};
use crate::Ingester;

impl Ingester {
    pub(crate) async fn metrics_recent(
        &self,
        tenant: &TenantId,
        req: &tempopb::QueryRangeRequest,
    ) -> Result<tempopb::QueryRangeResponse, RoleError> {
        let job = MetricsJob::new(req).map_err(|e| RoleError::InvalidArgument(e.to_string()))?;
        let (live, blocks) = self.recent_data(tenant, true);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let share = live.len().div_ceil(cores).max(1);
        let mut tasks = Vec::new();
        let mut rest = live;
        while !rest.is_empty() {
            let tail = rest.split_off(share.min(rest.len()));
            let part = std::mem::replace(&mut rest, tail);
            let job = job.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                let mut acc = job.accumulator();
                let bytes = for_each_live_batch(&part, |b| {
                    job.observe_batch(b, &mut acc).map_err(internal)?;
                    Ok(true)
                })?;
                acc.metrics.inspected_bytes += bytes;
                Ok::<_, RoleError>(acc)
            }));
        }
        let mut acc = job.accumulator();
        for t in tasks {
            let part = t
                .await
                .map_err(|e| RoleError::Internal(format!("metrics task: {e}")))??;
            acc.merge_acc(part);
        }
        let skip: HashSet<&str> = req.exclude_blocks.iter().map(String::as_str).collect();
        for b in blocks {
            let m = b.meta();
            if skip.contains(m.block_id.to_string().as_str())
                || !job.overlaps(m.start_time_unix_nano, m.end_time_unix_nano)
            {
                continue;
            }
            job.observe_block(&b, &mut acc)
                .await
                .map_err(|e| RoleError::Internal(format!("metrics over a recent block: {e}")))?;
        }
        Ok(acc.to_partial())
    }
}
