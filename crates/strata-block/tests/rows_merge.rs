//! Compaction by rows (`RowMerger` + `BlockWriter::add_trace_rows`) writes exactly the rows the
//! OTLP path (`TraceMerger` + `add_trace_copy`) writes: the same spans kept, the same replica
//! flags, the same trace-level columns, from v2 and v3 inputs whose traces straddle batches and
//! row groups.

mod common;

use std::sync::Arc;

use arrow_array::RecordBatch;
use common::*;
use object_store::ObjectStore;
use strata_block::schema::block_schema;
use strata_block::{
    merge_tables, BlockMeta, BlockReader, BlockWriter, RowMerger, TraceMerger, FORMAT_V2,
    FORMAT_V4, FORMAT_VERSION,
};
use strata_common::TraceId;
use strata_proto::otlp::trace::{ResourceSpans, Span, Status};
use strata_testkit::fixtures::v1;

fn span(trace: TraceId, n: u64, start: u64, root: bool, error: bool) -> Span {
    Span {
        parent_span_id: if root { vec![] } else { vec![9; 8] },
        status: error.then(|| Status {
            code: 2,
            message: "boom".into(),
        }),
        ..strata_testkit::span(&trace, n + 1, &format!("s{n}"), start, start + 5)
    }
}

/// Writes counted and replica traces (each list in ID order) into a block of `format`.
async fn block(
    store: &Arc<dyn ObjectStore>,
    format: &str,
    counted: &[(TraceId, Vec<ResourceSpans>)],
    replica: &[(TraceId, Vec<ResourceSpans>)],
) -> BlockMeta {
    let mut w = writer_format(store, 2, format);
    let mut ids: Vec<TraceId> = counted.iter().chain(replica).map(|(id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        for (set, is_replica) in [(counted, false), (replica, true)] {
            for (_, rs) in set.iter().filter(|(t, _)| *t == id) {
                w.add_trace_copy(id, rs, is_replica).await.unwrap();
            }
        }
    }
    w.finish().await.unwrap()
}

async fn inputs(store: &Arc<dyn ObjectStore>) -> Vec<BlockMeta> {
    inputs_in(store, FORMAT_VERSION).await
}

/// [`inputs`] with the first and last block in `format`.
async fn inputs_in(store: &Arc<dyn ObjectStore>, format: &str) -> Vec<BlockMeta> {
    inputs_of(store, format, FORMAT_V2).await
}

/// [`inputs`] with the first and last block in `format`, the middle one in `middle`.
async fn inputs_of(store: &Arc<dyn ObjectStore>, format: &str, middle: &str) -> Vec<BlockMeta> {
    let (t1, t2, t3) = (tid(1), tid(2), tid(3));
    // t1: spans 0–2 counted in A; 1 and 2 again as replicas in B with 3 only there; 2 counted
    // again in C and 0 as a replica there. t2 and t3 each in one block.
    let a = block(
        store,
        format,
        &[
            (
                t1,
                vec![
                    batch(
                        "a",
                        vec![span(t1, 0, 10, true, false), span(t1, 1, 20, false, true)],
                    ),
                    batch("b", vec![span(t1, 2, 30, false, false)]),
                ],
            ),
            (t2, vec![batch("c", vec![span(t2, 5, 7, true, false)])]),
        ],
        &[],
    )
    .await;
    let b = block(
        store,
        middle,
        &[(t3, vec![batch("d", vec![span(t3, 6, 1, false, true)])])],
        &[(
            t1,
            vec![batch(
                "b",
                vec![
                    span(t1, 1, 20, false, true),
                    span(t1, 2, 30, false, false),
                    span(t1, 3, 40, false, true),
                ],
            )],
        )],
    )
    .await;
    let c = block(
        store,
        format,
        &[(t1, vec![batch("b", vec![span(t1, 2, 30, false, false)])])],
        &[(t1, vec![batch("a", vec![span(t1, 0, 10, true, false)])])],
    )
    .await;
    vec![a, b, c]
}

fn readers(store: &Arc<dyn ObjectStore>, metas: &[BlockMeta]) -> Vec<BlockReader> {
    metas
        .iter()
        .map(|m| BlockReader::new(store.clone(), m.clone()))
        .collect()
}

fn writer(store: &Arc<dyn ObjectStore>) -> BlockWriter {
    writer_format(store, 3, FORMAT_VERSION)
}

async fn every_column(store: &Arc<dyn ObjectStore>, meta: BlockMeta) -> RecordBatch {
    let reader = BlockReader::new(store.clone(), meta);
    let columns: Vec<&'static str> = block_schema()
        .fields()
        .iter()
        .map(|f| &*Box::leak(f.name().clone().into_boxed_str()))
        .collect();
    scan_all(&reader, columns).await
}

/// Merges `readers` by traces and by rows into `out`; checks both wrote the same rows and
/// returns (spans kept, duplicates dropped, rows).
async fn both_ways(readers: &[BlockReader], out: &Arc<dyn ObjectStore>) -> (usize, usize, usize) {
    both_ways_in(readers, out, FORMAT_VERSION).await
}

/// [`both_ways`] writing blocks of `format`; for format v4 the rows keep their
/// `resource_ref`s, remapped into the inputs' merged resource tables.
async fn both_ways_in(
    readers: &[BlockReader],
    out: &Arc<dyn ObjectStore>,
    format: &str,
) -> (usize, usize, usize) {
    // The OTLP path.
    let mut streams = Vec::new();
    for r in readers {
        streams.push(r.trace_stream(3).await.unwrap());
    }
    let mut merger = TraceMerger::new(streams).await.unwrap();
    let mut old = writer_format(out, 3, format);
    let (mut old_spans, mut old_dups) = (0, 0);
    while let Some(t) = merger.next().await.unwrap() {
        old_spans += t.spans;
        old_dups += t.duplicates;
        for (rs, replica) in [
            (&t.resource_spans, false),
            (&t.replica_resource_spans, true),
        ] {
            if !rs.is_empty() {
                old.add_trace_copy(t.trace_id, rs, replica).await.unwrap();
            }
        }
    }
    let old = old.finish().await.unwrap();

    // By rows.
    let mut streams = Vec::new();
    let mut new = writer_format(out, 3, format);
    if format == FORMAT_V4 {
        let mut tables = Vec::new();
        for r in readers {
            tables.push(r.resource_table().await.unwrap().expect("a v4 input"));
        }
        let merge = merge_tables(&tables.iter().map(|t| t.as_ref()).collect::<Vec<_>>()).unwrap();
        for (r, map) in readers.iter().zip(&merge.maps) {
            streams.push(r.row_stream_remapped(3, map.clone()).await.unwrap());
        }
        new = new.with_resource_merge(merge).unwrap();
    } else {
        for r in readers {
            streams.push(r.row_stream(3).await.unwrap());
        }
    }
    let mut merger = RowMerger::new(streams).await.unwrap();
    if !merger.service_name_exact() {
        new.clear_service_name_exact();
    }
    let (mut new_spans, mut new_dups) = (0, 0);
    while let Some(t) = merger.next().await.unwrap() {
        new_spans += t.rows.len();
        new_dups += t.duplicates;
        new.add_trace_rows(t.trace_id, &t.rows).await.unwrap();
    }
    let new = new.finish().await.unwrap();

    assert_eq!((new_spans, new_dups), (old_spans, old_dups));
    assert_eq!(
        (
            new.total_spans,
            new.total_traces,
            new.start_time_unix_nano,
            new.end_time_unix_nano
        ),
        (
            old.total_spans,
            old.total_traces,
            old.start_time_unix_nano,
            old.end_time_unix_nano
        )
    );
    let (old_rows, new_rows) = (every_column(out, old).await, every_column(out, new).await);
    for (i, f) in block_schema().fields().iter().enumerate() {
        assert_eq!(
            new_rows.column(i).as_ref(),
            old_rows.column(i).as_ref(),
            "column {}",
            f.name()
        );
    }
    (new_spans, new_dups, new_rows.num_rows())
}

#[tokio::test]
async fn merging_rows_writes_what_merging_traces_writes() {
    let store = store();
    let metas = inputs(&store).await;
    let readers = readers(&store, &metas);
    // t1: 0, 1, 2, 3 kept (1 and 2 counted, 3 replica only, 0 counted); 4 copies dropped.
    assert_eq!(both_ways(&readers, &store).await, (6, 4, 6));
}

#[tokio::test]
async fn format_v4_blocks_merge_by_rows_as_by_traces() {
    // Their resources come from the blocks' resource tables; the output is format v3.
    let store = store();
    let metas = inputs_in(&store, FORMAT_V4).await;
    assert_eq!(metas[0].format, FORMAT_V4);
    let readers = readers(&store, &metas);
    assert_eq!(both_ways(&readers, &store).await, (6, 4, 6));
}

#[tokio::test]
async fn format_v4_blocks_merge_into_v4_by_rows_as_by_traces() {
    // The rows keep their resource refs, remapped into the merged table.
    let store = store();
    let metas = inputs_of(&store, FORMAT_V4, FORMAT_V4).await;
    let readers = readers(&store, &metas);
    assert_eq!(both_ways_in(&readers, &store, FORMAT_V4).await, (6, 4, 6));
    // Services a, b, c, d: the merged table has each once although a and b are in two inputs.
    let mut tables = Vec::new();
    for r in &readers {
        tables.push(r.resource_table().await.unwrap().unwrap());
    }
    let merge = merge_tables(&tables.iter().map(|t| t.as_ref()).collect::<Vec<_>>()).unwrap();
    assert_eq!(merge.maps.iter().map(Vec::len).sum::<usize>(), 7);
    let mut distinct: Vec<u32> = merge.maps.concat();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct, [0, 1, 2, 3]);
}

#[tokio::test]
async fn rows_of_the_wrong_shape_are_refused_not_copied() {
    let store = store();
    let metas = inputs_of(&store, FORMAT_V4, FORMAT_V4).await;
    let reader = BlockReader::new(store.clone(), metas[0].clone());
    // v3-shaped rows into a v4 block with a merge, and v4-shaped rows into a v3 block.
    let table = reader.resource_table().await.unwrap().unwrap();
    let merge = merge_tables(&[table.as_ref()]).unwrap();
    let map = merge.maps[0].clone();
    let mut v4 = writer_format(&store, 3, FORMAT_V4)
        .with_resource_merge(merge)
        .unwrap();
    let mut plain = reader.row_stream(3).await.unwrap();
    let t = plain.next_trace().await.unwrap().unwrap();
    let row = |t: &strata_block::TraceRows| strata_block::RowRef {
        batch: t.segments[0].0.clone(),
        row: t.segments[0].1.start,
        replica: false,
    };
    assert!(v4.add_trace_rows(t.trace_id, &[row(&t)]).await.is_err());
    let mut remapped = reader.row_stream_remapped(3, map).await.unwrap();
    let t = remapped.next_trace().await.unwrap().unwrap();
    assert!(writer(&store)
        .add_trace_rows(t.trace_id, &[row(&t)])
        .await
        .is_err());
}

#[tokio::test]
async fn format_v1_blocks_merge_by_rows_as_by_traces() {
    let bucket: Arc<dyn ObjectStore> = Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(v1::bucket()).expect("fixture"),
    );
    let mut readers = Vec::new();
    for block in [v1::block_l0(), v1::block_l1()] {
        readers.push(
            BlockReader::open(bucket.clone(), &v1::tenant(), block)
                .await
                .unwrap(),
        );
    }
    let (spans, _, rows) = both_ways(&readers, &store()).await;
    assert!(spans > 0 && spans == rows, "{spans} spans, {rows} rows");
}

#[tokio::test]
async fn rows_must_come_in_ascending_trace_order() {
    let store = store();
    let metas = inputs(&store).await;
    let reader = BlockReader::new(store.clone(), metas[0].clone());
    let mut stream = reader.row_stream(0).await.unwrap();
    let first = stream.next_trace().await.unwrap().unwrap();
    let second = stream.next_trace().await.unwrap().unwrap();
    assert!(stream.next_trace().await.unwrap().is_none());
    let rows = |t: &strata_block::TraceRows| -> Vec<strata_block::RowRef> {
        t.segments
            .iter()
            .flat_map(|(b, r)| {
                r.clone().map(|row| strata_block::RowRef {
                    batch: b.clone(),
                    row,
                    replica: false,
                })
            })
            .collect()
    };
    let mut w = writer(&store);
    w.add_trace_rows(second.trace_id, &rows(&second))
        .await
        .unwrap();
    let err = w
        .add_trace_rows(first.trace_id, &rows(&first))
        .await
        .unwrap_err();
    assert!(
        matches!(err, strata_block::BlockError::OutOfOrder { .. }),
        "{err}"
    );
    // Nothing was changed by the refused trace: the block holds the first one added.
    let meta = w.finish().await.unwrap();
    assert_eq!(meta.total_spans as usize, second.spans());
}
