//! Span metrics end to end: spans sent with the OpenTelemetry SDK's OTLP exporter to
//! `strata run`, series scraped from `/metrics/generator`.
//!
//! The data set: `TRACES` traces, each a `frontend` server span `GET /checkout` calling
//! `backend` (`GET /stock`, a client span and its server span, every fifth one failed), which
//! queries a database (`SELECT orders`, a client span with `db.name`). The scrape must show
//! exact call counts per (service, span name, kind, status), histogram counts equal to the
//! calls, a size total that is a whole number of equal spans, and exactly the service-graph
//! edges frontend→backend (with its failures), backend→orders (database) and user→frontend
//! (virtual node, after the wait); and with head sampling at 10 % (which stores about a tenth
//! of the traces) exactly the same series, because the generator sees every span before
//! sampling.
//!
//! Both runs also remote-write to a real Prometheus (started by the test, with the
//! remote-write receiver), which must end up with exactly the same series, an external label
//! telling the two runs apart, and span exemplars on the latency buckets.

use std::collections::BTreeMap;

use strata_integration_tests::prometheus::{Prometheus, Series};
use strata_integration_tests::{eventually_async, metric_sum, Server};

const TRACES: u64 = 500;
const FAILED: u64 = TRACES / 5;

const GENERATOR: &str = "overrides:
  defaults:
    metrics_generator:
      processors: [span-metrics, service-graphs]
";
const GENERATOR_SAMPLED: &str = "overrides:
  defaults:
    metrics_generator:
      processors: [span-metrics, service-graphs]
    sampling:
      head_ratio: 0.1
";

/// The `metrics_generator` section: a 1 s service-graph wait, remote write to `url` every
/// second with external label `run`.
fn generator_section(url: &str, run: &str) -> String {
    format!(
        "metrics_generator:
  processor:
    service_graphs:
      wait: 1s
  registry:
    collection_interval: 1s
    external_labels:
      run: {run}
  storage:
    remote_write:
      - url: {url}
"
    )
}

fn emit(endpoint: &str) {
    emit_via(endpoint, endpoint)
}

/// The data set, the frontend's spans sent to `frontend_ep` and the backend's to `backend_ep`.
fn emit_via(frontend_ep: &str, backend_ep: &str) {
    strata_integration_tests::sdk::emit_checkout(frontend_ep, backend_ep, TRACES);
}

/// Every sample of the page whose name is `name`, keyed by its label set text.
fn samples(page: &str, name: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix('{')?;
            let (labels, value) = rest.rsplit_once("} ")?;
            Some((labels.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn labels(service: &str, name: &str, kind: &str, status: &str) -> String {
    format!("service=\"{service}\",span_name=\"{name}\",span_kind=\"{kind}\",status_code=\"{status}\",tenant=\"single-tenant\"")
}

async fn scrape(server: &Server) -> String {
    let res = reqwest::get(server.url("/metrics/generator"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// Prometheus series as the scrape page keys them: the labels of `names` that are present,
/// then `tenant`, in that order.
fn keyed(series: Vec<Series>, names: &[&str]) -> BTreeMap<String, f64> {
    series
        .into_iter()
        .map(|(l, v)| {
            let key: Vec<String> = names
                .iter()
                .chain(["tenant"].iter())
                .filter_map(|n| l.get(*n).map(|v| format!("{n}=\"{v}\"")))
                .collect();
            (key.join(","), v)
        })
        .collect()
}

const SPAN_LABELS: [&str; 4] = ["service", "span_name", "span_kind", "status_code"];
const EDGE_LABELS: [&str; 3] = ["client", "server", "connection_type"];

/// Waits until Prometheus has the series the scrape showed (`calls` and `edges`), with the
/// run's external label, and checks histogram counts and exemplars there.
async fn check_prometheus(
    prom: &Prometheus,
    run: &str,
    calls: &BTreeMap<String, f64>,
    edges: &BTreeMap<String, f64>,
) {
    let sel = format!("{{run=\"{run}\"}}");
    eventually_async(30, || async {
        let got = keyed(
            prom.query(&format!("traces_service_graph_request_total{sel}"))
                .await,
            &EDGE_LABELS,
        );
        (&got == edges).then_some(())
    })
    .await;
    let got = keyed(
        prom.query(&format!("traces_spanmetrics_calls_total{sel}"))
            .await,
        &SPAN_LABELS,
    );
    assert_eq!(&got, calls, "remote-written calls ({run})");
    let counts = keyed(
        prom.query(&format!("traces_spanmetrics_latency_count{sel}"))
            .await,
        &SPAN_LABELS,
    );
    assert_eq!(&counts, calls, "remote-written histogram counts ({run})");
    let ex = prom
        .exemplars(&format!("traces_spanmetrics_latency_bucket{sel}"))
        .await;
    assert!(!ex.is_empty(), "no exemplars ({run})");
    for (_, exemplars) in ex {
        for e in exemplars {
            assert_eq!(e["trace_id"].len(), 32, "{e:?}");
            assert_eq!(e["span_id"].len(), 16, "{e:?}");
        }
    }
}

/// Sends the data set to a server started with `extra`; checks the exact series; returns the
/// calls and size totals and the service-graph edges.
async fn run(
    extra: &str,
) -> (
    BTreeMap<String, f64>,
    BTreeMap<String, f64>,
    BTreeMap<String, f64>,
    Server,
) {
    let server = Server::start(extra);
    let ep = server.otlp_grpc_endpoint();
    tokio::task::spawn_blocking(move || emit(&ep))
        .await
        .unwrap();
    let page = scrape(&server).await;

    let calls = samples(&page, "traces_spanmetrics_calls_total");
    let spans = [
        ("frontend", "GET /checkout", "SERVER", "UNSET", TRACES),
        ("frontend", "GET /stock", "CLIENT", "UNSET", TRACES),
        ("backend", "GET /stock", "SERVER", "UNSET", TRACES - FAILED),
        ("backend", "GET /stock", "SERVER", "ERROR", FAILED),
        ("backend", "SELECT orders", "CLIENT", "UNSET", TRACES),
    ];
    let want: BTreeMap<String, f64> = spans
        .iter()
        .map(|(svc, name, kind, status, n)| {
            let (kind, status) = (format!("SPAN_KIND_{kind}"), format!("STATUS_CODE_{status}"));
            (labels(svc, name, &kind, &status), *n as f64)
        })
        .collect();
    assert_eq!(calls, want, "calls per label set:\n{page}");
    assert_eq!(
        samples(&page, "traces_spanmetrics_latency_count"),
        want,
        "histogram counts equal calls"
    );
    let inf: BTreeMap<String, f64> = samples(&page, "traces_spanmetrics_latency_bucket")
        .into_iter()
        .filter_map(|(l, v)| Some((l.strip_suffix(",le=\"+Inf\"")?.to_string(), v)))
        .collect();
    assert_eq!(inf, want, "+Inf buckets equal calls");
    assert_eq!(
        samples(&page, "traces_spanmetrics_latency_sum").len(),
        5,
        "one _sum per label set"
    );
    let sizes = samples(&page, "traces_spanmetrics_size_total");
    assert_eq!(sizes.len(), 5);
    for (l, total) in &sizes {
        // Spans of one label set differ only in fixed-size fields (IDs, fixed64 times).
        let per_span = total / want[l];
        assert_eq!(per_span.fract(), 0.0, "{l}: {total} over {} spans", want[l]);
        assert!(
            (40.0..400.0).contains(&per_span),
            "{l}: {per_span} bytes a span"
        );
    }
    // Service graphs: the client/server pairs at once, the database call at once, the root
    // server spans as calls from a "user" virtual node once their wait (1s) is over.
    let edge = |client: &str, server: &str, ct: &str| {
        let ct = if ct.is_empty() {
            String::new()
        } else {
            format!("connection_type=\"{ct}\",")
        };
        format!("client=\"{client}\",server=\"{server}\",{ct}tenant=\"single-tenant\"")
    };
    let page = eventually_async(20, || async {
        let page = scrape(&server).await;
        let users = samples(&page, "traces_service_graph_request_total")
            .get(&edge("user", "frontend", "virtual_node"))
            .copied();
        (users == Some(TRACES as f64)).then_some(page)
    })
    .await;
    let edges = samples(&page, "traces_service_graph_request_total");
    let want_edges: BTreeMap<String, f64> = [
        (edge("frontend", "backend", ""), TRACES as f64),
        (edge("backend", "orders", "database"), TRACES as f64),
        (edge("user", "frontend", "virtual_node"), TRACES as f64),
    ]
    .into_iter()
    .collect();
    assert_eq!(edges, want_edges, "service-graph edges:\n{page}");
    let failed = samples(&page, "traces_service_graph_request_failed_total");
    assert_eq!(failed[&edge("frontend", "backend", "")], FAILED as f64);
    assert_eq!(failed[&edge("backend", "orders", "database")], 0.0);
    assert_eq!(failed[&edge("user", "frontend", "virtual_node")], 0.0);
    for h in ["server", "client"] {
        assert_eq!(
            samples(
                &page,
                &format!("traces_service_graph_request_{h}_seconds_count")
            ),
            want_edges,
            "{h} histogram counts equal requests"
        );
    }
    (calls, sizes, edges, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn span_metrics_count_every_span_whatever_the_head_sampling() {
    let prom = Prometheus::start();
    let url = prom.remote_write_url();
    let full = format!("{GENERATOR}{}", generator_section(&url, "full"));
    let (calls, sizes, edges, server) = run(&full).await;
    check_prometheus(&prom, "full", &calls, &edges).await;
    drop(server);

    let sampled = format!("{GENERATOR_SAMPLED}{}", generator_section(&url, "sampled"));
    let (sampled_calls, sampled_sizes, sampled_edges, sampled) = run(&sampled).await;
    check_prometheus(&prom, "sampled", &sampled_calls, &sampled_edges).await;
    assert_eq!(sampled_calls, calls, "same counts with 10 % head sampling");
    assert_eq!(
        sampled_sizes, sizes,
        "same size totals with 10 % head sampling"
    );
    // Head sampling did drop most of the traces from storage.
    let page = sampled.metrics().await;
    let dropped = metric_sum(&page, "strata_distributor_spans_sampled_out_total");
    assert!(
        dropped > 2.0 * TRACES as f64 && dropped < 4.0 * TRACES as f64,
        "{dropped} spans sampled out"
    );
    assert_eq!(
        metric_sum(&page, "strata_metrics_generator_spans_received_total"),
        4.0 * TRACES as f64
    );
    assert_eq!(
        metric_sum(
            &page,
            "strata_metrics_generator_remote_write_samples_dropped_total"
        ),
        0.0
    );
    assert!(
        metric_sum(
            &page,
            "strata_metrics_generator_remote_write_samples_sent_total"
        ) > 0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_without_span_metrics_get_no_series() {
    let server = Server::start("");
    let ep = server.otlp_grpc_endpoint();
    tokio::task::spawn_blocking(move || emit(&ep))
        .await
        .unwrap();
    let page = scrape(&server).await;
    assert!(
        samples(&page, "traces_spanmetrics_calls_total").is_empty(),
        "{page}"
    );
}

/// Distributed mode: the frontend's spans reach one distributor and the backend's another;
/// two `strata-metrics-generator` processes on the distributors' generator ring still pair
/// every client span with its server span (a trace's spans all go to its owner), and between
/// them count every span exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generators_on_their_ring_pair_spans_that_came_through_different_distributors() {
    use strata_integration_tests::cluster::{Cluster, ClusterSpec};
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::start(ClusterSpec {
            ingesters: 1,
            replication_factor: 1,
            generators: 2,
            generator_extra: format!(
                "{GENERATOR}metrics_generator:\n  processor:\n    service_graphs:\n      wait: 1s\n"
            ),
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let (a, b) = (cluster.otlp_grpc[0].clone(), cluster.otlp_grpc[1].clone());
    tokio::task::spawn_blocking(move || emit_via(&a, &b))
        .await
        .unwrap();
    let pages = |name: &'static str| {
        let urls: Vec<String> = cluster
            .generators
            .iter()
            .map(|g| g.url("/metrics/generator"))
            .collect();
        async move {
            let mut total: BTreeMap<String, f64> = BTreeMap::new();
            let mut per_generator = Vec::new();
            for u in urls {
                let page = reqwest::get(&u).await.unwrap().text().await.unwrap();
                let s = samples(&page, name);
                per_generator.push(s.values().sum::<f64>());
                for (k, v) in s {
                    *total.entry(k).or_default() += v;
                }
            }
            (total, per_generator)
        }
    };
    let edge = |c: &str, s: &str| format!("client=\"{c}\",server=\"{s}\",tenant=\"single-tenant\"");
    let (edges, _) = eventually_async(30, || async {
        let (edges, per) = pages("traces_service_graph_request_total").await;
        (edges.get(&edge("frontend", "backend")) == Some(&(TRACES as f64))).then_some((edges, per))
    })
    .await;
    assert_eq!(
        edges.get(&edge("frontend", "backend")),
        Some(&(TRACES as f64)),
        "{}",
        cluster.logs()
    );
    let (calls, per) = pages("traces_spanmetrics_calls_total").await;
    assert_eq!(
        calls.values().sum::<f64>(),
        4.0 * TRACES as f64,
        "every span counted once"
    );
    assert!(
        per.iter().all(|n| *n > 0.0),
        "both generators own traces: {per:?}"
    );
    // Nothing lost between distributors and generators.
    for d in &cluster.distributors {
        let page = reqwest::get(d.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !page.lines().any(|l| l
                .starts_with("strata_distributor_metrics_generator_spans_total")
                && !l.contains("result=\"sent\"")
                && !l.ends_with(" 0")),
            "{page}"
        );
    }
}

/// The remote-write target is down while spans arrive: the collections wait in the queue
/// (failures counted, nothing dropped) and reach Prometheus, with their original timestamps,
/// once it comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collections_made_while_prometheus_is_down_arrive_when_it_comes_up() {
    let port = strata_integration_tests::free_ports(1)[0];
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let server = Server::start(&format!("{GENERATOR}{}", generator_section(&url, "outage")));
    let ep = server.otlp_grpc_endpoint();
    tokio::task::spawn_blocking(move || emit(&ep))
        .await
        .unwrap();
    // Sends fail while nothing listens; collections (one a second) pile up behind them.
    eventually_async(30, || async {
        let page = server.metrics().await;
        (metric_sum(
            &page,
            "strata_metrics_generator_remote_write_send_failures_total",
        ) >= 1.0)
            .then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let down_since = std::time::SystemTime::now();
    let prom = tokio::task::spawn_blocking(move || Prometheus::start_on(port))
        .await
        .unwrap();
    let calls = |v: Vec<Series>| v.iter().map(|(_, x)| *x).sum::<f64>();
    eventually_async(30, || async {
        let got = calls(
            prom.query("traces_spanmetrics_calls_total{run=\"outage\"}")
                .await,
        );
        (got == 4.0 * TRACES as f64).then_some(())
    })
    .await;
    // Samples stamped before Prometheus was up: the queued collections, not only new ones.
    let age = down_since.elapsed().unwrap().as_secs() + 1;
    let old = prom
        .query(&format!(
            "count_over_time(traces_spanmetrics_calls_total{{run=\"outage\",span_name=\"GET /checkout\"}}[10m] offset {age}s)"
        ))
        .await;
    assert!(
        calls(old) >= 3.0,
        "collections from the outage reached Prometheus:\n{}",
        prom.log()
    );
    let page = server.metrics().await;
    assert_eq!(
        metric_sum(
            &page,
            "strata_metrics_generator_remote_write_samples_dropped_total"
        ),
        0.0,
        "nothing dropped within the queue bound"
    );
}
