//! Role binaries as separate processes on loopback: a small cluster of distributors, ingesters
//! (on a replicated ring) and a querier, sharing one local-disk object store.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_ports, http_probe, strata_bin};

/// A role binary (`strata-ingester`, ...) next to the `strata` binary.
pub fn role_bin(name: &str) -> PathBuf {
    let bin = strata_bin().with_file_name(name);
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p {name}` first (make test does)",
        bin.display()
    );
    bin
}

/// One running process of a Strata binary, with its log file and HTTP port.
pub struct RoleProcess {
    pub name: String,
    program: PathBuf,
    args: Vec<OsString>,
    log: PathBuf,
    pub http_port: u16,
    /// The CA of the HTTP port's certificate when it serves TLS.
    https_ca: Option<PathBuf>,
    child: Option<Child>,
}

impl RoleProcess {
    /// Writes `config` to `<dir>/<name>.yaml` and starts the role binary `binary` with it;
    /// waits for `/ready` on `http_port`.
    pub fn start(dir: &Path, name: &str, binary: &str, http_port: u16, config: &str) -> Self {
        let mut p = Self::start_unwaited(dir, name, binary, http_port, config);
        p.wait_ready();
        p
    }

    /// [`RoleProcess::start`] without waiting for `/ready`, for a process expected to stay
    /// unready for a while.
    pub fn start_unwaited(
        dir: &Path,
        name: &str,
        binary: &str,
        http_port: u16,
        config: &str,
    ) -> Self {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(config.as_bytes()))
            .expect("writing config");
        let mut p = Self::unstarted(
            name,
            role_bin(binary),
            vec!["--config".into(), path.into_os_string()],
            dir.join(format!("{name}.log")),
            http_port,
            None,
        );
        p.spawn_child();
        p
    }

    /// Starts `program args` with output appended to `log`; waits for `/ready` on `http_port`.
    pub fn launch(
        name: &str,
        program: PathBuf,
        args: Vec<OsString>,
        log: PathBuf,
        http_port: u16,
    ) -> Self {
        Self::launch_with(name, program, args, log, http_port, None)
    }

    /// [`RoleProcess::launch`]; with `https_ca`, `/ready` is probed over HTTPS verified with it.
    pub fn launch_with(
        name: &str,
        program: PathBuf,
        args: Vec<OsString>,
        log: PathBuf,
        http_port: u16,
        https_ca: Option<PathBuf>,
    ) -> Self {
        let mut p = Self::unstarted(name, program, args, log, http_port, https_ca);
        p.spawn();
        p
    }

    fn unstarted(
        name: &str,
        program: PathBuf,
        args: Vec<OsString>,
        log: PathBuf,
        http_port: u16,
        https_ca: Option<PathBuf>,
    ) -> Self {
        Self {
            name: name.to_string(),
            program,
            args,
            log,
            http_port,
            https_ca,
            child: None,
        }
    }

    fn spawn(&mut self) {
        self.spawn_child();
        self.wait_ready();
    }

    fn spawn_child(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(&self.program)
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        self.child = Some(child);
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let path = format!("127.0.0.1:{}/ready", self.http_port);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{} exited during start ({status}):\n{}",
                    self.name,
                    self.log()
                );
            }
            let status = match &self.https_ca {
                None => http_probe::blocking_get(&format!("http://{path}")),
                Some(ca) => crate::tls::blocking_get(&format!("https://{path}"), ca),
            };
            if status.is_ok_and(|c| c == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready after 60s:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.http_port, path)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reaping");
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let status = c.wait().expect("waiting for process");
            assert!(
                status.success(),
                "{} exited with {status}:\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// Starts the process again with the same config and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill {} first", self.name);
        self.spawn();
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Shape of a [`Cluster`].
pub struct ClusterSpec {
    pub ingesters: usize,
    pub distributors: usize,
    pub replication_factor: usize,
    /// Lines under every ingester's `ingester:` section, indented two spaces
    /// (e.g. `"  trace_idle_period: 1s\n"`).
    pub ingester_settings: String,
    /// YAML appended to every distributor's and the querier's config.
    pub common_extra: String,
    /// YAML appended to every ingester's config (e.g. overrides with tail-sampling policies).
    pub ingester_extra: String,
    /// `strata-metrics-generator` processes; distributors hand them spans over their ring.
    pub generators: usize,
    /// YAML appended to every generator's config (e.g. the overrides enabling processors).
    pub generator_extra: String,
    /// Lines under every process's `server:` section, indented two spaces (e.g. a
    /// `grpc_tls_config` block).
    pub server_extra: String,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            ingesters: 3,
            distributors: 2,
            replication_factor: 3,
            ingester_settings: String::new(),
            common_extra: String::new(),
            ingester_extra: String::new(),
            generators: 0,
            generator_extra: String::new(),
            server_extra: String::new(),
        }
    }
}

/// Distributors, ingesters and a querier, each its own process.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub ingesters: Vec<RoleProcess>,
    pub distributors: Vec<RoleProcess>,
    /// OTLP gRPC endpoint (`http://127.0.0.1:port`) of each distributor.
    pub otlp_grpc: Vec<String>,
    /// OTLP/HTTP URL (`.../v1/traces`) of each distributor.
    pub otlp_http: Vec<String>,
    pub querier: RoleProcess,
    pub generators: Vec<RoleProcess>,
    /// The querier's configuration without its `server:` section (ring, storage, extras),
    /// for more queriers ([`Cluster::start_querier`]).
    querier_config: String,
    /// Lines under every process's `server:` section.
    server_extra: String,
}

impl Cluster {
    pub fn start(spec: ClusterSpec) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocks = dir.path().join("blocks");
        // Every port of the cluster in one allocation, so no two processes are given the same.
        let mut ports =
            free_ports(2 * spec.ingesters + 3 * spec.distributors + 1 + 2 * spec.generators)
                .into_iter();
        let mut port = move || ports.next().expect("one port allocated per listener");
        let grpc_ports: Vec<u16> = (0..spec.ingesters).map(|_| port()).collect();
        let members = grpc_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let ring = format!(
            "ring:\n  replication_factor: {}\n  members: [{members}]\n  heartbeat_period: 500ms\n",
            spec.replication_factor
        );
        let storage = format!(
            "storage:\n  backend: local\n  local:\n    path: {}\n  blocklist_poll: 500ms\n  blocklist_poll_stale_tenant_index: 30s\n",
            blocks.display()
        );
        let server = |http: u16, grpc: Option<u16>| {
            let grpc = grpc.map_or(String::new(), |p| {
                format!("  grpc_listen_address: 127.0.0.1:{p}\n")
            });
            format!(
                "server:\n  http_listen_address: 127.0.0.1:{http}\n{grpc}{}",
                spec.server_extra
            )
        };
        let mut ingesters = Vec::new();
        for (i, grpc) in grpc_ports.iter().enumerate() {
            let http = port();
            let wal = dir.path().join(format!("ingester-{i}-wal"));
            let cfg = format!(
                "{}{storage}ingester:\n  wal:\n    path: {}\n{}{}\n",
                server(http, Some(*grpc)),
                wal.display(),
                spec.ingester_settings,
                spec.ingester_extra
            );
            ingesters.push(RoleProcess::start(
                dir.path(),
                &format!("ingester-{i}"),
                "strata-ingester",
                http,
                &cfg,
            ));
        }
        let mut generators = Vec::new();
        let mut generator_members = Vec::new();
        for i in 0..spec.generators {
            let (http, grpc) = (port(), port());
            let cfg = format!("{}{}\n", server(http, Some(grpc)), spec.generator_extra);
            generators.push(RoleProcess::start(
                dir.path(),
                &format!("generator-{i}"),
                "strata-metrics-generator",
                http,
                &cfg,
            ));
            generator_members.push(format!("127.0.0.1:{grpc}"));
        }
        let generator_ring = if generator_members.is_empty() {
            String::new()
        } else {
            format!(
                "metrics_generator:\n  ring:\n    members: [{}]\n    heartbeat_period: 500ms\n",
                generator_members.join(", ")
            )
        };
        let mut distributors = Vec::new();
        let (mut otlp_grpc, mut otlp_http) = (Vec::new(), Vec::new());
        for i in 0..spec.distributors {
            let (http, og, oh) = (port(), port(), port());
            let cfg = format!(
                "{}distributor:\n  receivers:\n    otlp:\n      grpc_endpoint: 127.0.0.1:{og}\n      http_endpoint: 127.0.0.1:{oh}\n{ring}{generator_ring}{}\n",
                server(http, None),
                spec.common_extra
            );
            distributors.push(RoleProcess::start(
                dir.path(),
                &format!("distributor-{i}"),
                "strata-distributor",
                http,
                &cfg,
            ));
            otlp_grpc.push(format!("http://127.0.0.1:{og}"));
            otlp_http.push(format!("http://127.0.0.1:{oh}/v1/traces"));
        }
        let qport = port();
        let querier_config = format!("{ring}{storage}{}\n", spec.common_extra);
        let cfg = format!("{}{querier_config}", server(qport, None));
        let querier = RoleProcess::start(dir.path(), "querier", "strata-querier", qport, &cfg);
        Self {
            dir,
            ingesters,
            distributors,
            otlp_grpc,
            otlp_http,
            querier,
            generators,
            querier_config,
            server_extra: spec.server_extra,
        }
    }

    /// Starts one more querier of this cluster, `name`, on `http_port`, with `extra` (YAML,
    /// e.g. a `querier:` section) added to the first querier's configuration.
    pub fn start_querier(&self, name: &str, http_port: u16, extra: &str) -> RoleProcess {
        self.start_querier_with(name, http_port, "", extra, None)
    }

    /// [`Cluster::start_querier`] with `server_lines` added under its `server:` section
    /// (indented two spaces, e.g. an `http_tls_config`); with `https_ca`, its `/ready` is
    /// probed over HTTPS verified with that CA.
    pub fn start_querier_with(
        &self,
        name: &str,
        http_port: u16,
        server_lines: &str,
        extra: &str,
        https_ca: Option<&Path>,
    ) -> RoleProcess {
        let cfg = format!(
            "server:\n  http_listen_address: 127.0.0.1:{http_port}\n{}{server_lines}{}{extra}\n",
            self.server_extra, self.querier_config
        );
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, cfg).expect("writing config");
        RoleProcess::launch_with(
            name,
            role_bin("strata-querier"),
            vec!["--config".into(), path.into_os_string()],
            self.dir.path().join(format!("{name}.log")),
            http_port,
            https_ca.map(Path::to_path_buf),
        )
    }

    /// Logs of every process, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in self
            .ingesters
            .iter()
            .chain(&self.distributors)
            .chain(std::iter::once(&self.querier))
            .chain(&self.generators)
        {
            let log = p.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            out.push_str(&format!("==== {} (last 40 lines)\n", p.name));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}
