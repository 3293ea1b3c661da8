//! Object-store outages: while the store is down, cut blocks wait on the ingester's local disk,
//! are retried with backoff and stay queryable; `/metrics` and `/ready` say so; once the store
//! is back they are uploaded and nothing is lost.
//!
//! The store is a real Azurite blob server keeping its data on disk, killed with SIGKILL and
//! restarted on the same port and directory.

use strata_integration_tests::otlp::{get_trace, grpc_push, simple_request, span_count, trace_id};
use strata_integration_tests::store_servers::{
    azurite_at, create_container, free_port, unique_name,
};
use strata_integration_tests::{
    eventually, eventually_async, http_probe, metric_sum, Server, FAST_BLOCKS,
};

fn ready_body(server: &Server) -> String {
    let rest = server.url("/ready");
    let host = rest.trim_start_matches("http://");
    let (addr, path) = host.split_at(host.find('/').unwrap());
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_wait_on_local_disk_while_the_store_is_down() {
    let store_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut azurite = Some(azurite_at(Some(store_dir.path()), port));
    let container = unique_name("strata");
    create_container(azurite.as_ref().unwrap(), &container).await;
    let server = Server::start(&format!(
        "{FAST_BLOCKS}storage:
  backend: azure
  azure:
    container_name: {container}
    use_emulator: true
    endpoint: http://127.0.0.1:{port}/devstoreaccount1
  request_timeout: 2s
  connect_timeout: 1s
  max_retries: 1
  retry_timeout: 2s
  block:
    bloom_false_positive: 0.0001
"
    ));
    let api = server.url("");

    // Store up: a block is uploaded.
    let a = trace_id(1);
    grpc_push(&server.otlp_grpc_endpoint(), simple_request(&[a], 3))
        .await
        .unwrap();
    let server = &server;
    eventually_async(60, || async {
        let page = server.metrics().await;
        (metric_sum(&page, "strata_ingester_blocks_flushed_total") >= 1.0).then_some(())
    })
    .await;

    // Store down: new data is still acknowledged, kept locally, queryable, and reported.
    // Azurite saves its catalog to disk a moment after each change; wait for the container and
    // the uploaded block to be in it, or the restarted server would not know them.
    let db = store_dir.path().join("__azurite_db_blob__.json");
    eventually(60, || {
        let text = std::fs::read_to_string(&db).unwrap_or_default();
        (text.contains(&container) && text.contains("meta.json")).then_some(())
    });
    drop(azurite.take());
    let b = trace_id(2);
    grpc_push(&server.otlp_grpc_endpoint(), simple_request(&[b], 4))
        .await
        .expect("ingest keeps working while the store is down");
    eventually_async(60, || async {
        let page = server.metrics().await;
        (metric_sum(&page, "strata_ingester_blocks_pending_upload") >= 1.0
            && metric_sum(&page, "strata_ingester_block_flush_failures_total") >= 1.0)
            .then_some(())
    })
    .await;
    let ready = eventually(60, || {
        let body = ready_body(server);
        body.contains("object store unavailable").then_some(body)
    });
    assert!(
        ready.starts_with("HTTP/1.1 200") || ready.starts_with("HTTP/1.0 200"),
        "{ready}"
    );
    let got = get_trace(&api, &b)
        .await
        .expect("trace served from the local block");
    assert_eq!(span_count(&got), 4);
    let page = server.metrics().await;
    assert!(
        metric_sum(&page, "strata_object_store_requests_total") > 0.0
            && page.contains("result=\"error\""),
        "store errors are counted:\n{page}"
    );

    // Store back: the local block is uploaded, the report clears, both traces are readable.
    let _azurite = azurite_at(Some(store_dir.path()), port);
    eventually_async(120, || async {
        let page = server.metrics().await;
        (metric_sum(&page, "strata_ingester_blocks_pending_upload") == 0.0
            && metric_sum(&page, "strata_ingester_blocks_flushed_total") >= 2.0)
            .then_some(())
    })
    .await;
    eventually(30, || {
        (!ready_body(server).contains("object store unavailable")).then_some(())
    });
    for (id, spans) in [(a, 3), (b, 4)] {
        let got = eventually_async(60, || async {
            get_trace(&api, &id)
                .await
                .filter(|rs| span_count(rs) == spans)
        })
        .await;
        assert_eq!(span_count(&got), spans);
    }
    let _ = http_probe::blocking_get(&server.url("/ready"));
}
