//! The checked-in fixture set `v1` (`crates/strata-testkit/fixtures/v1`, see its README) still
//! reads: `meta.json`, `index.json` and `compacted.json` parse with the fields written, and the
//! blocks answer lookups, bloom checks, scans and listings with the data written.
//!
//! The files are only read, never regenerated: a failure here means this build no longer reads
//! blocks an older build stored.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::compacted::COMPACTED_FORMAT;
use strata_block::index::INDEX_FORMAT;
use strata_block::{
    list_block_dirs, read_bloom, read_compacted, read_index, read_meta, BlockReader, ScanRequest,
    FORMAT_V1,
};
use strata_common::TenantId;
use strata_proto::otlp::common::any_value::Value;
use strata_testkit::fixtures::v1;
use strata_testkit::normalise;

fn bucket() -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new_with_prefix(v1::bucket()).expect("fixture bucket"))
}

async fn reader(block: strata_common::BlockId) -> BlockReader {
    BlockReader::open(bucket(), &v1::tenant(), block)
        .await
        .expect("open fixture block")
}

#[tokio::test]
async fn meta_json_has_the_fields_written() {
    let store = bucket();
    let l1 = read_meta(store.as_ref(), &v1::tenant(), v1::block_l1())
        .await
        .expect("meta.json of L1");
    assert_eq!(l1.format, "strata-parquet-v1");
    assert_eq!(l1.format, FORMAT_V1);
    assert_eq!(l1.block_id.to_string(), v1::BLOCK_L1);
    assert_eq!(l1.tenant_id, "single-tenant");
    assert_eq!(l1.start_time_unix_nano, v1::BASE_NS);
    assert_eq!(l1.end_time_unix_nano, v1::BASE_NS + 3_005_000_000);
    assert_eq!((l1.total_traces, l1.total_spans), (4, 6));
    assert_eq!(l1.row_groups, 2);
    assert_eq!(l1.compaction_level, 1);
    assert_eq!(l1.created_unix_nano, v1::L1_CREATED_NS);
    let data = std::fs::metadata(
        v1::bucket().join(format!("single-tenant/{}/data.parquet", v1::BLOCK_L1)),
    )
    .expect("data.parquet");
    assert_eq!(l1.size_bytes, data.len());

    let l0 = read_meta(store.as_ref(), &v1::tenant(), v1::block_l0())
        .await
        .expect("meta.json of L0");
    assert_eq!((l0.total_traces, l0.total_spans), (2, 3));
    assert_eq!((l0.row_groups, l0.compaction_level), (1, 0));
    assert_eq!(l0.start_time_unix_nano, v1::BASE_NS + 1_000_000_000);
    assert_eq!(l0.end_time_unix_nano, v1::BASE_NS + 2_001_000_000);
    assert_eq!(l0.created_unix_nano, v1::L0_CREATED_NS);
}

#[tokio::test]
async fn compacted_json_names_the_replacing_block() {
    let store = bucket();
    let l0 = reader(v1::block_l0()).await;
    let marker = read_compacted(store.as_ref(), &l0.meta().paths().unwrap())
        .await
        .expect("compacted.json parses")
        .expect("L0 is marked");
    assert_eq!(marker.format, COMPACTED_FORMAT);
    assert_eq!(marker.format, "strata-compacted-v1");
    assert_eq!(marker.block_id, v1::block_l0());
    assert_eq!(marker.compacted_unix_nano, v1::COMPACTED_NS);
    assert_eq!(marker.replaced_by, vec![v1::block_l1()]);

    let l1 = reader(v1::block_l1()).await;
    let none = read_compacted(store.as_ref(), &l1.meta().paths().unwrap())
        .await
        .expect("no marker is not an error");
    assert_eq!(none, None);
}

#[tokio::test]
async fn index_json_lists_the_live_and_the_compacted_block() {
    let store = bucket();
    let index = read_index(store.as_ref(), &v1::tenant())
        .await
        .expect("index.json parses")
        .expect("index.json exists");
    assert_eq!(index.format, INDEX_FORMAT);
    assert_eq!(index.format, "strata-index-v1");
    assert_eq!(index.tenant_id, "single-tenant");
    assert_eq!(index.created_unix_nano, v1::INDEX_CREATED_NS);
    let l1 = reader(v1::block_l1()).await;
    assert_eq!(index.blocks, vec![l1.meta().clone()]);
    assert_eq!(index.compacted.len(), 1);
    let c = &index.compacted[0];
    assert_eq!(&c.meta, reader(v1::block_l0()).await.meta());
    assert_eq!(c.compacted_unix_nano, v1::COMPACTED_NS);
    assert_eq!(c.replaced_by, vec![v1::block_l1()]);

    let other = TenantId::new("team-a").unwrap();
    assert_eq!(read_index(store.as_ref(), &other).await.unwrap(), None);
}

#[tokio::test]
async fn the_bucket_lists_both_blocks_complete_and_l0_marked() {
    let dirs = list_block_dirs(bucket().as_ref(), &v1::tenant())
        .await
        .expect("list");
    let seen: Vec<_> = dirs
        .iter()
        .map(|d| (d.block, d.has_meta, d.has_compacted, d.objects.len()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (v1::block_l0(), true, true, 4),
            (v1::block_l1(), true, false, 3),
        ]
    );
}

#[tokio::test]
async fn every_trace_is_found_by_id_with_every_field() {
    for (block, traces, absent) in [
        (v1::block_l1(), v1::l1_traces(), vec![v1::trace(5)]),
        (
            v1::block_l0(),
            v1::l0_traces(),
            vec![v1::trace(1), v1::trace(4)],
        ),
    ] {
        let r = reader(block).await;
        for (id, written) in traces {
            let found = r
                .find_trace(&id)
                .await
                .expect("find")
                .unwrap_or_else(|| panic!("trace {id} in {block}"));
            assert_eq!(found.spans, strata_testkit::span_count(&written));
            assert_eq!(
                normalise(found.resource_spans),
                normalise(written),
                "trace {id} of block {block}"
            );
        }
        for id in absent {
            assert_eq!(r.find_trace(&id).await.expect("find"), None, "{id}");
        }
    }
}

#[tokio::test]
async fn known_values_come_back() {
    let r = reader(v1::block_l1()).await;
    let t1 = r.find_trace(&v1::trace(1)).await.unwrap().unwrap();
    assert_eq!(v1::trace(1).to_hex(), "10000000000000000000000000000001");
    let frontend = t1
        .resource_spans
        .iter()
        .find(|rs| {
            rs.resource.as_ref().unwrap().attributes[0]
                .value
                .as_ref()
                .unwrap()
                .value
                == Some(Value::StringValue("frontend".into()))
        })
        .expect("frontend resource");
    let root = &frontend.scope_spans[0].spans[0];
    assert_eq!(root.name, "GET /cart");
    assert_eq!(root.span_id, 0x101u64.to_be_bytes());
    assert_eq!(root.status.as_ref().unwrap().message, "payment declined");
    assert_eq!(root.events[0].name, "exception");
    let attr = |key: &str| {
        root.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.clone())
            .and_then(|v| v.value)
    };
    assert_eq!(attr("str"), Some(Value::StringValue("hello".into())));
    assert_eq!(attr("int"), Some(Value::IntValue(-42)));
    assert_eq!(attr("double"), Some(Value::DoubleValue(3.25)));
    assert_eq!(attr("bool"), Some(Value::BoolValue(true)));
    assert_eq!(attr("bytes"), Some(Value::BytesValue(vec![0, 1, 2, 255])));
    assert_eq!(attr("http.status_code"), Some(Value::IntValue(502)));
    assert_eq!(attr("empty"), None);
}

#[tokio::test]
async fn bloom_filters_hold_their_blocks_traces() {
    let store = bucket();
    let l1 = read_bloom(store.as_ref(), &v1::tenant(), v1::block_l1())
        .await
        .expect("bloom of L1");
    for n in 1..=4 {
        assert!(l1.may_contain(&v1::trace(n)), "trace {n}");
    }
    let l0 = read_bloom(store.as_ref(), &v1::tenant(), v1::block_l0())
        .await
        .expect("bloom of L0");
    assert!(l0.may_contain(&v1::trace(2)) && l0.may_contain(&v1::trace(3)));
}

#[tokio::test]
async fn read_all_and_a_scan_see_every_span() {
    let r = reader(v1::block_l1()).await;
    let all = r.read_all().await.expect("read_all");
    let ids: Vec<_> = all.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (1..=4).map(v1::trace).collect::<Vec<_>>());

    let mut scan = r
        .scan(ScanRequest {
            columns: vec![strata_block::schema::col::NAME],
            ..Default::default()
        })
        .await
        .expect("scan");
    let mut rows = 0;
    while let Some(batch) = scan.next().await.expect("batch") {
        rows += batch.num_rows();
    }
    assert_eq!(rows, 6);
}
