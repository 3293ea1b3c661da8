//! Format v3's trace-level columns: set on each trace's first row only, with the values the
//! module docs of `schema` define, across row groups; and format v2 blocks, written on
//! request, still read back whole.

mod common;

use arrow_array::{Array, ListArray, StringArray, StructArray, UInt32Array, UInt64Array};
use common::*;
use strata_block::schema::col;
use strata_block::{BlockReader, BlockWriter, ScanRequest, FORMAT_V2, FORMAT_VERSION};
use strata_common::{BlockId, TenantId, TraceId};
use strata_proto::otlp::trace::{ResourceSpans, Span, Status};

fn span(trace: TraceId, n: u64, start: u64, end: u64, root: bool, code: Option<i32>) -> Span {
    Span {
        parent_span_id: if root { vec![] } else { vec![9; 8] },
        status: code.map(|code| Status {
            code,
            message: String::new(),
        }),
        ..strata_testkit::span(&trace, n + 1, &format!("s{n}"), start, end)
    }
}

/// Trace 1: 5 spans in services `b` and `a`, root second by start time, one error in `a`;
/// trace 2: 3 spans without root, one without a service name.
fn traces() -> Vec<(TraceId, Vec<ResourceSpans>)> {
    let (t1, t2) = (tid(1), tid(2));
    let no_service = strata_testkit::resource_spans(
        Some(strata_testkit::resource_with(vec![])),
        None,
        vec![span(t2, 12, 40, 45, false, Some(2))],
    );
    let mut v = vec![
        (
            t1,
            vec![
                batch(
                    "b",
                    vec![
                        span(t1, 0, 30, 90, false, Some(1)),
                        span(t1, 1, 20, 25, true, None),
                    ],
                ),
                batch(
                    "a",
                    vec![
                        span(t1, 2, 10, 15, false, Some(2)),
                        span(t1, 3, 50, 55, false, None),
                        span(t1, 4, 60, 61, true, Some(2)),
                    ],
                ),
            ],
        ),
        (
            t2,
            vec![
                batch(
                    "c",
                    vec![
                        span(t2, 10, 100, 50, false, None),
                        span(t2, 11, 70, 80, false, None),
                    ],
                ),
                no_service,
            ],
        ),
    ];
    v.sort_by_key(|(id, _)| *id);
    v
}

async fn write(format: &str) -> BlockReader {
    let store = store();
    let (_, clock) = clock();
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        opts(3),
        clock,
        format,
    )
    .unwrap();
    for (id, rs) in traces() {
        w.add_trace(id, &rs).await.unwrap();
    }
    let meta = w.finish().await.unwrap();
    assert_eq!(meta.format, format);
    BlockReader::new(store, meta)
}

#[tokio::test]
async fn trace_level_values_sit_on_each_first_row() {
    let reader = write(FORMAT_VERSION).await;
    assert!(reader.meta().has_trace_columns());
    assert!(reader.meta().row_groups > 1, "traces straddle row groups");
    let b = scan_all(
        &reader,
        vec![
            col::TRACE_ID,
            col::TRACE_SPANS,
            col::TRACE_START,
            col::TRACE_END,
            col::TRACE_ROOT_SERVICE,
            col::TRACE_ROOT_NAME,
            col::TRACE_SERVICE_STATS,
        ],
    )
    .await;
    let c = |name| b.column_by_name(name).unwrap().clone();
    let spans = c(col::TRACE_SPANS);
    let spans = spans.as_any().downcast_ref::<UInt32Array>().unwrap();
    let start = c(col::TRACE_START);
    let start = start.as_any().downcast_ref::<UInt64Array>().unwrap();
    let end = c(col::TRACE_END);
    let end = end.as_any().downcast_ref::<UInt64Array>().unwrap();
    let root_service = c(col::TRACE_ROOT_SERVICE);
    let root_service = root_service.as_any().downcast_ref::<StringArray>().unwrap();
    let root_name = c(col::TRACE_ROOT_NAME);
    let root_name = root_name.as_any().downcast_ref::<StringArray>().unwrap();
    let stats = c(col::TRACE_SERVICE_STATS);
    let stats = stats.as_any().downcast_ref::<ListArray>().unwrap();
    assert_eq!(b.num_rows(), 8);
    let first_rows: Vec<usize> = (0..8).filter(|&i| spans.is_valid(i)).collect();
    assert!(tid(1) < tid(2));
    let (r1, r2) = (0, 5);
    assert_eq!(first_rows, vec![r1, r2]);
    for i in 0..8 {
        let first = first_rows.contains(&i);
        for a in [spans as &dyn Array, start, end, stats] {
            assert_eq!(a.is_valid(i), first, "row {i}");
        }
        if !first {
            assert!(root_service.is_null(i) && root_name.is_null(i), "row {i}");
        }
    }
    let entries = |i: usize| -> Vec<(String, u32, u32)> {
        let v = stats.value(i);
        let s = v.as_any().downcast_ref::<StructArray>().unwrap();
        let name = s.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let n = s.column(1).as_any().downcast_ref::<UInt32Array>().unwrap();
        let e = s.column(2).as_any().downcast_ref::<UInt32Array>().unwrap();
        (0..s.len())
            .map(|j| (name.value(j).to_string(), n.value(j), e.value(j)))
            .collect()
    };
    // Trace 1: rows by start 10 (a, error), 20 (b, root), 30, 50, 60 (a, root, error).
    assert_eq!(spans.value(r1), 5);
    assert_eq!((start.value(r1), end.value(r1)), (10, 90));
    assert_eq!(root_service.value(r1), "b");
    assert_eq!(root_name.value(r1), "s1");
    assert_eq!(
        entries(r1),
        vec![("a".to_string(), 3, 2), ("b".to_string(), 2, 0)]
    );
    // Trace 2: no root; an end before its start; one span without a service name.
    assert_eq!(spans.value(r2), 3);
    assert_eq!((start.value(r2), end.value(r2)), (40, 80));
    assert!(root_service.is_null(r2) && root_name.is_null(r2));
    assert_eq!(entries(r2), vec![("c".to_string(), 2, 0)]);
}

#[tokio::test]
async fn v2_blocks_are_written_on_request_and_read_whole() {
    let reader = write(FORMAT_V2).await;
    assert!(!reader.meta().has_trace_columns());
    let md = reader.parquet_metadata().await.unwrap();
    assert!(md
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .all(|c| !c.path().string().starts_with("trace_spans")));
    for (id, rs) in traces() {
        let found = reader.find_trace(&id).await.unwrap().expect("trace");
        assert_eq!(normalise(found.resource_spans), normalise(rs));
    }
    let scan = reader
        .scan(ScanRequest {
            columns: vec![col::TRACE_SPANS],
            ..Default::default()
        })
        .await;
    assert!(scan.is_err(), "a v2 block has no trace-level columns");
}

#[test]
fn only_known_formats_are_written() {
    let (_, clock) = clock();
    let r = BlockWriter::new_with_format(
        store(),
        TenantId::single(),
        BlockId::new_random(),
        opts(3),
        clock,
        "strata-parquet-v1",
    );
    assert!(r.is_err());
}
