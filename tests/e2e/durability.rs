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

/// `<trace-id-hex> <spans>` lines written by `loadgen --ack-log`.
fn acked(path: &std::path::Path) -> Vec<([u8; 16], usize)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (id, n) = l.split_once(' ')?;
            Some((hex::decode(id).ok()?.try_into().ok()?, n.parse().ok()?))
        })
        .collect()
}

/// A load well above what a tiny `max_unflushed_bytes` lets through while blocks are written:
/// part of it is refused (each refusal counted once, as `ingester_backpressure`), and every
/// acknowledged span is still there after SIGKILL and restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturating_load_is_shed_counted_and_acknowledged_spans_survive_sigkill() {
    let mut server = Server::start(
        "ingester:\n  max_unflushed_bytes: 400000\n  trace_idle_period: 200ms\n  trace_live_period: 1s\n  flush_check_period: 100ms\n  max_block_duration: 300ms\n  complete_block_timeout: 1h\n",
    );
    let ack_log = server.dir.path().join("acked.txt");
    let out = std::process::Command::new(strata_integration_tests::strata_bin())
        .args(["loadgen", "--protocol", "grpc", "--endpoint"])
        .arg(server.otlp_grpc_endpoint())
        .args([
            "--duration",
            "2s",
            "--concurrency",
            "8",
            "--spans-per-trace",
            "4",
            "--traces-per-request",
            "20",
            "--payload-cache",
            "8",
            "--quiet",
            "--json",
            "--ack-log",
        ])
        .arg(&ack_log)
        .output()
        .expect("loadgen runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("loadgen report");
    let failed = report["requests_failed"].as_u64().unwrap();
    let errors = report["errors"].as_object().unwrap();
    assert_eq!(
        errors
            .get("grpc ResourceExhausted")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        failed,
        "only backpressure refusals: {report}"
    );
    // Every refused span is counted once, under one reason.
    let metrics = server.metrics().await;
    let refused_spans = strata_integration_tests::metric_sum(
        &metrics
            .lines()
            .filter(|l| l.contains(r#"reason="ingester_backpressure""#))
            .collect::<Vec<_>>()
            .join("\n"),
        "strata_discarded_spans_total",
    );
    assert_eq!(refused_spans as u64, failed * 80, "{report}");
    let acked = acked(&ack_log);
    assert!(!acked.is_empty(), "{report}");
    eprintln!(
        "{} traces acknowledged, {failed} requests refused",
        acked.len()
    );
    assert_eq!(
        acked.len() as u64 * 4,
        report["spans_accepted"].as_u64().unwrap()
    );

    server.kill9();
    server.restart();
    let base = server.url("");
    use futures::stream::{self, StreamExt};
    let wrong: Vec<String> = stream::iter(acked)
        .map(|(id, spans)| {
            let base = base.clone();
            async move {
                let got = get_trace(&base, &id).await.map(|t| span_count(&t));
                (got != Some(spans)).then(|| format!("{}: {got:?} of {spans}", hex::encode(id)))
            }
        })
        .buffer_unordered(16)
        .filter_map(|w| async move { w })
        .collect()
        .await;
    assert!(
        wrong.is_empty(),
        "acknowledged traces lost or cut: {wrong:?}"
    );
}
