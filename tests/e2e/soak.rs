//! `make soak`, not part of `make test`: the local cluster of `make run-cluster`, through the
//! same script, under a steady load through both distributors while an ingester is killed
//! with SIGKILL every `SOAK_KILL_EVERY` seconds (default 20; ingester-1, -2, -3 in turn) for
//! `SOAK_SECONDS` (default 300), `SOAK_RATE` traces per second (default 600) offered by
//! `SOAK_WORKERS` clients (default 4). The script restarts each with backoff, as Kubernetes would.
//! Clients retry a refused push as an OTLP exporter does. At the end every acknowledged trace
//! must be readable, whole, through the querier. The figures are printed as one line starting
//! with `soak:` (JSON) for docs/RELIABILITY.md.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use strata_integration_tests::cluster_script::{push_until_acked, ClusterScript, QUERY_URL};
use strata_integration_tests::metric_sum;
use strata_integration_tests::otlp::{get_trace, simple_request, span_count, trace_id};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `simple_request` moved to the present: its fixed 2023 timestamps would put the blocks past
/// the cluster's retention, and the compactor would delete them.
fn request_now(ids: &[[u8; 16]]) -> ExportTraceServiceRequest {
    let mut req = simple_request(ids, SPANS);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let shift = now - 1_700_000_000_000_000_000;
    for span in req
        .resource_spans
        .iter_mut()
        .flat_map(|r| r.scope_spans.iter_mut())
        .flat_map(|s| s.spans.iter_mut())
    {
        span.start_time_unix_nano += shift;
        span.end_time_unix_nano += shift;
    }
    req
}

/// Traces per push and spans per trace.
const BATCH: u64 = 10;
const SPANS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes long: run with `make soak`"]
async fn ingesters_killed_in_a_loop_under_load_lose_nothing_acknowledged() {
    let secs = env_u64("SOAK_SECONDS", 300);
    let kill_every = env_u64("SOAK_KILL_EVERY", 20);
    let workers = env_u64("SOAK_WORKERS", 4);
    // Traces per second offered, in total: by default well inside the per-ingester live-trace
    // limit (`max_traces_per_user` 10,000 over `trace_idle_period` 5 s, every ingester holding
    // every trace at RF 3), so what is measured is surviving kills, not limits.
    let rate = env_u64("SOAK_RATE", 600).max(1);
    let script = tokio::task::spawn_blocking(ClusterScript::start)
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<[u8; 16]>>> = Arc::default();
    let refusals = Arc::new(AtomicU64::new(0));
    let gave_up = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (stop, acked) = (stop.clone(), acked.clone());
        let (refusals, gave_up) = (refusals.clone(), gave_up.clone());
        let pace = Duration::from_secs_f64((BATCH * workers) as f64 / rate as f64);
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            let mut tick = tokio::time::interval(pace);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let ids: Vec<[u8; 16]> = (0..BATCH)
                    .map(|k| trace_id((w << 40) | (i * BATCH + k)))
                    .collect();
                let req = request_now(&ids);
                match push_until_acked(req, i + w, Duration::from_secs(120)).await {
                    Ok(r) => {
                        refusals.fetch_add(r.len() as u64, Ordering::Relaxed);
                        acked.lock().unwrap().extend(ids);
                    }
                    // Never acknowledged: the client was told, so nothing is owed.
                    Err(_) => {
                        gave_up.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 1;
            }
        }));
    }

    let started = Instant::now();
    let mut kills = 0u64;
    let mut skipped = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(kill_every)).await;
        let victim = format!("ingester-{}", (kills + skipped) % 3 + 1);
        if script.kill9(&victim) {
            kills += 1;
        } else {
            skipped += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let acked = std::mem::take(&mut *acked.lock().unwrap());

    // Every acknowledged trace, read back through the querier (each retried for up to 60 s while
    // restarted ingesters replay their WAL).
    let checked = std::time::Instant::now();
    let results: Vec<Option<usize>> = futures::stream::iter(acked.iter().copied())
        .map(|id| async move {
            let until = Instant::now() + Duration::from_secs(60);
            loop {
                match get_trace(QUERY_URL, &id).await {
                    Some(t) if span_count(&t) == SPANS as usize => return Some(SPANS as usize),
                    other if Instant::now() >= until => return other.map(|t| span_count(&t)),
                    _ => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let lost = results.iter().filter(|r| r.is_none()).count();
    let incomplete = results
        .iter()
        .filter(|r| r.is_some_and(|n| n != SPANS as usize))
        .count();
    // Spans the distributors discarded (limits), counted and answered as Tempo does: these are
    // reported, and a lost trace among them would not be a lost acknowledgement.
    let mut discarded = 0.0;
    for port in [3201, 3202] {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
            let page = r.text().await.unwrap_or_default();
            discarded += metric_sum(&page, "strata_discarded_spans_total");
        }
    }
    let restarts = script
        .lines()
        .iter()
        .filter(|l| l.contains(" restarted (pid "))
        .count();
    println!(
        "soak: {}",
        serde_json::json!({
            "seconds": load_seconds.round(),
            "workers": workers,
            "offered_traces_per_second": rate,
            "kill_every_seconds": kill_every,
            "kills": kills,
            "kills_skipped_not_running": skipped,
            "restarts": restarts,
            "acknowledged_traces": acked.len(),
            "acknowledged_spans": acked.len() as u64 * SPANS,
            "traces_per_second": (acked.len() as f64 / load_seconds).round(),
            "refusals_retried": refusals.load(Ordering::Relaxed),
            "pushes_given_up": gave_up.load(Ordering::Relaxed),
            "traces_checked": results.len(),
            "check_seconds": checked.elapsed().as_secs_f64().round(),
            "discarded_spans": discarded,
            "lost": lost,
            "incomplete": incomplete,
        })
    );
    assert!(kills > 0, "no ingester was killed");
    assert_eq!(lost, 0, "acknowledged traces lost");
    assert_eq!(incomplete, 0, "acknowledged traces missing spans");
}
