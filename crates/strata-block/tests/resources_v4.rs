//! Format v4: each distinct resource once, in the footer's resource table. A v4 block reads
//! back (trace by ID, every trace, streamed traces, column scans) exactly what the same
//! spans written as v3 read back, keeps one table row per distinct resource, and its table is
//! what DuckDB or any Parquet reader can decode.

mod common;

use std::sync::Arc;

use arrow_array::{Array, UInt32Array};
use common::*;
use object_store::ObjectStore;
use strata_block::resources::RESOURCES_KEY;
use strata_block::schema::{col, RESOURCE_COLUMNS};
use strata_block::{BlockError, BlockReader, ResourceTable, FORMAT_V4, FORMAT_VERSION};
use strata_common::TraceId;
use strata_proto::otlp::trace::ResourceSpans;

/// 40 traces over three services, one resource without attributes' service and one trace
/// with no resource at all.
fn traces() -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let mut out: Vec<(TraceId, Vec<ResourceSpans>)> = (1..=40u8)
        .map(|n| {
            let id = tid(n);
            let service = ["cart", "checkout", "frontend"][usize::from(n) % 3];
            let mut rss = vec![batch(
                service,
                vec![simple_span(id, 0, 100), simple_span(id, 1, 50)],
            )];
            if n % 4 == 0 {
                rss.push(batch("frontend", vec![simple_span(id, 2, 70)]));
            }
            if n == 7 {
                rss.push(ResourceSpans {
                    resource: None,
                    schema_url: "no-resource".into(),
                    ..batch("x", vec![simple_span(id, 3, 80)])
                });
            }
            (id, rss)
        })
        .collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

async fn both(
    store: &Arc<dyn ObjectStore>,
    rg: usize,
) -> (BlockReader, BlockReader, Vec<(TraceId, Vec<ResourceSpans>)>) {
    let t = traces();
    let v3 = write_block_format(store, &t, rg, FORMAT_VERSION).await;
    let v4 = write_block_format(store, &t, rg, FORMAT_V4).await;
    assert_eq!(v4.format, FORMAT_V4);
    (
        BlockReader::new(store.clone(), v3),
        BlockReader::new(store.clone(), v4),
        t,
    )
}

async fn table(reader: &BlockReader) -> ResourceTable {
    let md = reader.parquet_metadata().await.unwrap();
    ResourceTable::from_footer(&md, "test").unwrap()
}

#[tokio::test]
async fn a_v4_block_reads_back_what_a_v3_block_does() {
    let store = store();
    for rg in [1, 7, 1000] {
        let (v3, v4, t) = both(&store, rg).await;
        assert_eq!(v4.read_all().await.unwrap(), v3.read_all().await.unwrap());
        for (id, _) in &t {
            let (a, b) = (
                v3.find_trace(id).await.unwrap(),
                v4.find_trace(id).await.unwrap(),
            );
            let (a, b) = (a.expect("in v3"), b.expect("in v4"));
            assert_eq!((b.spans, &b.resource_spans), (a.spans, &a.resource_spans));
        }
        assert!(v4.find_trace(&tid(250)).await.unwrap().is_none());
        let (mut s3, mut s4) = (
            v3.trace_stream(5).await.unwrap(),
            v4.trace_stream(5).await.unwrap(),
        );
        let mut n = 0;
        while let Some(a) = s3.next_trace().await.unwrap() {
            assert_eq!(s4.next_trace().await.unwrap(), Some(a));
            n += 1;
        }
        assert_eq!((n, s4.next_trace().await.unwrap()), (40, None));
        // And each span under its own resource, as written.
        let got = v4.find_trace(&tid(7)).await.unwrap().unwrap();
        let written = t.iter().find(|(id, _)| *id == tid(7)).unwrap().1.clone();
        assert_eq!(normalise(got.resource_spans), normalise(written));
    }
}

#[tokio::test]
async fn the_table_holds_each_resource_once() {
    let store = store();
    let (v3, v4, _) = both(&store, 7).await;
    // cart, checkout, frontend, and the absent resource.
    let t = table(&v4).await;
    assert_eq!(t.len(), 4);
    let services: Vec<String> = (0..t.len())
        .map(|r| format!("{:?}", t.batch().column(0).slice(r, 1)))
        .collect();
    assert!(
        services.iter().any(|s| s.contains("checkout")),
        "{services:?}"
    );
    // The v3 block has no table, and the v4 file is smaller: the resource is not on each row.
    assert!(table(&v3).await.is_empty());
    assert!(
        v4.meta().size_bytes < v3.meta().size_bytes,
        "{} vs {}",
        v4.meta().size_bytes,
        v3.meta().size_bytes
    );
    let md = v4.parquet_metadata().await.unwrap();
    let kv = md.file_metadata().key_value_metadata().unwrap();
    assert!(kv.iter().any(|kv| kv.key == RESOURCES_KEY));
}

#[tokio::test]
async fn scans_give_the_resource_columns_asked_for() {
    let store = store();
    let (v3, v4, _) = both(&store, 7).await;
    let mut ask: Vec<Vec<&'static str>> = vec![
        vec![col::TRACE_ID, col::RESOURCE_ATTRS, col::SERVICE_NAME],
        vec![col::TRACE_ID, col::NAME],
        vec![col::RESOURCE_SCHEMA_URL, col::RESOURCE_DROPPED],
    ];
    let mut every = vec![col::TRACE_ID, col::SPAN_ID];
    every.extend(RESOURCE_COLUMNS);
    every.push(col::ATTRS);
    ask.push(every);
    for columns in ask {
        let (a, b) = (
            scan_all(&v3, columns.clone()).await,
            scan_all(&v4, columns.clone()).await,
        );
        assert_eq!(b.schema(), a.schema(), "{columns:?}");
        assert_eq!(b, a, "{columns:?}");
    }
}

#[tokio::test]
async fn whole_trace_scans_keep_traces_whole_in_v4() {
    let store = store();
    let (v3, v4, _) = both(&store, 3).await;
    let req = || strata_block::ScanRequest {
        columns: vec![col::TRACE_ID, col::RESOURCE_ATTRS],
        batch_rows: 4,
        whole_traces: true,
        ..Default::default()
    };
    let (mut a, mut b) = (v3.scan(req()).await.unwrap(), v4.scan(req()).await.unwrap());
    while let Some(x) = a.next().await.unwrap() {
        assert_eq!(b.next().await.unwrap(), Some(x));
    }
    assert_eq!(b.next().await.unwrap(), None);
}

#[tokio::test]
async fn refs_outside_the_table_are_a_corrupt_block_not_a_panic() {
    let store = store();
    let (_, v4, _) = both(&store, 7).await;
    let t = table(&v4).await;
    let batch = arrow_array::RecordBatch::try_from_iter([(
        col::RESOURCE_REF,
        Arc::new(UInt32Array::from(vec![0, 4])) as Arc<dyn Array>,
    )])
    .unwrap();
    assert!(matches!(
        t.expand_all(batch),
        Err(BlockError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn the_table_is_decoded_once_per_footer_cache() {
    let store = store();
    let (_, v4, _) = both(&store, 7).await;
    let cache = Arc::new(strata_block::FooterCache::new(64 << 20));
    let reader =
        || BlockReader::new(store.clone(), v4.meta().clone()).with_footer_cache(cache.clone());
    let first = reader().resource_table().await.unwrap().unwrap();
    let held = cache
        .table(v4.meta().block_id)
        .expect("kept with the footer");
    assert!(Arc::ptr_eq(&first, &held));
    let second = reader().resource_table().await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "a second reader decodes nothing"
    );
    // A v3 block has none, and nothing is kept for it.
    let t = traces();
    let v3 = write_block_format(&store, &t, 7, FORMAT_VERSION).await;
    let r3 = BlockReader::new(store.clone(), v3.clone()).with_footer_cache(cache.clone());
    assert!(r3.resource_table().await.unwrap().is_none());
    assert!(cache.table(v3.block_id).is_none());
}
