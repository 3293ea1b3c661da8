//! Concatenated blocks (format v5): what a concatenation holds, how it is read, and that
//! merging it writes exactly what merging its inputs writes.

mod common;

use std::sync::Arc;

use arrow_array::RecordBatch;
use common::*;
use object_store::ObjectStore;
use strata_block::schema::block_schema;
use strata_block::{
    merge_tables, BlockError, BlockMeta, BlockReader, BlockWriter, Concat, RowMerger,
    WriterOptions, FORMAT_V4, FORMAT_V5, FORMAT_VERSION,
};
use strata_common::{BlockId, TenantId, TraceId};
use strata_proto::otlp::trace::{ResourceSpans, Span};

fn span(trace: TraceId, n: u64, start: u64) -> Span {
    strata_testkit::span(&trace, n + 1, &format!("s{n}"), start, start + 5)
}

/// A block of `format` with `traces` (ID, replica?, shares), added in ID order.
async fn block(
    store: &Arc<dyn ObjectStore>,
    format: &str,
    mut traces: Vec<(TraceId, bool, Vec<ResourceSpans>)>,
) -> BlockMeta {
    traces.sort_by_key(|(id, replica, _)| (*id, *replica));
    let mut w = writer_format(store, 2, format);
    for (id, replica, rs) in &traces {
        w.add_trace_copy(*id, rs, *replica).await.unwrap();
    }
    w.finish().await.unwrap()
}

/// Three v4 blocks, each of several row groups: t1 in all three (a span repeated in the third,
/// a replica copy in the second), the others in one block each, five resources in all.
async fn inputs(store: &Arc<dyn ObjectStore>, format: &str) -> Vec<BlockMeta> {
    let (t1, t2, t3, t4, t5) = (tid(1), tid(2), tid(3), tid(4), tid(5));
    let a = block(
        store,
        format,
        vec![
            (
                t1,
                false,
                vec![batch("a", vec![span(t1, 0, 10), span(t1, 1, 20)])],
            ),
            (
                t2,
                false,
                vec![batch("c", (2..7).map(|n| span(t2, n, n)).collect())],
            ),
        ],
    )
    .await;
    let b = block(
        store,
        format,
        vec![
            (t1, false, vec![batch("b", vec![span(t1, 7, 30)])]),
            (t1, true, vec![batch("a", vec![span(t1, 1, 20)])]),
            (
                t3,
                false,
                vec![batch("d", vec![span(t3, 8, 1), span(t3, 9, 2)])],
            ),
        ],
    )
    .await;
    let c = block(
        store,
        format,
        vec![
            (t1, false, vec![batch("a", vec![span(t1, 0, 10)])]),
            (t4, true, vec![batch("e", vec![span(t4, 10, 3)])]),
            (
                t5,
                false,
                vec![batch("a", vec![span(t5, 11, 4), span(t5, 12, 5)])],
            ),
        ],
    )
    .await;
    vec![a, b, c]
}

/// (service, span ID, name) of every span, sorted: what a reader's grouping leaves alone.
fn flat(rs: Vec<ResourceSpans>) -> Vec<(String, Vec<u8>, String)> {
    let mut out = Vec::new();
    for r in rs {
        let service = format!("{:?}", r.resource.map(|r| r.attributes));
        for s in r.scope_spans.into_iter().flat_map(|s| s.spans) {
            out.push((service.clone(), s.span_id, s.name));
        }
    }
    out.sort();
    out
}

fn readers(store: &Arc<dyn ObjectStore>, metas: &[BlockMeta]) -> Vec<BlockReader> {
    (metas.iter())
        .map(|m| BlockReader::new(store.clone(), m.clone()))
        .collect()
}

/// Merges `readers` by rows (one stream per sorted run) into a new v4 block.
async fn merge(store: &Arc<dyn ObjectStore>, readers: &[BlockReader]) -> BlockMeta {
    let mut tables = Vec::new();
    for r in readers {
        tables.push(r.resource_table().await.unwrap().expect("a v4 or v5 input"));
    }
    let m = merge_tables(&tables.iter().map(|t| t.as_ref()).collect::<Vec<_>>()).unwrap();
    let mut streams = Vec::new();
    for (r, map) in readers.iter().zip(&m.maps) {
        streams.extend(r.run_streams(3, Some(map.clone())).await.unwrap());
    }
    let mut w = writer_format(store, 3, FORMAT_V4)
        .with_resource_merge(m)
        .unwrap();
    let mut merger = RowMerger::new(streams).await.unwrap();
    if !merger.service_name_exact() {
        w.clear_service_name_exact();
    }
    while let Some(t) = merger.next().await.unwrap() {
        w.add_trace_rows(t.trace_id, &t.rows).await.unwrap();
    }
    w.finish().await.unwrap()
}

async fn every_column(store: &Arc<dyn ObjectStore>, meta: BlockMeta) -> RecordBatch {
    let reader = BlockReader::new(store.clone(), meta);
    let columns: Vec<&'static str> = (block_schema().fields().iter())
        .map(|f| &*Box::leak(f.name().clone().into_boxed_str()))
        .collect();
    scan_all(&reader, columns).await
}

async fn concat(store: &Arc<dyn ObjectStore>, readers: &[BlockReader]) -> BlockMeta {
    let (_, clock) = clock();
    let c = Concat::scan(readers).await.unwrap();
    c.write(
        store.clone(),
        TenantId::single(),
        BlockId::new_random(),
        readers,
        &opts(2),
        &clock,
        1,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_concatenation_holds_every_row_group_of_its_inputs() {
    let store = store();
    let metas = inputs(&store, FORMAT_V4).await;
    let rs = readers(&store, &metas);
    let scanned = Concat::scan(&rs).await.unwrap();
    // t1 is in all three inputs: two entries beyond its first.
    assert_eq!(scanned.shared_traces(), 2);
    assert_eq!(scanned.distinct_traces(), 5);
    assert_eq!(scanned.output_runs(), 3);

    let out = concat(&store, &rs).await;
    assert_eq!(out.format, FORMAT_V5);
    assert_eq!(out.total_traces, 5);
    assert_eq!(
        out.total_spans,
        metas.iter().map(|m| m.total_spans).sum::<u64>()
    );
    assert_eq!(
        out.row_groups,
        metas.iter().map(|m| m.row_groups).sum::<u32>()
    );
    assert!(
        metas.iter().all(|m| m.row_groups > 1),
        "inputs of several row groups"
    );
    assert_eq!(out.compaction_level, 1);
    assert_eq!(
        out.compacted_from,
        metas.iter().map(|m| m.block_id).collect::<Vec<_>>()
    );
    assert_eq!(
        out.start_time_unix_nano,
        metas.iter().map(|m| m.start_time_unix_nano).min().unwrap()
    );
    assert_eq!(
        out.end_time_unix_nano,
        metas.iter().map(|m| m.end_time_unix_nano).max().unwrap()
    );

    let reader = BlockReader::new(store.clone(), out.clone());
    assert_eq!(reader.sorted_runs().await.unwrap(), 3);
    // Every trace is found whole (all its rows of every run, with their resources), as in
    // the inputs.
    for n in 1..=5 {
        let id = tid(n);
        assert!(reader.may_contain(&id).await.unwrap());
        let mut want = Vec::new();
        for r in &rs {
            if let Some(f) = r.find_trace(&id).await.unwrap() {
                want.extend(f.resource_spans);
            }
        }
        let got = reader.find_trace(&id).await.unwrap().expect("found");
        assert_eq!(flat(got.resource_spans), flat(want), "trace {n}");
    }
    assert!(reader.find_trace(&tid(9)).await.unwrap().is_none());
    // read_all gives each trace once, its rows of every run together, in ID order.
    let all = reader.read_all().await.unwrap();
    assert_eq!(
        all.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        (1..=5)
            .map(tid)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    let t1 = all.iter().find(|(id, _)| *id == tid(1)).unwrap().1.clone();
    let mut want = Vec::new();
    for r in &rs {
        want.extend(r.find_trace(&tid(1)).await.unwrap().unwrap().resource_spans);
    }
    assert_eq!(flat(t1), flat(want));
}

#[tokio::test]
async fn merging_a_concatenation_writes_what_merging_its_inputs_writes() {
    let store = store();
    let metas = inputs(&store, FORMAT_V4).await;
    let rs = readers(&store, &metas);
    let direct = merge(&store, &rs).await;
    let concatenated = concat(&store, &rs).await;
    // Concatenated again with another block, whose trace sorts before the last run's: runs
    // add up, and the merge still agrees.
    let t6 = TraceId([1; 16]);
    let extra = block(
        &store,
        FORMAT_V4,
        vec![(t6, false, vec![batch("f", vec![span(t6, 13, 6)])])],
    )
    .await;
    let twice = concat(
        &store,
        &readers(&store, &[concatenated.clone(), extra.clone()]),
    )
    .await;
    assert_eq!(
        BlockReader::new(store.clone(), twice.clone())
            .sorted_runs()
            .await
            .unwrap(),
        4
    );
    let via_concat = merge(&store, &readers(&store, &[concatenated])).await;
    let mut with_extra = rs;
    with_extra.push(BlockReader::new(store.clone(), extra));
    let direct_extra = merge(&store, &with_extra).await;
    let via_twice = merge(&store, &readers(&store, &[twice])).await;
    for (a, b) in [(direct, via_concat), (direct_extra, via_twice)] {
        assert_eq!(a.total_spans, b.total_spans);
        assert_eq!(a.total_traces, b.total_traces);
        let (a, b) = (every_column(&store, a).await, every_column(&store, b).await);
        for (i, f) in block_schema().fields().iter().enumerate() {
            assert_eq!(
                a.column(i).as_ref(),
                b.column(i).as_ref(),
                "column {}",
                f.name()
            );
        }
    }
}

#[tokio::test]
async fn only_v4_and_v5_blocks_are_concatenated() {
    let store = store();
    let metas = inputs(&store, FORMAT_VERSION).await;
    match Concat::scan(&readers(&store, &metas)).await {
        Err(BlockError::InvalidOptions(m)) => assert!(m.contains("strata-parquet-v3"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_block_of_one_run_streams_as_one() {
    let store = store();
    let metas = inputs(&store, FORMAT_V4).await;
    let r = BlockReader::new(store.clone(), metas[0].clone());
    assert_eq!(r.sorted_runs().await.unwrap(), 1);
    assert_eq!(r.run_streams(3, None).await.unwrap().len(), 1);
    // Unused writer options are still checked.
    let bad = WriterOptions {
        bloom_false_positive: 2.0,
        ..opts(2)
    };
    let (_, clock) = clock();
    let rs = readers(&store, &metas);
    let c = Concat::scan(&rs).await.unwrap();
    let err = c
        .write(
            store.clone(),
            TenantId::single(),
            BlockId::new_random(),
            &rs,
            &bad,
            &clock,
            1,
        )
        .await;
    assert!(matches!(err, Err(BlockError::InvalidOptions(_))));
    let _unused: Option<BlockWriter> = None;
}

/// A lookup in a concatenation reads one row group per sorted run, but fetches their
/// `trace_id` chunks together: no more requests than the same lookup in one v4 block of the
/// same traces (warm footers, through the row filter).
#[tokio::test]
async fn lookups_in_a_concatenation_fetch_the_runs_together() {
    use strata_storage::{InstrumentedStore, StoreMetrics};

    let counted = Arc::new(InstrumentedStore::new(
        store(),
        StoreMetrics::unregistered(),
    ));
    let store: Arc<dyn ObjectStore> = counted.clone();
    let traces: Vec<(TraceId, Vec<ResourceSpans>)> = (1..=120u8)
        .map(|n| {
            let id = TraceId([n; 16]);
            (
                id,
                vec![batch("a", (0..4).map(|s| span(id, s, s)).collect())],
            )
        })
        .collect();
    let mut inputs = Vec::new();
    for part in 0..4 {
        let dealt: Vec<_> = (traces.iter().enumerate())
            .filter(|(i, _)| i % 4 == part)
            .map(|(_, t)| (t.0, false, t.1.clone()))
            .collect();
        let mut w = writer_format(&store, 40, FORMAT_V4);
        for (id, replica, rs) in &dealt {
            w.add_trace_copy(*id, rs, *replica).await.unwrap();
        }
        inputs.push(w.finish().await.unwrap());
    }
    let v5 = concat(&store, &readers(&store, &inputs)).await;
    let mut w = writer_format(&store, 40, FORMAT_V4);
    for (id, rs) in &traces {
        w.add_trace(*id, rs).await.unwrap();
    }
    let v4 = w.finish().await.unwrap();
    let mut reads = Vec::new();
    for meta in [v5, v4] {
        let reader = BlockReader::new(store.clone(), meta).with_whole_read_bytes(0);
        assert!(reader
            .find_trace(&TraceId([200; 16]))
            .await
            .unwrap()
            .is_none());
        let before = counted.stats();
        let found = reader
            .find_trace(&TraceId([61; 16]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.spans, 4);
        reads.push(counted.stats().since(&before).reads());
    }
    assert!(
        reads[0] <= reads[1],
        "v5 {} reads, v4 {}",
        reads[0],
        reads[1]
    );
}
