//! The querier's block list after compaction: it reads the tenant index when fresh, lists the
//! bucket otherwise, and in both cases skips compacted blocks whose outputs it can see.

mod common;

use std::time::Duration;

use common::*;
use object_store::ObjectStoreExt;
use strata_block::{index_path, write_compacted, CompactedMarker};
use strata_common::{BlockId, TenantId};
use strata_querier::BlockList;
use strata_storage::BlockPaths;

#[tokio::test]
async fn querier_sees_outputs_not_compacted_inputs() {
    let store = store();
    let t = TenantId::single();
    let data = traces(0, 10, 3, BASE_SECS);
    let mut inputs = Vec::new();
    for _ in 0..3 {
        inputs.push(write_block(&store, &t, &data, 0).await);
    }
    let clock = clock_at(BASE_SECS + 3 * 3600);
    let rep = simple(&store, clock.clone()).run_cycle().await.unwrap();
    let out = rep.jobs[0].2;

    // Fresh index: only the output.
    let bl = BlockList::new(store.clone()).with_clock(clock.clone());
    assert_eq!(bl.poll().await.unwrap(), 1);
    let ids: Vec<BlockId> = bl
        .all(&t)
        .iter()
        .map(|e| e.reader.meta().block_id)
        .collect();
    assert_eq!(ids, vec![out]);
    assert_eq!(bl.candidates(&t, &trace_id(3), None).len(), 1);

    // Stale index: a listing, with the same answer.
    clock.advance(Duration::from_secs(3600));
    let stale = BlockList::new(store.clone()).with_clock(clock.clone());
    assert_eq!(stale.poll().await.unwrap(), 1);
    // No index at all: the same.
    store.delete(&index_path(&t)).await.unwrap();
    let listed = BlockList::new(store.clone()).with_clock(clock.clone());
    assert_eq!(listed.poll().await.unwrap(), 1);
    assert_eq!(listed.all(&t)[0].reader.meta().block_id, out);

    // A block marked as replaced by a block that is not visible stays visible.
    let lone = write_block(&store, &t, &traces(50, 2, 2, BASE_SECS), 0).await;
    let marker = CompactedMarker::new(lone.block_id, 0, vec![BlockId::new_random()]);
    write_compacted(
        store.as_ref(),
        &BlockPaths::new(t.clone(), lone.block_id),
        &marker,
    )
    .await
    .unwrap();
    assert_eq!(listed.poll().await.unwrap(), 2);
}

/// A compaction's output listed before its inputs' markers are written: the output's
/// `compactedFrom` already hides the inputs, so nothing is read twice in between.
#[tokio::test]
async fn inputs_named_by_a_listed_output_are_hidden_before_their_markers() {
    let store = store();
    let t = TenantId::single();
    let data = traces(0, 10, 3, BASE_SECS);
    let a = write_block(&store, &t, &data, 0).await;
    let b = write_block(&store, &t, &data, 0).await;
    let other = write_block(&store, &t, &traces(20, 2, 2, BASE_SECS), 0).await;
    let clock = clock_at(BASE_SECS);
    let listed = BlockList::new(store.clone()).with_clock(clock.clone());
    assert_eq!(listed.poll().await.unwrap(), 3);
    // The output as a compactor writes it, its markers not yet written.
    let mut w = strata_block::BlockWriter::new(
        store.clone(),
        t.clone(),
        BlockId::new_random(),
        strata_block::WriterOptions::default(),
        clock.clone(),
    )
    .unwrap()
    .with_compaction_level(1)
    .with_compacted_from(vec![a.block_id, b.block_id]);
    for (n, spans) in &data {
        w.add_trace(trace_id(*n), &share(spans.clone()))
            .await
            .unwrap();
    }
    let out = w.finish().await.unwrap();
    assert_eq!(listed.poll().await.unwrap(), 2);
    let mut ids: Vec<BlockId> = listed
        .all(&t)
        .iter()
        .map(|e| e.reader.meta().block_id)
        .collect();
    ids.sort();
    let mut want = vec![out.block_id, other.block_id];
    want.sort();
    assert_eq!(ids, want);
}

/// Fixture set v3's bucket (`crates/strata-testkit/fixtures/v3`): block `…b1` names `…b0` in
/// `compactedFrom` and `…b0` has no marker; the querier lists only `…b1`.
#[tokio::test]
async fn the_v3_fixture_bucket_lists_only_the_compaction_output() {
    let store: strata_storage::SharedStore = std::sync::Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(
            strata_testkit::fixtures::v3::bucket(),
        )
        .expect("fixture bucket"),
    );
    let listed = BlockList::new(store).with_clock(clock_at(BASE_SECS));
    assert_eq!(listed.poll().await.unwrap(), 1);
    let ids: Vec<BlockId> = listed
        .all(&TenantId::single())
        .iter()
        .map(|e| e.reader.meta().block_id)
        .collect();
    assert_eq!(ids, vec![strata_testkit::fixtures::v3::block_b1()]);
}

/// A querier's first poll over many blocks on a store with a round-trip latency reads their
/// `meta.json` and `bloom` objects many at a time, not one block after another.
#[tokio::test]
async fn new_blocks_load_concurrently() {
    let inner = store();
    let t = TenantId::single();
    for n in 0..40 {
        write_block(&inner, &t, &traces(n * 10, 2, 2, BASE_SECS), 0).await;
    }
    let slow =
        strata_storage::InstrumentedStore::new(inner, strata_storage::StoreMetrics::unregistered())
            .with_latency(Duration::from_millis(20));
    let listed = BlockList::new(std::sync::Arc::new(slow.clone())).with_clock(clock_at(BASE_SECS));
    assert_eq!(listed.poll().await.unwrap(), 40);
    assert!(
        slow.peak_in_flight() >= 8,
        "at most {} requests were under way at once",
        slow.peak_in_flight()
    );
}
