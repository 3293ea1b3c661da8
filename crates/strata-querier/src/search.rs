//! Search over recent data (the ingester) and blocks.
//!
//! Blocks overlapping the requested range are searched newest first (by end time) as jobs
//! ([`crate::search_jobs`]: a small block is one job, a big one is split into ranges of row
//! groups). Up to `querier.search.concurrent_jobs` jobs run at once (default: one per core),
//! each on the runtime's worker threads; a new job starts whenever one finishes.
//!
//! Once `limit` traces are held, a job whose block ends before the start of the `limit`-th
//! newest trace cannot change the answer: it and all jobs of older blocks are not started,
//! and running ones are abandoned (*pruned*: counted as completed jobs, the answer is whole).
//!
//! The tenant's scan budget (`read.max_block_bytes_per_query`, [`ScanBudget`]) is charged
//! each block's size when the search reaches the block (all its jobs at once); the first
//! block it refuses ends the search once the running jobs are done. Refused blocks that
//! pruning would not have skipped anyway make the answer partial: they are the only jobs
//! left uncompleted (`completedJobs < totalJobs`), and the [`Cut`] returned with the answer
//! names them.
//!
//! **Peers** (`querier.search.peers`, [`crate::peers`]): with peers, a job that finds every
//! local slot taken goes to a peer with fewer than `jobs_per_peer` of this search's jobs in
//! flight (and not down), in the same newest-first order; the peer returns what the job
//! found, merged here like a local job's. A job a peer does not answer (unreachable, too
//! slow, refused, a bad answer) runs here, in the slot the peer held: the answer is always
//! the one a single querier gives. The early exit abandons remote jobs like local ones
//! (their request is dropped), and the scan budget is charged here, when the search reaches
//! a block, wherever its jobs then run.
//!
//! Jobs: `totalJobs` counts the ingesters' search as one job, each block reached as its jobs
//! and each block not reached as one.
//!
//! Without `start`/`end` everything is searched (Tempo 3 would default to the last 15
//! minutes; the early exit keeps an unbounded search cheap when recent data suffices).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use strata_common::TenantId;
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_proto::tempopb;
use tracing::Instrument;

use crate::blocklist::BlockEntry;
use crate::budget::{Cut, ScanBudget};
use crate::peers::Forward;
use crate::search_jobs::{plan_block, Job};
use crate::search_remote::{run_local, run_remote, wire_job, PeerSlots};
use crate::{Querier, QueryError};

/// What a block is to the planning: when its data ends and what reading it costs.
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

/// Where a job runs: here, or on the peer of that index in [`PeerSlots`].
#[derive(Debug, Clone, Copy)]
enum Slot {
    Local,
    Peer(usize),
}

/// Running jobs by number: their block's end, a handle to abandon them and their slot;
/// dropped (the search is done, failed or was itself dropped), it abandons those still
/// running.
#[derive(Default)]
struct Running(HashMap<usize, (u64, tokio::task::AbortHandle, Slot)>);

impl Drop for Running {
    fn drop(&mut self) {
        for (_, handle, _) in self.0.values() {
            handle.abort();
        }
    }
}

/// The jobs of one search on this querier, newest first (see the module docs).
struct Jobs {
    /// Blocks not reached yet.
    pending: VecDeque<Arc<BlockEntry>>,
    /// Jobs of reached blocks, not started yet.
    ready: VecDeque<Job>,
    /// No block will be reached any more (pruned or refused).
    closed: bool,
    target: u64,
}

impl Jobs {
    /// The next job to start, if one may start with `cutoff`; reaching a block charges
    /// `budget` and adds its jobs beyond the first to `acc`'s total.
    async fn next(
        &mut self,
        cutoff: Option<u64>,
        budget: &mut ScanBudget,
        acc: &mut SearchAccumulator,
    ) -> Option<Job> {
        if self.ready.is_empty() && !self.closed {
            match next_wave(&mut self.pending, 1, cutoff, budget).pop() {
                Some(b) => {
                    let jobs = plan_block(b, self.target).await;
                    acc.metrics.total_jobs += jobs.len().saturating_sub(1) as u32;
                    self.ready.extend(jobs);
                }
                None => self.closed = true,
            }
        }
        let job = self.ready.front()?;
        if cutoff.is_some_and(|c| job.end() < c) {
            return None;
        }
        self.ready.pop_front()
    }
}

impl Querier {
    /// Searches recent data and the tenant's blocks; the answer, and the cut when the tenant's
    /// scan budget left blocks unsearched.
    pub async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<(tempopb::SearchResponse, Option<Cut>), QueryError> {
        self.search_shared(tenant, req, &Forward::default()).await
    }

    /// [`Querier::search`], sharing jobs with the peers (if any) with the caller's
    /// credentials `forward`.
    pub async fn search_shared(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
        forward: &Forward,
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
        let mut jobs = Jobs {
            pending: VecDeque::from(blocks),
            ready: VecDeque::new(),
            closed: false,
            target: self.settings.search.target_bytes_per_job,
        };
        let concurrency = search_concurrency(&self.settings.search);
        let job = Arc::new(job);
        let mut running = FuturesUnordered::new();
        let mut handles = Running::default();
        let mut started_jobs = 0usize;
        let mut local = 0usize;
        let mut peer_slots = self.peers().cloned().map(PeerSlots::new);
        loop {
            loop {
                let slot = if local < concurrency {
                    Slot::Local
                } else if let Some(i) = peer_slots.as_ref().and_then(PeerSlots::free) {
                    Slot::Peer(i)
                } else {
                    break;
                };
                let cutoff = acc.cutoff(job.limit());
                let Some(next) = jobs.next(cutoff, &mut budget, &mut acc).await else {
                    break;
                };
                let block_id = next.block.reader.meta().block_id;
                let end = next.end();
                let task = match (slot, peer_slots.as_mut()) {
                    (Slot::Peer(i), Some(ps)) => {
                        ps.in_flight[i] += 1;
                        let span = tracing::info_span!(
                            "block.search.peer",
                            %block_id,
                            row_groups = ?next.groups,
                            peer = %ps.addrs[i],
                        );
                        let remote = run_remote(
                            next.clone(),
                            job.clone(),
                            wire_job(req, &next),
                            ps.peers.clone(),
                            ps.addrs[i].clone(),
                            forward.clone(),
                            self.metrics.peer_jobs.clone(),
                        );
                        tokio::spawn(remote.instrument(span))
                    }
                    _ => {
                        local += 1;
                        let span = tracing::info_span!(
                            "block.search",
                            %block_id,
                            row_groups = ?next.groups,
                        );
                        tokio::spawn(run_local(next, job.clone()).instrument(span))
                    }
                };
                let id = started_jobs;
                started_jobs += 1;
                handles.0.insert(id, (end, task.abort_handle(), slot));
                running.push(async move { (id, task.await) });
            }
            let Some((id, result)) = running.next().await else {
                break;
            };
            match handles.0.remove(&id).map(|(_, _, slot)| slot) {
                Some(Slot::Peer(i)) => {
                    if let Some(ps) = peer_slots.as_mut() {
                        ps.in_flight[i] -= 1;
                    }
                }
                Some(Slot::Local) => local -= 1,
                None => {}
            }
            acc.metrics.completed_jobs += 1;
            match result {
                Ok(part) => {
                    let (part, ran_here) =
                        part.map_err(|e| QueryError::Internal(format!("searching a block: {e}")))?;
                    if ran_here {
                        self.metrics.search_jobs.inc();
                    }
                    acc.add_response(part);
                }
                Err(e) if e.is_cancelled() => {}
                Err(e) => return Err(QueryError::Internal(format!("search task: {e}"))),
            }
            // Running jobs of blocks ending before the cutoff cannot change the answer.
            if let Some(c) = acc.cutoff(job.limit()) {
                for (end, handle, _) in handles.0.values() {
                    if *end < c {
                        handle.abort();
                    }
                }
            }
        }
        let cutoff = acc.cutoff(job.limit());
        acc.metrics.completed_jobs += jobs.ready.len() as u32;
        acc.metrics.completed_jobs += settle(jobs.pending, cutoff, &mut budget);
        let cut = self.report_cut(tenant, &budget, "search");
        self.metrics
            .search_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok((acc.finish(job.limit()), cut))
    }
}

/// Jobs run at once (`querier.search.concurrent_jobs`; 0: the cores this process may use).
pub(crate) fn search_concurrency(cfg: &strata_config::QuerierSearchConfig) -> usize {
    match cfg.concurrent_jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
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
