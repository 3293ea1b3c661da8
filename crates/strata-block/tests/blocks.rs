//! Multi-trace blocks, row-group pruning, meta, bloom, ordering and completeness rules.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_block::{
    read_bloom, read_meta, BatchView, BlockError, BlockReader, BlockWriter, FORMAT_VERSION,
};
use strata_common::{BlockId, Clock, TenantId, TraceId};
use strata_proto::otlp::trace::ResourceSpans;
use strata_storage::{list_blocks, BlockPaths};

/// `n` traces with 1..=5 spans each, in ascending ID order.
fn many_traces(n: u8) -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let mut ids: Vec<TraceId> = (1..=n).map(|i| tid(i * 2)).collect();
    ids.sort();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            let spans = (0..(i as u64 % 5 + 1))
                .map(|k| simple_span(id, k, 1_000 + i as u64 * 100 + (5 - k) * 3))
                .collect();
            (id, vec![batch(&format!("svc-{}", i % 3), spans)])
        })
        .collect()
}

#[tokio::test]
async fn finds_every_trace_across_row_groups() {
    let store = store();
    let traces = many_traces(40);
    let total: usize = traces
        .iter()
        .map(|(_, rs)| rs[0].scope_spans[0].spans.len())
        .sum();
    let meta = write_block(&store, &traces, 4).await;

    assert_eq!(meta.format, FORMAT_VERSION);
    assert_eq!(meta.total_traces, 40);
    assert_eq!(meta.total_spans, total as u64);
    assert_eq!(meta.row_groups as usize, total.div_ceil(4));
    let min_start = traces
        .iter()
        .flat_map(|(_, rs)| &rs[0].scope_spans[0].spans)
        .map(|s| s.start_time_unix_nano)
        .min()
        .unwrap();
    let max_end = traces
        .iter()
        .flat_map(|(_, rs)| &rs[0].scope_spans[0].spans)
        .map(|s| s.end_time_unix_nano)
        .max()
        .unwrap();
    assert_eq!(meta.start_time_unix_nano, min_start);
    assert_eq!(meta.end_time_unix_nano, max_end);
    assert_eq!(meta.compaction_level, 0);
    let paths = BlockPaths::new(TenantId::single(), meta.block_id);
    assert_eq!(
        store.head(&paths.data()).await.unwrap().size,
        meta.size_bytes
    );
    assert_eq!(
        store.head(&paths.bloom()).await.unwrap().size,
        meta.bloom_bytes
    );

    let reader = BlockReader::new(store.clone(), meta.clone());
    for (i, (id, rs)) in traces.iter().enumerate() {
        let found = reader.find_trace(id).await.unwrap().expect("present");
        if i == 0 {
            continue;
        }
        assert_eq!(
            normalise(found.resource_spans),
            normalise(rs.clone()),
            "{id}"
        );
        // The footer is cached after the first lookup; row-group pruning must then keep a
        // lookup to one or two of the ~30 row groups.
        assert!(
            found.inspected_bytes < meta.size_bytes / 10,
            "{} of {} bytes read for one trace",
            found.inspected_bytes,
            meta.size_bytes
        );
    }
    // Absent: below, between and above the stored IDs.
    for absent in [TraceId([0; 16]), tid(3), tid(5), TraceId([0xff; 16])] {
        assert!(traces.iter().all(|(id, _)| *id != absent));
        assert!(
            reader.find_trace(&absent).await.unwrap().is_none(),
            "{absent}"
        );
    }

    let all = reader.read_all().await.unwrap();
    assert_eq!(all.len(), traces.len());
    for ((got_id, got), (id, rs)) in all.into_iter().zip(&traces) {
        assert_eq!(got_id, *id);
        assert_eq!(normalise(got), normalise(rs.clone()));
    }

    let bloom = read_bloom(store.as_ref(), &TenantId::single(), meta.block_id)
        .await
        .unwrap();
    assert!(traces.iter().all(|(id, _)| bloom.may_contain(id)));
}

#[tokio::test]
async fn parquet_file_is_sorted_and_tagged_with_the_format() {
    let store = store();
    let traces = many_traces(20);
    let meta = write_block(&store, &traces, 7).await;
    let paths = BlockPaths::new(TenantId::single(), meta.block_id);
    let bytes: Bytes = store
        .get(&paths.data())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let md = builder.metadata().clone();
    let kv = md.file_metadata().key_value_metadata().unwrap();
    assert!(kv
        .iter()
        .any(|kv| kv.key == "strata.format" && kv.value.as_deref() == Some(FORMAT_VERSION)));
    for rg in md.row_groups() {
        let stats = rg.column(0).statistics().expect("trace_id statistics");
        assert_eq!(stats.min_bytes_opt().unwrap().len(), 16);
    }
    // The page index (column + offset index) is written for trace_id.
    let tid_chunk = md.row_group(0).column(0);
    assert!(tid_chunk.column_index_range().is_some());
    assert!(tid_chunk.offset_index_range().is_some());
    let mut keys = Vec::new();
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let view = BatchView::new(&batch).unwrap();
        for row in 0..view.len() {
            let span = view.span(row).unwrap();
            keys.push((view.trace_id(row), span.start_time_unix_nano));
        }
    }
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len() as u64, meta.total_spans);
}

#[tokio::test]
async fn meta_is_written_last_and_dropped_writers_leave_no_block() {
    let store = store();
    let tenant = TenantId::single();
    let (_, clock) = clock();
    let traces = many_traces(30);

    // Dropped without finish().
    let dropped = BlockId::new_random();
    let mut w = BlockWriter::new(
        store.clone(),
        tenant.clone(),
        dropped,
        opts(2),
        clock.clone(),
    )
    .unwrap();
    for (id, rs) in &traces {
        w.add_trace(*id, rs).await.unwrap();
    }
    drop(w);
    // Aborted explicitly.
    let aborted = BlockId::new_random();
    let mut w = BlockWriter::new(
        store.clone(),
        tenant.clone(),
        aborted,
        opts(2),
        clock.clone(),
    )
    .unwrap();
    w.add_trace(traces[0].0, &traces[0].1).await.unwrap();
    w.abort().await;

    for block in [dropped, aborted] {
        let paths = BlockPaths::new(tenant.clone(), block);
        assert!(store.head(&paths.meta()).await.is_err());
        assert!(store.head(&paths.bloom()).await.is_err());
        assert!(read_meta(store.as_ref(), &tenant, block).await.is_err());
    }
    assert!(list_blocks(store.as_ref(), &tenant)
        .await
        .unwrap()
        .is_empty());

    // A finished block: meta.json is the newest object.
    let meta = write_block(&store, &traces, 2).await;
    let paths = BlockPaths::new(tenant.clone(), meta.block_id);
    let meta_time = store.head(&paths.meta()).await.unwrap().last_modified;
    let data_time = store.head(&paths.data()).await.unwrap().last_modified;
    let bloom_time = store.head(&paths.bloom()).await.unwrap().last_modified;
    assert!(data_time <= bloom_time && bloom_time <= meta_time);
    assert_eq!(
        list_blocks(store.as_ref(), &tenant).await.unwrap(),
        vec![meta.block_id]
    );
    assert_eq!(
        read_meta(store.as_ref(), &tenant, meta.block_id)
            .await
            .unwrap(),
        meta
    );
}

#[tokio::test]
async fn out_of_order_and_mismatched_traces_are_errors() {
    let store = store();
    let (_, clock) = clock();
    let mut w = BlockWriter::new(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        opts(10),
        clock,
    )
    .unwrap();
    let (lo, hi) = (TraceId([1; 16]), TraceId([2; 16]));
    w.add_trace(hi, &[batch("a", vec![simple_span(hi, 0, 1)])])
        .await
        .unwrap();
    let err = w
        .add_trace(lo, &[batch("a", vec![simple_span(lo, 0, 1)])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlockError::OutOfOrder { previous, current } if previous == hi && current == lo)
    );
    // A span whose own trace ID differs from the one it is added under.
    let err = w
        .add_trace(hi, &[batch("a", vec![simple_span(lo, 1, 1)])])
        .await
        .unwrap_err();
    assert!(matches!(err, BlockError::TraceIdMismatch { .. }), "{err}");
    // Neither error changed anything: the writer still finishes with one span.
    let meta = w.finish().await.unwrap();
    assert_eq!((meta.total_traces, meta.total_spans), (1, 1));
}

#[tokio::test]
async fn empty_blocks_and_bad_options_are_rejected() {
    let store = store();
    let (_, clock) = clock();
    let block = BlockId::new_random();
    let w = BlockWriter::new(
        store.clone(),
        TenantId::single(),
        block,
        opts(10),
        clock.clone(),
    )
    .unwrap();
    assert!(matches!(w.finish().await, Err(BlockError::Empty)));
    let paths = BlockPaths::new(TenantId::single(), block);
    assert!(store.head(&paths.data()).await.is_err());
    assert!(store.head(&paths.meta()).await.is_err());

    for bad in [
        strata_block::WriterOptions {
            row_group_max_spans: 0,
            ..opts(1)
        },
        strata_block::WriterOptions {
            bloom_false_positive: 0.0,
            ..opts(1)
        },
        strata_block::WriterOptions {
            bloom_false_positive: 1.5,
            ..opts(1)
        },
        strata_block::WriterOptions {
            zstd_level: 99,
            ..opts(1)
        },
    ] {
        let r = BlockWriter::new(store.clone(), TenantId::single(), block, bad, clock.clone());
        assert!(matches!(r, Err(BlockError::InvalidOptions(_))));
    }
}

#[tokio::test]
async fn read_meta_rejects_unknown_formats() {
    let store = store();
    let meta = write_block(&store, &many_traces(3), 100).await;
    let tenant = TenantId::single();
    let paths = BlockPaths::new(tenant.clone(), meta.block_id);

    let json: serde_json::Value = serde_json::from_slice(
        &store
            .get(&paths.meta())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    for key in [
        "format",
        "blockId",
        "tenantId",
        "startTimeUnixNano",
        "endTimeUnixNano",
        "totalTraces",
        "totalSpans",
        "sizeBytes",
        "bloomBytes",
        "rowGroups",
        "compactionLevel",
        "createdUnixNano",
    ] {
        assert!(json.get(key).is_some(), "meta.json lacks {key}");
    }

    let mut future = meta.clone();
    future.format = "strata-parquet-v9".into();
    store
        .put(
            &paths.meta(),
            PutPayload::from(serde_json::to_vec(&future).unwrap()),
        )
        .await
        .unwrap();
    let err = read_meta(store.as_ref(), &tenant, meta.block_id)
        .await
        .unwrap_err();
    assert!(matches!(err, BlockError::UnsupportedFormat { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("strata-parquet-v9") && msg.contains(FORMAT_VERSION),
        "{msg}"
    );
    // A reader handed such a meta refuses to read too.
    let reader = BlockReader::new(store.clone(), future);
    assert!(matches!(
        reader.find_trace(&TraceId([1; 16])).await,
        Err(BlockError::UnsupportedFormat { .. })
    ));

    // Garbage is a clear JSON error, not a panic.
    store
        .put(&paths.meta(), PutPayload::from_static(b"{not json"))
        .await
        .unwrap();
    assert!(matches!(
        read_meta(store.as_ref(), &tenant, meta.block_id).await,
        Err(BlockError::MetaJson { .. })
    ));
}

#[tokio::test]
async fn created_time_comes_from_the_injected_clock() {
    let store = store();
    let (manual, clock) = clock();
    manual.advance(Duration::from_secs(42));
    let id = tid(9);
    let mut w = BlockWriter::new(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        opts(10),
        clock,
    )
    .unwrap()
    .with_compaction_level(2);
    w.add_trace(id, &[batch("a", vec![simple_span(id, 0, 5)])])
        .await
        .unwrap();
    let meta = w.finish().await.unwrap();
    assert_eq!(meta.created_unix_nano, manual.now_unix_nanos());
    assert_eq!(meta.created_unix_nano, 1_700_000_042_000_000_000);
    assert_eq!(meta.compaction_level, 2);
    let _ = Arc::clone(&store);
}

#[tokio::test]
async fn works_on_a_local_filesystem_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn object_store::ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let traces = many_traces(10);
    let meta = write_block(&store, &traces, 5).await;
    let reader = BlockReader::open(store.clone(), &TenantId::single(), meta.block_id)
        .await
        .unwrap();
    assert_eq!(reader.meta(), &meta);
    let (id, rs) = &traces[4];
    let found = reader.find_trace(id).await.unwrap().unwrap();
    assert_eq!(normalise(found.resource_spans), normalise(rs.clone()));
    assert!(dir
        .path()
        .join("single-tenant")
        .join(meta.block_id.to_string())
        .join("data.parquet")
        .is_file());
}

/// Readers sharing a [`strata_block::FooterCache`] keep at most its capacity of decoded footers,
/// evict the least recently used first, and read an evicted footer again when they need it.
#[tokio::test]
async fn a_shared_footer_cache_is_bounded_and_evicts_least_recently_used() {
    let store = store();
    let mut metas = Vec::new();
    for n in 0..6u8 {
        let t = tid(n + 1);
        let rs = vec![batch(
            "svc",
            vec![simple_span(t, 1, 1_000), simple_span(t, 2, 2_000)],
        )];
        metas.push(write_block(&store, &[(t, rs)], 100).await);
    }
    // The size of one footer, to size the cache for three.
    let one = BlockReader::new(store.clone(), metas[0].clone())
        .parquet_metadata()
        .await
        .unwrap()
        .memory_size();
    let cache = Arc::new(strata_block::FooterCache::new(3 * one + one / 2));
    let readers: Vec<BlockReader> = metas
        .iter()
        .map(|m| BlockReader::new(store.clone(), m.clone()).with_footer_cache(cache.clone()))
        .collect();
    for (i, r) in readers.iter().enumerate() {
        let found = r.find_trace(&tid(i as u8 + 1)).await.unwrap().unwrap();
        assert_eq!(found.spans, 2);
        assert!(cache.bytes() <= cache.capacity(), "{} bytes", cache.bytes());
    }
    assert_eq!(cache.len(), 3, "the three most recently used stay");
    // Touch block 3 (cached), then read block 0 (evicted): block 4, the least recently used
    // of the three, goes.
    assert!(readers[3].parquet_metadata().await.is_ok());
    let again = readers[0].find_trace(&tid(1)).await.unwrap().unwrap();
    assert_eq!(again.spans, 2, "an evicted footer is read again");
    assert!(again.inspected_bytes > 0);
    assert_eq!(cache.len(), 3);
    let cached_again = readers[3].find_trace(&tid(4)).await.unwrap().unwrap();
    let evicted = readers[4].find_trace(&tid(5)).await.unwrap().unwrap();
    assert!(
        evicted.inspected_bytes > cached_again.inspected_bytes,
        "block 4's footer was evicted and read again ({} vs {} bytes)",
        evicted.inspected_bytes,
        cached_again.inspected_bytes
    );
    // Six first reads and two re-reads missed; block 3 was found twice; three footers went
    // while the first six were read, then one per re-read (block 4, then block 5).
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (2, 8), "{stats:?}");
    assert_eq!(stats.evictions, 5, "{stats:?}");
    assert_eq!(stats.rejected, 0);
    assert_eq!((stats.entries, stats.bytes), (3, cache.bytes()));
    // A footer larger than the whole capacity is used, not kept, and counted.
    let tiny = Arc::new(strata_block::FooterCache::new(one / 2));
    let r = BlockReader::new(store.clone(), metas[0].clone()).with_footer_cache(tiny.clone());
    assert_eq!(r.find_trace(&tid(1)).await.unwrap().unwrap().spans, 2);
    let stats = tiny.stats();
    assert_eq!((stats.misses, stats.rejected, stats.entries), (1, 1, 0));
}
