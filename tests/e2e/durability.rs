//! Nothing acknowledged is lost: the real binary is killed with SIGKILL right after the last
//! acknowledgement, restarted, and every acknowledged span must be there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use strata_integration_tests::otlp::{get_trace, grpc_push, simple_request, span_count, trace_id};
use strata_integration_tests::{wal_segments, Server, FAST_BLOCKS, NO_BLOCKS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_survive_sigkill() {
    let mut server = Server::start(NO_BLOCKS);
    let endpoint = server.otlp_grpc_endpoint();
    let acked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let endpoint = endpoint.clone();
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25u64 {
                let id = trace_id(worker * 1000 + i);
                grpc_push(&endpoint, simple_request(&[id], 4))
                    .await
                    .expect("push acknowledged");
                acked.fetch_add(1, Ordering::SeqCst);
                ids.push(id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    // Right after the last acknowledgement.
    server.kill9();
    assert_eq!(acked.load(Ordering::SeqCst), 200);
    server.restart();
    let base = server.url("");
    for id in &ids {
        let trace = get_trace(&base, id)
            .await
            .unwrap_or_else(|| panic!("acknowledged trace {} lost", hex::encode(id)));
        assert_eq!(span_count(&trace), 4, "trace {}", hex::encode(id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_blocks_are_cut_loses_nothing() {
    let mut server = Server::start(FAST_BLOCKS);
    let endpoint = server.otlp_grpc_endpoint();
    let mut ids = Vec::new();
    for i in 0..60u64 {
        let id = trace_id(50_000 + i);
        grpc_push(&endpoint, simple_request(&[id], 3))
            .await
            .expect("push acknowledged");
        ids.push(id);
        if i % 10 == 9 {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
    }
    server.kill9();
    server.restart();
    let base = server.url("");
    for id in &ids {
        let trace = get_trace(&base, id)
            .await
            .unwrap_or_else(|| panic!("acknowledged trace {} lost", hex::encode(id)));
        assert_eq!(span_count(&trace), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_wal_tail_is_cut_and_reported() {
    let mut server = Server::start(NO_BLOCKS);
    let endpoint = server.otlp_grpc_endpoint();
    let ids: Vec<_> = (0..5).map(|i| trace_id(90_000 + i)).collect();
    for id in &ids {
        grpc_push(&endpoint, simple_request(&[*id], 2))
            .await
            .unwrap();
    }
    server.kill9();
    // A crash mid-write leaves a partial record: a length header promising more than follows.
    let last = wal_segments(&server).pop().expect("a wal segment");
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    std::fs::write(&last, bytes).unwrap();
    server.restart();
    assert!(
        server.log().contains("cut at offset"),
        "truncation not reported:\n{}",
        server.log()
    );
    let base = server.url("");
    for id in &ids {
        assert_eq!(
            span_count(&get_trace(&base, id).await.expect("trace kept")),
            2
        );
    }
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("strata_ingester_wal_truncations_total 1"),
        "{metrics}"
    );
    // New pushes still work after recovery.
    let id = trace_id(99_999);
    grpc_push(&endpoint, simple_request(&[id], 1))
        .await
        .unwrap();
    assert_eq!(span_count(&get_trace(&base, &id).await.unwrap()), 1);
}
