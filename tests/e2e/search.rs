//! Search through the HTTP API over a generated data set with known answers
//! ([`strata_integration_tests::dataset`]): every query is answered identically whether the
//! data is live (in the ingester) or in blocks, and malformed queries are refused with 400.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use strata_integration_tests::dataset::{self, expected_ids, EXPECTED, TRACES};
use strata_integration_tests::otlp::grpc_push;
use strata_integration_tests::{block_metas, eventually, Server, FAST_BLOCKS, NO_BLOCKS};

async fn get(server: &Server, path: &str, params: &[(&str, &str)]) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(server.url(path))
        .query(params)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

async fn search(server: &Server, q: &str, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![("q", q)];
    params.extend_from_slice(extra);
    if !extra.iter().any(|(k, _)| *k == "limit") {
        params.push(("limit", "1000"));
    }
    let (status, body) = get(server, "/api/search", &params).await;
    assert_eq!(status, 200, "{q}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["traces"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| t["traceID"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The response without its metrics (which legitimately differ between sources).
fn answer(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("metrics");
    v
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Only the fields Grafana's strict decoder knows (contract §2.9).
fn assert_strict_shape(v: &Value) {
    let allowed = |list: &[&str], got: BTreeSet<String>, what: &str| {
        for k in got {
            assert!(list.contains(&k.as_str()), "unexpected {what} field {k}");
        }
    };
    allowed(&["traces", "metrics"], keys(v), "response");
    allowed(
        &[
            "inspectedTraces",
            "inspectedBytes",
            "totalBlocks",
            "completedJobs",
            "totalJobs",
            "totalBlockBytes",
            "inspectedSpans",
        ],
        keys(&v["metrics"]),
        "metrics",
    );
    for t in v["traces"].as_array().into_iter().flatten() {
        allowed(
            &[
                "traceID",
                "rootServiceName",
                "rootTraceName",
                "startTimeUnixNano",
                "durationMs",
                "spanSet",
                "spanSets",
                "serviceStats",
            ],
            keys(t),
            "trace",
        );
        for ss in t["spanSets"].as_array().into_iter().flatten() {
            allowed(&["spans", "matched", "attributes"], keys(ss), "spanSet");
            for sp in ss["spans"].as_array().into_iter().flatten() {
                allowed(
                    &[
                        "spanID",
                        "name",
                        "startTimeUnixNano",
                        "durationNanos",
                        "attributes",
                    ],
                    keys(sp),
                    "span",
                );
                assert_eq!(sp["spanID"].as_str().unwrap().len(), 16);
            }
        }
    }
}

fn base_time() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now.as_secs() - 600) * 1_000_000_000
}

async fn load(server: &Server, base: u64) {
    for i in 0..TRACES {
        grpc_push(&server.otlp_grpc_endpoint(), dataset::trace(i, base))
            .await
            .unwrap();
    }
}

fn unflushed_bytes(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with("strata_ingester_unflushed_bytes "))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_answers_identically_from_live_data_and_blocks() {
    let base = base_time();
    let live = Server::start(NO_BLOCKS);
    let blocks = Server::start(FAST_BLOCKS);
    load(&live, base).await;
    load(&blocks, base).await;
    // Wait until every span of the second server is in a block.
    eventually(60, || {
        let m = futures_lite(blocks.metrics());
        (unflushed_bytes(&m) == Some(0.0) && !block_metas(&blocks, "single-tenant").is_empty())
            .then_some(())
    });
    assert!(block_metas(&live, "single-tenant").is_empty());

    for (q, pred) in EXPECTED {
        let a = search(&live, q, &[]).await;
        let b = search(&blocks, q, &[]).await;
        assert_eq!(ids(&a), expected_ids(*pred), "live answer to {q}");
        assert_eq!(
            answer(&a),
            answer(&b),
            "live and block answers to {q} differ"
        );
        assert_strict_shape(&a);
        assert_strict_shape(&b);
    }

    check_cli(&live);

    for server in [&live, &blocks] {
        // Newest first, cut to the limit.
        let v = search(server, "{ }", &[("limit", "5")]).await;
        let want: Vec<String> = (TRACES - 5..TRACES)
            .rev()
            .map(|i| dataset::trim_hex(&dataset::id(i)))
            .collect();
        assert_eq!(ids(&v), want);
        let t = &v["traces"][0];
        assert_eq!(t["rootServiceName"], "cart"); // i = 59
        assert_eq!(t["rootTraceName"], "GET /api/items/4");
        assert_eq!(t["durationMs"], 600);
        assert_eq!(t["serviceStats"]["db"]["spanCount"], 4);
        assert_eq!(t["serviceStats"]["cart"]["spanCount"], 1);

        // spss limits the spans shown, not the count of matches.
        let v = search(
            server,
            r#"{ resource.service.name = "db" }"#,
            &[("spss", "1")],
        )
        .await;
        for t in v["traces"].as_array().unwrap() {
            let ss = &t["spanSets"][0];
            assert_eq!(ss["spans"].as_array().unwrap().len(), 1);
            assert!(ss["matched"].as_u64().unwrap() >= 1);
        }
        // by() values are on the spanset; the attributes the query names are on the spans.
        let v = search(
            server,
            r#"{ resource.service.name = "db" } | by(span.db.system)"#,
            &[],
        )
        .await;
        let attr = &v["traces"][0]["spanSets"][0]["attributes"][0];
        assert_eq!(attr["key"], "by(span.db.system)");
        let v = search(server, r#"{ span.http.status_code = 500 }"#, &[]).await;
        let span = &v["traces"][0]["spanSets"][0]["spans"][0];
        assert_eq!(span["attributes"][0]["key"], "http.status_code");
        assert_eq!(span["attributes"][0]["value"]["intValue"], "500");

        // A time range that excludes everything, and one that includes the newest 10.
        let end = (base / 1_000_000_000 + TRACES + 5).to_string();
        let start = (base / 1_000_000_000 + TRACES - 10).to_string();
        let v = search(server, "{ }", &[("start", &start), ("end", &end)]).await;
        assert_eq!(ids(&v).len(), 10, "{v}");
        let v = search(server, "{ }", &[("start", "1000"), ("end", "2000")]).await;
        assert!(ids(&v).is_empty());

        check_tags(server, base).await;

        // Legacy tag search and trace-duration bounds.
        let (status, body) = get(
            server,
            "/api/search",
            &[
                ("tags", "service.name=checkout"),
                ("minDuration", "300ms"),
                ("limit", "100"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got = ids(&serde_json::from_str(&body).unwrap());
        assert_eq!(got, expected_ids(|i| i % 3 == 1 && (i + 1) * 10 >= 300));
    }
}

async fn json(server: &Server, path: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = get(server, path, params).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Tag names and values, over a range covering the data set (without one, only recent data
/// is searched, as in Tempo).
async fn check_tags(server: &Server, base: u64) {
    let start = (base / 1_000_000_000).to_string();
    let end = (base / 1_000_000_000 + TRACES + 60).to_string();
    let range = [("start", start.as_str()), ("end", end.as_str())];

    let v = json(server, "/api/v2/search/tags", &range).await;
    let scope = |name: &str| -> Vec<String> {
        v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| strings(&s["tags"]))
            .unwrap_or_default()
    };
    assert_eq!(scope("resource"), ["region", "service.name"]);
    assert_eq!(scope("span"), ["db.system", "http.status_code", "path/to"]);
    assert!(scope("intrinsic").contains(&"trace:rootService".to_string()));

    let v = json(server, "/api/search/tags", &range).await;
    let names = strings(&v["tagNames"]);
    assert!(names.contains(&"region".into()) && names.contains(&"db.system".into()));
    let mut scoped = range.to_vec();
    scoped.push(("scope", "resource"));
    let v = json(server, "/api/v2/search/tags", &scoped).await;
    assert_eq!(v["scopes"].as_array().unwrap().len(), 1, "{v}");

    let v = json(
        server,
        "/api/v2/search/tag/resource.service.name/values",
        &range,
    )
    .await;
    let mut values: Vec<(String, String)> = v["tagValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().into(),
                t["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    values.sort();
    let want: Vec<(String, String)> = ["cart", "checkout", "db", "frontend"]
        .iter()
        .map(|s| ("string".to_string(), s.to_string()))
        .collect();
    assert_eq!(values, want);

    let v = json(
        server,
        "/api/v2/search/tag/span.http.status_code/values",
        &range,
    )
    .await;
    assert!(v["tagValues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["type"] == "int" && t["value"] == "500"));

    // The q filter restricts which spans contribute.
    let mut filtered = range.to_vec();
    filtered.push(("q", r#"{ span.db.system = "postgres" }"#));
    let v = json(
        server,
        "/api/v2/search/tag/span.db.system/values",
        &filtered,
    )
    .await;
    assert_eq!(v["tagValues"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["tagValues"][0]["value"], "postgres");

    let v = json(server, "/api/search/tag/service.name/values", &range).await;
    assert_eq!(
        strings(&v["tagValues"]),
        ["cart", "checkout", "db", "frontend"]
    );

    let v = json(server, "/api/v2/search/tag/status/values", &[]).await;
    assert!(v["tagValues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["type"] == "keyword" && t["value"] == "error"));

    // Names with a slash, raw or %2F-encoded.
    for path in [
        "/api/v2/search/tag/span.path/to/values",
        "/api/v2/search/tag/span.path%2Fto/values",
    ] {
        let v = json(server, path, &range).await;
        assert_eq!(v["tagValues"][0]["value"], "slashed", "{path}: {v}");
    }
    let (status, _) = get(server, "/api/v2/search/tag/not an identifier!/values", &[]).await;
    assert_eq!(status, 400);
    let (status, _) = get(server, "/api/v2/search/tags", &[("scope", "bogus")]).await;
    assert_eq!(status, 400);
}

fn strata(args: &[&str]) -> String {
    let out = std::process::Command::new(strata_integration_tests::strata_bin())
        .args(args)
        .output()
        .expect("running strata");
    assert!(
        out.status.success(),
        "strata {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `strata query search|trace` against the running server.
fn check_cli(server: &Server) {
    let addr = server.url("");
    let out = strata(&[
        "query",
        "--addr",
        &addr,
        "search",
        "{ status = error }",
        "--limit",
        "3",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TRACE"), "{out}");
    assert_eq!(lines.len(), 5, "header, 3 traces, count: {out}");
    let newest_error = dataset::trim_hex(&dataset::id(55));
    assert!(lines[1].starts_with(&newest_error), "{out}");
    assert!(lines[1].contains("checkout"), "{out}"); // 55 % 3 = 1
    let json: Value = serde_json::from_str(&strata(&[
        "query",
        "--addr",
        &addr,
        "--json",
        "search",
        "{ status = error }",
    ]))
    .unwrap();
    assert_eq!(ids(&json), expected_ids(|i| i % 5 == 0));
    let out = strata(&["query", "--addr", &addr, "trace", &newest_error]);
    assert!(out.starts_with("SPAN"), "{out}");
    assert_eq!(out.lines().count(), 1 + 1 + 4, "{out}"); // header, root, 4 children (55 % 4 = 3)
    assert!(
        out.contains("GET /api/items/0") && out.contains("error"),
        "{out}"
    );
}

/// Runs a future to completion from a synchronous closure (used inside `eventually`).
fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_are_400_and_never_crash() {
    let server = Server::start(NO_BLOCKS);
    let mut bad: Vec<String> = [
        "{",
        "}",
        "{ .a = }",
        "{ .a = 1",
        "{ (.a = 1 }",
        "{ attribute = 4 }",
        "{ .a == 1 }",
        "{ 1 + 1 }",
        "{ span.foo =~ \"[\" }",
        "{ } | rate()",
        "{ parent.a = 1 }",
        "\"unterminated",
        "{ .a = \"\\q\" }",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Deep nesting (the URI length bounds what a GET can carry; the parser's own size limit
    // is unit-tested in strata-traceql).
    bad.push("(".repeat(20_000));
    bad.push("{ ".to_string() + &"!".repeat(20_000) + "true }");
    bad.push("{ ".to_string() + &"(".repeat(10_000) + "true" + &")".repeat(9_999) + " }");
    // The conformance fixture's failures, when the shared reference is present.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/traceql_test_examples.yaml");
    if let Ok(text) = std::fs::read_to_string(&fixture) {
        let mut section = "";
        for line in text.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line.trim_end_matches(':');
            } else if section == "parse_fails" || section == "validate_fails" {
                if let Some(q) = line.trim().strip_prefix("- ") {
                    let q = q.split(" #").next().unwrap().trim();
                    if let Some(inner) = q.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
                        bad.push(inner.replace("''", "'"));
                    }
                }
            }
        }
        assert!(bad.len() > 100, "fixture not read");
    } else {
        eprintln!("skipping fixture cases: {} not found", fixture.display());
    }
    let client = reqwest::Client::new();
    let resp = client.post(server.url("/api/search")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    for q in &bad {
        let resp = client
            .get(server.url("/api/search"))
            .query(&[("q", q.as_str())])
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 400, "{q:.80}: {body}");
        assert!(!body.is_empty());
    }
    // Still serving.
    let (status, _) = get(&server, "/ready", &[]).await;
    assert_eq!(status, 200);
    let (status, body) = get(&server, "/api/search", &[("q", "{ }"), ("limit", "0")]).await;
    assert_eq!(status, 400, "{body}");
}
