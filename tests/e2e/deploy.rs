//! The deployment files are valid: the Helm chart (default values and an S3 values file) renders
//! with Helm's own engine to manifests that pass the Kubernetes 1.29 JSON schemas in strict mode
//! and agree with each other; so does the kustomization; the compose file passes Compose v2 and
//! the compose-spec schema; the Dockerfile passes hadolint; every Strata configuration they
//! carry passes `strata config check`. Each validator is shown to reject a broken input.
//!
//! The metrics-generator is deployed everywhere: its own Deployment with a headless Service
//! that the distributors' `metrics_generator.ring.dns` names (chart and kustomization), a
//! compose service the distributor's `metrics_generator.ring.members` names, remote-writing to
//! a Prometheus started with the remote-write receiver, and its binary in the image.
//!
//! The validators run through `tests/deploy/validate.py` with the Python of the venv that
//! `make test-deps` installs (mk/deploy.mk): `$STRATA_TOOLS/deploy-venv`, default
//! `<workspace>/target/tools/deploy-venv`.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata_integration_tests::{eventually_async, strata_bin, Server};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn venv_python() -> PathBuf {
    let tools = std::env::var("STRATA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target/tools"));
    let python = tools.join("deploy-venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: run `make test-deps` (mk/deploy.mk) first (make test does)",
        python.display()
    );
    python
}

/// Runs `validate.py <args>`; returns (success, combined output).
fn validate(args: &[&str]) -> (bool, String) {
    let out = Command::new(venv_python())
        .arg(repo().join("tests/deploy/validate.py"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("running validate.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn assert_valid(args: &[&str]) -> String {
    let (ok, text) = validate(args);
    assert!(ok, "validate.py {args:?} failed:\n{text}");
    assert!(text.contains("OK: "), "no OK line:\n{text}");
    text
}

fn assert_rejected(args: &[&str], needles: &[&str]) {
    let (ok, text) = validate(args);
    assert!(!ok, "validate.py {args:?} accepted a broken input:\n{text}");
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

/// The Strata configurations validate.py extracted into `dir`.
fn configs_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reading extracted configs")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `strata config check` on each file; every failure is reported at once.
fn assert_configs_pass(files: &[PathBuf]) {
    assert!(!files.is_empty(), "no Strata configuration found");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            // As in a pod: the file is expanded with the pod's IP in the environment.
            let out = Command::new(strata_bin())
                .args(["config", "check", "--config.expand-env"])
                .arg(f)
                .env("POD_IP", "10.1.2.3")
                .env("RUST_BACKTRACE", "0")
                .env("RUST_LIB_BACKTRACE", "0")
                .output()
                .expect("running strata config check");
            (!out.status.success()).then(|| {
                format!(
                    "{}: {}",
                    f.display(),
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .next()
                        .unwrap_or("(no message)")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "strata config check failed:\n{}",
        failures.join("\n")
    );
}

/// Every `<label>.overrides` in `dir` parses as the per-tenant file of `<label>.yaml` (tenant
/// entries merged over that configuration's `overrides.defaults`, as the running server does).
/// Returns how many were checked.
fn assert_overrides_parse(dir: &Path) -> usize {
    let mut checked = 0;
    for file in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if file.extension().is_none_or(|e| e != "overrides") {
            continue;
        }
        let main = file.with_extension("yaml");
        let cfg = strata_config::Config::load(&main)
            .unwrap_or_else(|e| panic!("{}: {e}", main.display()));
        let text = std::fs::read_to_string(&file).unwrap();
        cfg.overrides
            .parse_per_tenant(&text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.display()));
        checked += 1;
    }
    checked
}

fn render_helm(values: &str) -> (tempfile::TempDir, String) {
    let out = tempfile::tempdir().unwrap();
    let text = assert_valid(&["helm", values, "--out", out.path().to_str().unwrap()]);
    (out, text)
}

const WORKLOADS: &[&str] = &[
    "object ConfigMap/strata-config",
    "object Deployment/strata-distributor",
    "object HorizontalPodAutoscaler/strata-distributor",
    "object StatefulSet/strata-ingester",
    "object Service/strata-ingester-headless",
    "object Service/strata-ingester\n",
    "object Deployment/strata-querier",
    "object Service/strata-querier",
    "object Deployment/strata-compactor",
    "object Service/strata-compactor-headless",
    "object PodDisruptionBudget/strata-ingester",
];

/// The metrics-generator's objects (chart with `metricsGenerator.enabled`, kustomization).
const GENERATOR: &[&str] = &[
    "object Deployment/strata-metrics-generator",
    "object Service/strata-metrics-generator-headless",
    "object Service/strata-metrics-generator\n",
];

/// The chart's generator ring name for release "strata" in namespace "tracing".
const HELM_GENERATOR_RING: &str =
    "dns: strata-metrics-generator-headless.tracing.svc.cluster.local:9095";

/// The parsed Strata configuration `validate.py --out` extracted to `dir/name`.
fn extracted_config(dir: &Path, name: &str) -> strata_config::Config {
    let path = dir.join(name);
    strata_config::Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Span metrics and service graphs are on for every tenant by default.
fn assert_processors_on(cfg: &strata_config::Config) {
    let limits = &cfg.overrides.defaults.metrics_generator;
    for p in ["span-metrics", "service-graphs"] {
        assert!(limits.has(p), "{p} not enabled: {:?}", limits.processors);
    }
}

#[test]
fn helm_chart_with_default_values_renders_valid_manifests() {
    let (out, text) = render_helm("-");
    for w in WORKLOADS.iter().chain(GENERATOR) {
        assert!(text.contains(w), "{w:?} missing from the render:\n{text}");
    }
    // The generator is on by default: distributors find it by its headless Service (the
    // validator checks that Service), every tenant gets both processors, nothing is pushed.
    let raw = std::fs::read_to_string(out.path().join("helm-strata-config.yaml")).unwrap();
    assert!(raw.contains(HELM_GENERATOR_RING), "{raw}");
    let cfg = extracted_config(out.path(), "helm-strata-config.yaml");
    assert_eq!(cfg.metrics_generator.ring.replication_factor, 1);
    assert_processors_on(&cfg);
    assert!(cfg.metrics_generator.storage.remote_write.is_empty());
    assert_eq!(cfg.compactor.job_nice, 10);
    // Two queriers on the local backend's per-pod directories have nothing to share.
    assert!(cfg.querier.search.peers.is_unset());
    assert!(!text.contains("strata-querier-headless"), "{text}");
}

#[test]
fn helm_chart_with_s3_values_renders_valid_manifests() {
    let (out, text) = render_helm("helm/strata/ci/s3-values.yaml");
    for w in WORKLOADS.iter().chain(GENERATOR) {
        assert!(text.contains(w), "{w:?} missing from the render:\n{text}");
    }
    let cfg = std::fs::read_to_string(out.path().join("helm-strata-config.yaml")).unwrap();
    assert!(cfg.contains("backend: s3"), "{cfg}");
    assert!(cfg.contains("bucket: strata-traces"), "{cfg}");
    assert!(cfg.contains("multitenancy_enabled: true"), "{cfg}");
    assert!(
        cfg.contains("dns: strata-ingester-headless.tracing.svc.cluster.local:9095"),
        "{cfg}"
    );
    // Compactors find each other through their headless service and themselves by pod IP.
    assert!(
        cfg.contains("dns: strata-compactor-headless.tracing.svc.cluster.local:3200"),
        "{cfg}"
    );
    // Go's YAML may quote the value; the validator checks that the containers expand it.
    assert!(cfg.contains("${POD_IP}:3200"), "{cfg}");
    // Three queriers over S3 share searches: peers through their headless Service (the
    // validator checks it selects the queriers), each leaving itself out by pod IP.
    assert!(
        text.contains("object Service/strata-querier-headless"),
        "{text}"
    );
    assert!(
        cfg.contains("dns: strata-querier-headless.tracing.svc.cluster.local:3200"),
        "{cfg}"
    );
    // metricsGenerator.remoteWrite becomes metrics_generator.storage.remote_write, headers
    // included.
    assert!(cfg.contains(HELM_GENERATOR_RING), "{cfg}");
    let parsed = extracted_config(out.path(), "helm-strata-config.yaml");
    let rw = &parsed.metrics_generator.storage.remote_write;
    let urls: Vec<&str> = rw.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://prometheus-server.monitoring.svc.cluster.local:80/api/v1/write",
            "http://mimir-nginx.mimir.svc.cluster.local:80/api/v1/push"
        ]
    );
    assert!(rw[0].headers.is_empty());
    assert_eq!(
        rw[1].headers.get("X-Scope-OrgID").map(String::as_str),
        Some("tracing")
    );
    assert_processors_on(&parsed);
}

#[test]
fn helm_chart_with_gcs_values_and_options_off_renders_valid_manifests() {
    let (out, text) = render_helm("helm/strata/ci/gcs-values.yaml");
    assert!(!text.contains("HorizontalPodAutoscaler"), "{text}");
    assert!(!text.contains("PodDisruptionBudget"), "{text}");
    assert!(
        text.contains("object StatefulSet/strata-ingester"),
        "{text}"
    );
    let cfg = std::fs::read_to_string(out.path().join("helm-strata-config.yaml")).unwrap();
    assert!(cfg.contains("backend: gcs"), "{cfg}");
    assert!(
        !cfg.contains("s3:"),
        "only the chosen backend is rendered:\n{cfg}"
    );
    // metricsGenerator.enabled: false: no generator objects, distributors send to none.
    assert!(!text.contains("metrics-generator"), "{text}");
    assert!(!cfg.contains("metrics_generator"), "{cfg}");
    let parsed = extracted_config(out.path(), "helm-strata-config.yaml");
    assert_eq!(
        parsed.compactor.job_nice, 0,
        "compactor.job_nice reaches the config"
    );
}

#[test]
fn kustomization_builds_valid_manifests() {
    let out = tempfile::tempdir().unwrap();
    let text = assert_valid(&[
        "kustomize",
        "deploy/kubernetes",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    for w in [
        "Namespace/strata",
        "StatefulSet/strata-ingester",
        "HorizontalPodAutoscaler/strata-distributor",
        // The queriers' peers (the validator checks the config names it).
        "Service/strata-querier-headless",
    ] {
        assert!(text.contains(w), "{w} missing:\n{text}");
    }
    for w in GENERATOR {
        assert!(text.contains(w), "{w:?} missing:\n{text}");
    }
    let file = configs_in(out.path())
        .pop()
        .expect("the kustomization's config");
    let cfg = strata_config::Config::load(&file).unwrap();
    assert_eq!(
        cfg.metrics_generator.ring.dns,
        "strata-metrics-generator-headless.strata.svc.cluster.local:9095"
    );
    assert_processors_on(&cfg);
}

#[test]
fn compose_file_is_valid() {
    let out = tempfile::tempdir().unwrap();
    let text = assert_valid(&[
        "compose",
        "deploy/docker-compose.yml",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    for s in [
        "distributor",
        "ingester-1",
        "ingester-2",
        "ingester-3",
        "querier",
        "compactor",
        "minio",
        "minio-init",
        "prometheus",
        "grafana",
        "metrics-generator",
        "loki",
        "promtail",
    ] {
        assert!(
            text.contains(&format!("object service/{s}\n")),
            "{s} missing:\n{text}"
        );
    }
    // The validator has checked that the ring members are services running the role and that
    // the Prometheus remote-written to runs the receiver with exemplar storage.
    let cfg = extracted_config(out.path(), "compose-0.yaml");
    assert_eq!(
        cfg.metrics_generator.ring.members,
        ["metrics-generator:9095"]
    );
    let rw = &cfg.metrics_generator.storage.remote_write;
    assert_eq!(rw.len(), 1, "{rw:?}");
    assert_eq!(rw[0].url, "http://prometheus:9090/api/v1/write");
    assert!(rw[0].send_exemplars);
    assert_processors_on(&cfg);
}

/// A YAML file of the repository, parsed by the venv's PyYAML (the tests crate has no YAML
/// parser of its own).
fn yaml_as_json(path: &str) -> serde_json::Value {
    let out = Command::new(venv_python())
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(repo().join(path))
        .output()
        .expect("running python");
    assert!(
        out.status.success(),
        "{path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Grafana: the Tempo data source's service map and trace-to-metrics links read the compose
/// Prometheus, whose exemplars link back to the Strata data source by `trace_id`; and
/// Prometheus scrapes the generator's own metrics.
#[test]
fn compose_grafana_and_prometheus_are_wired_to_the_generator() {
    let doc = yaml_as_json("deploy/grafana/provisioning/datasources/strata.yaml");
    let sources = doc["datasources"].as_array().expect("datasources");
    let by_type = |t: &str| {
        sources
            .iter()
            .find(|d| d["type"].as_str() == Some(t))
            .unwrap_or_else(|| panic!("no {t} data source"))
    };
    let (tempo, prom) = (by_type("tempo"), by_type("prometheus"));
    let prom_uid = prom["uid"].as_str().expect("prometheus uid");
    let tempo_uid = tempo["uid"].as_str().expect("tempo uid");
    let j = &tempo["jsonData"];
    assert_eq!(j["serviceMap"]["datasourceUid"].as_str(), Some(prom_uid));
    let t2m = &j["tracesToMetrics"];
    assert_eq!(t2m["datasourceUid"].as_str(), Some(prom_uid));
    let queries: Vec<&str> = t2m["queries"]
        .as_array()
        .expect("tracesToMetrics.queries")
        .iter()
        .map(|q| q["query"].as_str().expect("query"))
        .collect();
    for metric in [
        "traces_spanmetrics_calls_total",
        "traces_spanmetrics_latency_bucket",
    ] {
        assert!(queries.iter().any(|q| q.contains(metric)), "{queries:?}");
    }
    // `$$` in a provisioning file is a literal `$`; a single one would be an (empty)
    // environment variable and the link would lose its label matchers.
    assert!(
        queries.iter().all(|q| q.contains("$$__tags")),
        "{queries:?}"
    );
    // Spans link to the log lines of their trace in Loki.
    let loki_uid = by_type("loki")["uid"].as_str().expect("loki uid");
    let t2l = &j["tracesToLogsV2"];
    assert_eq!(t2l["datasourceUid"].as_str(), Some(loki_uid));
    assert!(
        t2l["query"]
            .as_str()
            .is_some_and(|q| q.contains("$${__trace.traceId}")),
        "{t2l}"
    );
    let dest = &prom["jsonData"]["exemplarTraceIdDestinations"][0];
    assert_eq!(dest["name"].as_str(), Some("trace_id"));
    assert_eq!(dest["datasourceUid"].as_str(), Some(tempo_uid));

    let prom_cfg =
        std::fs::read_to_string(repo().join("deploy/prometheus/prometheus.yml")).unwrap();
    assert!(
        prom_cfg.contains("\"metrics-generator:3200\""),
        "Prometheus does not scrape the generator:\n{prom_cfg}"
    );
}

/// Grafana's provisioning (data sources, dashboard provider, dashboards) is consistent, and
/// the Loki data source's derived field finds the trace ID in a real JSON log line of a
/// query, logged by `strata run` with `server.log_format: json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_provisioning_is_consistent_and_links_a_real_json_log_line_to_its_trace() {
    let server = Server::start("server:\n  log_format: json\n");
    let res = reqwest::get(server.url("/api/search/tags")).await.unwrap();
    assert_eq!(res.status(), 200);
    let line = eventually_async(10, || async {
        server
            .log()
            .lines()
            .find(|l| l.contains("\"trace_id\":") && l.contains("query served"))
            .map(str::to_string)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("line.json");
    std::fs::write(&file, &line).unwrap();
    let text = assert_valid(&[
        "grafana",
        "deploy/grafana/provisioning",
        "--compose",
        "deploy/docker-compose.yml",
        "--log-line",
        file.to_str().unwrap(),
    ]);
    for o in [
        "datasource/strata",
        "datasource/prometheus",
        "datasource/loki",
        "dashboard/strata-operations",
        "dashboard/strata-red",
    ] {
        assert!(
            text.contains(&format!("object {o}\n")),
            "{o} missing:\n{text}"
        );
    }
}

#[test]
fn broken_grafana_provisioning_is_rejected() {
    assert_rejected(
        &[
            "grafana",
            "tests/deploy/fixtures/bad-grafana/provisioning",
            "--compose",
            "tests/deploy/fixtures/bad-grafana/docker-compose.yml",
            "--log-line",
            "tests/deploy/fixtures/bad-grafana/log-line.json",
        ],
        &[
            "serviceMap: datasourceUid prom names no provisioned data source",
            "does not match the log line",
            "url must be $${__value.raw}",
            "panel Unknown source: datasource uid prom is not provisioned",
            "$job is not a variable of the dashboard",
            "panel id 1 (Same id) is given twice",
            "datasource ${datasource} is no datasource variable",
            "empty expr",
        ],
    );
}

#[test]
fn dockerfile_lints_clean_and_builds_every_binary() {
    assert_valid(&["dockerfile", "Dockerfile"]);
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for bin in [
        "strata",
        "strata-distributor",
        "strata-ingester",
        "strata-querier",
        "strata-compactor",
        "strata-metrics-generator",
    ] {
        assert!(
            dockerfile.contains(&format!("--bin {bin} "))
                || dockerfile.contains(&format!("--bin {bin}\n")),
            "Dockerfile does not build {bin}"
        );
    }
    assert!(
        dockerfile.contains("USER 10001"),
        "image must run as uid 10001"
    );
}

/// Local-storage configurations: the image's default and the chart's default values.
#[test]
fn local_storage_configs_pass_strata_config_check() {
    let (out, _) = render_helm("-");
    let mut files = configs_in(out.path());
    files.push(repo().join("deploy/config/image.yaml"));
    assert_configs_pass(&files);
    assert_eq!(assert_overrides_parse(out.path()), 1);
}

/// Object-store configurations: the chart with S3 and GCS values, the kustomization (S3), and
/// docker-compose (MinIO).
#[test]
fn object_store_configs_pass_strata_config_check() {
    let (helm_out, _) = render_helm("helm/strata/ci/s3-values.yaml");
    let (gcs_out, _) = render_helm("helm/strata/ci/gcs-values.yaml");
    let kust = tempfile::tempdir().unwrap();
    assert_valid(&[
        "kustomize",
        "deploy/kubernetes",
        "--out",
        kust.path().to_str().unwrap(),
    ]);
    let compose = tempfile::tempdir().unwrap();
    assert_valid(&[
        "compose",
        "deploy/docker-compose.yml",
        "--out",
        compose.path().to_str().unwrap(),
    ]);
    let mut files = configs_in(helm_out.path());
    files.extend(configs_in(gcs_out.path()));
    files.extend(configs_in(kust.path()));
    files.extend(configs_in(compose.path()));
    assert_eq!(files.len(), 4, "{files:?}");
    assert_configs_pass(&files);
    let overrides: usize = [&helm_out, &gcs_out, &kust, &compose]
        .iter()
        .map(|d| assert_overrides_parse(d.path()))
        .sum();
    assert_eq!(
        overrides, 4,
        "every configuration carries a per-tenant file"
    );
}

#[test]
fn strata_config_check_rejects_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "ring:\n  replicas: 3\n").unwrap();
    let out = Command::new(strata_bin())
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown key was accepted");
}

/// Writes `text` to a file in `dir` and runs `strata <args> <file>` with `env` applied
/// (`None` removes the variable).
fn strata_on_file(
    dir: &Path,
    text: &str,
    args: &[&str],
    env: &[(&str, Option<&str>)],
) -> std::process::Output {
    let file = dir.join("strata.yaml");
    std::fs::write(&file, text).unwrap();
    let mut cmd = Command::new(strata_bin());
    cmd.args(args).arg(&file);
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    cmd.output().expect("running strata")
}

#[test]
fn config_expand_env_fills_variables_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = "compactor:\n  instance_addr: ${POD_IP}:3200\n  ring:\n    dns: ${RING_DNS:-compactors:3200}\n";
    let expand = ["config", "dump", "--config.expand-env"];
    let env = [("POD_IP", Some("10.1.2.3")), ("RING_DNS", None)];
    let dump = strata_on_file(dir.path(), text, &expand, &env);
    let out = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(out.contains("instance_addr: 10.1.2.3:3200"), "{out}");
    assert!(out.contains("dns: compactors:3200"), "{out}");

    let check = ["config", "check", "--config.expand-env"];
    let missing = strata_on_file(dir.path(), text, &check, &[("POD_IP", None)]);
    assert!(!missing.status.success(), "an unset variable was accepted");
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("POD_IP"), "{err}");

    // Without the flag the reference stays as written.
    let plain = strata_on_file(dir.path(), text, &["config", "dump"], &[]);
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.contains("instance_addr: ${POD_IP}:3200"), "{plain}");
}

#[test]
fn config_dump_redacts_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let text = "storage:\n  backend: s3\n  s3:\n    bucket: b\n    access_key: AKIDEXAMPLE\n    secret_key: do-not-print-me\n";
    let dump = strata_on_file(dir.path(), text, &["config", "dump"], &[]);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let out = String::from_utf8_lossy(&dump.stdout);
    assert!(!out.contains("do-not-print-me"), "{out}");
    assert!(out.contains("secret_key: <redacted>"), "{out}");
}

#[test]
fn config_with_variables_in_a_container_without_expand_env_is_rejected() {
    assert_rejected(
        &["manifests", "tests/deploy/fixtures/bad-expand-env.yaml"],
        &[
            "is not started with --config.expand-env",
            "does not define POD_IP",
        ],
    );
}

#[test]
fn manifest_with_unknown_field_is_rejected() {
    assert_rejected(
        &["manifests", "tests/deploy/fixtures/bad-unknown-field.yaml"],
        &["'readynessProbe' was unexpected"],
    );
}

#[test]
fn manifest_with_wrong_type_is_rejected() {
    assert_rejected(
        &["manifests", "tests/deploy/fixtures/bad-wrong-type.yaml"],
        &["'three' is not of type 'integer'"],
    );
}

#[test]
fn service_selecting_nothing_is_rejected() {
    assert_rejected(
        &["manifests", "tests/deploy/fixtures/bad-selector.yaml"],
        &["Service/orphan: selector", "selects no pod template"],
    );
}

#[test]
fn helm_values_producing_an_invalid_manifest_are_rejected() {
    assert_rejected(
        &["helm", "tests/deploy/fixtures/bad-values.yaml"],
        &[
            "StatefulSet/strata-ingester",
            "'two' is not of type 'integer'",
        ],
    );
}

#[test]
fn metrics_generator_ring_not_naming_the_generator_headless_service_is_rejected() {
    // The ingester headless Service: right port, publishes not-ready pods, wrong pods.
    assert_rejected(
        &[
            "helm",
            "tests/deploy/fixtures/bad-generator-ring-values.yaml",
        ],
        &[
            "metrics_generator.ring.dns strata-ingester-headless",
            "selects no strata-metrics-generator pods",
        ],
    );
    // The generator's load-balanced Service: distributors would see one member.
    assert_rejected(
        &[
            "helm",
            "tests/deploy/fixtures/bad-generator-ring-service-values.yaml",
        ],
        &["metrics_generator.ring.dns strata-metrics-generator.tracing.svc.cluster.local:9095 names no headless Service"],
    );
}

#[test]
fn querier_peers_not_naming_the_querier_headless_service_are_rejected() {
    assert_rejected(
        &["helm", "tests/deploy/fixtures/bad-querier-peers-values.yaml"],
        &[
            "querier.search.peers.dns strata-querier.tracing.svc.cluster.local:3200 names no headless Service",
            "querier.search.peers.dns is set but self_address is empty",
        ],
    );
}

#[test]
fn compose_generator_wiring_errors_are_rejected() {
    assert_rejected(
        &[
            "compose",
            "tests/deploy/fixtures/bad-generator-compose/docker-compose.yml",
        ],
        &[
            "metrics_generator.ring.members ingester:9095 is a service that does not run strata-metrics-generator",
            "metrics_generator.ring.members metrics-generator:9095 is no compose service",
            "not started with --web.enable-remote-write-receiver",
            "not started with --enable-feature=exemplar-storage",
        ],
    );
}

#[test]
fn helm_remote_write_without_a_url_fails_to_render() {
    assert_rejected(
        &["helm", "tests/deploy/fixtures/bad-remote-write-values.yaml"],
        &["metricsGenerator.remoteWrite[0] needs a url"],
    );
}

#[test]
fn helm_unknown_storage_backend_fails_to_render() {
    assert_rejected(
        &["helm", "tests/deploy/fixtures/bad-backend-values.yaml"],
        &["storage.backend must be local, s3, gcs or azure"],
    );
}

#[test]
fn broken_compose_file_is_rejected_by_both_validators() {
    assert_rejected(
        &["compose", "tests/deploy/fixtures/bad-compose.yml"],
        &[
            "docker-compose config rejected",
            "compose-spec schema rejected",
            "restart_policy",
        ],
    );
}

#[test]
fn broken_dockerfile_is_rejected() {
    assert_rejected(
        &["dockerfile", "tests/deploy/fixtures/Dockerfile.bad"],
        &["DL3007", "DL3003"],
    );
}
