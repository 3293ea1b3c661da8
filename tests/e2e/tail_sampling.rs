//! Tail sampling end to end, with the OpenTelemetry SDK as the client and the seeds' policy
//! (`config/tail-sampling.yaml`: errors, slow > 1 s, 5 % of the rest).
//!
//! Every trace with an error span and every trace lasting over a second is kept whole; of the
//! rest, exactly those the 5 % consistent rule passes (written out here independently of the
//! server); dropped traces leave no span. Then the process is killed (SIGKILL) and restarted,
//! and spans arriving late for a kept and for a dropped trace follow the decisions made before
//! the kill: the kept trace grows, the dropped one stays absent.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer, TracerProvider as _,
};
use strata_integration_tests::cluster::{Cluster, ClusterSpec};
use strata_integration_tests::sdk::batch_provider;
use strata_integration_tests::{eventually_async, metric_sum, otlp, Server};

const TRACES: usize = 600;

const CONFIG: &str = "
ingester:
  trace_idle_period: 1s
  trace_live_period: 30s
  flush_check_period: 100ms
  max_block_duration: 300ms
  complete_block_timeout: 10m
overrides:
  defaults:
    sampling:
      tail:
        policies:
          - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
          - { name: slow, type: latency, latency: { threshold_ms: 1000 } }
          - { name: rest, type: probabilistic, probabilistic: { sampling_percentage: 5 } }
";

/// 5 % by OpenTelemetry's consistent rule on the trace ID's low 56 bits.
fn rest_kept(id: &[u8; 16]) -> bool {
    let mut r = [0u8; 8];
    r[1..].copy_from_slice(&id[9..]);
    u64::from_be_bytes(r) >= ((1.0 - 0.05) * (1u64 << 56) as f64).round() as u64
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Error,
    Slow,
    Rest,
}

/// Sends `TRACES` two-span traces; trace `n` is an error (n % 10 == 0), slow (== 1) or
/// neither. Returns each trace's ID and kind.
fn emit(endpoint: &str) -> Vec<([u8; 16], Kind)> {
    let p = batch_provider(endpoint, "shop");
    let t = p.tracer("shop");
    let mut out = Vec::new();
    for n in 0..TRACES {
        let kind = match n % 10 {
            0 => Kind::Error,
            1 => Kind::Slow,
            _ => Kind::Rest,
        };
        let now = SystemTime::now();
        let start = if kind == Kind::Slow {
            now - Duration::from_millis(1500)
        } else {
            now - Duration::from_millis(20)
        };
        let root = t.span_builder("GET /cart").with_start_time(start).start(&t);
        out.push((root.span_context().trace_id().to_bytes(), kind));
        let cx = opentelemetry::Context::current_with_span(root);
        // Every timestamp is fixed before anything is sent: a stall of this thread (a loaded
        // machine) must not make a fast trace last over the slow policy's second.
        let mut child = t
            .span_builder("SELECT cart")
            .with_start_time(now - Duration::from_millis(15))
            .start_with_context(&t, &cx);
        if kind == Kind::Error {
            child.set_status(Status::error("deadlock"));
        }
        child.end_with_timestamp(now - Duration::from_millis(5));
        cx.span().end_with_timestamp(now);
    }
    p.shutdown().expect("flush");
    out
}

/// One more span for each of `ids`, children of a remote parent in that trace (random span
/// IDs: the sequential ones of [`batch_provider`] would repeat the trace's own, and readers
/// deduplicate spans by ID).
fn emit_late(endpoint: &str, ids: &[[u8; 16]]) {
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_compression(opentelemetry_otlp::Compression::Gzip)
        .build()
        .expect("OTLP exporter");
    let p = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let t = p.tracer("late");
    for id in ids {
        let parent = SpanContext::new(
            TraceId::from_bytes(*id),
            SpanId::from_bytes([7; 8]),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let cx = opentelemetry::Context::new().with_remote_span_context(parent);
        t.start_with_context("retry", &cx).end();
    }
    p.shutdown().expect("flush");
}

/// Traces decided from the store.
fn late_traces(page: &str) -> f64 {
    ["kept", "dropped"]
        .iter()
        .map(|d| {
            metric_sum(
                page,
                &format!("strata_ingester_tail_sampling_traces_total{{tenant=\"single-tenant\",decision=\"{d}\",policy=\"earlier_decision\"}}"),
            )
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seed_policy_keeps_errors_slow_traces_and_5_percent_whole_and_late_spans_follow_across_a_kill(
) {
    let mut server = Server::start(CONFIG);
    let ep = server.otlp_grpc_endpoint();
    let traces = tokio::task::spawn_blocking(move || emit(&ep))
        .await
        .unwrap();
    // Every trace decided, and the decisions durable in the store.
    eventually_async(60, || async {
        let page = server.metrics().await;
        let decided = metric_sum(&page, "strata_ingester_tail_sampling_traces_total");
        let stored = metric_sum(&page, "strata_ingester_tail_sampling_decisions_stored");
        (decided == TRACES as f64 && stored == TRACES as f64).then_some(())
    })
    .await;
    let ids: Vec<[u8; 16]> = traces.iter().map(|(id, _)| *id).collect();
    let counts = otlp::span_counts(&server.url(""), &ids).await;
    let mut rest = (0, 0);
    for ((id, kind), n) in traces.iter().zip(&counts) {
        let want = match kind {
            Kind::Error | Kind::Slow => 2,
            Kind::Rest if rest_kept(id) => 2,
            Kind::Rest => 0,
        };
        assert_eq!(*n, want, "{kind:?} trace {}", hex::encode(id));
        if *kind == Kind::Rest {
            rest.0 += 1;
            rest.1 += usize::from(*n > 0);
        }
    }
    let frac = rest.1 as f64 / rest.0 as f64;
    assert!((0.01..0.1).contains(&frac), "kept {frac} of the rest");
    let page = server.metrics().await;
    let kept = |policy: &str| {
        metric_sum(
            &page,
            &format!("strata_ingester_tail_sampling_traces_total{{tenant=\"single-tenant\",decision=\"kept\",policy=\"{policy}\"}}"),
        )
    };
    let errors = kept("errors");
    let slow = kept("slow");
    assert_eq!(
        (errors, slow),
        ((TRACES / 10) as f64, (TRACES / 10) as f64),
        "{page}"
    );

    // Kill, restart, then late spans for a kept (error) and a dropped trace.
    let kept_id = traces.iter().find(|(_, k)| *k == Kind::Error).unwrap().0;
    let dropped_id = traces
        .iter()
        .find(|(id, k)| *k == Kind::Rest && !rest_kept(id))
        .unwrap()
        .0;
    server.kill9();
    server.restart();
    let ep = server.otlp_grpc_endpoint();
    tokio::task::spawn_blocking(move || emit_late(&ep, &[kept_id, dropped_id]))
        .await
        .unwrap();
    // Decided by the store: the replayed WAL's traces (the same decisions again) and the late
    // spans (acknowledged, so live until decided). Once nothing is live, all are decided.
    let page = eventually_async(60, || async {
        let page = server.metrics().await;
        let live = metric_sum(&page, "strata_ingester_live_traces");
        (live == 0.0 && late_traces(&page) >= 2.0).then_some(page)
    })
    .await;
    assert_eq!(
        metric_sum(&page, "strata_ingester_tail_sampling_traces_total"),
        late_traces(&page),
        "after the restart every decision came from the store\n{page}"
    );
    let counts = otlp::span_counts(&server.url(""), &[kept_id, dropped_id]).await;
    let page = server.metrics().await;
    let tail: Vec<&str> = page
        .lines()
        .filter(|l| l.contains("tail_sampling"))
        .collect();
    assert_eq!(
        counts,
        vec![3, 0],
        "the kept trace got its late span; the dropped one left none\n{}",
        tail.join("\n")
    );
}

/// Three ingesters holding every trace (replication factor 3) decide each trace alike: the
/// same counts kept and dropped per policy on each, and every trace the querier returns is
/// whole and one the policy keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_in_a_cluster_make_the_same_decisions() {
    let policies = &CONFIG[CONFIG.find("overrides:").unwrap()..];
    let cluster = tokio::task::spawn_blocking({
        let policies = policies.to_string();
        move || {
            Cluster::start(ClusterSpec {
                ingester_settings: "  trace_idle_period: 1s\n  flush_check_period: 100ms\n  max_block_duration: 500ms\n".into(),
                ingester_extra: policies,
                ..Default::default()
            })
        }
    })
    .await
    .unwrap();
    let ep = cluster.otlp_grpc[0].clone();
    let traces = tokio::task::spawn_blocking(move || emit(&ep))
        .await
        .unwrap();
    let pages = eventually_async(60, || async {
        let mut pages = Vec::new();
        for i in &cluster.ingesters {
            let page = reqwest::get(i.url("/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            if metric_sum(&page, "strata_ingester_tail_sampling_traces_total") != TRACES as f64 {
                return None;
            }
            pages.push(page);
        }
        Some(pages)
    })
    .await;
    let decisions = |page: &str| -> Vec<String> {
        let mut v: Vec<String> = page
            .lines()
            .filter(|l| l.starts_with("strata_ingester_tail_sampling_traces_total{"))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let first = decisions(&pages[0]);
    for p in &pages[1..] {
        assert_eq!(decisions(p), first, "replicas decided differently");
    }
    let ids: Vec<[u8; 16]> = traces.iter().map(|(id, _)| *id).collect();
    let counts = otlp::span_counts(&cluster.querier.url(""), &ids).await;
    for ((id, kind), n) in traces.iter().zip(&counts) {
        let kept = *kind != Kind::Rest || rest_kept(id);
        assert_eq!(
            *n,
            if kept { 2 } else { 0 },
            "{kind:?} trace {}",
            hex::encode(id)
        );
    }
}

/// `strata config check` accepts the shipped example and refuses bad policies — unknown types
/// (strata-config) and bad TraceQL (parsed by the engine) — naming the key.
#[test]
fn config_check_refuses_bad_policies_naming_the_key() {
    let bin = strata_integration_tests::strata_bin();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let check = |path: &std::path::Path| {
        let out = std::process::Command::new(&bin)
            .args(["config", "check"])
            .arg(path)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("running strata config check");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, err) = check(&root.join("config/tail-sampling.yaml"));
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    for (policy, want) in [
        (
            "{ name: q, type: traceql, traceql: { query: '{ span.x = ' } }",
            "overrides.defaults: sampling.tail.policies[0].traceql.query",
        ),
        (
            "{ name: q, type: sometimes }",
            "sampling.tail.policies[0].type",
        ),
    ] {
        let f = dir.path().join("bad.yaml");
        std::fs::write(
            &f,
            format!("overrides:\n  defaults:\n    sampling:\n      tail:\n        policies:\n          - {policy}\n"),
        )
        .unwrap();
        let (ok, err) = check(&f);
        assert!(!ok && err.contains(want), "{policy}: {err}");
    }
}
