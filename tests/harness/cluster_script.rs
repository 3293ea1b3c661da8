//! `scripts/run-cluster.sh` (what `make run-cluster` runs) driven by a test, with the debug
//! binaries: started in a temporary work directory, its output collected, its processes
//! killed by role, and stopped (SIGTERM, as Ctrl-C) when dropped, so no cluster process
//! outlives a failed test.
//!
//! The script uses the fixed ports of config/cluster/ (3200–3230, 4317/4318, 4327/4328,
//! 9095–9098); [`ClusterScript::start`] fails at once if something already answers on the
//! query port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::otlp::grpc_push;
use crate::{http_probe, strata_bin};

/// The query API of the script's cluster.
pub const QUERY_URL: &str = "http://127.0.0.1:3200";
/// The OTLP/gRPC endpoints of its two distributors.
pub const DISTRIBUTORS: [&str; 2] = ["http://127.0.0.1:4317", "http://127.0.0.1:4327"];

pub struct ClusterScript {
    child: Option<Child>,
    out: Arc<Mutex<Vec<String>>>,
    work: tempfile::TempDir,
}

impl ClusterScript {
    /// Starts the script and waits (up to 120 s) until it says the cluster is up.
    pub fn start() -> Self {
        assert!(
            http_probe::blocking_get(&format!("{QUERY_URL}/ready")).is_err(),
            "something already listens on {QUERY_URL} (a `make run`?); stop it first"
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
        let out: Arc<Mutex<Vec<String>>> = Arc::default();
        let reader = BufReader::new(child.stdout.take().unwrap());
        let sink = out.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let script = Self {
            child: Some(child),
            out,
            work,
        };
        script.wait_for("Strata cluster is up", 120);
        script
    }

    /// Blocks until the script has printed a line containing `what` (panics after `secs`).
    pub fn wait_for(&self, what: &str, secs: u64) {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if self.lines().iter().any(|l| l.contains(what)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no {what:?} from run-cluster.sh:\n{}",
            self.lines().join("\n")
        );
    }

    /// Lines the script printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    /// `kill -9` of the process running `role` (e.g. `ingester-2`); false when it was not
    /// running (e.g. waiting out its restart backoff).
    pub fn kill9(&self, role: &str) -> bool {
        let logs = self.work.path().join("data/cluster/logs");
        let pid = std::fs::read_to_string(logs.join(format!("{role}.pid"))).unwrap();
        Command::new("kill")
            .args(["-9", pid.trim()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// SIGTERM to the script (Ctrl-C), then its exit status.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok()
    }
}

impl Drop for ClusterScript {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Pushes `req` through the distributors in turn, starting with number `first` (mod 2), until
/// one acknowledges it, as an OTLP exporter retries: `Ok` with the refusals on the way
/// (`"<endpoint>: <message>"`), or `Err` with the last one when `patience` ran out.
pub async fn push_until_acked(
    req: ExportTraceServiceRequest,
    first: u64,
    patience: Duration,
) -> Result<Vec<String>, String> {
    let until = Instant::now() + patience;
    let mut refusals = Vec::new();
    for n in first.. {
        let ep = DISTRIBUTORS[(n % 2) as usize];
        match grpc_push(ep, req.clone()).await {
            Ok(()) => return Ok(refusals),
            Err(e) if Instant::now() < until => {
                refusals.push(format!("{ep}: {}", e.message()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(format!("{ep}: {}", e.message())),
        }
    }
    unreachable!("the loop only ends by returning")
}
