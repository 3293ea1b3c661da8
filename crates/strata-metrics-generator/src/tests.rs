//! The generator on known spans: exact series, labels, limits, staleness and the scrape page.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use prost::Message;
use strata_common::{ManualClock, TenantId};
use strata_config::{MetricsGeneratorConfig, TenantLimits};
use strata_proto::otlp::common::KeyValue;
use strata_proto::otlp::trace::{span::SpanKind, status::StatusCode, Span, Status};
use strata_proto::roles::{SpanConsumer, TraceSpans};
use strata_proto::tempopb;
use strata_server::Overrides;
use strata_testkit::attrs::{int, kv, s};
use strata_testkit::ids::trace_id;
use strata_testkit::otlp::{resource_spans, resource_with, span};

use super::*;

fn limits(processors: &[&str]) -> TenantLimits {
    let mut l = TenantLimits::default();
    l.metrics_generator.processors = processors.iter().map(|p| p.to_string()).collect();
    l
}

fn generator(cfg: MetricsGeneratorConfig, l: TenantLimits) -> (MetricsGenerator, ManualClock) {
    let clock = ManualClock::default();
    let g = MetricsGenerator::new(
        &cfg,
        Overrides::fixed(l),
        Arc::new(clock.clone()),
        GeneratorMetrics::default(),
    );
    (g, clock)
}

/// A span of trace `n` lasting `ms` milliseconds.
fn sp(n: u64, name: &str, kind: SpanKind, code: StatusCode, ms: u64, attrs: Vec<KeyValue>) -> Span {
    let start = 1_700_000_000_000_000_000;
    let mut x = span(&trace_id(n), n + 1, name, start, start + ms * 1_000_000);
    x.kind = kind as i32;
    x.status = Some(Status {
        code: code as i32,
        message: if code == StatusCode::Error {
            "boom".into()
        } else {
            String::new()
        },
    });
    x.attributes = attrs;
    x
}

/// One `TraceSpans` per span, under a resource of `service` plus `res`.
fn traces(service: &str, res: Vec<KeyValue>, spans: Vec<Span>) -> Vec<TraceSpans> {
    spans
        .into_iter()
        .map(|x| {
            let mut attrs = vec![kv("service.name", s(service))];
            attrs.extend(res.clone());
            TraceSpans {
                trace_id: strata_common::TraceId::from_slice(&x.trace_id).unwrap(),
                span_count: 1,
                start_unix_nano: x.start_time_unix_nano,
                end_unix_nano: x.end_time_unix_nano,
                trace: tempopb::Trace {
                    resource_spans: vec![resource_spans(Some(resource_with(attrs)), None, vec![x])],
                },
            }
        })
        .collect()
}

/// The value of the sample whose line starts with `prefix` (name and labels, exactly).
fn sample(page: &str, prefix: &str) -> Option<f64> {
    page.lines()
        .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
        .and_then(|l| l[prefix.len()..].split_whitespace().next()?.parse().ok())
}

const CHECKOUT: &str = "service=\"shop\",span_name=\"GET /checkout\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\",tenant=\"single-tenant\"";
const CHECKOUT_ERR: &str = "service=\"shop\",span_name=\"GET /checkout\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_ERROR\",tenant=\"single-tenant\"";

fn shop_spans() -> Vec<Span> {
    vec![
        sp(
            1,
            "GET /checkout",
            SpanKind::Server,
            StatusCode::Unset,
            1,
            vec![],
        ),
        sp(
            2,
            "GET /checkout",
            SpanKind::Server,
            StatusCode::Unset,
            3,
            vec![],
        ),
        sp(
            3,
            "GET /checkout",
            SpanKind::Server,
            StatusCode::Unset,
            20_000,
            vec![],
        ),
        sp(
            4,
            "GET /checkout",
            SpanKind::Server,
            StatusCode::Error,
            100,
            vec![],
        ),
        sp(5, "SELECT", SpanKind::Client, StatusCode::Ok, 2, vec![]),
    ]
}

#[tokio::test]
async fn span_metrics_count_calls_latency_and_size_per_label_set() {
    let (g, _) = generator(MetricsGeneratorConfig::default(), limits(&["span-metrics"]));
    let spans = shop_spans();
    let sizes: Vec<usize> = spans.iter().map(|x| x.encoded_len()).collect();
    g.consume(&TenantId::single(), &traces("shop", vec![], spans))
        .await
        .unwrap();
    let page = g.render(Format::Prometheus);
    let calls = |l: &str| sample(&page, &format!("traces_spanmetrics_calls_total{{{l}}}"));
    assert_eq!(calls(CHECKOUT), Some(3.0), "{page}");
    assert_eq!(calls(CHECKOUT_ERR), Some(1.0));
    let select = "service=\"shop\",span_name=\"SELECT\",span_kind=\"SPAN_KIND_CLIENT\",status_code=\"STATUS_CODE_OK\",tenant=\"single-tenant\"";
    assert_eq!(calls(select), Some(1.0));
    let h = |suffix: &str, extra: &str| {
        sample(
            &page,
            &format!("traces_spanmetrics_latency{suffix}{{{CHECKOUT}{extra}}}"),
        )
    };
    assert_eq!(h("_count", ""), Some(3.0));
    assert!((h("_sum", "").unwrap() - 20.004).abs() < 1e-9);
    // 1 ms <= 0.002; 3 ms <= 0.004; 20 s only in +Inf (the largest bound is 16.384).
    assert_eq!(h("_bucket", ",le=\"0.002\""), Some(1.0));
    assert_eq!(h("_bucket", ",le=\"0.004\""), Some(2.0));
    assert_eq!(h("_bucket", ",le=\"16.384\""), Some(2.0));
    assert_eq!(h("_bucket", ",le=\"+Inf\""), Some(3.0));
    assert_eq!(
        sample(
            &page,
            &format!("traces_spanmetrics_size_total{{{CHECKOUT}}}")
        ),
        Some((sizes[0] + sizes[1] + sizes[2]) as f64)
    );
    assert_eq!(
        page.matches("# TYPE traces_spanmetrics_latency histogram")
            .count(),
        1
    );
    assert_eq!(
        page.matches("# TYPE traces_spanmetrics_calls_total counter")
            .count(),
        1
    );
    // 3 label sets × (2 counters + 14 buckets + Inf + sum + count).
    assert_eq!(
        g.tenant(&TenantId::single())
            .registry
            .lock()
            .active_series(),
        3 * 19
    );
}

#[tokio::test]
async fn tenants_without_the_processor_get_nothing_and_tenants_are_labelled() {
    let (g, _) = generator(MetricsGeneratorConfig::default(), limits(&[]));
    g.consume(&TenantId::single(), &traces("shop", vec![], shop_spans()))
        .await
        .unwrap();
    assert!(!g
        .render(Format::Prometheus)
        .contains("traces_spanmetrics_calls_total{"));

    let (g, _) = generator(MetricsGeneratorConfig::default(), limits(&["span-metrics"]));
    let a = TenantId::new("team-a").unwrap();
    let b = TenantId::new("team-b").unwrap();
    g.process(&a, &traces("shop", vec![], shop_spans()));
    g.process(&b, &traces("shop", vec![], shop_spans()[..1].to_vec()));
    let page = g.render(Format::Prometheus);
    let prefix = "traces_spanmetrics_calls_total{service=\"shop\",span_name=\"GET /checkout\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\",tenant=";
    assert_eq!(sample(&page, &format!("{prefix}\"team-a\"}}")), Some(3.0));
    assert_eq!(sample(&page, &format!("{prefix}\"team-b\"}}")), Some(1.0));
}

#[test]
fn dimensions_come_from_the_resource_first_then_the_span_and_are_sanitized() {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.span_metrics.dimensions = vec![
        "deployment.environment".into(),
        "http.status_code".into(),
        "span_name".into(),
    ];
    cfg.processor
        .span_metrics
        .intrinsic_dimensions
        .status_message = true;
    let (g, _) = generator(cfg, limits(&["span-metrics"]));
    let spans = vec![
        // The resource's environment wins over the span's.
        sp(
            1,
            "a",
            SpanKind::Internal,
            StatusCode::Error,
            1,
            vec![
                kv("deployment.environment", s("dev")),
                kv("http.status_code", int(500)),
                kv("span_name", s("x")),
            ],
        ),
        // Without the attribute, no label.
        sp(2, "a", SpanKind::Internal, StatusCode::Unset, 1, vec![]),
    ];
    g.process(
        &TenantId::single(),
        &traces("svc", vec![kv("deployment.environment", s("prod"))], spans),
    );
    let page = g.render(Format::Prometheus);
    let with = "traces_spanmetrics_calls_total{service=\"svc\",span_name=\"a\",span_kind=\"SPAN_KIND_INTERNAL\",status_code=\"STATUS_CODE_ERROR\",status_message=\"boom\",deployment_environment=\"prod\",http_status_code=\"500\",__span_name=\"x\",tenant=\"single-tenant\"}";
    assert_eq!(sample(&page, with), Some(1.0), "{page}");
    let without = "traces_spanmetrics_calls_total{service=\"svc\",span_name=\"a\",span_kind=\"SPAN_KIND_INTERNAL\",status_code=\"STATUS_CODE_UNSET\",deployment_environment=\"prod\",tenant=\"single-tenant\"}";
    assert_eq!(sample(&page, without), Some(1.0), "{page}");
}

#[test]
fn max_active_series_refuses_new_label_sets_and_counts_them() {
    let mut l = limits(&["span-metrics"]);
    // Room for one label set (19 series) only.
    l.metrics_generator.max_active_series = Some(20);
    let (g, _) = generator(MetricsGeneratorConfig::default(), l);
    g.process(&TenantId::single(), &traces("shop", vec![], shop_spans()));
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            &format!("traces_spanmetrics_calls_total{{{CHECKOUT}}}")
        ),
        Some(3.0)
    );
    assert_eq!(page.matches("traces_spanmetrics_calls_total{").count(), 1);
    let t = g.tenant(&TenantId::single());
    assert_eq!(t.metrics.series_limited.get(), 2 * 19);
    assert_eq!(t.metrics.active_series.get(), 19);
    assert_eq!(t.metrics.spans_received.get(), 5);
}

#[test]
fn series_not_updated_for_stale_duration_are_removed() {
    let (g, clock) = generator(MetricsGeneratorConfig::default(), limits(&["span-metrics"]));
    let tenant = TenantId::single();
    g.process(&tenant, &traces("shop", vec![], shop_spans()[..1].to_vec()));
    clock.advance(Duration::from_secs(10 * 60));
    g.process(&tenant, &traces("shop", vec![], shop_spans()[4..].to_vec()));
    clock.advance(Duration::from_secs(6 * 60));
    g.remove_stale();
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            &format!("traces_spanmetrics_calls_total{{{CHECKOUT}}}")
        ),
        None
    );
    assert_eq!(
        page.matches("traces_spanmetrics_calls_total{").count(),
        1,
        "{page}"
    );
    let t = g.tenant(&tenant);
    assert_eq!(t.metrics.series_removed.get(), 19);
    assert_eq!(t.metrics.active_series.get(), 19);
}

#[test]
fn openmetrics_pages_carry_exemplars_with_the_trace_id() {
    let (g, _) = generator(MetricsGeneratorConfig::default(), limits(&["span-metrics"]));
    g.process(
        &TenantId::single(),
        &traces("shop", vec![], shop_spans()[..1].to_vec()),
    );
    let page = g.render(Format::OpenMetrics);
    assert!(page.ends_with("# EOF\n"));
    assert!(
        page.contains("# TYPE traces_spanmetrics_calls counter"),
        "{page}"
    );
    let id = hex::encode(trace_id(1).as_bytes());
    let line = page
        .lines()
        .find(|l| l.contains("le=\"0.002\""))
        .expect("bucket line");
    assert!(
        line.contains(&format!(
            "# {{trace_id=\"{id}\",span_id=\"0000000000000002\"}} 0.001 "
        )),
        "{line}"
    );
    assert!(!g.render(Format::Prometheus).contains("trace_id"));
}

#[tokio::test]
async fn the_scrape_route_serves_the_page() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let (g, _) = generator(MetricsGeneratorConfig::default(), limits(&["span-metrics"]));
    g.process(&TenantId::single(), &traces("shop", vec![], shop_spans()));
    let res = g
        .router()
        .oneshot(
            axum::http::Request::get(SCRAPE_PATH)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let page = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(
        sample(
            &page,
            &format!("traces_spanmetrics_calls_total{{{CHECKOUT}}}")
        ),
        Some(3.0)
    );
}

/// A span of trace `t` with ID `id` under parent `parent` (0: root), of `kind`.
fn edge_span(t: u64, id: u64, parent: u64, kind: SpanKind, ms: u64, attrs: Vec<KeyValue>) -> Span {
    let mut x = sp(t, "call", kind, StatusCode::Unset, ms, attrs);
    x.span_id = id.to_be_bytes().to_vec();
    x.parent_span_id = if parent == 0 {
        Vec::new()
    } else {
        parent.to_be_bytes().to_vec()
    };
    x
}

fn edge_labels(client: &str, server: &str, ct: &str) -> String {
    let ct = if ct.is_empty() {
        String::new()
    } else {
        format!("connection_type=\"{ct}\",")
    };
    format!("{{client=\"{client}\",server=\"{server}\",{ct}tenant=\"single-tenant\"}}")
}

#[test]
fn service_graphs_pair_clients_with_servers_and_name_virtual_nodes() {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.service_graphs.wait = Duration::from_secs(10);
    let (g, clock) = generator(cfg, limits(&["service-graphs"]));
    let tenant = TenantId::single();
    let mut failed_server = edge_span(1, 3, 2, SpanKind::Server, 40, vec![]);
    failed_server.status = Some(Status {
        code: StatusCode::Error as i32,
        message: String::new(),
    });
    // The backend's spans arrive first: the server side waits for its client.
    g.process(
        &tenant,
        &traces(
            "backend",
            vec![],
            vec![
                failed_server,
                edge_span(
                    1,
                    4,
                    3,
                    SpanKind::Client,
                    5,
                    vec![kv("db.system", s("postgresql")), kv("db.name", s("orders"))],
                ),
                // No server side and no peer: expires uncounted.
                edge_span(3, 9, 0, SpanKind::Client, 5, vec![]),
            ],
        ),
    );
    g.process(
        &tenant,
        &traces(
            "frontend",
            vec![],
            vec![
                edge_span(1, 1, 0, SpanKind::Server, 100, vec![]),
                edge_span(1, 2, 1, SpanKind::Client, 50, vec![]),
                edge_span(
                    2,
                    5,
                    0,
                    SpanKind::Client,
                    70,
                    vec![kv("peer.service", s("payments"))],
                ),
                edge_span(4, 6, 0, SpanKind::Producer, 1, vec![]),
            ],
        ),
    );
    g.process(
        &tenant,
        &traces(
            "worker",
            vec![],
            vec![edge_span(4, 7, 6, SpanKind::Consumer, 300, vec![])],
        ),
    );
    let page = g.render(Format::Prometheus);
    let total = |l: &str| sample(&page, &format!("traces_service_graph_request_total{l}"));
    let failed = |l: &str| {
        sample(
            &page,
            &format!("traces_service_graph_request_failed_total{l}"),
        )
    };
    let fb = edge_labels("frontend", "backend", "");
    assert_eq!(total(&fb), Some(1.0), "{page}");
    assert_eq!(failed(&fb), Some(1.0));
    let db = edge_labels("backend", "orders", "database");
    assert_eq!(total(&db), Some(1.0));
    assert_eq!(failed(&db), Some(0.0));
    assert_eq!(
        total(&edge_labels("frontend", "worker", "messaging_system")),
        Some(1.0)
    );
    // Server latency from the server span, client latency from the client span.
    let h = |name: &str, l: &str| sample(&page, &format!("traces_service_graph_request_{name}{l}"));
    assert_eq!(h("server_seconds_sum", &fb), Some(0.04));
    assert_eq!(h("client_seconds_sum", &fb), Some(0.05));
    assert_eq!(h("client_seconds_count", &fb), Some(1.0));
    let le = fb.replace("}", ",le=\"0.1\"}");
    assert_eq!(h("server_seconds_bucket", &le), Some(1.0));
    // Nothing virtual before the wait is over.
    assert!(!page.contains("virtual_node"), "{page}");
    let t = g.tenant(&tenant);
    assert_eq!(
        t.edges.lock().len(),
        3,
        "root server, payments client, trace-3 client wait"
    );

    clock.advance(Duration::from_secs(9));
    g.expire_edges();
    assert!(!g.render(Format::Prometheus).contains("virtual_node"));
    clock.advance(Duration::from_secs(2));
    g.expire_edges();
    let page = g.render(Format::Prometheus);
    let total = |l: &str| sample(&page, &format!("traces_service_graph_request_total{l}"));
    assert_eq!(
        total(&edge_labels("user", "frontend", "virtual_node")),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        total(&edge_labels("frontend", "payments", "virtual_node")),
        Some(1.0)
    );
    assert_eq!(
        page.matches("traces_service_graph_request_total{").count(),
        5
    );
    assert!(t.edges.lock().is_empty());
    assert_eq!(t.metrics.edges_expired.get(), 1);
    // Six edges were opened: 3 by the backend's spans, 3 by the frontend's (its client span
    // of trace 1 closed the backend's waiting server side; the consumer closed the producer's).
    assert_eq!(t.metrics.edges.get(), 6);
}

#[test]
fn service_graph_edges_past_max_items_are_dropped_and_counted() {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.service_graphs.max_items = 1;
    let (g, _) = generator(cfg, limits(&["service-graphs", "span-metrics"]));
    let tenant = TenantId::single();
    g.process(
        &tenant,
        &traces(
            "a",
            vec![],
            vec![
                edge_span(1, 1, 0, SpanKind::Client, 1, vec![]),
                edge_span(2, 2, 0, SpanKind::Client, 1, vec![]),
            ],
        ),
    );
    // The first edge still pairs; the second never will.
    g.process(
        &tenant,
        &traces(
            "b",
            vec![],
            vec![
                edge_span(1, 3, 1, SpanKind::Server, 1, vec![]),
                edge_span(2, 4, 2, SpanKind::Server, 1, vec![]),
            ],
        ),
    );
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            &format!(
                "traces_service_graph_request_total{}",
                edge_labels("a", "b", "")
            )
        ),
        Some(1.0)
    );
    let t = g.tenant(&tenant);
    assert_eq!(t.metrics.edges_dropped_spans.get(), 1);
    // Span metrics saw every span regardless.
    assert_eq!(t.metrics.spans_received.get(), 4);
}

#[test]
fn a_tenant_override_replaces_the_dimensions_and_a_change_restarts_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    let write = |dims: &str| {
        std::fs::write(
            &file,
            format!("overrides:\n  team-a:\n    metrics_generator:\n      processor:\n        span_metrics:\n          dimensions: {dims}\n"),
        )
        .unwrap()
    };
    write("[http.method]");
    let ocfg = strata_config::OverridesConfig {
        defaults: limits(&["span-metrics"]),
        per_tenant_override_config: file.clone(),
        ..Default::default()
    };
    let clock = ManualClock::default();
    let overrides =
        Overrides::load(&ocfg, Arc::new(clock.clone()), &mut Registry::default()).unwrap();
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.span_metrics.dimensions = vec!["env".into()];
    let g = MetricsGenerator::new(
        &cfg,
        overrides.clone(),
        Arc::new(clock),
        GeneratorMetrics::default(),
    );
    let spans = || {
        vec![sp(
            1,
            "a",
            SpanKind::Server,
            StatusCode::Unset,
            1,
            vec![kv("env", s("prod")), kv("http.method", s("GET"))],
        )]
    };
    let (a, b) = (
        TenantId::new("team-a").unwrap(),
        TenantId::new("team-b").unwrap(),
    );
    g.process(&a, &traces("svc", vec![], spans()));
    g.process(&b, &traces("svc", vec![], spans()));
    let base = "traces_spanmetrics_calls_total{service=\"svc\",span_name=\"a\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"";
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            &format!("{base},http_method=\"GET\",tenant=\"team-a\"}}")
        ),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        sample(&page, &format!("{base},env=\"prod\",tenant=\"team-b\"}}")),
        Some(1.0),
        "{page}"
    );

    // The tenant's dimensions change: its old series go, new ones start under the new labels.
    write("[env, http.method]");
    assert!(overrides.reload().unwrap());
    g.process(&a, &traces("svc", vec![], spans()));
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            &format!("{base},env=\"prod\",http_method=\"GET\",tenant=\"team-a\"}}")
        ),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        page.matches("tenant=\"team-a\"").count(),
        page.matches("tenant=\"team-b\"").count()
    );
    let t = g.tenant(&a);
    assert_eq!(t.metrics.series_removed.get(), 19);
    assert_eq!(t.metrics.active_series.get(), 19);
}

#[test]
fn completed_edges_do_not_pile_up_in_the_expiry_queue() {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.service_graphs.max_items = 10;
    let (g, _) = generator(cfg, limits(&["service-graphs"]));
    let tenant = TenantId::single();
    for n in 1..=1000 {
        g.process(
            &tenant,
            &traces(
                "a",
                vec![],
                vec![edge_span(n, n, 0, SpanKind::Client, 1, vec![])],
            ),
        );
        g.process(
            &tenant,
            &traces(
                "b",
                vec![],
                vec![edge_span(n, n + 5000, n, SpanKind::Server, 1, vec![])],
            ),
        );
    }
    let t = g.tenant(&tenant);
    let edges = t.edges.lock();
    assert!(edges.is_empty());
    assert!(edges.order.len() <= 21, "{} queued", edges.order.len());
    assert_eq!(t.metrics.edges_dropped_spans.get(), 0);
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            &format!(
                "traces_service_graph_request_total{}",
                edge_labels("a", "b", "")
            )
        ),
        Some(1000.0)
    );
}

#[test]
fn target_info_labels_span_metrics_with_job_and_instance_and_describes_each_resource() {
    let mut cfg = MetricsGeneratorConfig::default();
    cfg.processor.span_metrics.enable_target_info = true;
    cfg.processor.span_metrics.target_info_excluded_dimensions = vec!["host.id".into()];
    let (g, _clock) = generator(cfg, limits(&["span-metrics"]));
    let t = TenantId::single();
    let res = vec![
        kv("service.namespace", s("shop")),
        kv("service.instance.id", s("pod-1")),
        kv("deployment.environment", s("prod")),
        kv("host.id", s("h-9")),
        kv("1bad", s("x")),
    ];
    let x = sp(1, "GET /", SpanKind::Server, StatusCode::Unset, 5, vec![]);
    g.process(&t, &traces("api", res, vec![x]));
    // A resource with only a service name: job, but nothing else to describe.
    let y = sp(2, "work", SpanKind::Internal, StatusCode::Unset, 5, vec![]);
    g.process(&t, &traces("batch", vec![], vec![y]));
    let page = g.render(Format::Prometheus);
    assert_eq!(
        sample(
            &page,
            "traces_spanmetrics_calls_total{service=\"api\",span_name=\"GET /\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\",job=\"shop/api\",instance=\"pod-1\",tenant=\"single-tenant\"}"
        ),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            "traces_spanmetrics_calls_total{service=\"batch\",span_name=\"work\",span_kind=\"SPAN_KIND_INTERNAL\",status_code=\"STATUS_CODE_UNSET\",job=\"batch\",tenant=\"single-tenant\"}"
        ),
        Some(1.0),
        "{page}"
    );
    let info: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("traces_target_info{"))
        .collect();
    assert_eq!(
        info,
        vec!["traces_target_info{deployment_environment=\"prod\",instance=\"pod-1\",job=\"shop/api\",tenant=\"single-tenant\"} 1"],
        "{page}"
    );
    assert!(page.contains("# TYPE traces_target_info gauge"));
}
