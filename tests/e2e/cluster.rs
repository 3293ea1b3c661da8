//! Distributed mode: role binaries as separate processes talking gRPC on a replicated ring.
//!
//! Under load from `strata loadgen` (spread over two distributors), one of three ingesters
//! (replication factor 3) is killed with SIGKILL and later restarted. Every trace the load
//! generator saw acknowledged must be returned by the querier with exactly the spans sent:
//! none lost while the ingester was down, none duplicated after its WAL replay.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use futures::stream::{self, StreamExt};
use strata_integration_tests::cluster::{Cluster, ClusterSpec, RoleProcess};
use strata_integration_tests::{eventually, eventually_async, free_ports, otlp, strata_bin};

/// `<trace-id-hex> <spans>` lines written by `loadgen --ack-log`.
fn acked(path: &Path) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (id, n) = l.split_once(' ')?;
            Some((id.to_string(), n.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_traces_survive_an_ingester_sigkill_without_duplicates() {
    let mut cluster = Cluster::start(ClusterSpec {
        ingester_settings: "  trace_idle_period: 1s\n  flush_check_period: 200ms\n  max_block_duration: 2s\n  complete_block_timeout: 1m\n".into(),
        ..ClusterSpec::default()
    });
    let ack_log = cluster.dir.path().join("acked.txt");
    let loadgen = Command::new(strata_bin())
        .args(["loadgen", "--protocol", "grpc", "--endpoint"])
        .arg(cluster.otlp_grpc.join(","))
        .args([
            "--duration",
            "12s",
            "--rate",
            "1500",
            "--concurrency",
            "4",
            "--spans-per-trace",
            "5",
            "--traces-per-request",
            "10",
            "--payload-cache",
            "8",
            "--timeout",
            "5s",
            "--quiet",
            "--json",
            "--ack-log",
        ])
        .arg(&ack_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting loadgen");

    // Kill an ingester once some traffic is acknowledged, restart it once more has been.
    let before = eventually(60, || {
        let n = acked(&ack_log).len();
        (n >= 300).then_some(n)
    });
    cluster.ingesters[1].kill9();
    eventually(60, || (acked(&ack_log).len() >= before + 600).then_some(()));
    cluster.ingesters[1].restart();

    let out = loadgen.wait_with_output().expect("loadgen runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "loadgen report: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "loadgen failed: {report}");
    let sent = acked(&ack_log);
    assert!(
        sent.len() >= before + 600,
        "loadgen acknowledged only {} traces: {report}\n{}",
        sent.len(),
        cluster.logs()
    );

    // Every acknowledged trace, with exactly its spans.
    let api = cluster.querier.url("");
    let results: Vec<(String, usize, Option<usize>)> = stream::iter(sent.clone())
        .map(|(id, want)| {
            let api = api.clone();
            async move {
                let raw: [u8; 16] = hex::decode(&id).unwrap().try_into().unwrap();
                let got = otlp::get_trace(&api, &raw)
                    .await
                    .map(|rs| otlp::flatten(&rs).len());
                (id, want, got)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, want, got)| *got != Some(*want))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} acknowledged traces are missing or have the wrong span count, e.g. {:?}\n{}",
        wrong.len(),
        results.len(),
        &wrong[..wrong.len().min(5)],
        cluster.logs()
    );

    // Search: each trace once, even though three ingesters and their blocks hold copies.
    let url = cluster
        .querier
        .url("/api/search?q=%7B%7D&limit=100000&spss=1");
    let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = body["traces"]
        .as_array()
        .expect("traces array")
        .iter()
        .map(|t| t["traceID"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "search returned duplicate traces");
    assert!(
        ids.len() >= sent.len(),
        "search found {} traces, {} were acknowledged",
        ids.len(),
        sent.len()
    );

    for p in cluster.distributors.iter_mut() {
        p.stop();
    }
    for p in cluster.ingesters.iter_mut() {
        p.stop();
    }
    cluster.querier.stop();
}

/// With more ingesters down than replication tolerates, reads and writes answer "unavailable"
/// (HTTP 503 / gRPC `UNAVAILABLE`), which clients and Grafana retry — not 500 — and work again
/// once enough ingesters are back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_ingesters_down_is_503_on_every_read_and_unavailable_on_write() {
    let mut cluster = Cluster::start(ClusterSpec {
        ingesters: 2,
        distributors: 1,
        replication_factor: 2,
        ..ClusterSpec::default()
    });
    let id = otlp::trace_id(7);
    let reads = [
        format!("/api/traces/{}", hex::encode(id)),
        format!("/api/v2/traces/{}", hex::encode(id)),
        "/api/search?q=%7B%7D".to_string(),
        "/api/search/tags".to_string(),
        "/api/v2/search/tags".to_string(),
        "/api/search/tag/service.name/values".to_string(),
        "/api/v2/search/tag/resource.service.name/values".to_string(),
    ];
    let status = |path: &str| {
        let url = cluster.querier.url(path);
        async move { reqwest::get(&url).await.unwrap().status().as_u16() }
    };
    for path in &reads[2..] {
        assert_eq!(status(path).await, 200, "{path} with every ingester up");
    }

    // RF 2 on two ingesters tolerates one failure; with both down nothing recent is readable.
    for p in cluster.ingesters.iter_mut() {
        p.kill9();
    }
    for path in &reads {
        let got = status(path).await;
        assert_eq!(
            got,
            503,
            "{path} with every ingester down\n{}",
            cluster.logs()
        );
    }
    let err = otlp::grpc_push(&cluster.otlp_grpc[0], otlp::simple_request(&[id], 2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");

    cluster.ingesters[0].restart();
    for path in &reads[2..] {
        let got = eventually_async(30, || async {
            let s = status(path).await;
            (s == 200).then_some(s)
        })
        .await;
        assert_eq!(got, 200, "{path} with one of two ingesters back (RF 2)");
    }
    for p in cluster.distributors.iter_mut() {
        p.stop();
    }
    cluster.ingesters[0].stop();
    cluster.querier.stop();
}

/// `/ready` of `p`: status and body.
async fn ready(p: &RoleProcess) -> (u16, String) {
    let r = reqwest::get(p.url("/ready")).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributor_reports_ready_once_its_ring_first_has_a_quorum() {
    let mut cluster = Cluster::start(ClusterSpec {
        distributors: 1,
        ..ClusterSpec::default()
    });
    // Two of three ingesters down: one healthy, RF 3 needs two.
    cluster.ingesters[1].kill9();
    cluster.ingesters[2].kill9();

    // A second distributor like the first, on its own ports, started now.
    let port_of = |url: &str| {
        url.trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .unwrap()
            .to_string()
    };
    let ports = free_ports(3);
    let config = std::fs::read_to_string(cluster.dir.path().join("distributor-0.yaml"))
        .unwrap()
        .replace(
            &format!("127.0.0.1:{}\n", cluster.distributors[0].http_port),
            &format!("127.0.0.1:{}\n", ports[0]),
        )
        .replace(
            &format!("127.0.0.1:{}\n", port_of(&cluster.otlp_grpc[0])),
            &format!("127.0.0.1:{}\n", ports[1]),
        )
        .replace(
            &format!("127.0.0.1:{}\n", port_of(&cluster.otlp_http[0])),
            &format!("127.0.0.1:{}\n", ports[2]),
        );
    let mut late = RoleProcess::start_unwaited(
        cluster.dir.path(),
        "distributor-late",
        "strata-distributor",
        ports[0],
        &config,
    );
    let endpoint = format!("http://127.0.0.1:{}", ports[1]);

    // Serving, but not ready, for longer than the ring takes to re-probe (1 s) and to run a
    // heartbeat round (500 ms here), and saying why.
    let first = eventually_async(30, || async {
        let r = reqwest::get(late.url("/ready")).await.ok()?;
        Some((r.status().as_u16(), r.text().await.ok()?))
    })
    .await;
    assert_eq!(first.0, 503, "{}", first.1);
    for _ in 0..30 {
        let now = ready(&late).await;
        assert_eq!(
            now.0,
            503,
            "ready without a quorum: {}\n{}",
            now.1,
            late.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, body) = ready(&late).await;
    assert!(
        body.contains("ingester ring: 1 ingesters healthy, 2 needed"),
        "{body}"
    );

    // A quorum: ready within seconds, and pushes through it are acknowledged.
    cluster.ingesters[1].restart();
    eventually_async(30, || async { (ready(&late).await.0 == 200).then_some(()) }).await;
    let id = otlp::trace_id(41);
    otlp::grpc_push(&endpoint, otlp::simple_request(&[id], 3))
        .await
        .expect("push with a quorum");

    // The quorum lost again: still ready (the load balancer keeps it), pushes say Unavailable.
    cluster.ingesters[1].kill9();
    let err = eventually_async(30, || async {
        otlp::grpc_push(&endpoint, otlp::simple_request(&[otlp::trace_id(42)], 3))
            .await
            .err()
    })
    .await;
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert_eq!(ready(&late).await.0, 200, "{}", late.log());
    late.stop();
}
