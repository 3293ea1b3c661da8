//! Trace-by-ID pruning against brute force, on generated blocks: for IDs present (including
//! traces cut across row groups) and absent (below, between and above the stored ones), the
//! bloom filter never rules a present ID out, and `find_trace` answers exactly what reading
//! the whole block answers — whether row groups are read whole (small ones, the default) or
//! through the `trace_id` row filter, and whether the footer is at hand or the whole small file
//! is fetched first.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use strata_block::{BlockReader, FooterCache};
use strata_common::TraceId;
use strata_proto::otlp::trace::ResourceSpans;

/// Traces with 1–12 spans each, random IDs in order.
fn generate(rng: &mut SmallRng, traces: usize) -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let mut ids: Vec<TraceId> = (0..traces).map(|_| TraceId(rng.random())).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let n = rng.random_range(1..=12u64);
            let spans = (0..n)
                .map(|i| simple_span(id, i, 1_000 + rng.random_range(0..1_000_000)))
                .collect();
            (id, vec![batch(&format!("svc-{}", n % 3), spans)])
        })
        .collect()
}

#[tokio::test]
async fn find_trace_matches_brute_force_both_ways() {
    let store = store();
    let mut rng = SmallRng::seed_from_u64(15);
    for (block, row_group) in [(0, 7), (1, 50), (2, 1_000)] {
        let traces = generate(&mut rng, 60 + block * 40);
        let meta = write_block(&store, &traces, row_group).await;
        let whole = BlockReader::new(store.clone(), meta.clone());
        let filtered = BlockReader::new(store.clone(), meta.clone()).with_whole_read_bytes(0);
        // A cache that keeps nothing: every lookup fetches the whole (small) file first.
        let uncached = BlockReader::new(store.clone(), meta.clone())
            .with_footer_cache(Arc::new(FooterCache::new(0)));
        let everything: BTreeMap<TraceId, Vec<ResourceSpans>> =
            whole.read_all().await.unwrap().into_iter().collect();
        assert_eq!(everything.len(), traces.len());
        let mut ids: Vec<TraceId> = traces.iter().map(|(id, _)| *id).collect();
        // Absent: random, the smallest and largest IDs, and each stored ID ± 1 in its last byte.
        ids.extend((0..40).map(|_| TraceId(rng.random())));
        ids.extend([TraceId([0; 16]), TraceId([0xff; 16])]);
        for (id, _) in &traces {
            for d in [1u8, 255] {
                let mut b = id.0;
                b[15] = b[15].wrapping_add(d);
                ids.push(TraceId(b));
            }
        }
        for id in ids {
            let want = everything.get(&id).cloned().map(normalise);
            if want.is_some() {
                assert!(whole.may_contain(&id).await.unwrap(), "bloom lost {id}");
            }
            for (how, r) in [
                ("whole", &whole),
                ("row filter", &filtered),
                ("whole file", &uncached),
            ] {
                let got = r.find_trace(&id).await.unwrap();
                assert_eq!(
                    got.as_ref().map(|f| f.spans),
                    want.as_ref()
                        .map(|_| everything[&id][0].scope_spans[0].spans.len()),
                    "{how}, block {block}: {id}"
                );
                assert_eq!(
                    got.map(|f| normalise(f.resource_spans)),
                    want,
                    "{how}, block {block}: {id}"
                );
            }
        }
    }
}

/// Whole or filtered, a warm lookup reads only the row groups whose `trace_id` statistics
/// admit the ID, not the block.
#[tokio::test]
async fn lookups_read_only_the_row_groups_that_may_hold_the_id() {
    let store = store();
    let mut rng = SmallRng::seed_from_u64(4);
    let traces = generate(&mut rng, 400);
    let meta = write_block(&store, &traces, 100).await;
    assert!(meta.row_groups > 8, "{} row groups", meta.row_groups);
    let (id, _) = &traces[200];
    for reader in [
        BlockReader::new(store.clone(), meta.clone()),
        BlockReader::new(store.clone(), meta.clone()).with_whole_read_bytes(0),
    ] {
        reader.find_trace(id).await.unwrap().unwrap();
        let found = reader.find_trace(id).await.unwrap().unwrap();
        assert!(
            found.inspected_bytes < meta.size_bytes / 4,
            "{} of {} bytes",
            found.inspected_bytes,
            meta.size_bytes
        );
    }
}
