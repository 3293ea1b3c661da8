//! `BlockReader::scan` with `whole_traces`: every row comes back once, in order, and no trace
//! is split across batches, whatever the decoder's batch size.

mod common;

use arrow_array::{Array, FixedSizeBinaryArray};
use common::*;
use strata_block::schema::col;
use strata_block::{BlockReader, ScanRequest};
use strata_common::TraceId;
use strata_proto::otlp::trace::ResourceSpans;

/// Traces of 1, 2, …, 12 spans, repeated: some longer than the small batch sizes below.
fn traces() -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let mut ids: Vec<TraceId> = (1..=60).map(|i| tid(i * 3)).collect();
    ids.sort();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            let spans = (0..(i as u64 % 12 + 1))
                .map(|k| simple_span(id, k, 1_000 + k))
                .collect();
            (id, vec![batch("svc", spans)])
        })
        .collect()
}

#[tokio::test]
async fn whole_trace_scans_never_split_a_trace() {
    let store = store();
    let traces = traces();
    let meta = write_block(&store, &traces, 50).await;
    let reader = BlockReader::new(store, meta.clone());
    for batch_rows in [1, 2, 5, 7, 11, 13, 64, 8192] {
        let mut scan = reader
            .scan(ScanRequest {
                columns: vec![col::TRACE_ID, col::NAME],
                batch_rows,
                whole_traces: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut rows: Vec<Vec<u8>> = Vec::new();
        let mut batches: Vec<Vec<Vec<u8>>> = Vec::new();
        while let Some(b) = scan.next().await.unwrap() {
            assert!(b.num_rows() > 0, "empty batch at {batch_rows} rows");
            let ids = b
                .column_by_name(col::TRACE_ID)
                .unwrap()
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
                .unwrap();
            let ids: Vec<Vec<u8>> = (0..ids.len()).map(|i| ids.value(i).to_vec()).collect();
            rows.extend(ids.iter().cloned());
            batches.push(ids);
        }
        assert_eq!(rows.len() as u64, meta.total_spans, "{batch_rows} rows");
        let want: Vec<Vec<u8>> = traces
            .iter()
            .flat_map(|(id, rs)| {
                let n = rs[0].scope_spans[0].spans.len();
                std::iter::repeat_n(id.0.to_vec(), n)
            })
            .collect();
        assert_eq!(rows, want, "{batch_rows} rows");
        for pair in batches.windows(2) {
            assert_ne!(
                pair[0].last(),
                pair[1].first(),
                "a trace split across batches at {batch_rows} rows"
            );
        }
    }
}
