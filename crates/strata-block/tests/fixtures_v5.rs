//! The checked-in fixture set `v5` (`crates/strata-testkit/fixtures/v5`, see its README), the
//! first in block format `strata-parquet-v4`, still reads: `meta.json`, the spans with their
//! resources from the footer's resource table, and scans of the resource columns.
//!
//! The files are only read, never regenerated: a failure here means this build no longer reads
//! blocks an older build stored.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::schema::{col, RESOURCE_COLUMNS};
use strata_block::{read_meta, BlockReader, ResourceTable, ScanRequest, FORMAT_V4};
use strata_testkit::fixtures::{v1, v5};
use strata_testkit::normalise;

async fn reader() -> BlockReader {
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(v5::bucket()).expect("fixture bucket"));
    let meta = read_meta(store.as_ref(), &v1::tenant(), v5::block_d0())
        .await
        .expect("meta.json of d0");
    BlockReader::new(store, meta)
}

#[tokio::test]
async fn meta_and_spans_read() {
    let reader = reader().await;
    let meta = reader.meta();
    assert_eq!(meta.format, FORMAT_V4);
    assert!(meta.has_resource_table() && meta.has_trace_columns());
    assert_eq!((meta.total_traces, meta.total_spans), (4, 6));
    assert_eq!(meta.created_unix_nano, v5::D0_CREATED_NS);
    let all = reader.read_all().await.expect("read");
    let want = v1::traces();
    assert_eq!(all.len(), want.len());
    for ((id, rs), (want_id, want_rs)) in all.into_iter().zip(want) {
        assert_eq!(id, want_id);
        assert_eq!(normalise(rs), normalise(want_rs));
    }
    for (id, want_rs) in v1::traces() {
        let found = reader
            .find_trace(&id)
            .await
            .expect("find")
            .expect("present");
        assert_eq!(normalise(found.resource_spans), normalise(want_rs));
    }
}

#[tokio::test]
async fn the_resource_table_reads_and_scans_expand_it() {
    let reader = reader().await;
    let md = reader.parquet_metadata().await.expect("footer");
    let table = ResourceTable::from_footer(&md, "d0").expect("table");
    assert!(!table.is_empty() && table.len() < 6, "{} rows", table.len());
    let mut columns = vec![col::TRACE_ID, col::SERVICE_NAME];
    columns.extend(RESOURCE_COLUMNS);
    let mut scan = reader
        .scan(ScanRequest {
            columns: columns.clone(),
            ..Default::default()
        })
        .await
        .expect("scan");
    let mut rows = 0;
    while let Some(b) = scan.next().await.expect("batch") {
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, columns);
        rows += b.num_rows();
    }
    assert_eq!(rows, 6);
}
