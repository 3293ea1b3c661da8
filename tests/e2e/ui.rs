//! The built-in trace explorer in a real headless Chromium (WebDriver) against the real
//! `strata run` binary: search → trace → span details, errors marked, a 10,000-span trace
//! rendered with only the visible rows in the DOM, the service graph and the metrics chart from
//! the same process, tenant switching, and the page served by the querier binary of a cluster. Screenshots of each step go to
//! `<target dir>/ui-screenshots/` (see `browser::screenshot_dir`).
//!
//! Data: the harness's two-service shop (`sdk::emit_checkout`: `frontend` `GET /checkout` →
//! `backend` `GET /stock`, every fifth failed → `SELECT orders`), and a generated trace of one
//! root, 99 batches and 9,900 items (10,000 spans) under service `bulk`.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use strata_integration_tests::browser::Browser;
use strata_integration_tests::cluster::{Cluster, ClusterSpec};
use strata_integration_tests::otlp::trace_id;
use strata_integration_tests::{
    block_metas, eventually, eventually_async, sdk, Server, FAST_BLOCKS,
};

/// Ten, so two traces fail (0 and 5). Trace 0 is not the one opened: `emit_checkout`'s two
/// providers count span IDs separately, so in trace 0 the backend's server span has the
/// frontend root's ID and kind, and trace by ID keeps one span per (ID, kind).
const SHOP_TRACES: u64 = 10;
const BATCHES: u64 = 99;
const ITEMS: u64 = 100;
const BULK_SPANS: u64 = 1 + BATCHES + BATCHES * ITEMS;

const GENERATOR: &str = "overrides:
  defaults:
    metrics_generator:
      processors: [span-metrics, service-graphs]
";

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// One trace of `service`: a root `bulk-root` (100 ms), `batches` children `batch-{i}` and
/// under each `items` grandchildren `item-{i}-{j}`, all started a second ago.
fn tree_request(
    id: [u8; 16],
    service: &str,
    batches: u64,
    items: u64,
) -> ExportTraceServiceRequest {
    let base = now_ns() - 1_000_000_000;
    let span = |sid: u64, parent: u64, name: String, start: u64, dur: u64| Span {
        trace_id: id.to_vec(),
        span_id: sid.to_be_bytes().to_vec(),
        parent_span_id: if parent == 0 {
            vec![]
        } else {
            parent.to_be_bytes().to_vec()
        },
        name,
        kind: 1,
        start_time_unix_nano: base + start,
        end_time_unix_nano: base + start + dur,
        ..Default::default()
    };
    let mut spans = vec![span(1, 0, "bulk-root".into(), 0, 100_000_000)];
    for i in 0..batches {
        let b = 2 + i * (items + 1);
        spans.push(span(b, 1, format!("batch-{i}"), i * 1_000_000, 900_000));
        for j in 0..items {
            spans.push(span(
                b + 1 + j,
                b,
                format!("item-{i}-{j}"),
                i * 1_000_000 + j * 9_000,
                8_000,
            ));
        }
    }
    strata_testkit::request(vec![strata_testkit::resource_spans(
        Some(strata_testkit::resource(service)),
        None,
        spans,
    )])
}

async fn push(server: &Server, tenant: Option<&str>, req: ExportTraceServiceRequest) {
    push_to(&server.otlp_grpc_endpoint(), tenant, req).await
}

async fn push_to(endpoint: &str, tenant: Option<&str>, req: ExportTraceServiceRequest) {
    let mut client = TraceServiceClient::connect(endpoint.to_string())
        .await
        .expect("grpc connect")
        .max_encoding_message_size(64 << 20);
    let mut r = tonic::Request::new(req);
    if let Some(t) = tenant {
        r.metadata_mut()
            .insert("x-scope-orgid", t.parse().expect("metadata value"));
    }
    client.export(r).await.expect("push accepted");
}

/// Waits until `/api/search` for `q` (tenant `org`) finds `n` traces.
async fn searchable(server: &Server, org: Option<&str>, q: &str, n: usize) {
    let url = server.url("/api/search");
    eventually_async(60, || {
        let mut req = reqwest::Client::new()
            .get(&url)
            .query(&[("q", q), ("limit", "100")]);
        if let Some(o) = org {
            req = req.header("X-Scope-OrgID", o);
        }
        async move {
            let v: serde_json::Value = req.send().await.ok()?.json().await.ok()?;
            let found = v["traces"].as_array().map_or(0, Vec::len);
            (found == n).then_some(())
        }
    })
    .await;
}

/// Searches from the page's form and waits for `n` result rows.
async fn search_for(b: &Browser, q: &str, n: usize) -> Vec<String> {
    b.type_into("#query", q).await;
    b.find("#run-search").await.click().await.expect("search");
    b.until(&format!("{n} results for {q}"), async |b| {
        let rows = b.texts(".result-row .root-service").await;
        // The previous search's rows may still be there: wait for this one's summary.
        let summary = b.texts(".result-summary strong").await;
        let want = format!("{n} trace{}", if n == 1 { "" } else { "s" });
        (rows.len() == n && summary.first() == Some(&want)).then_some(rows)
    })
    .await
}

/// `s` percent-encoded for a URL's query (everything but unreserved characters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_trace_details_big_trace_graph_and_metrics() {
    let server = Server::start(GENERATOR);
    let ep = server.otlp_grpc_endpoint();
    tokio::task::spawn_blocking(move || sdk::emit_checkout(&ep, &ep, SHOP_TRACES))
        .await
        .unwrap();
    let bulk = trace_id(777);
    push(&server, None, tree_request(bulk, "bulk", BATCHES, ITEMS)).await;
    searchable(&server, None, "{ }", SHOP_TRACES as usize + 1).await;

    let b = Browser::start().await;
    b.goto(&server.url("/")).await;

    // Autocomplete offers tag names from the tag endpoints.
    b.type_into("#query", "{ resource.serv").await;
    let offered = b
        .until("tag suggestions", async |b| {
            let s = b.texts("#suggestions li .label").await;
            (!s.is_empty()).then_some(s)
        })
        .await;
    assert!(
        offered.contains(&"resource.service.name".to_string()),
        "{offered:?}"
    );
    b.screenshot("00-autocomplete").await;

    // Search: one row per shop trace, newest first, with root service, name and matches.
    let roots = search_for(
        &b,
        "{ resource.service.name = \"frontend\" }",
        SHOP_TRACES as usize,
    )
    .await;
    assert!(roots.iter().all(|r| r == "frontend"), "{roots:?}");
    assert!(b
        .texts(".result-row .root-name")
        .await
        .iter()
        .all(|n| n == "GET /checkout"));
    // frontend has two spans in each trace: the server span and its client call.
    assert!(b
        .texts(".result-row .matched")
        .await
        .iter()
        .all(|m| m == "2"));
    let mut starts = Vec::new();
    for row in b.all(".result-row").await {
        let s = row.attr("data-start").await.unwrap().expect("data-start");
        starts.push(s.parse::<u128>().unwrap());
    }
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
    b.screenshot("01-search").await;

    // The newest failed trace (number 5; every fifth fails) opens as a waterfall of its four
    // spans.
    search_for(&b, "{ status = error }", 2).await;
    b.find(".result-row a")
        .await
        .click()
        .await
        .expect("open trace");
    let names = b
        .until("waterfall of 4 spans", async |b| {
            let rows = b.all(".span-row").await;
            if rows.len() != 4 {
                return None;
            }
            let mut names = Vec::new();
            for r in rows {
                names.push(r.attr("data-name").await.ok()??);
            }
            Some(names)
        })
        .await;
    assert_eq!(
        names,
        ["GET /checkout", "GET /stock", "GET /stock", "SELECT orders"]
    );
    assert_eq!(b.text("#span-count").await, "4");
    assert_eq!(b.text("#error-count").await, "1");
    // Exactly the backend's server span is marked failed.
    let failed = b.all(".span-row.error").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].attr("data-service").await.unwrap().as_deref(),
        Some("backend")
    );
    assert_eq!(b.all(".span-row.error .err-badge").await.len(), 1);

    // Clicking a span shows its attributes, resource and kind.
    b.find(".span-row[data-name=\"SELECT orders\"]")
        .await
        .click()
        .await
        .expect("select span");
    assert_eq!(b.text("#details-name").await, "SELECT orders");
    assert_eq!(
        b.text("#span-attributes tr[data-key=\"db.system\"] td")
            .await,
        "postgresql"
    );
    assert_eq!(
        b.text("#resource-attributes tr[data-key=\"service.name\"] td")
            .await,
        "backend"
    );
    assert!(b.all("#details-error").await.is_empty());
    b.screenshot("02-trace-details").await;
    // (Rows are re-rendered on selection: find the failed one again.)
    b.find(".span-row.error")
        .await
        .click()
        .await
        .expect("select failed span");
    assert!(b.text("#details-error").await.contains("out of stock"));

    // Search within the trace.
    b.type_into("#find", "orders").await;
    b.until("one match", async |b| {
        (b.text("#find-count").await == "1 of 1").then_some(())
    })
    .await;
    b.screenshot("03-trace-error").await;

    // 10,000 spans: the count and first rows are right, and only visible rows are in the DOM.
    b.goto(&server.url(&format!("/#/trace/{}", hex::encode(bulk))))
        .await;
    b.until("big trace", async |b| {
        let count = b.texts("#span-count").await;
        (count.first() == Some(&BULK_SPANS.to_string())).then_some(())
    })
    .await;
    let in_dom = b.all(".span-row").await.len();
    assert!(
        (10..200).contains(&in_dom),
        "{in_dom} rows in the DOM for {BULK_SPANS} spans"
    );
    let first = b.find(".span-row").await.attr("data-name").await.unwrap();
    assert_eq!(first.as_deref(), Some("bulk-root"));
    // Finding the very last span scrolls it into view and selects it; the DOM stays small.
    b.type_into("#find", "item-98-99").await;
    let selected = b
        .until("last span selected", async |b| {
            let s = b.all(".span-row.selected").await;
            let e = s.first()?;
            e.attr("data-name").await.ok()?
        })
        .await;
    assert_eq!(selected, "item-98-99");
    assert_eq!(b.text("#find-count").await, "1 of 1");
    assert!(b.all(".span-row").await.len() < 200);
    assert_eq!(b.text("#details-name").await, "item-98-99");
    b.screenshot("04-big-trace").await;

    // The service graph from the in-process metrics-generator: frontend → backend with its
    // failures.
    b.until("service graph edge", async |b| {
        b.goto(&server.url("/#/graph")).await;
        b.client
            .wait()
            .at_most(std::time::Duration::from_secs(5))
            .for_element(fantoccini::Locator::Css("#graph .notice, #graph svg"))
            .await
            .ok()?;
        let edges = b
            .all(".edge[data-client=\"frontend\"][data-server=\"backend\"]")
            .await;
        (!edges.is_empty()).then_some(())
    })
    .await;
    let edge_rows = b.texts("#edge-table .edge-row").await;
    assert!(
        edge_rows
            .iter()
            .any(|r| r.starts_with("frontend\tbackend") || r.starts_with("frontend backend")),
        "{edge_rows:?}"
    );
    b.screenshot("05-service-graph").await;

    // TraceQL metrics: one line per service.
    let q = "{ } | count_over_time() by (resource.service.name)";
    b.goto(&server.url(&format!("/#/metrics?range=1h&q={}", encode(q))))
        .await;
    let legend = b
        .until("metrics chart", async |b| {
            let l = b.texts("#chart-legend .legend-item").await;
            (l.len() >= 3).then_some(l)
        })
        .await;
    for svc in ["frontend", "backend", "bulk"] {
        assert!(
            legend.contains(&format!("resource.service.name={svc}")),
            "{legend:?}"
        );
    }
    assert_eq!(b.all("#chart path.series").await.len(), legend.len());
    b.screenshot("06-metrics").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_org_id_picks_whose_traces_are_shown() {
    let server = Server::start("multitenancy_enabled:\n  true\n");
    push(
        &server,
        Some("alpha"),
        tree_request(trace_id(1), "alpha-svc", 1, 1),
    )
    .await;
    push(
        &server,
        Some("alpha"),
        tree_request(trace_id(2), "alpha-svc", 1, 1),
    )
    .await;
    push(
        &server,
        Some("beta"),
        tree_request(trace_id(3), "beta-svc", 2, 2),
    )
    .await;
    searchable(&server, Some("alpha"), "{ }", 2).await;
    searchable(&server, Some("beta"), "{ }", 1).await;

    let b = Browser::start().await;
    b.goto(&server.url("/#/search?range=1h")).await;
    // No org ID: the API's refusal is shown.
    let refusal = b.text("#results .notice.error").await;
    assert!(refusal.contains("no org id"), "{refusal}");

    for (org, svc, n) in [("alpha", "alpha-svc", 2), ("beta", "beta-svc", 1)] {
        b.type_into("#org-id", org).await;
        b.find("#tenant-form button").await.click().await.unwrap();
        let roots = search_for(&b, "{ }", n).await;
        assert!(roots.iter().all(|r| r == svc), "{org}: {roots:?}");
        // The trace view asks as the same tenant.
        b.find(".result-row a").await.click().await.unwrap();
        let spans = b.text("#span-count").await;
        assert_eq!(spans, if org == "alpha" { "3" } else { "7" });
        b.screenshot(&format!("07-tenant-{org}")).await;
        b.goto(&server.url("/#/search?range=1h")).await;
    }
    // The other tenant's trace is not found under this org ID.
    b.goto(&server.url(&format!("/#/trace/{}", hex::encode(trace_id(1)))))
        .await;
    let missing = b.text(".notice.empty").await;
    assert!(missing.contains("not found"), "{missing}");
    b.close().await;
}

/// The querier binary serves the explorer on its API port too; with no metrics-generator in
/// that process the service graph says so instead of showing an empty graph.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_querier_role_serves_the_explorer() {
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::start(ClusterSpec {
            ingesters: 1,
            distributors: 1,
            replication_factor: 1,
            ..Default::default()
        })
    })
    .await
    .unwrap();
    push_to(
        &cluster.otlp_grpc[0],
        None,
        tree_request(trace_id(9), "cluster-svc", 2, 3),
    )
    .await;

    let b = Browser::start().await;
    b.goto(&cluster.querier.url("/#/search?range=1h")).await;
    b.until("the trace through the cluster", async |b| {
        b.find("#run-search").await.click().await.ok()?;
        let rows = b.texts(".result-row .root-service").await;
        (rows == ["cluster-svc"]).then_some(())
    })
    .await;
    b.find(".result-row a").await.click().await.unwrap();
    assert_eq!(b.text("#span-count").await, "9");
    b.goto(&cluster.querier.url("/#/graph")).await;
    let notice = b.text("#graph .notice").await;
    assert!(notice.contains("needs the metrics-generator"), "{notice}");
    b.screenshot("08-querier-graph").await;
    b.close().await;
}

/// A search the tenant's scan budget cut short says so above its results: the explorer reads
/// `X-Strata-Status: PARTIAL` and shows `X-Strata-Message`, and lists the traces of the
/// blocks that were read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_search_cut_by_the_scan_budget_shows_a_banner() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(&file, "").unwrap();
    let server = Server::start(&format!(
        "{FAST_BLOCKS}compactor:
  compaction_cycle: 1h
overrides:
  per_tenant_override_config: {}
  per_tenant_override_period: 200ms
",
        file.display()
    ));
    let tenant = strata_common::SINGLE_TENANT;
    // Two pushes, two blocks: the second (newer) one holds traces 2 and 3.
    push(&server, None, tree_request(trace_id(1), "old-svc", 1, 1)).await;
    eventually(60, || {
        (!block_metas(&server, tenant).is_empty()).then_some(())
    });
    let mut newer = tree_request(trace_id(2), "new-svc", 1, 1);
    newer
        .resource_spans
        .extend(tree_request(trace_id(3), "new-svc", 1, 1).resource_spans);
    push(&server, None, newer).await;
    eventually(60, || {
        (block_metas(&server, tenant).len() >= 2).then_some(())
    });
    searchable(&server, None, "{ }", 3).await;

    // The budget admits the newest block only.
    let newest = block_metas(&server, tenant)
        .iter()
        .map(|p| {
            let m: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            (
                m["endTimeUnixNano"].as_u64().unwrap(),
                m["sizeBytes"].as_u64().unwrap(),
            )
        })
        .max()
        .unwrap();
    std::fs::write(
        &file,
        format!(
            "overrides:\n  {tenant}:\n    read:\n      max_block_bytes_per_query: {}\n",
            newest.1
        ),
    )
    .unwrap();
    searchable(&server, None, "{ }", 2).await;

    let b = Browser::start().await;
    b.goto(&server.url("/#/search?range=1h")).await;
    let roots = search_for(&b, "{ }", 2).await;
    assert!(roots.iter().all(|r| r == "new-svc"), "{roots:?}");
    let banner = b.text("#partial-banner").await;
    assert!(
        banner.starts_with("Partial results:") && banner.contains("max_block_bytes_per_query"),
        "{banner}"
    );
    b.screenshot("08-partial-search").await;
    b.close().await;
}
