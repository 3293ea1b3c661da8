//! Test harness: runs the real `strata` binary on free loopback ports with its own data
//! directory, waits for `/ready`, and kills it (SIGKILL) or stops it (SIGTERM) on demand.
//!
//! The binary is `$STRATA_BIN`, or `target/debug/strata` (built by `make test` before the tests).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod browser;
pub mod cluster;
pub mod cluster_script;
pub mod dataset;
pub mod jaeger;
pub mod otlp;
pub mod prometheus;
pub mod sdk;
pub mod smallfs;
/// Object-store test servers (moto, Azurite), shared with strata-storage's tests.
#[path = "../../crates/strata-storage/tests/support/mod.rs"]
pub mod store_servers;
pub mod tls;

/// Ports one server listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub api: u16,
    pub otlp_grpc: u16,
    pub otlp_http: u16,
    /// Zipkin (HTTP). This and the Jaeger ports are 0 (receivers off) unless the server was
    /// started with [`Server::start_with_receivers`].
    pub zipkin: u16,
    /// Jaeger gRPC and Thrift over HTTP.
    pub jaeger_grpc: u16,
    pub jaeger_http: u16,
    /// Jaeger agent UDP ports: compact and binary Thrift.
    pub jaeger_compact: u16,
    pub jaeger_binary: u16,
}

impl Ports {
    /// Free ports for the API and the OTLP receivers.
    pub fn free() -> Self {
        let p = free_ports(3);
        Self {
            api: p[0],
            otlp_grpc: p[1],
            otlp_http: p[2],
            zipkin: 0,
            jaeger_grpc: 0,
            jaeger_http: 0,
            jaeger_compact: 0,
            jaeger_binary: 0,
        }
    }

    /// [`Ports::free`] plus free ports for the Zipkin and Jaeger receivers.
    pub fn free_with_receivers() -> Self {
        // All TCP ports in one allocation, so none of them repeats another.
        let p = free_ports(6);
        Self {
            api: p[0],
            otlp_grpc: p[1],
            otlp_http: p[2],
            zipkin: p[3],
            jaeger_grpc: p[4],
            jaeger_http: p[5],
            jaeger_compact: free_udp_port(),
            jaeger_binary: free_udp_port(),
        }
    }
}

/// `n` distinct free TCP ports: all bound at once, then released together. Separate calls to
/// [`free_port`] can return the same port twice (the kernel hands a just-released port out
/// again), which made a server fail to bind its own second listener.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("binding an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral port")
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral udp port")
}

pub fn strata_bin() -> PathBuf {
    if let Ok(p) = std::env::var("STRATA_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/strata");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p strata-cli` first (make test does)",
        bin.display()
    );
    bin
}

/// Settings that make blocks appear within a second or two.
pub const FAST_BLOCKS: &str = "
ingester:
  trace_idle_period: 200ms
  trace_live_period: 1s
  flush_check_period: 100ms
  max_block_duration: 300ms
  complete_block_timeout: 500ms
storage:
  blocklist_poll: 200ms
  blocklist_poll_stale_tenant_index: 300ms
";

/// Settings that keep everything in the WAL and live set.
pub const NO_BLOCKS: &str = "
ingester:
  trace_idle_period: 1h
  trace_live_period: 2h
  max_block_duration: 3h
  flush_all_on_shutdown: false
";

/// A running `strata run` process.
pub struct Server {
    process: cluster::RoleProcess,
    pub dir: tempfile::TempDir,
    pub ports: Ports,
}

impl Server {
    /// Starts a server with `extra` YAML merged over the test defaults (sections in `extra`
    /// replace the defaults' keys one level deep; keep each section in one place). The
    /// defaults keep blocks for 10 years: the test data sets carry 2023 timestamps, which the
    /// default 14-day retention would delete at once.
    pub fn start(extra: &str) -> Self {
        Self::start_on(Ports::free(), extra)
    }

    /// [`Server::start`] with the Zipkin and Jaeger receivers on too, each on a free port.
    pub fn start_with_receivers(extra: &str) -> Self {
        Self::start_on(Ports::free_with_receivers(), extra)
    }

    /// [`Server::start`] on `ports` (e.g. to point the configuration at the server's own
    /// receivers).
    pub fn start_on(ports: Ports, extra: &str) -> Self {
        Self::start_https(ports, extra, None)
    }

    /// [`Server::start_on`] for a configuration whose HTTP port serves TLS with a certificate
    /// of the CA `https_ca` (readiness is then probed over HTTPS).
    pub fn start_https(ports: Ports, extra: &str, https_ca: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("strata.yaml");
        let yaml = config_yaml(dir.path(), ports, extra);
        std::fs::File::create(&config)
            .and_then(|mut f| f.write_all(yaml.as_bytes()))
            .expect("writing config");
        let process = cluster::RoleProcess::launch_with(
            "strata",
            strata_bin(),
            vec!["run".into(), "--config".into(), config.into_os_string()],
            dir.path().join("strata.log"),
            ports.api,
            https_ca.map(Path::to_path_buf),
        );
        Self {
            process,
            dir,
            ports,
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.ports.api, path)
    }

    pub fn otlp_grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.otlp_grpc)
    }

    /// The Zipkin receiver's base URL (`http://127.0.0.1:<port>`).
    pub fn zipkin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.zipkin)
    }

    pub fn otlp_http_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.ports.otlp_http)
    }

    /// The `/metrics` page.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("metrics reachable")
            .text()
            .await
            .expect("metrics body")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.process.kill9();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts the binary again on the same ports and data.
    pub fn restart(&mut self) {
        self.process.restart();
    }
}

fn config_yaml(dir: &Path, ports: Ports, extra: &str) -> String {
    let data = dir.join("data");
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    let mut push = |text: &str| {
        let mut current: Option<usize> = None;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if !line.starts_with(' ') {
                let name = line.trim_end_matches(':').to_string();
                current = Some(match sections.iter().position(|(n, _)| *n == name) {
                    Some(i) => i,
                    None => {
                        sections.push((name, Vec::new()));
                        sections.len() - 1
                    }
                });
            } else if let Some(i) = current {
                sections[i].1.push(line.to_string());
            }
        }
    };
    push(&format!(
        "server:
  http_listen_address: 127.0.0.1:{api}
distributor:
  receivers:
    otlp:
      grpc_endpoint: 127.0.0.1:{grpc}
      http_endpoint: 127.0.0.1:{http}
{receivers}ingester:
  wal:
    path: {data}/wal
storage:
  local:
    path: {data}/blocks
compactor:
  block_retention: 87600h
",
        api = ports.api,
        grpc = ports.otlp_grpc,
        http = ports.otlp_http,
        receivers = receivers_yaml(ports),
        data = data.display()
    ));
    push(extra);
    let mut out = String::new();
    for (name, lines) in sections {
        let lines = last_key_wins(lines);
        out.push_str(&format!("{name}:\n"));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// The Zipkin and Jaeger receiver sections (under `distributor.receivers`) when `ports` has them.
fn receivers_yaml(ports: Ports) -> String {
    if ports.zipkin == 0 {
        return String::new();
    }
    format!(
        "    zipkin:
      endpoint: 127.0.0.1:{zipkin}
    jaeger:
      protocols:
        grpc:
          endpoint: 127.0.0.1:{jaeger_grpc}
        thrift_http:
          endpoint: 127.0.0.1:{jaeger_http}
        thrift_compact:
          endpoint: 127.0.0.1:{jaeger_compact}
        thrift_binary:
          endpoint: 127.0.0.1:{jaeger_binary}
",
        zipkin = ports.zipkin,
        jaeger_grpc = ports.jaeger_grpc,
        jaeger_http = ports.jaeger_http,
        jaeger_compact = ports.jaeger_compact,
        jaeger_binary = ports.jaeger_binary,
    )
}

/// Within one section, a key given again (in `extra`) replaces the earlier one with everything
/// nested under it.
fn last_key_wins(lines: Vec<String>) -> Vec<String> {
    // Group lines into entries: a two-space-indented key line and the deeper lines after it.
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for l in lines {
        let is_key = l.starts_with("  ") && !l.starts_with("   ");
        if is_key || entries.is_empty() {
            let key = l.trim().split(':').next().unwrap_or("").to_string();
            entries.push((key, vec![l]));
        } else if let Some(last) = entries.last_mut() {
            last.1.push(l);
        }
    }
    let mut out = Vec::new();
    for (i, (key, block)) in entries.iter().enumerate() {
        if entries[i + 1..].iter().all(|(k, _)| k != key) {
            out.extend(block.iter().cloned());
        }
    }
    out
}

/// Polls `f` until it returns `Some`, for at most `secs` seconds (no timing is asserted: the
/// limit only keeps a broken build from hanging).
pub fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`eventually`] for async conditions, awaiting `f` between short sleeps on the test's own
/// runtime (never blocking a runtime thread).
pub async fn eventually_async<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sum of every sample of the metric family `name` on a `/metrics` page.
pub fn metric_sum(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(name))
        .filter(|l| matches!(l.as_bytes().get(name.len()), Some(b' ') | Some(b'{')))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Block directories (`<tenant>/<block>/meta.json`) under a server's local store.
pub fn block_metas(server: &Server, tenant: &str) -> Vec<PathBuf> {
    let dir = server.data_dir().join("blocks").join(tenant);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("meta.json"))
        .filter(|p| p.exists())
        .collect()
}

/// WAL segment files of a server.
pub fn wal_segments(server: &Server) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(server.data_dir().join("wal")) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    v.sort();
    v
}

pub mod http_probe {
    //! A tiny blocking GET for readiness checks, so the harness needs no HTTP client runtime.
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn blocking_get(url: &str) -> std::io::Result<u16> {
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut s = TcpStream::connect(host)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        let head = String::from_utf8_lossy(&buf);
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok(code)
    }
}
