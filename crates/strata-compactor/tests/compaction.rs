//! Compaction, retention and ownership over an in-memory store with a manual clock.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use strata_block::{list_block_dirs, read_compacted, read_index, read_meta};
use strata_common::TenantId;
use strata_compactor::{job_key, NoOverrides, Ownership};
use strata_ring::Ring;
use strata_storage::{list_blocks, BlockPaths};

#[tokio::test]
async fn replicated_copies_merge_to_one_copy_of_each_span() {
    let store = store();
    let t = TenantId::single();
    // Three replicas of the same 20 traces, plus a block with part of the same traces and
    // some new ones (a later share written by another ingester).
    let base = traces(0, 20, 5, BASE_SECS);
    let mut inputs = Vec::new();
    for _ in 0..3 {
        inputs.push(write_block(&store, &t, &base, 0).await);
    }
    let mut extra = traces(10, 20, 5, BASE_SECS);
    for spans in extra.values_mut() {
        spans.push(span(999, spans.len() as u32 + 100, BASE_SECS * SEC));
        let t0 = spans[0].trace_id.clone();
        spans.last_mut().unwrap().trace_id = t0;
    }
    inputs.push(write_block(&store, &t, &extra, 0).await);

    // Two windows later: the inputs' window is closed.
    let clock = clock_at(BASE_SECS + 2 * 3600);
    let c = simple(&store, clock.clone());
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.jobs.len(), 1, "{rep:?}");
    assert_eq!(rep.blocks_compacted, 4);
    let out_id = rep.jobs[0].2;
    let out = read_meta(store.as_ref(), &t, out_id).await.unwrap();
    assert_eq!(out.compaction_level, 1);
    assert_eq!(
        out.start_time_unix_nano,
        inputs.iter().map(|m| m.start_time_unix_nano).min().unwrap()
    );
    assert_eq!(
        out.end_time_unix_nano,
        inputs.iter().map(|m| m.end_time_unix_nano).max().unwrap()
    );

    // Exactly the union of the inputs' spans, once each.
    let mut want = BTreeSet::new();
    for m in &inputs {
        want.extend(spans_of(&store, m).await);
    }
    let got = spans_of(&store, &out).await;
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), got_set.len(), "duplicate spans in the output");
    assert_eq!(got_set, want);
    assert_eq!(out.total_spans as usize, want.len());
    assert_eq!(out.total_traces, 30);

    // Inputs are marked, the index lists the output as live and the inputs as compacted.
    for m in &inputs {
        let paths = BlockPaths::new(t.clone(), m.block_id);
        let marker = read_compacted(store.as_ref(), &paths)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(marker.replaced_by, vec![out_id]);
    }
    let index = read_index(store.as_ref(), &t).await.unwrap().unwrap();
    assert_eq!(index.blocks.len(), 1);
    assert_eq!(index.blocks[0].block_id, out_id);
    assert_eq!(index.compacted.len(), 4);

    // Within the grace period nothing is deleted; after it the inputs go.
    clock.advance(Duration::from_secs(1800));
    let rep = c.run_cycle().await.unwrap();
    assert!(
        rep.deleted_compacted.is_empty() && rep.jobs.is_empty(),
        "{rep:?}"
    );
    clock.advance(Duration::from_secs(1801));
    let rep = c.run_cycle().await.unwrap();
    let deleted: BTreeSet<_> = rep.deleted_compacted.iter().copied().collect();
    let input_ids: BTreeSet<_> = inputs.iter().map(|m| m.block_id).collect();
    assert_eq!(deleted, input_ids);
    assert_eq!(list_blocks(store.as_ref(), &t).await.unwrap(), vec![out_id]);
    let dirs = list_block_dirs(store.as_ref(), &t).await.unwrap();
    assert_eq!(dirs.len(), 1, "input objects left behind: {dirs:?}");
}

/// Replica copies (rows with the `replica` flag, which TraceQL metrics skip) merge with counted
/// copies into one counted copy; spans no input counted stay replica copies; the output names
/// its inputs in `compactedFrom`.
#[tokio::test]
async fn a_span_stays_counted_once_through_compaction() {
    let store = store();
    let t = TenantId::single();
    // The counted copies of traces 0..10; replica copies of traces 0..20 on two more
    // ingesters (the counted copies of 10..20 are in a block of a later compaction).
    let counted = write_copies(&store, &t, &traces(0, 10, 4, BASE_SECS), 0, false).await;
    let mut inputs = vec![counted];
    for _ in 0..2 {
        inputs.push(write_copies(&store, &t, &traces(0, 20, 4, BASE_SECS), 0, true).await);
    }
    let clock = clock_at(BASE_SECS + 2 * 3600);
    let rep = simple(&store, clock).run_cycle().await.unwrap();
    assert_eq!(rep.jobs.len(), 1, "{rep:?}");
    let out = read_meta(store.as_ref(), &t, rep.jobs[0].2).await.unwrap();
    let mut from = out.compacted_from.clone();
    from.sort();
    let mut want: Vec<_> = inputs.iter().map(|m| m.block_id).collect();
    want.sort();
    assert_eq!(from, want);

    let reader = strata_block::BlockReader::new(store.clone(), out.clone());
    let mut stream = reader.trace_stream(0).await.unwrap();
    let (mut counted, mut replica) = (0, 0);
    let n = |rs: &[strata_proto::otlp::trace::ResourceSpans]| -> usize {
        rs.iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    };
    while let Some(tr) = stream.next_trace().await.unwrap() {
        let num = (0..20).find(|i| trace_id(*i) == tr.trace_id).unwrap();
        let (c, r) = (n(&tr.resource_spans), n(&tr.replica_resource_spans));
        if num < 10 {
            assert_eq!(
                (c, r),
                (4, 0),
                "trace {num}: counted somewhere, so counted here"
            );
        } else {
            assert_eq!(
                (c, r),
                (0, 4),
                "trace {num}: only replica copies were merged"
            );
        }
        counted += c;
        replica += r;
    }
    assert_eq!((counted, replica), (40, 40));
    assert_eq!(out.total_spans, 80);
}

#[tokio::test]
async fn open_window_waits_for_a_full_job() {
    let store = store();
    let t = TenantId::single();
    let now = BASE_SECS + 600;
    for i in 0..3 {
        write_block(&store, &t, &traces(i * 10, 5, 2, BASE_SECS), 0).await;
    }
    let mut s = settings();
    s.max_compaction_objects = 4;
    s.compaction_window = Duration::from_secs(24 * 3600);
    let c = compactor(
        &store,
        s,
        clock_at(now),
        Arc::new(strata_compactor::OwnAll),
        Arc::new(NoOverrides),
    );
    assert!(c.run_cycle().await.unwrap().jobs.is_empty());
    write_block(&store, &t, &traces(100, 5, 2, BASE_SECS), 0).await;
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.jobs.len(), 1);
    assert_eq!(rep.blocks_compacted, 4);
}

/// Blocks one per window (so nothing is compacted), `ages` hours old.
async fn blocks_aged(
    store: &strata_storage::SharedStore,
    t: &TenantId,
    now: u64,
    ages_h: &[u64],
) -> Vec<strata_common::BlockId> {
    let mut ids = Vec::new();
    for (i, h) in ages_h.iter().enumerate() {
        let start = now - h * 3600 - 60;
        let m = write_block(store, t, &traces(i as u32 * 10, 3, 2, start), 0).await;
        ids.push(m.block_id);
    }
    ids
}

#[tokio::test]
async fn retention_deletes_exactly_the_old_blocks() {
    let store = store();
    let t = TenantId::single();
    let now = BASE_SECS + 100 * 3600;
    let ids = blocks_aged(&store, &t, now, &[1, 5, 9, 30, 50]).await;
    let mut s = settings();
    s.block_retention = Duration::from_secs(10 * 3600);
    let c = compactor(
        &store,
        s,
        clock_at(now),
        Arc::new(strata_compactor::OwnAll),
        Arc::new(NoOverrides),
    );
    let rep = c.run_cycle().await.unwrap();
    let deleted: BTreeSet<_> = rep.deleted_retention.iter().copied().collect();
    assert_eq!(deleted, ids[3..].iter().copied().collect());
    let left: BTreeSet<_> = list_blocks(store.as_ref(), &t)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(left, ids[..3].iter().copied().collect());
    assert_eq!(list_block_dirs(store.as_ref(), &t).await.unwrap().len(), 3);
    let index = read_index(store.as_ref(), &t).await.unwrap().unwrap();
    assert_eq!(index.blocks.len(), 3);
}

#[tokio::test]
async fn per_tenant_retention_override() {
    let store = store();
    let short = TenantId::new("short").unwrap();
    let long = TenantId::new("long").unwrap();
    let now = BASE_SECS + 100 * 3600;
    let s_ids = blocks_aged(&store, &short, now, &[1, 20]).await;
    let l_ids = blocks_aged(&store, &long, now, &[1, 20]).await;
    let mut s = settings();
    s.block_retention = Duration::from_secs(48 * 3600);
    let overrides: HashMap<TenantId, Duration> =
        [(short.clone(), Duration::from_secs(10 * 3600))].into();
    let c = compactor(
        &store,
        s,
        clock_at(now),
        Arc::new(strata_compactor::OwnAll),
        Arc::new(overrides),
    );
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.deleted_retention, vec![s_ids[1]]);
    assert_eq!(
        list_blocks(store.as_ref(), &short).await.unwrap(),
        vec![s_ids[0]]
    );
    let left: BTreeSet<_> = list_blocks(store.as_ref(), &long)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(left, l_ids.into_iter().collect());
}

#[tokio::test]
async fn orphans_are_deleted_after_their_age() {
    use object_store::{ObjectStoreExt, PutPayload};
    let store = store();
    let t = TenantId::single();
    let kept = write_block(&store, &t, &traces(0, 3, 2, BASE_SECS), 0).await;
    let orphan = BlockPaths::new(t.clone(), strata_common::BlockId::new_random());
    store
        .put(&orphan.data(), PutPayload::from_static(b"partial"))
        .await
        .unwrap();
    // The store stamps objects with the wall clock: judge them from a day after it.
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut s = settings();
    s.block_retention = Duration::from_secs(10 * 365 * 24 * 3600);
    let clock = clock_at(wall + 600);
    let c = compactor(
        &store,
        s,
        clock.clone(),
        Arc::new(strata_compactor::OwnAll),
        Arc::new(NoOverrides),
    );
    assert!(c.run_cycle().await.unwrap().deleted_orphans.is_empty());
    clock.advance(Duration::from_secs(24 * 3600));
    let rep = c.run_cycle().await.unwrap();
    assert_eq!(rep.deleted_orphans, vec![orphan.block]);
    assert_eq!(
        list_blocks(store.as_ref(), &t).await.unwrap(),
        vec![kept.block_id]
    );
    assert_eq!(list_block_dirs(store.as_ref(), &t).await.unwrap().len(), 1);
}

/// Ownership by a fixed two-member ring (membership and health are the ring crate's business).
struct FixedRing {
    ring: Ring,
    me: String,
}

impl Ownership for FixedRing {
    fn owns(&self, key: u64) -> bool {
        self.ring.owner(key) == Some(self.me.as_str())
    }
}

#[tokio::test]
async fn two_compactors_split_jobs_without_overlap() {
    let store = store();
    let t = TenantId::single();
    let windows = 12u64;
    for w in 0..windows {
        for i in 0..2 {
            let start = BASE_SECS + w * 3600 + 60;
            write_block(&store, &t, &traces((w * 10 + i) as u32, 2, 2, start), 0).await;
        }
    }
    let now = BASE_SECS + (windows + 2) * 3600;
    let members = [
        "compactor-a:3200".to_string(),
        "compactor-b:3200".to_string(),
    ];
    let mk = |me: &str| {
        let own = Arc::new(FixedRing {
            ring: Ring::new(members.clone(), 128),
            me: me.to_string(),
        });
        compactor(
            &store,
            settings(),
            clock_at(now),
            own,
            Arc::new(NoOverrides),
        )
    };
    let (a, b) = (mk(&members[0]), mk(&members[1]));
    let (ra, rb) = tokio::join!(a.run_cycle(), b.run_cycle());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let wa: BTreeSet<u64> = ra.jobs.iter().map(|j| j.1).collect();
    let wb: BTreeSet<u64> = rb.jobs.iter().map(|j| j.1).collect();
    assert_eq!(wa.len(), ra.jobs.len());
    assert_eq!(wb.len(), rb.jobs.len());
    assert!(wa.is_disjoint(&wb), "a={wa:?} b={wb:?}");
    assert_eq!(wa.len() + wb.len(), windows as usize);
    assert!(
        !wa.is_empty() && !wb.is_empty(),
        "one member did everything"
    );
    for w in &wa {
        assert!(FixedRing {
            ring: Ring::new(members.clone(), 128),
            me: members[0].clone()
        }
        .owns(job_key(&t, *w)));
    }
    // Exactly one index writer (the tenant's owner).
    assert_eq!(ra.indexes_written + rb.indexes_written, 1);
    // Every window now has one live block (the output) and the inputs are marked.
    let live: Vec<_> = list_block_dirs(store.as_ref(), &t)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.has_meta && !d.has_compacted)
        .collect();
    assert_eq!(live.len(), windows as usize);
}
