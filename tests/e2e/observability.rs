//! Strata observed: the shipped Grafana dashboards, Prometheus alerts and self-tracing work
//! against the real thing.
//!
//! * **Dashboards** (`deploy/grafana/dashboards/*.json`): a cluster of role binaries (a
//!   distributor, an ingester, a querier, a metrics-generator and a compactor, each its own
//!   process) takes traces with failures, a refused request and queries; a real Prometheus
//!   scrapes every role's `/metrics` under the compose stack's job names and receives the
//!   generator's span metrics by remote write. Then every PromQL query of every panel and every
//!   query variable must parse and return at least one series, with `$__rate_interval` as 1m
//!   and every variable as its "All" value.
//! * **Alerts** (`deploy/prometheus/rules/*.yml`): `promtool check rules`, `promtool test rules`
//!   on `tests/prometheus/*.test.yml`, `promtool check config` on the compose Prometheus
//!   configuration that loads them; and every metric an alert reads exists in that Prometheus.
//! * **Self-tracing and JSON logs**: `strata run` with `server.log_format: json` and
//!   `server.self_tracing` pointed at its own OTLP receiver; a query's trace is then read back
//!   from Strata by ID (continuing the request's `traceparent`, or a new trace whose ID is on
//!   the query's log line).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use strata_integration_tests::cluster::{Cluster, ClusterSpec, RoleProcess};
use strata_integration_tests::prometheus::{promtool, Prometheus};
use strata_integration_tests::{eventually_async, free_ports, Ports, Server, NO_BLOCKS};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Files of `dir` (relative to the repository) ending in `ext`, sorted.
fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {ext} file in {dir}");
    out
}

fn promtool_ok(args: &[&str], files: &[PathBuf]) -> String {
    let out = Command::new(promtool())
        .args(args)
        .args(files)
        .current_dir(repo())
        .output()
        .expect("running promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} {files:?}:\n{text}");
    text
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let rules = files("deploy/prometheus/rules", ".yml");
    let text = promtool_ok(&["check", "rules"], &rules);
    assert!(!text.contains("0 rules found"), "{text}");
    let tests = files("tests/prometheus", ".test.yml");
    let text = promtool_ok(&["test", "rules"], &tests);
    assert!(!text.contains("FAILED"), "{text}");
    // The compose Prometheus loads those files (rule_files, relative to its configuration).
    let text = promtool_ok(
        &["check", "config"],
        &[repo().join("deploy/prometheus/prometheus.yml")],
    );
    assert!(text.contains("2 rule files found"), "{text}");
}

/// `promtool test rules` fails when an alert does not fire as its test says.
#[test]
fn promtool_rule_tests_catch_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let rules = repo().join("deploy/prometheus/rules/traces.yml");
    let test = dir.path().join("wrong.test.yml");
    std::fs::write(
        &test,
        format!(
            "rule_files: [{}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'traces_spanmetrics_calls_total{{service=\"a\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"}}'\n        values: '0+100x20'\n    alert_rule_test:\n      - eval_time: 15m\n        alertname: ServiceHighErrorRate\n        exp_alerts:\n          - exp_labels: {{ severity: warning, service: a }}\n",
            rules.display()
        ),
    )
    .unwrap();
    let out = Command::new(promtool())
        .args(["test", "rules"])
        .arg(&test)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a healthy service was expected to alert and promtool agreed"
    );
}

/// The compose stack's scrape jobs, one per role, each on one process of the cluster.
fn scrape_config(targets: &[(&str, u16)]) -> String {
    let mut out = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
    );
    for (job, port) in targets {
        out.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n"
        ));
    }
    out
}

/// Traces through the cluster (the harness's two-service shop).
fn emit(endpoint: &str, traces: u64) {
    strata_integration_tests::sdk::emit_checkout(endpoint, endpoint, traces);
}

/// A request the distributor refuses (a span ID of 4 bytes), counted by reason.
async fn push_refused(otlp_http: &str) {
    use prost::Message;
    let mut req = strata_integration_tests::otlp::simple_request(&[[7u8; 16]], 1);
    req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![1, 2, 3, 4];
    let res = reqwest::Client::new()
        .post(otlp_http)
        .header("Content-Type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// A few query requests of different routes and statuses.
async fn query(api: &str) {
    let c = reqwest::Client::new();
    for path in [
        "/api/search?q=%7B%7D",
        "/api/search/tags",
        "/api/traces/0123456789abcdef0123456789abcdef",
        "/api/search?q=%7B",
    ] {
        c.get(format!("{api}{path}")).send().await.unwrap();
    }
}

/// A Grafana query with its variables replaced as "All" would: `$__rate_interval` by `1m`,
/// `$__interval` by `15s`, every dashboard variable by `.*`.
fn instantiate(expr: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m");
    while let Some(i) = out.find('$') {
        let rest = &out[i + 1..];
        let (name_len, skip) = if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').expect("closed ${…}");
            (end, end + 2)
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (end, end)
        };
        assert!(name_len > 0, "a lone $ in {expr}");
        out.replace_range(i..i + 1 + skip, ".*");
    }
    out
}

/// Every PromQL query of the dashboards (panel targets on a Prometheus data source, and query
/// variables as `label_values(selector, label)` → `count by (label) (selector)`), each with
/// where it comes from.
fn dashboard_queries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in files("deploy/grafana/dashboards", ".json") {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let dash: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for v in dash["templating"]["list"].as_array().unwrap() {
            if v["type"] != "query" {
                continue;
            }
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap();
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{name}: variable query {q} is not label_values(…)"));
            let (selector, label) = inner
                .rsplit_once(',')
                .expect("label_values(selector, label)");
            out.push((
                format!("{name} variable {}", v["name"]),
                format!("count by ({}) ({})", label.trim(), selector.trim()),
            ));
        }
        let mut panels: Vec<Value> = dash["panels"].as_array().unwrap().clone();
        let mut i = 0;
        while i < panels.len() {
            if let Some(inner) = panels[i]["panels"].as_array() {
                panels.extend(inner.clone());
            }
            i += 1;
        }
        for p in panels {
            for t in p["targets"].as_array().into_iter().flatten() {
                let ds = if t["datasource"].is_object() {
                    &t["datasource"]
                } else {
                    &p["datasource"]
                };
                if ds["type"] != "prometheus" {
                    continue;
                }
                out.push((
                    format!("{name} panel {:?} target {}", p["title"], t["refId"]),
                    t["expr"].as_str().expect("expr").to_string(),
                ));
            }
        }
    }
    out
}

/// The metric names the alert rules read.
fn alert_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in files("deploy/prometheus/rules", ".yml") {
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for g in doc["groups"].as_sequence().unwrap() {
            for r in g["rules"].as_sequence().unwrap() {
                let expr = r["expr"].as_str().unwrap();
                let mut rest = expr;
                while let Some(i) = rest.find(|c: char| c.is_ascii_lowercase()) {
                    let word: String = rest[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if word.starts_with("strata_") || word.starts_with("traces_") {
                        names.insert(word.clone());
                    }
                    rest = &rest[i + word.len().max(1)..];
                }
            }
        }
    }
    assert!(names.len() > 10, "{names:?}");
    names
}

/// Series that must be in Prometheus before the dashboards are checked: each role scraped,
/// blocks flushed and compacted over, span metrics and service graphs remote-written.
const READY: &[&str] = &[
    "strata_distributor_spans_received_total",
    "strata_discarded_spans_total",
    "strata_ingester_blocks_flushed_total > 0",
    "strata_querier_requests_total",
    "strata_compactor_outstanding_blocks",
    "strata_compactor_retention_last_success_timestamp_seconds > 0",
    "strata_ring_members",
    "traces_spanmetrics_calls_total{status_code=\"STATUS_CODE_ERROR\"}",
    "traces_service_graph_request_total",
];

/// Rates the dashboards take of series that appear only with the first query request or the
/// generator's first spans, waited for before the dashboards are checked.
const RATES_READY: &[&str] = &[
    "rate(strata_querier_requests_total[1m])",
    "rate(strata_querier_request_duration_seconds_bucket[1m])",
    "rate(strata_querier_trace_lookup_duration_seconds_bucket[1m])",
    "rate(strata_querier_search_duration_seconds_bucket[1m])",
    // The generator's own counters are scraped from its /metrics, independently of the
    // span-metrics series it remote-writes: their rates need two scrapes of their own.
    "rate(strata_metrics_generator_spans_received_total[1m])",
    "rate(strata_metrics_generator_remote_write_samples_sent_total[1m])",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_query_returns_series_from_a_real_prometheus() {
    let prom_port = free_ports(1)[0];
    let generator = format!(
        "overrides:\n  defaults:\n    metrics_generator:\n      processors: [span-metrics, service-graphs]\nmetrics_generator:\n  processor:\n    service_graphs:\n      wait: 1s\n  registry:\n    collection_interval: 1s\n  storage:\n    remote_write:\n      - url: http://127.0.0.1:{prom_port}/api/v1/write\n"
    );
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::start(ClusterSpec {
            ingesters: 1,
            distributors: 1,
            replication_factor: 1,
            generators: 1,
            generator_extra: generator,
            ingester_settings: "  trace_idle_period: 200ms\n  trace_live_period: 1s\n  flush_check_period: 100ms\n  max_block_duration: 1s\n".into(),
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let compactor_port = free_ports(1)[0];
    let compactor_cfg = format!(
        "server:\n  http_listen_address: 127.0.0.1:{compactor_port}\nstorage:\n  backend: local\n  local:\n    path: {}\ncompactor:\n  compaction_cycle: 1s\n  compaction_window: 1h\n  block_retention: 87600h\n",
        cluster.dir.path().join("blocks").display()
    );
    let dir = cluster.dir.path().to_path_buf();
    let compactor = tokio::task::spawn_blocking(move || {
        RoleProcess::start(
            &dir,
            "compactor",
            "strata-compactor",
            compactor_port,
            &compactor_cfg,
        )
    })
    .await
    .unwrap();
    let targets = [
        ("strata-distributor", cluster.distributors[0].http_port),
        ("strata-ingester", cluster.ingesters[0].http_port),
        ("strata-querier", cluster.querier.http_port),
        ("strata-compactor", compactor.http_port),
        ("strata-metrics-generator", cluster.generators[0].http_port),
    ];
    let config = scrape_config(&targets);
    let prom =
        tokio::task::spawn_blocking(move || Prometheus::start_with_config(prom_port, &config))
            .await
            .unwrap();

    let ep = cluster.otlp_grpc[0].clone();
    tokio::task::spawn_blocking(move || emit(&ep, 200))
        .await
        .unwrap();
    push_refused(&cluster.otlp_http[0]).await;
    let api = cluster.querier.url("");
    let api = api.trim_end_matches('/').to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        query(&api).await;
        let mut missing = Vec::new();
        for q in READY {
            if prom.query(q).await.is_empty() {
                missing.push(*q);
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still no series for {missing:?}\n\n{}\n\nprometheus:\n{}",
            cluster.logs(),
            prom.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // More spans, so every rate over the last minute has moved.
    let ep = cluster.otlp_grpc[0].clone();
    tokio::task::spawn_blocking(move || emit(&ep, 50))
        .await
        .unwrap();
    query(&api).await;
    eventually_async(30, || async {
        let moved = prom
            .query("rate(traces_spanmetrics_calls_total[1m]) > 0 and on () rate(strata_distributor_spans_received_total[1m]) > 0")
            .await;
        // The querier's series exist from its first request on: a rate needs two scrapes of
        // them, which a loaded machine may not have made yet.
        let mut ready = !moved.is_empty();
        for q in RATES_READY {
            ready &= !prom.query(q).await.is_empty();
        }
        ready.then_some(())
    })
    .await;

    let queries = dashboard_queries();
    assert!(queries.len() > 40, "{} queries", queries.len());
    // Every role is scraped on its own schedule, and a rate needs two scrapes of that role
    // in its window: on a loaded machine some roles lag. A query is given until the deadline
    // to return series; one that never does (a name no role exports, a bad expression) fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    let failures = loop {
        let mut failures = Vec::new();
        for (what, expr) in &queries {
            let q = instantiate(expr);
            let v = prom.query_raw(&q).await;
            if v["status"] != "success" {
                failures.push(format!("{what}: {q}\n  error: {}", v["error"]));
            } else if v["data"]["result"].as_array().is_none_or(|r| r.is_empty()) {
                failures.push(format!("{what}: {q}\n  no series"));
            }
        }
        for name in alert_metrics() {
            let q = format!("count({{__name__=\"{name}\"}})");
            if prom.query(&q).await.is_empty() {
                failures.push(format!("alert rules read {name}, which no role exports"));
            }
        }
        if failures.is_empty() || std::time::Instant::now() >= deadline {
            break failures;
        }
        query(&api).await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    };
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries failed:\n{}\n\nprometheus log:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n"),
        prom.log()
    );
    drop(compactor);
}

/// Spans of `trace` (Tempo JSON, v1 `batches`): (name, span ID hex, parent span ID hex,
/// service.name).
fn spans_of(trace: &Value) -> Vec<(String, String, String, String)> {
    use base64::Engine;
    let hex = |v: &Value| {
        let b = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .unwrap_or_default();
        hex::encode(b)
    };
    let mut out = Vec::new();
    for batch in trace["batches"].as_array().into_iter().flatten() {
        let service = batch["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or("")
            .to_string();
        for scope in batch["scopeSpans"].as_array().into_iter().flatten() {
            for s in scope["spans"].as_array().into_iter().flatten() {
                out.push((
                    s["name"].as_str().unwrap_or("").to_string(),
                    hex(&s["spanId"]),
                    hex(&s["parentSpanId"]),
                    service.clone(),
                ));
            }
        }
    }
    out
}

/// `GET {base}/api/search?q={ }` as a call from span `parent` of trace `tid`; must answer 200.
async fn search_in_trace(c: &reqwest::Client, base: &str, tid: &str, parent: &str) {
    let res = c
        .get(format!("{base}/api/search"))
        .query(&[("q", "{ }")])
        .header("traceparent", format!("00-{tid}-{parent}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The spans of trace `tid` as `{base}` answers it ([`spans_of`]); `None` while not found.
async fn read_spans(
    c: &reqwest::Client,
    base: &str,
    tid: &str,
) -> Option<Vec<(String, String, String, String)>> {
    let r = c
        .get(format!("{base}/api/traces/{tid}"))
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return None;
    }
    Some(spans_of(&r.json().await.unwrap()))
}

/// The `query served` JSON log lines of `log`.
fn query_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["msg"] == "query served")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_query_is_traced_into_strata_itself_and_logged_with_its_trace_id() {
    let ports = Ports::free();
    let server = Server::start_on(
        ports,
        &format!(
            "server:\n  log_format: json\n  self_tracing:\n    endpoint: http://127.0.0.1:{}\n    service_name: strata-selftest\n    export_interval: 100ms\n",
            ports.otlp_http
        ),
    );
    // Every line is JSON with the common keys.
    for line in server.log().lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for key in ["ts", "level", "target", "msg"] {
            assert!(v.get(key).is_some(), "{key} missing: {line}");
        }
    }
    let c = reqwest::Client::new();
    // A caller that propagates its own trace: the query joins it.
    let (tid, parent) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    search_in_trace(&c, &server.url(""), tid, parent).await;
    let trace = eventually_async(30, || async {
        let spans = read_spans(&c, &server.url(""), tid).await?;
        spans
            .iter()
            .any(|s| s.0 == "ingesters.search")
            .then_some(spans)
    })
    .await;
    let root = trace
        .iter()
        .find(|s| s.0 == "GET /api/search")
        .unwrap_or_else(|| panic!("no root span: {trace:?}"));
    assert_eq!(root.2, parent, "the root continues the caller's span");
    assert_eq!(root.3, "strata-selftest");
    let child = trace.iter().find(|s| s.0 == "ingesters.search").unwrap();
    assert_eq!(
        child.2, root.1,
        "the ingester search is a child of the request"
    );
    let logged = query_lines(&server.log());
    let line = logged
        .iter()
        .find(|v| v["trace_id"] == tid)
        .unwrap_or_else(|| panic!("no query line with trace_id {tid}:\n{}", server.log()));
    assert_eq!(line["route"], "/api/search");
    assert_eq!(line["status"], 200);
    assert_eq!(
        line["span_id"],
        root.1.as_str(),
        "logged inside the request span"
    );

    // No traceparent: a new trace, whose ID only the log line tells.
    let res = c.get(server.url("/api/search/tags")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let new_id = eventually_async(10, || async {
        query_lines(&server.log())
            .iter()
            .find(|v| v["route"] == "/api/search/tags")
            .and_then(|v| v["trace_id"].as_str().map(str::to_string))
    })
    .await;
    assert_eq!(new_id.len(), 32);
    assert_ne!(new_id, tid);
    let base = server.url("");
    let spans = eventually_async(30, || read_spans(&c, &base, &new_id)).await;
    let root = spans
        .iter()
        .find(|s| s.0 == "GET /api/search/tags")
        .unwrap_or_else(|| panic!("{spans:?}"));
    assert!(
        root.2.is_empty(),
        "a new trace's root has no parent: {root:?}"
    );

    // The query API's own metrics count both requests by route.
    let page = server.metrics().await;
    for route in ["/api/search", "/api/search/tags", "/api/traces/{id}"] {
        assert!(
            page.contains(&format!(
                "strata_querier_requests_total{{route=\"{route}\",status=\"200\"}}"
            )),
            "{route}:\n{page}"
        );
    }
}

/// In a cluster the trace context crosses the internal gRPC: a query's trace holds each
/// ingester's part of the search as a child of the querier's fan-out span.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_query_trace_crosses_into_the_ingesters() {
    // The cluster's own spans go to a separate single-process Strata.
    let sink = Server::start(NO_BLOCKS);
    let server_extra = format!(
        "  self_tracing:\n    endpoint: http://127.0.0.1:{}\n    export_interval: 100ms\n",
        sink.ports.otlp_http
    );
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::start(ClusterSpec {
            ingesters: 2,
            distributors: 1,
            replication_factor: 2,
            server_extra,
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let (tid, parent) = ("5bf92f3577b34da6a3ce929d0e0e4737", "10f067aa0ba902b7");
    let c = reqwest::Client::new();
    search_in_trace(&c, &cluster.querier.url(""), tid, parent).await;
    let spans = eventually_async(30, || async {
        let spans = read_spans(&c, &sink.url(""), tid).await?;
        (spans.iter().filter(|s| s.0 == "ingester.search").count() == 2).then_some(spans)
    })
    .await;
    let fanout = spans
        .iter()
        .find(|s| s.0 == "ingesters.search")
        .unwrap_or_else(|| panic!("no fan-out span: {spans:?}"));
    for part in spans.iter().filter(|s| s.0 == "ingester.search") {
        assert_eq!(part.2, fanout.1, "{part:?} is not a child of {fanout:?}");
    }
    // Calls without a traced caller start no trace: pushes are not traced.
    assert!(spans.iter().all(|s| !s.0.contains("push")), "{spans:?}");
}

/// Off by default: without `server.self_tracing`, nothing is exported (no trace appears),
/// and lines are logfmt with the trace ID all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_self_tracing_logfmt_lines_still_carry_the_trace_id() {
    let server = Server::start("");
    let tid = "0af7651916cd43dd8448eb211c80319c";
    let c = reqwest::Client::new();
    c.get(server.url("/api/search/tags"))
        .header("traceparent", format!("00-{tid}-b7ad6b7169203331-01"))
        .send()
        .await
        .unwrap();
    let line = eventually_async(10, || async {
        server
            .log()
            .lines()
            .find(|l| l.contains("msg=\"query served\""))
            .map(str::to_string)
    })
    .await;
    assert!(line.starts_with("ts="), "{line}");
    assert!(line.contains(" level=info "), "{line}");
    assert!(line.contains(&format!(" trace_id={tid} ")), "{line}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let r = c
        .get(server.url(&format!("/api/traces/{tid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "nothing exported when self-tracing is off");
}
