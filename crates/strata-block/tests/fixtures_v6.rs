//! The checked-in fixture set `v6` (`crates/strata-testkit/fixtures/v6`, see its README), the
//! first in block format `strata-parquet-v5`, still reads: `meta.json`, its two sorted runs,
//! every trace by ID, and the rows in trace-ID order run by run.
//!
//! The files are only read, never regenerated: a failure here means this build no longer reads
//! blocks an older build stored.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::{read_meta, BlockReader, RowMerger, ScanRequest, FORMAT_V5};
use strata_testkit::fixtures::{v1, v6};
use strata_testkit::normalise;

async fn reader() -> BlockReader {
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(v6::bucket()).expect("fixture bucket"));
    let meta = read_meta(store.as_ref(), &v1::tenant(), v6::block_e0())
        .await
        .expect("meta.json of e0");
    BlockReader::new(store, meta)
}

#[tokio::test]
async fn meta_runs_and_traces_read() {
    let reader = reader().await;
    let meta = reader.meta();
    assert_eq!(meta.format, FORMAT_V5);
    assert!(meta.has_resource_table() && meta.has_trace_columns());
    assert_eq!((meta.total_traces, meta.total_spans), (4, 6));
    assert_eq!((meta.compaction_level, meta.row_groups), (1, 4));
    assert_eq!(meta.created_unix_nano, v6::E0_CREATED_NS);
    assert_eq!(meta.compacted_from, vec![v6::block_e1(), v6::block_e2()]);
    assert_eq!(reader.sorted_runs().await.expect("runs"), 2);
    // Every trace whole and in ID order, though the runs interleave.
    let all = reader.read_all().await.expect("read");
    assert_eq!(all.len(), 4);
    for ((id, rs), (want_id, want)) in all.into_iter().zip(v1::traces()) {
        assert_eq!(id, want_id);
        assert_eq!(normalise(rs), normalise(want));
    }
    assert!(
        reader.trace_stream(0).await.is_err(),
        "one-run streams refuse v5"
    );
    for (id, want) in v1::traces() {
        assert!(reader.may_contain(&id).await.expect("bloom"));
        let found = reader
            .find_trace(&id)
            .await
            .expect("find")
            .expect("present");
        assert_eq!(normalise(found.resource_spans), normalise(want));
    }
}

#[tokio::test]
async fn runs_stream_in_trace_id_order_and_scans_read_every_row() {
    let reader = reader().await;
    let streams = reader.run_streams(0, None).await.expect("streams");
    assert_eq!(streams.len(), 2);
    let mut merger = RowMerger::new(streams).await.expect("merger");
    let mut ids = Vec::new();
    let mut rows = 0;
    while let Some(t) = merger.next().await.expect("next") {
        ids.push(t.trace_id);
        rows += t.rows.len();
    }
    let want: Vec<_> = v1::traces().into_iter().map(|(id, _)| id).collect();
    assert_eq!((ids, rows), (want, 6));
    let mut scan = reader
        .scan(ScanRequest {
            columns: vec![strata_block::schema::col::TRACE_ID],
            ..Default::default()
        })
        .await
        .expect("scan");
    let mut scanned = 0;
    while let Some(b) = scan.next().await.expect("batch") {
        scanned += b.num_rows();
    }
    assert_eq!(scanned, 6);
}
