//! Consistent head sampling, end to end with the OpenTelemetry SDK as the client.
//!
//! Each trace has two spans from two services: `frontend` (the root) exports through one
//! distributor, `backend` (its child, the parent context handed over as between processes)
//! through another. At `head_ratio: 0.1` the kept traces are exactly those whose trace-ID
//! randomness passes OpenTelemetry's threshold, about a tenth of them; each kept trace is whole
//! although its spans came through different distributors, no dropped trace leaves a span, and
//! one process and a three-ingester cluster keep the same trace IDs.

use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
use strata_integration_tests::cluster::{Cluster, ClusterSpec};
use strata_integration_tests::sdk::batch_provider;
use strata_integration_tests::{metric_sum, otlp, Server};

const TRACES: u64 = 2000;
const RATIO: f64 = 0.1;
const SAMPLING: &str = "overrides:\n  defaults:\n    sampling:\n      head_ratio: 0.1\n";

/// OpenTelemetry's rule, written out independently of the server's code.
fn expected_kept(id: &[u8; 16]) -> bool {
    let mut r = [0u8; 8];
    r[1..].copy_from_slice(&id[9..]);
    let randomness = u64::from_be_bytes(r);
    let threshold = ((1.0 - RATIO) * (1u64 << 56) as f64).round() as u64;
    randomness >= threshold
}

/// Sends every trace: the root through `front`, its child through `back`. Returns the IDs.
fn emit(front: &str, back: &str) -> Vec<[u8; 16]> {
    let (a, b) = (
        batch_provider(front, "frontend"),
        batch_provider(back, "backend"),
    );
    let (ta, tb) = (a.tracer("frontend"), b.tracer("backend"));
    let mut ids = Vec::new();
    for _ in 0..TRACES {
        let root = ta.start("GET /checkout");
        ids.push(root.span_context().trace_id().to_bytes());
        let cx = opentelemetry::Context::current_with_span(root);
        // The backend only sees the propagated context, as another process would.
        let remote = opentelemetry::Context::new()
            .with_remote_span_context(cx.span().span_context().clone());
        tb.start_with_context("SELECT orders", &remote).end();
        cx.span().end();
    }
    a.shutdown().expect("frontend flush");
    b.shutdown().expect("backend flush");
    ids
}

/// Checks one deployment's answers; returns the kept IDs.
fn check(counts: &[usize], ids: &[[u8; 16]], what: &str) -> Vec<[u8; 16]> {
    let mut kept = Vec::new();
    for (id, n) in ids.iter().zip(counts) {
        match (*n, expected_kept(id)) {
            (2, true) => kept.push(*id),
            (0, false) => {}
            (n, want) => panic!(
                "{what}: trace {} has {n} spans, expected kept={want}",
                hex::encode(id)
            ),
        }
    }
    let frac = kept.len() as f64 / ids.len() as f64;
    let sigma = (RATIO * (1.0 - RATIO) / ids.len() as f64).sqrt();
    assert!(
        (frac - RATIO).abs() < 4.0 * sigma,
        "{what}: kept {frac} of traces at ratio {RATIO}"
    );
    kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn head_sampling_keeps_the_same_whole_traces_in_one_process_and_a_cluster() {
    // One process: both services send to its one OTLP endpoint.
    let server = Server::start(SAMPLING);
    let ep = server.otlp_grpc_endpoint();
    let ids = tokio::task::spawn_blocking(move || emit(&ep, &ep))
        .await
        .unwrap();
    let single = check(
        &otlp::span_counts(&server.url(""), &ids).await,
        &ids,
        "strata run",
    );
    let page = server.metrics().await;
    let dropped = (ids.len() - single.len()) as f64;
    assert_eq!(
        metric_sum(&page, "strata_distributor_spans_sampled_out_total"),
        2.0 * dropped,
        "every dropped span counted"
    );
    assert_eq!(
        metric_sum(&page, "strata_distributor_traces_sampled_out_total"),
        2.0 * dropped,
        "each dropped trace counted once per push that carried it"
    );

    // A cluster: three ingesters (RF 3), the two services on different distributors.
    let mut cluster = Cluster::start(ClusterSpec {
        common_extra: SAMPLING.into(),
        ..ClusterSpec::default()
    });
    let (front, back) = (cluster.otlp_grpc[0].clone(), cluster.otlp_grpc[1].clone());
    let cluster_ids = tokio::task::spawn_blocking(move || emit(&front, &back))
        .await
        .unwrap();
    assert_eq!(cluster_ids, ids, "the same trace IDs were sent");
    let counts = otlp::span_counts(&cluster.querier.url(""), &ids).await;
    let clustered = check(&counts, &ids, "cluster");
    assert_eq!(
        clustered, single,
        "one process and the cluster keep the same traces"
    );

    for p in cluster.distributors.iter_mut() {
        p.stop();
    }
    for p in cluster.ingesters.iter_mut() {
        p.stop();
    }
    cluster.querier.stop();
}
