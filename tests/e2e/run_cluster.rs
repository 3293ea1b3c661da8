//! What the README promises of `make run-cluster`, through the same script
//! (`scripts/run-cluster.sh`, with the debug binaries): under load through both distributors,
//! `kill -9` one ingester; the script restarts it, the pushes keep being acknowledged, and
//! every acknowledged trace is readable through the querier.
//!
//! The script uses the fixed ports of config/cluster/ (3200–3230, 4317/4318, 4327/4328,
//! 9095–9098); the test fails at once if something already answers on the query port.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strata_integration_tests::otlp::{get_trace, grpc_push, simple_request, span_count, trace_id};
use strata_integration_tests::{eventually_async, http_probe, strata_bin};

/// Lines the script printed so far.
type Output = Arc<Mutex<Vec<String>>>;

/// The running script; stopped (SIGTERM, as Ctrl-C) when dropped, also when the test fails,
/// so no cluster process outlives the test.
struct Script(Option<std::process::Child>);

impl Script {
    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.0.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok()
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_for(out: &Output, what: &str, secs: u64) {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if out.lock().unwrap().iter().any(|l| l.contains(what)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no {what:?} from run-cluster.sh:\n{}",
        out.lock().unwrap().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_ingester_is_restarted_and_nothing_acknowledged_is_lost() {
    assert!(
        http_probe::blocking_get("http://127.0.0.1:3200/ready").is_err(),
        "something already listens on 127.0.0.1:3200 (a `make run`?); stop it first"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work = tempfile::tempdir().unwrap();
    let bin = strata_bin().parent().unwrap().to_path_buf();
    let mut child = Command::new("bash")
        .arg(root.join("scripts/run-cluster.sh"))
        .env("BIN", &bin)
        .env("CLUSTER_WORKDIR", work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting run-cluster.sh");
    let out: Output = Arc::default();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut script = Script(Some(child));
    let sink = out.clone();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let o = out.clone();
    tokio::task::spawn_blocking(move || wait_for(&o, "Strata cluster is up", 120))
        .await
        .unwrap();

    let endpoints = ["http://127.0.0.1:4317", "http://127.0.0.1:4327"];
    let mut acked = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut n = 0u64;
    // Each trace is retried until acknowledged (for up to 30 s), as an OTLP exporter retries
    // UNAVAILABLE; the refusals on the way are kept for the failure message.
    let mut push = async |count: u64, acked: &mut Vec<[u8; 16]>, errors: &mut Vec<String>| {
        for _ in 0..count {
            let id = trace_id(700_000 + n);
            let until = Instant::now() + Duration::from_secs(30);
            loop {
                let ep = endpoints[(n % 2) as usize];
                n += 1;
                match grpc_push(ep, simple_request(&[id], 3)).await {
                    Ok(()) => {
                        acked.push(id);
                        break;
                    }
                    Err(e) if Instant::now() < until => {
                        errors.push(format!("{ep}: {}", e.message()));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => panic!("{} never acknowledged: {}", hex::encode(id), e.message()),
                }
            }
        }
    };
    push(100, &mut acked, &mut errors).await;
    // kill -9 an ingester while the load goes on.
    let logs = work.path().join("data/cluster/logs");
    let victim = std::fs::read_to_string(logs.join("ingester-2.pid")).unwrap();
    let status = Command::new("kill")
        .args(["-9", victim.trim()])
        .status()
        .unwrap();
    assert!(status.success());
    push(200, &mut acked, &mut errors).await;
    let o = out.clone();
    tokio::task::spawn_blocking(move || wait_for(&o, "ingester-2 restarted", 60))
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
        let trace = eventually_async(30, || async {
            get_trace("http://127.0.0.1:3200", id).await
        })
        .await;
        assert_eq!(span_count(&trace), 3, "trace {}", hex::encode(id));
    }
    // The others kept serving: no process but the killed one was restarted.
    let lines = out.lock().unwrap().clone();
    let restarts: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(" restarted (pid "))
        .collect();
    assert_eq!(restarts.len(), 1, "{lines:?}");
    // Ctrl-C stops everything cleanly.
    let status = tokio::task::spawn_blocking(move || script.stop())
        .await
        .unwrap()
        .expect("script was running");
    assert!(
        status.success(),
        "{status:?}\n{}",
        out.lock().unwrap().join("\n")
    );
}
