//! A real Prometheus for the metrics-generator and dashboard tests: `$STRATA_PROMETHEUS` or
//! `target/tools/prometheus/usr/bin/prometheus` (Debian's package, installed by
//! `make test-deps`), started on a loopback port with the remote-write receiver and exemplar
//! storage, its own TSDB directory, and no scrape jobs unless given some. Killed on drop. A
//! missing binary fails the test with the install hint (never skipped). [`promtool`] is the
//! same package's rule checker.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::free_ports;

pub struct Prometheus {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// The configuration file's text.
    config: String,
}

/// One series of an instant query: its labels and value.
pub type Series = (BTreeMap<String, String>, f64);

fn binary() -> PathBuf {
    tool("prometheus", "STRATA_PROMETHEUS")
}

/// `$env` when set, else [`tools_bin`]`(name)`; fails the test with the install hint when
/// missing.
fn tool(name: &str, env: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_bin(name));
    assert!(
        path.exists(),
        "{name} not found at {} (set {env} or run `make test-deps`)",
        path.display()
    );
    path
}

/// `target/tools/prometheus/usr/bin/<name>` (of `$STRATA_TOOLS` when set).
fn tools_bin(name: &str) -> PathBuf {
    std::env::var_os("STRATA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools"))
        .join("prometheus/usr/bin")
        .join(name)
}

/// `promtool` of the same package (`$STRATA_PROMTOOL` overrides it); fails the test with the
/// install hint when missing.
pub fn promtool() -> PathBuf {
    tool("promtool", "STRATA_PROMTOOL")
}

impl Prometheus {
    /// Starts Prometheus on a free port and waits until it is ready.
    pub fn start() -> Self {
        Self::start_on(free_ports(1)[0])
    }

    /// Starts Prometheus on `port` (e.g. one a writer has been failing to reach).
    pub fn start_on(port: u16) -> Self {
        Self::start_with_config(port, "global:\n  scrape_interval: 15s\n")
    }

    /// Starts Prometheus on `port` with `config` as its prometheus.yml (e.g. scrape jobs),
    /// with the remote-write receiver on as always.
    pub fn start_with_config(port: u16, config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Self {
            child: None,
            port,
            dir,
            config: config.to_string(),
        };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let cfg = self.dir.path().join("prometheus.yml");
        std::fs::write(&cfg, &self.config).unwrap();
        let log = std::fs::File::create(self.dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(binary())
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--web.enable-remote-write-receiver")
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting prometheus");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = self.url("/-/ready");
        loop {
            if let Ok(r) = crate::http_probe::blocking_get(&url) {
                if r == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The remote-write receiver's URL.
    pub fn remote_write_url(&self) -> String {
        self.url("/api/v1/write")
    }

    /// Its log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query's vector; panics (failing the test) on an error answer.
    pub async fn query(&self, q: &str) -> Vec<Series> {
        let v = self.query_raw(q).await;
        assert_eq!(v["status"], "success", "{q}: {v}");
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let value = s["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// An instant query's whole answer (`status`, `data` or `error`), whatever it is.
    pub async fn query_raw(&self, q: &str) -> Value {
        reqwest::Client::new()
            .get(self.url("/api/v1/query"))
            .query(&[("query", q)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Exemplars of `q` over the last hour, as (series labels, exemplar labels) pairs.
    pub async fn exemplars(
        &self,
        q: &str,
    ) -> Vec<(BTreeMap<String, String>, Vec<BTreeMap<String, String>>)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let v: Value = reqwest::Client::new()
            .get(self.url("/api/v1/query_exemplars"))
            .query(&[
                ("query", q.to_string()),
                ("start", (now - 3600).to_string()),
                ("end", (now + 60).to_string()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "success", "{q}: {v}");
        let labels = |o: &Value| -> BTreeMap<String, String> {
            o.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        };
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    labels(&s["seriesLabels"]),
                    s["exemplars"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| labels(&e["labels"]))
                        .collect(),
                )
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
