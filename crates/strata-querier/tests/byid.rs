//! The querier's trace-by-ID block path against brute force, on generated blocks: over many
//! blocks (some sharing a trace), every lookup through [`BlockList::find_trace`] — bloom
//! filters, time ranges, row-group statistics, whole or filtered row-group reads, footers
//! coming and going in a small [`FooterCache`] — answers exactly the spans a scan of every
//! block finds, and the cache never holds more than its capacity.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use strata_block::{BlockReader, BlockWriter, FooterCache, WriterOptions};
use strata_common::{BlockId, ManualClock, TenantId, TraceId};
use strata_proto::otlp::trace::ResourceSpans;
use strata_querier::BlockList;

/// splitmix64: deterministic IDs without a dependency.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn trace(&mut self) -> TraceId {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_be_bytes());
        b[8..].copy_from_slice(&self.next().to_be_bytes());
        TraceId(b)
    }
}

fn spans(id: TraceId, n: u64, start: u64) -> Vec<ResourceSpans> {
    let spans = (0..n)
        .map(|i| strata_testkit::span(&id, i + 1, "op", start + i, start + i + 10))
        .collect();
    vec![strata_testkit::resource_spans(
        Some(strata_testkit::resource("svc")),
        Some(strata_testkit::scope("lib", "")),
        spans,
    )]
}

#[tokio::test]
async fn block_lookups_match_brute_force_with_a_small_footer_cache() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::single();
    let mut ids = Ids(7);
    let shared = ids.trace();
    let mut written = Vec::new();
    for block in 0..40u64 {
        let mut traces: Vec<(TraceId, Vec<ResourceSpans>)> = (0..25)
            .map(|_| {
                let id = ids.trace();
                (id, spans(id, 1 + ids.next() % 5, 1_000_000 * (block + 1)))
            })
            .collect();
        // One trace in every fourth block: a lookup must gather it from all of them.
        if block % 4 == 0 {
            traces.push((shared, spans(shared, 2, 1_000_000 * (block + 1))));
        }
        traces.sort_by_key(|(id, _)| *id);
        let opts = WriterOptions {
            row_group_max_spans: 16,
            bloom_false_positive: 0.05,
            ..WriterOptions::default()
        };
        let mut w = BlockWriter::new(
            store.clone(),
            tenant.clone(),
            BlockId::new_random(),
            opts,
            Arc::new(ManualClock::default()),
        )
        .unwrap();
        for (id, rs) in &traces {
            w.add_trace(*id, rs).await.unwrap();
        }
        written.push(w.finish().await.unwrap());
    }
    // Brute force: every span of every block, by trace.
    let mut truth: BTreeMap<TraceId, usize> = BTreeMap::new();
    for meta in &written {
        for (id, rs) in BlockReader::new(store.clone(), meta.clone())
            .read_all()
            .await
            .unwrap()
        {
            let n: usize = rs
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            *truth.entry(id).or_default() += n;
        }
    }
    assert_eq!(truth[&shared], 2 * 10);

    let one = BlockReader::new(store.clone(), written[0].clone())
        .parquet_metadata()
        .await
        .unwrap()
        .memory_size();
    let cache = Arc::new(FooterCache::new(3 * one));
    let list = BlockList::new(store.clone()).with_footer_cache(cache.clone());
    assert_eq!(list.poll().await.unwrap(), 40);
    let filtered = BlockList::new(store.clone()).with_whole_read_bytes(0);
    assert_eq!(filtered.poll().await.unwrap(), 40);

    let mut lookups: Vec<TraceId> = truth.keys().copied().collect();
    lookups.extend((0..400).map(|_| ids.trace()));
    let mut false_positives = 0;
    for id in lookups {
        let want = truth.get(&id).copied().unwrap_or(0);
        if want == 0 {
            false_positives += list.candidates(&tenant, &id, None).len();
        }
        for (how, l) in [("cached", &list), ("row filter", &filtered)] {
            let got: usize = l
                .find_trace(&tenant, &id, None)
                .await
                .into_iter()
                .map(|r| r.unwrap().map_or(0, |f| f.spans))
                .sum();
            assert_eq!(got, want, "{how}: {id}");
        }
        // A time range covering everything changes nothing; one before every block finds none.
        let all: usize = list
            .find_trace(&tenant, &id, Some((0, u64::MAX)))
            .await
            .into_iter()
            .map(|r| r.unwrap().map_or(0, |f| f.spans))
            .sum();
        assert_eq!(all, want, "{id}");
        assert!(list.candidates(&tenant, &id, Some((0, 10))).is_empty());
        let s = cache.stats();
        assert!(s.bytes <= s.capacity, "{s:?}");
    }
    // The pruning was exercised: absent IDs got past some blooms (fp 5 %), and footers were
    // evicted and read again.
    assert!(false_positives > 0);
    let s = cache.stats();
    assert!(
        s.evictions > 0 && s.hits > 0 && s.misses > s.evictions,
        "{s:?}"
    );
    assert!(s.entries <= 3, "{s:?}");
}
