//! The checked-in fixture set `v3` (`crates/strata-testkit/fixtures/v3`, see its README), the
//! first in block format `strata-parquet-v2`, still reads: `meta.json` with `compactedFrom`,
//! the `replica` column (traces 3 and 4 of block `…b0` are replica copies), and the footer's
//! `strata.service_name_exact` mark.
//!
//! The files are only read, never regenerated: a failure here means this build no longer reads
//! blocks an older build stored.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::{read_meta, BlockReader, SERVICE_NAME_EXACT_KEY};
use strata_proto::otlp::trace::ResourceSpans;
use strata_testkit::fixtures::{v1, v3};
use strata_testkit::normalise;

fn bucket() -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new_with_prefix(v3::bucket()).expect("fixture bucket"))
}

fn spans(rs: &[ResourceSpans]) -> usize {
    rs.iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

#[tokio::test]
async fn meta_json_has_the_format_and_compacted_from() {
    let store = bucket();
    let b0 = read_meta(store.as_ref(), &v1::tenant(), v3::block_b0())
        .await
        .expect("meta.json of b0");
    assert_eq!(b0.format, "strata-parquet-v2");
    assert!(b0.has_replica_column());
    assert_eq!((b0.total_traces, b0.total_spans), (4, 6));
    assert_eq!(
        (b0.compaction_level, b0.created_unix_nano),
        (0, v3::B0_CREATED_NS)
    );
    assert!(b0.compacted_from.is_empty());
    let b1 = read_meta(store.as_ref(), &v1::tenant(), v3::block_b1())
        .await
        .expect("meta.json of b1");
    assert_eq!(b1.compaction_level, 1);
    assert_eq!(b1.compacted_from, vec![v3::block_b0()]);
}

#[tokio::test]
async fn replica_rows_stream_apart_and_the_footer_is_marked_exact() {
    let store = bucket();
    for (block, replica_traces) in [
        (v3::block_b0(), vec![v1::trace(3), v1::trace(4)]),
        (v3::block_b1(), vec![]),
    ] {
        let meta = read_meta(store.as_ref(), &v1::tenant(), block)
            .await
            .expect("meta");
        let reader = BlockReader::new(store.clone(), meta);
        let md = reader.parquet_metadata().await.expect("footer");
        let exact = md
            .file_metadata()
            .key_value_metadata()
            .and_then(|kvs| kvs.iter().find(|kv| kv.key == SERVICE_NAME_EXACT_KEY))
            .and_then(|kv| kv.value.clone());
        assert_eq!(exact.as_deref(), Some("true"), "{block}");
        let mut stream = reader.trace_stream(0).await.expect("stream");
        let written = v1::traces();
        let mut seen = 0;
        while let Some(t) = stream.next_trace().await.expect("trace") {
            let (_, rs) = written
                .iter()
                .find(|(id, _)| *id == t.trace_id)
                .expect("a written trace");
            let (counted, replica) = if replica_traces.contains(&t.trace_id) {
                (&t.replica_resource_spans, &t.resource_spans)
            } else {
                (&t.resource_spans, &t.replica_resource_spans)
            };
            assert_eq!(spans(replica), 0, "{block} {}", t.trace_id);
            assert_eq!(normalise(counted.clone()), normalise(rs.clone()));
            seen += 1;
        }
        assert_eq!(seen, 4);
    }
}
