//! Which jobs concatenate (format v5) and which merge, and that a concatenation's output is
//! merged by the next level like any other block.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use strata_block::{read_meta, BlockMeta, BlockReader, FORMAT_V4, FORMAT_V5};
use strata_common::TenantId;
use strata_compactor::{Compactor, CompactorMetrics, CompactorSettings, NoOverrides, OwnAll};
use strata_storage::SharedStore;

fn open_window(objects: usize, runs: usize) -> CompactorSettings {
    let mut s = settings();
    s.max_compaction_objects = objects;
    s.max_block_runs = runs;
    s.compaction_window = Duration::from_secs(24 * 3600);
    s
}

fn with_metrics(store: &SharedStore, s: CompactorSettings) -> (Compactor, CompactorMetrics) {
    let metrics = CompactorMetrics::unregistered();
    let c = Compactor::new(
        store.clone(),
        s,
        Arc::new(OwnAll),
        Arc::new(NoOverrides),
        clock_at(BASE_SECS + 600),
        metrics.clone(),
    );
    (c, metrics)
}

async fn outputs(
    store: &SharedStore,
    t: &TenantId,
    rep: &strata_compactor::CycleReport,
) -> Vec<BlockMeta> {
    let mut out = Vec::new();
    for (_, _, id) in &rep.jobs {
        out.push(read_meta(store.as_ref(), t, *id).await.unwrap());
    }
    out
}

#[tokio::test]
async fn blocks_sharing_few_traces_are_concatenated_then_merged() {
    let store = store();
    let t = TenantId::single();
    // Four v4 blocks of ten traces each, block i holding traces i, i + 4, i + 8, … (so two
    // blocks' IDs interleave), start times 0–3 s apart (so the plan pairs them in this
    // order); trace 4 also has a span in the second block (a trace that straddled a cut),
    // trace 5 one in the third (in the other pair).
    let mut inputs = Vec::new();
    for i in 0..4u32 {
        let start = BASE_SECS + u64::from(i);
        let mut tr: std::collections::BTreeMap<u32, Vec<_>> = (0..10)
            .map(|k| {
                let id = i + 4 * k;
                (id, (0..2).map(|s| span(id, s, start * SEC)).collect())
            })
            .collect();
        if i == 1 {
            tr.insert(4, vec![span(4, 50, start * SEC)]);
        }
        if i == 2 {
            tr.insert(5, vec![span(5, 51, start * SEC)]);
        }
        inputs.push(write_format(&store, &t, &tr, 0, false, FORMAT_V4).await);
    }
    let mut want = BTreeSet::new();
    for m in &inputs {
        want.extend(spans_of(&store, m).await);
    }

    let (c, metrics) = with_metrics(&store, open_window(2, 2));
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.jobs.len(), 2, "{rep:?}");
    let level1 = outputs(&store, &t, &rep).await;
    for m in &level1 {
        assert_eq!((m.format.as_str(), m.compaction_level), (FORMAT_V5, 1));
        let r = BlockReader::new(store.clone(), m.clone());
        assert_eq!(r.sorted_runs().await.unwrap(), 2);
    }
    // Traces 0, 1, 4, 5, … (4 in both blocks), and 2, 3, 6, 7, … with 5.
    let mut l1: Vec<_> = level1
        .iter()
        .map(|m| (m.total_traces, m.total_spans))
        .collect();
    l1.sort();
    assert_eq!(l1, vec![(20, 41), (21, 41)]);
    assert_eq!(metrics.jobs_concatenated.get(), 2);
    assert_eq!(metrics.spans_concatenated.get(), 82);

    // Level 1 holds four runs between its two blocks, more than allowed: they are merged into
    // one sorted block, each span once, trace 5's two parts (in two blocks) and trace 4's
    // (in two runs of one block) one trace each.
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.jobs.len(), 1, "{rep:?}");
    let level2 = &outputs(&store, &t, &rep).await[0];
    assert_eq!(
        (level2.format.as_str(), level2.compaction_level),
        (FORMAT_V4, 2)
    );
    assert_eq!(level2.total_traces, 40);
    assert_eq!(metrics.jobs_concatenated.get(), 2);
    let got = spans_of(&store, level2).await;
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), got_set.len(), "duplicate spans in the output");
    assert_eq!(got_set, want);
}

#[tokio::test]
async fn replicated_blocks_are_merged_not_concatenated() {
    let store = store();
    let t = TenantId::single();
    // Three ingesters' copies of the same traces.
    let base = traces(0, 20, 3, BASE_SECS);
    for i in 0..3 {
        write_format(&store, &t, &base, 0, i > 0, FORMAT_V4).await;
    }
    let (c, metrics) = with_metrics(&store, open_window(3, 8));
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.jobs.len(), 1, "{rep:?}");
    let out = &outputs(&store, &t, &rep).await[0];
    assert_eq!(out.format, FORMAT_V4);
    assert_eq!((out.total_traces, out.total_spans), (20, 60));
    assert_eq!(metrics.jobs_concatenated.get(), 0);
    assert_eq!(metrics.duplicate_spans_removed.get(), 120);
}

#[tokio::test]
async fn max_block_runs_1_always_merges() {
    let store = store();
    let t = TenantId::single();
    for i in 0..2u32 {
        write_format(
            &store,
            &t,
            &traces(i * 10, 10, 2, BASE_SECS),
            0,
            false,
            FORMAT_V4,
        )
        .await;
    }
    let (c, metrics) = with_metrics(&store, open_window(2, 1));
    let rep = c.run_cycle().await.unwrap();
    let out = &outputs(&store, &t, &rep).await[0];
    assert_eq!((out.format.as_str(), out.total_spans), (FORMAT_V4, 40));
    assert_eq!(metrics.jobs_concatenated.get(), 0);
}
