//! Faults a real machine has, against the real binary: the WAL's disk filling up (a small
//! tmpfs of the test's own) and a slow disk (fsync latency injected with
//! `ingester.wal.inject_fsync_delay`). In both, nothing acknowledged is lost, nothing refused
//! is half-kept, and every refusal is counted.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use strata_integration_tests::otlp::{get_trace, grpc_push, simple_request, span_count, trace_id};
use strata_integration_tests::smallfs::SmallFs;
use strata_integration_tests::{eventually_async, metric_sum, Server, NO_BLOCKS};

/// Pushes `req` over OTLP/HTTP (protobuf); the status code.
async fn http_push(server: &Server, req: &ExportTraceServiceRequest) -> u16 {
    reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .await
        .expect("OTLP/HTTP reachable")
        .status()
        .as_u16()
}

async fn ready_body(server: &Server) -> String {
    reqwest::get(server.url("/ready"))
        .await
        .expect("ready reachable")
        .text()
        .await
        .unwrap_or_default()
}

/// Every trace in `ids` is readable with `spans` spans.
async fn all_readable(server: &Server, ids: &[[u8; 16]], spans: usize) {
    for id in ids {
        let trace = get_trace(&server.url(""), id)
            .await
            .unwrap_or_else(|| panic!("acknowledged trace {} lost", hex::encode(id)));
        assert_eq!(span_count(&trace), spans, "trace {}", hex::encode(id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_wal_disk_refuses_pushes_and_recovers_when_space_returns() {
    let fs = SmallFs::mount(8 << 20);
    let mut server = Server::start(&format!(
        "{NO_BLOCKS}ingester:\n  wal:\n    path: {}\n",
        fs.path().join("wal").display()
    ));
    let endpoint = server.otlp_grpc_endpoint();
    let mut acked = Vec::new();
    for i in 0..20 {
        let id = trace_id(1_000 + i);
        grpc_push(&endpoint, simple_request(&[id], 5))
            .await
            .expect("push acknowledged while there is space");
        acked.push(id);
    }

    // The disk fills up: pushes are refused with UNAVAILABLE / 503, counted, and /ready says why.
    let filler = fs.fill();
    let refused = [trace_id(2_000), trace_id(2_001)];
    let err = grpc_push(&endpoint, simple_request(&refused[..1], 5))
        .await
        .expect_err("a push onto a full WAL disk must be refused");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(err.message().contains("disk is full"), "{}", err.message());
    assert_eq!(
        http_push(&server, &simple_request(&refused[1..], 5)).await,
        503
    );
    let metrics = server.metrics().await;
    assert!(
        metric_sum(
            &metrics,
            "strata_ingester_wal_append_failures_total{reason=\"disk_full\"}"
        ) >= 2.0,
        "{metrics}"
    );
    let ready = eventually_async(10, || async {
        Some(ready_body(&server).await).filter(|b| b.contains("WAL disk is full"))
    })
    .await;
    assert!(ready.contains("wal:"), "{ready}");

    // Space returns: pushes are acknowledged again and /ready stops naming the WAL.
    std::fs::remove_file(&filler).unwrap();
    for i in 0..20 {
        let id = trace_id(3_000 + i);
        grpc_push(&endpoint, simple_request(&[id], 5))
            .await
            .expect("push acknowledged once space returned");
        acked.push(id);
    }
    eventually_async(10, || async {
        (!ready_body(&server).await.contains("wal:")).then_some(())
    })
    .await;

    // Nothing acknowledged was lost, nothing refused was half-written: a restart replays the
    // WAL and finds exactly the acknowledged traces.
    server.kill9();
    server.restart();
    all_readable(&server, &acked, 5).await;
    for id in &refused {
        assert!(
            get_trace(&server.url(""), id).await.is_none(),
            "refused trace {} was kept",
            hex::encode(id)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_wal_disk_turns_into_backpressure_not_memory() {
    // Every fsync takes 300 ms; at most 64 KiB of pushes may wait for the disk.
    let wal = tempfile::tempdir().unwrap();
    let server = Server::start(&format!(
        "{NO_BLOCKS}ingester:
  max_wal_pending_bytes: 65536
  wal:
    path: {}
    inject_fsync_delay: 300ms
",
        wal.path().display()
    ));
    let endpoint = server.otlp_grpc_endpoint();
    // 24 clients at once, each push ~15 KB: about five times the bound waits at once.
    let mut tasks = Vec::new();
    for client in 0..24u64 {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut refused) = (Vec::new(), Vec::new());
            for i in 0..4u64 {
                let id = trace_id(10_000 + client * 100 + i);
                match grpc_push(&endpoint, simple_request(&[id], 200)).await {
                    Ok(()) => acked.push(id),
                    Err(e) if e.code() == tonic::Code::ResourceExhausted => {
                        assert!(e.message().contains("retry later"), "{}", e.message());
                        refused.push(id);
                    }
                    Err(e) => panic!("unexpected answer to a push: {e:?}"),
                }
            }
            (acked, refused)
        }));
    }
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, r) = t.await.unwrap();
        acked.extend(a);
        refused.extend(r);
    }
    eprintln!(
        "{} pushes acknowledged, {} refused",
        acked.len(),
        refused.len()
    );
    assert!(
        !refused.is_empty(),
        "no push was refused although ~5x the bound waited for a slow disk"
    );
    assert!(!acked.is_empty(), "every push was refused");
    let metrics = server.metrics().await;
    assert!(
        metric_sum(&metrics, "strata_ingester_pushes_refused_total") >= refused.len() as f64,
        "{metrics}"
    );
    // Nothing waits for the disk any more once the load is gone.
    assert_eq!(
        metric_sum(&metrics, "strata_ingester_wal_pending_bytes"),
        0.0,
        "{metrics}"
    );
    all_readable(&server, &acked, 200).await;
    for id in &refused {
        assert!(
            get_trace(&server.url(""), id).await.is_none(),
            "refused trace {} was kept",
            hex::encode(id)
        );
    }
}
