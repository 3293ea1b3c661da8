//! Head blocks are cut into Parquet blocks in the object store, WAL segments are released, and
//! every OTLP field survives the trip through a block.

use strata_integration_tests::otlp::{
    flatten, get_trace, grpc_push, rich_request, simple_request, trace_id,
};
use strata_integration_tests::{block_metas, eventually, wal_segments, Server, FAST_BLOCKS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_survives_a_block() {
    let mut server = Server::start(FAST_BLOCKS);
    let id = trace_id(7);
    let sent = rich_request(id);
    grpc_push(&server.otlp_grpc_endpoint(), sent.clone())
        .await
        .unwrap();

    // The block appears with its meta.json, and the WAL is down to the open segment.
    let metas = eventually(30, || {
        let m = block_metas(&server, "single-tenant");
        (!m.is_empty()).then_some(m)
    });
    eventually(30, || (wal_segments(&server).len() == 1).then_some(()));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&metas[0]).unwrap()).unwrap();
    assert_eq!(meta["format"], "strata-parquet-v4");
    assert_eq!(meta["tenantId"], "single-tenant");
    assert_eq!(meta["totalSpans"], 4);
    assert_eq!(meta["totalTraces"], 1);
    let dir = metas[0].parent().unwrap();
    assert!(dir.join("data.parquet").exists() && dir.join("bloom").exists());

    // After a restart the WAL holds nothing of this trace: the answer comes from the block.
    server.kill9();
    server.restart();
    let got = get_trace(&server.url(""), &id)
        .await
        .expect("trace read from the block");
    assert_eq!(flatten(&got), flatten(&sent.resource_spans));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_found_across_live_data_and_blocks() {
    let server = Server::start(FAST_BLOCKS);
    let endpoint = server.otlp_grpc_endpoint();
    let id = trace_id(11);
    // First half, let it go to a block, then the second half while the first is on disk.
    grpc_push(&endpoint, simple_request(&[id], 3))
        .await
        .unwrap();
    eventually(30, || {
        (!block_metas(&server, "single-tenant").is_empty()).then_some(())
    });
    let mut second = simple_request(&[id], 6);
    second.resource_spans[0].scope_spans[0].spans.drain(..3);
    grpc_push(&endpoint, second).await.unwrap();
    // Duplicates (a client retry) are removed by (span ID, kind).
    grpc_push(&endpoint, simple_request(&[id], 3))
        .await
        .unwrap();
    let base = server.url("");
    let spans = eventually(30, || {
        let rt = tokio::runtime::Handle::current();
        let t = tokio::task::block_in_place(|| rt.block_on(get_trace(&base, &id)))?;
        let n = strata_integration_tests::otlp::span_count(&t);
        (n == 6).then_some(n)
    });
    assert_eq!(spans, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_shutdown_flushes_everything_to_blocks() {
    let mut server = Server::start(
        "ingester:\n  trace_idle_period: 1h\n  trace_live_period: 2h\n  max_block_duration: 3h\n",
    );
    let ids: Vec<_> = (0..20).map(|i| trace_id(300 + i)).collect();
    grpc_push(&server.otlp_grpc_endpoint(), simple_request(&ids, 2))
        .await
        .unwrap();
    assert!(block_metas(&server, "single-tenant").is_empty());
    server.stop();
    assert_eq!(block_metas(&server, "single-tenant").len(), 1);
    // Only the empty segment opened at start remains, so the restart replays nothing.
    server.restart();
    for id in &ids {
        assert!(get_trace(&server.url(""), id).await.is_some());
    }
    assert!(server.log().contains("records=0"), "{}", server.log());
}
