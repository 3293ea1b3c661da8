//! What the README promises of `make run-cluster`, through the same script
//! (`scripts/run-cluster.sh`, with the debug binaries): under load through both distributors,
//! `kill -9` one ingester; the script restarts it, the pushes keep being acknowledged, and
//! every acknowledged trace is readable through the querier.
//! The script's fixed ports must be free ([`ClusterScript`]).

use std::time::Duration;

use strata_integration_tests::cluster_script::{push_until_acked, ClusterScript, QUERY_URL};
use strata_integration_tests::eventually_async;
use strata_integration_tests::otlp::{get_trace, simple_request, span_count, trace_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_ingester_is_restarted_and_nothing_acknowledged_is_lost() {
    let script = tokio::task::spawn_blocking(ClusterScript::start)
        .await
        .unwrap();

    let mut acked = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut n = 0u64;
    // Each trace is retried until acknowledged (for up to 30 s), as an OTLP exporter retries
    // UNAVAILABLE; the refusals on the way are kept for the failure message.
    let mut push = async |count: u64, acked: &mut Vec<[u8; 16]>, errors: &mut Vec<String>| {
        for _ in 0..count {
            let id = trace_id(700_000 + n);
            let refusals = push_until_acked(simple_request(&[id], 3), n, Duration::from_secs(30))
                .await
                .unwrap_or_else(|e| panic!("{} never acknowledged: {e}", hex::encode(id)));
            n += 1 + refusals.len() as u64;
            errors.extend(refusals);
            acked.push(id);
        }
    };
    push(100, &mut acked, &mut errors).await;
    // kill -9 an ingester while the load goes on.
    assert!(script.kill9("ingester-2"), "ingester-2 was not running");
    push(200, &mut acked, &mut errors).await;
    let script = tokio::task::spawn_blocking(move || {
        script.wait_for("ingester-2 restarted", 60);
        script
    })
    .await
    .unwrap();
    push(100, &mut acked, &mut errors).await;
    assert_eq!(acked.len(), 400);
    if !errors.is_empty() {
        eprintln!(
            "{} refusals while an ingester was down, e.g. {:?}",
            errors.len(),
            &errors[..errors.len().min(3)]
        );
    }
    // Every acknowledged trace is readable, whole.
    for id in &acked {
        let trace = eventually_async(30, || async { get_trace(QUERY_URL, id).await }).await;
        assert_eq!(span_count(&trace), 3, "trace {}", hex::encode(id));
    }
    // The others kept serving: no process but the killed one was restarted.
    let lines = script.lines();
    let restarts: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(" restarted (pid "))
        .collect();
    assert_eq!(restarts.len(), 1, "{lines:?}");
    // Ctrl-C stops everything cleanly.
    let mut script = script;
    let status = tokio::task::spawn_blocking(move || (script.stop(), script.lines()))
        .await
        .unwrap();
    let (status, lines) = (status.0.expect("script was running"), status.1);
    assert!(status.success(), "{status:?}\n{}", lines.join("\n"));
}
