//! The checked-in fixture set `v4` (`crates/strata-testkit/fixtures/v4`, see its README), the
//! first in block format `strata-parquet-v3`, still reads: `meta.json`, the spans, and the
//! trace-level columns on each trace's first row.
//!
//! The files are only read, never regenerated: a failure here means this build no longer reads
//! blocks an older build stored.

use std::sync::Arc;

use arrow_array::{Array, UInt32Array, UInt64Array};
use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::schema::col;
use strata_block::{read_meta, BlockReader, ScanRequest};
use strata_testkit::fixtures::{v1, v4};
use strata_testkit::normalise;

async fn reader() -> BlockReader {
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(v4::bucket()).expect("fixture bucket"));
    let meta = read_meta(store.as_ref(), &v1::tenant(), v4::block_c0())
        .await
        .expect("meta.json of c0");
    BlockReader::new(store, meta)
}

#[tokio::test]
async fn meta_and_spans_read() {
    let reader = reader().await;
    let meta = reader.meta();
    assert_eq!(meta.format, "strata-parquet-v3");
    assert!(meta.has_trace_columns() && meta.has_replica_column());
    assert_eq!((meta.total_traces, meta.total_spans), (4, 6));
    assert_eq!(meta.created_unix_nano, v4::C0_CREATED_NS);
    let all = reader.read_all().await.expect("read");
    let want = v1::traces();
    assert_eq!(all.len(), want.len());
    for ((id, rs), (want_id, want_rs)) in all.into_iter().zip(want) {
        assert_eq!(id, want_id);
        assert_eq!(normalise(rs), normalise(want_rs));
    }
}

#[tokio::test]
async fn trace_level_columns_sit_on_first_rows() {
    let reader = reader().await;
    let mut scan = reader
        .scan(ScanRequest {
            columns: vec![col::TRACE_SPANS, col::TRACE_START, col::START],
            ..Default::default()
        })
        .await
        .expect("scan");
    let (mut rows, mut traces, mut at) = (0usize, 0usize, 0usize);
    let mut trace_start = 0;
    while let Some(b) = scan.next().await.expect("batch") {
        let column = |name| b.column_by_name(name).expect("projected").clone();
        let (spans, tstart, start) = (
            column(col::TRACE_SPANS),
            column(col::TRACE_START),
            column(col::START),
        );
        let spans = spans.as_any().downcast_ref::<UInt32Array>().unwrap();
        let tstart = tstart.as_any().downcast_ref::<UInt64Array>().unwrap();
        let start = start.as_any().downcast_ref::<UInt64Array>().unwrap();
        for i in 0..b.num_rows() {
            if spans.is_valid(i) {
                assert_eq!(rows, at, "a trace starts where the previous one ended");
                at += spans.value(i) as usize;
                traces += 1;
                trace_start = tstart.value(i);
            } else {
                assert!(tstart.is_null(i));
            }
            assert!(start.value(i) >= trace_start, "row {rows}");
            rows += 1;
        }
    }
    assert_eq!((rows, traces, at), (6, 4, 6));
}
