//! A Strata block round trip on every object-store backend, against real servers on loopback
//! (moto for S3, Azurite for Azure, the GCS client against moto's S3 API for GCS — see
//! `crates/strata-storage/tests/support`): write with `BlockWriter`, find it with
//! `list_blocks`, open it with `BlockReader`, look traces up by ID, and count the object-store
//! requests each lookup makes through the instrumented store.

mod common;
#[path = "../../strata-storage/tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use common::{batch, clock, kv, normalise, s};
use strata_block::{read_bloom, BlockReader, BlockWriter, WriterOptions};
use strata_common::{BlockId, TenantId, TraceId};
use strata_proto::otlp::trace::{ResourceSpans, Span};
use strata_storage::{
    build_instrumented, list_blocks, InstrumentedStore, SharedStore, StoreMetrics,
};
use support::Backend;

const TRACES: usize = 400;
const SPANS_PER_TRACE: u64 = 5;
const ROW_GROUP_SPANS: usize = 250;

/// Deterministic, well-spread trace IDs in ascending order.
fn trace_ids() -> Vec<TraceId> {
    let mut ids: Vec<TraceId> = (0..TRACES as u64)
        .map(|i| {
            let h = xxhash_like(i);
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&h.to_be_bytes());
            b[8..].copy_from_slice(&i.to_be_bytes());
            TraceId(b)
        })
        .collect();
    ids.sort();
    ids
}

/// A cheap 64-bit mix (splitmix64) so IDs spread over the whole key space.
fn xxhash_like(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn trace(i: usize, id: TraceId) -> Vec<ResourceSpans> {
    let spans: Vec<Span> = (0..SPANS_PER_TRACE)
        .map(|k| Span {
            trace_id: id.0.to_vec(),
            span_id: ((i as u64) << 8 | (k + 1)).to_be_bytes().to_vec(),
            name: format!("op-{}", k % 3),
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1000 + k,
            end_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1000 + k + 500,
            attributes: vec![kv(
                "payload",
                s(&format!("value-{i}-{k}-{}", "x".repeat(64))),
            )],
            ..Default::default()
        })
        .collect();
    vec![batch(&format!("svc-{}", i % 4), spans)]
}

async fn round_trip(backend: Backend) {
    let name = backend.name;
    let store: Arc<InstrumentedStore> =
        build_instrumented(&backend.config, StoreMetrics::unregistered()).unwrap();
    let shared: SharedStore = store.clone();
    let tenant = TenantId::new("tenant-1").unwrap();

    // write
    let ids = trace_ids();
    let traces: Vec<(TraceId, Vec<ResourceSpans>)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, trace(i, *id)))
        .collect();
    let (_, clock) = clock();
    let opts = WriterOptions {
        row_group_max_spans: ROW_GROUP_SPANS,
        expected_traces: TRACES,
        ..WriterOptions::default()
    };
    let mut w = BlockWriter::new(
        shared.clone(),
        tenant.clone(),
        BlockId::new_random(),
        opts,
        clock,
    )
    .unwrap();
    let before_write = store.stats();
    for (id, rs) in &traces {
        w.add_trace(*id, rs).await.unwrap();
    }
    let meta = w.finish().await.unwrap();
    let write = store.stats().since(&before_write);
    println!(
        "{name}: block {} ({} B data, {} row groups) written with {write}",
        meta.block_id, meta.size_bytes, meta.row_groups
    );
    assert!(meta.row_groups > 2, "{name}: want several row groups");

    // list, open, bloom
    let t0 = store.stats();
    let blocks = list_blocks(shared.as_ref(), &tenant).await.unwrap();
    assert_eq!(blocks, vec![meta.block_id], "{name}: list_blocks");
    let reader = BlockReader::open(shared.clone(), &tenant, meta.block_id)
        .await
        .unwrap();
    assert_eq!(reader.meta(), &meta, "{name}: meta.json round trip");
    let bloom = read_bloom(shared.as_ref(), &tenant, meta.block_id)
        .await
        .unwrap();
    let open = store.stats().since(&t0);
    println!("{name}: list + meta.json + bloom: {open}");
    assert_eq!(
        open.reads(),
        2,
        "{name}: meta.json and bloom are one GET each"
    );

    // first lookup: the whole small file (footer, page index, data) in one read
    let (i, id) = (TRACES / 3, ids[TRACES / 3]);
    assert!(bloom.may_contain(&id));
    let t1 = store.stats();
    let found = reader.find_trace(&id).await.unwrap().expect("present");
    let first = store.stats().since(&t1);
    println!("{name}: first lookup (cold footer): {first}");
    assert_eq!(found.spans, SPANS_PER_TRACE as usize, "{name}");
    assert_eq!(
        normalise(found.resource_spans),
        normalise(trace(i, id)),
        "{name}: trace content"
    );
    assert_eq!(first.errors(strata_storage::Operation::GetRange), 0);
    // The file is below WHOLE_FILE_BYTES: fetched whole in one ranged GET.
    assert_eq!(first.reads(), 1, "{name}: first lookup made {first}");

    // further lookups: footer cached
    for i in [0, TRACES / 2, TRACES - 1] {
        let id = ids[i];
        let t = store.stats();
        let found = reader.find_trace(&id).await.unwrap().expect("present");
        let warm = store.stats().since(&t);
        println!("{name}: lookup {i} (footer cached): {warm}");
        assert_eq!(
            normalise(found.resource_spans),
            normalise(trace(i, id)),
            "{name}: trace {i}"
        );
        // The row group (far below WHOLE_READ_BYTES) is fetched whole in one ranged GET.
        assert_eq!(
            warm.reads(),
            1,
            "{name}: lookup {i} made {} GETs: {warm}",
            warm.reads()
        );
        assert_eq!(warm.requests(strata_storage::Operation::Get), 0, "{name}");
    }

    // an ID above every row group's max: pruned by statistics, no data read
    let absent = TraceId([0xff; 16]);
    let t = store.stats();
    assert!(reader.find_trace(&absent).await.unwrap().is_none());
    let none = store.stats().since(&t);
    println!("{name}: absent ID (pruned by row-group stats): {none}");
    assert_eq!(none.reads(), 0, "{name}: {none}");

    // a fresh reader reads everything back
    let all = BlockReader::open(shared, &tenant, meta.block_id)
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    assert_eq!(all.len(), TRACES, "{name}: read_all");
    assert_eq!(
        all.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ids,
        "{name}: read_all order"
    );
}

#[tokio::test]
async fn block_round_trip_local() {
    round_trip(Backend::local()).await;
}

#[tokio::test]
async fn block_round_trip_s3_on_moto() {
    round_trip(Backend::s3().await).await;
}

#[tokio::test]
async fn block_round_trip_azure_on_azurite() {
    round_trip(Backend::azure().await).await;
}

#[tokio::test]
async fn block_round_trip_gcs_client_on_s3_compatible_server() {
    round_trip(Backend::gcs().await).await;
}
