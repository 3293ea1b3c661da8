//! Search over recent data (the ingester) and blocks.
//!
//! Blocks overlapping the requested range are searched newest first (by end time), a few at a
//! time. Once `limit` traces are held, a block whose every span ends before the start of the
//! `limit`-th newest trace cannot change the answer, and it and all older blocks are skipped
//! (*pruned*: counted as completed jobs, the answer is whole).
//!
//! The tenant's scan budget (`read.max_block_bytes_per_query`, [`ScanBudget`]) is charged
//! each block's size as it is taken into a wave; the first block it refuses ends the search
//! after the running wave. Refused blocks that pruning would not have skipped anyway make the
//! answer partial: they are the only jobs left uncompleted (`completedJobs < totalJobs`), and
//! the [`Cut`] returned with the answer names them.
//!
//! Without `start`/`end` everything is searched (Tempo 3 would default to the last 15
//! minutes; the early exit keeps an unbounded search cheap when recent data suffices).

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use strata_common::TenantId;
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_proto::tempopb;
use tracing::Instrument;

use crate::blocklist::BlockEntry;
use crate::budget::{Cut, ScanBudget};
use crate::{Querier, QueryError};

/// Blocks searched concurrently.
const BLOCK_CONCURRENCY: usize = 4;

/// What a block is to the wave planning: when its data ends and what reading it costs.
trait Planned {
    fn end(&self) -> u64;
    fn size(&self) -> u64;
}

impl Planned for Arc<BlockEntry> {
    fn end(&self) -> u64 {
        self.reader.meta().end_time_unix_nano
    }
    fn size(&self) -> u64 {
        self.reader.meta().size_bytes
    }
}

/// The next blocks to search from `pending` (newest first): at most `max`, stopping at the
/// first block that ends before `cutoff` or that `budget` refuses (left in `pending`).
fn next_wave<T: Planned>(
    pending: &mut VecDeque<T>,
    max: usize,
    cutoff: Option<u64>,
    budget: &mut ScanBudget,
) -> Vec<T> {
    let mut wave = Vec::new();
    while wave.len() < max {
        let Some(b) = pending.front() else { break };
        if cutoff.is_some_and(|c| b.end() < c) || !budget.admit(b.size()) {
            break;
        }
        wave.extend(pending.pop_front());
    }
    wave
}

/// Settles the blocks left unsearched: those ending before `cutoff` are pruned (returned, as
/// completed jobs); the others were refused by the budget and recorded as skipped in it.
fn settle<T: Planned>(pending: VecDeque<T>, cutoff: Option<u64>, budget: &mut ScanBudget) -> u32 {
    let mut pruned = 0;
    for b in pending {
        if cutoff.is_some_and(|c| b.end() < c) {
            pruned += 1;
        } else {
            budget.skip(b.size());
        }
    }
    pruned
}

impl Querier {
    /// Searches recent data and the tenant's blocks; the answer, and the cut when the tenant's
    /// scan budget left blocks unsearched.
    pub async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<(tempopb::SearchResponse, Option<Cut>), QueryError> {
        let job = SearchJob::new(req).map_err(|e| QueryError::BadRequest(e.to_string()))?;
        self.metrics.searches.inc();
        let started = std::time::Instant::now();
        let mut budget = self.scan_budget(tenant);
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
        blocks.sort_by_key(|b| std::cmp::Reverse(b.end()));
        acc.metrics.total_jobs += blocks.len() as u32;
        let mut pending = VecDeque::from(blocks);
        loop {
            let cutoff = acc.cutoff(job.limit());
            let wave = next_wave(&mut pending, BLOCK_CONCURRENCY, cutoff, &mut budget);
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
        let cutoff = acc.cutoff(job.limit());
        acc.metrics.completed_jobs += settle(pending, cutoff, &mut budget);
        let cut = self.report_cut(tenant, &budget, "search");
        self.metrics
            .search_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok((acc.finish(job.limit()), cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block: (end time, size).
    impl Planned for (u64, u64) {
        fn end(&self) -> u64 {
            self.0
        }
        fn size(&self) -> u64 {
            self.1
        }
    }

    fn tenant() -> TenantId {
        TenantId::new("t").unwrap()
    }

    #[test]
    fn waves_stop_where_the_budget_runs_out_and_the_rest_is_skipped() {
        let mut pending = VecDeque::from(vec![(50, 10), (40, 10), (30, 10), (20, 10), (10, 10)]);
        let mut budget = ScanBudget::new(25);
        let wave = next_wave(&mut pending, 4, None, &mut budget);
        assert_eq!(wave, vec![(50, 10), (40, 10)]);
        // The budget is spent: no further wave, even after the first one is searched.
        assert!(next_wave(&mut pending, 4, None, &mut budget).is_empty());
        assert_eq!(settle(pending, None, &mut budget), 0);
        let cut = budget.cut(&tenant()).expect("cut");
        assert_eq!((cut.read_blocks, cut.read_bytes), (2, 20));
        assert_eq!((cut.skipped_blocks, cut.skipped_bytes), (3, 30));
    }

    #[test]
    fn waves_take_at_most_max_blocks_and_an_unlimited_budget_reads_all() {
        let mut pending = VecDeque::from(vec![(5, 1), (4, 1), (3, 1)]);
        let mut budget = ScanBudget::new(0);
        assert_eq!(next_wave(&mut pending, 2, None, &mut budget).len(), 2);
        assert_eq!(next_wave(&mut pending, 2, None, &mut budget).len(), 1);
        assert!(next_wave(&mut pending, 2, None, &mut budget).is_empty());
        assert_eq!(settle(pending, None, &mut budget), 0);
        assert_eq!(budget.cut(&tenant()), None);
    }

    #[test]
    fn blocks_pruned_by_the_limit_are_complete_not_skipped() {
        // The limit is reached with traces starting at 35: older blocks cannot matter.
        let mut pending = VecDeque::from(vec![(50, 10), (40, 10), (30, 10), (20, 10)]);
        let mut budget = ScanBudget::new(100);
        let wave = next_wave(&mut pending, 4, Some(35), &mut budget);
        assert_eq!(wave, vec![(50, 10), (40, 10)]);
        assert_eq!(settle(pending, Some(35), &mut budget), 2);
        assert_eq!(budget.cut(&tenant()), None);
    }

    #[test]
    fn refused_blocks_that_pruning_would_skip_do_not_make_the_answer_partial() {
        let mut pending = VecDeque::from(vec![(50, 10), (40, 10), (30, 10), (20, 10)]);
        let mut budget = ScanBudget::new(25);
        let wave = next_wave(&mut pending, 4, None, &mut budget);
        assert_eq!(wave.len(), 2);
        assert!(budget.is_spent());
        // After the wave the limit is reached with traces starting at 25: the refused (30, ..)
        // could still have changed the answer, (20, ..) could not.
        assert_eq!(settle(pending, Some(25), &mut budget), 1);
        let cut = budget.cut(&tenant()).expect("(30, 10) was needed");
        assert_eq!(cut.skipped_blocks, 1);
        let mut pending = VecDeque::from(vec![(30, 10), (20, 10)]);
        let mut budget = ScanBudget::new(5);
        assert!(next_wave(&mut pending, 4, None, &mut budget).is_empty());
        assert_eq!(settle(pending, Some(35), &mut budget), 2);
        assert_eq!(budget.cut(&tenant()), None);
    }
}
