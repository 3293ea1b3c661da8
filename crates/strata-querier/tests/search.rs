//! The querier's search over blocks, split into jobs and run in parallel, against one
//! sequential search of every block: over many generated blocks (traces longer than a row
//! group, traces shared by two blocks, overlapping time ranges), every job size and
//! concurrency answers exactly the sequential answer, and a search with a small `limit`
//! stops early (fewer jobs run than planned, every job completed) with the newest traces.

mod blocks;

use blocks::*;
use object_store::memory::InMemory;
use object_store::ObjectStore;
use std::sync::Arc;
use strata_common::TenantId;

/// (target bytes per job, concurrent jobs): one job per block in turn, and row-group jobs
/// with several concurrencies.
fn setups(block_bytes: u64) -> Vec<(u64, usize)> {
    vec![
        (0, 1),
        (block_bytes / 4, 1),
        (block_bytes / 4, 3),
        (1, 0),
        (block_bytes / 2, 8),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_in_parallel_answer_like_one_sequential_search() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("shared").unwrap();
    write(&store, &tenant, &mut Rng(3), true).await;
    let reference = querier(&store, 0, 1);
    assert_eq!(reference.blocks().poll().await.unwrap(), BLOCKS as usize);
    let block_bytes = reference.blocks().all(&tenant)[0].reader.meta().size_bytes;
    let mid = 1_700_000_000 + 600;
    for (target, concurrent) in setups(block_bytes) {
        let q = querier(&store, target, concurrent);
        q.blocks().poll().await.unwrap();
        for query in QUERIES {
            for range in [None, Some((mid, mid + 200))] {
                let req = request(query, 100_000, range);
                let want = sequential(&reference, &tenant, &req).await;
                assert!(!want.is_empty(), "{query} {range:?} matches");
                let (got, cut) = q.search(&tenant, &req).await.unwrap();
                assert!(cut.is_none());
                let m = got.metrics.unwrap_or_default();
                same(
                    &got.traces,
                    &want,
                    &format!("{query} {range:?}, target {target}, {concurrent} at once"),
                );
                assert_eq!(m.completed_jobs, m.total_jobs);
            }
        }
        let jobs = q.metrics().search_jobs.get();
        if target > 0 && target < block_bytes {
            // Big blocks were split: more jobs than blocks (4 searches of every block, 4 of a
            // few).
            assert!(
                jobs > 4 * BLOCKS + 8,
                "{jobs} jobs for 4 searches of {BLOCKS} blocks and 4 of some"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_search_stops_early_with_the_newest_traces() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("limited").unwrap();
    write(&store, &tenant, &mut Rng(11), false).await;
    let reference = querier(&store, 0, 1);
    reference.blocks().poll().await.unwrap();
    let block_bytes = reference.blocks().all(&tenant)[0].reader.meta().size_bytes;
    for (target, concurrent) in setups(block_bytes) {
        let q = querier(&store, target, concurrent);
        q.blocks().poll().await.unwrap();
        for query in &QUERIES[..3] {
            for limit in [1, 5, 20] {
                let req = request(query, limit, None);
                let want = sequential(&reference, &tenant, &req).await;
                assert_eq!(want.len(), limit as usize, "{query}");
                let before = q.metrics().search_jobs.get();
                let (got, _) = q.search(&tenant, &req).await.unwrap();
                let ran = q.metrics().search_jobs.get() - before;
                let m = got.metrics.unwrap_or_default();
                let label = format!("{query} limit {limit}, target {target}, {concurrent} at once");
                same(&got.traces, &want, &label);
                assert_eq!(
                    m.completed_jobs, m.total_jobs,
                    "{label}: the answer is whole"
                );
                // The ingester's job is not run by the block executor.
                assert!(
                    ran < u64::from(m.total_jobs) - 1,
                    "{label}: ran {ran} of {} block jobs",
                    m.total_jobs - 1
                );
                if target == 0 {
                    assert!(ran < BLOCKS / 4, "{label}: ran {ran} of {BLOCKS} blocks");
                }
            }
        }
    }
}
