//! TraceQL metrics through the HTTP API of a real `strata` process, over the generated data
//! set of [`strata_integration_tests::dataset`] with answers computed here from the same
//! spans: every function, `by()` with missing values, step alignment at the range edges,
//! second stages, exemplars, limits, both encodings, identical answers from live data and
//! from blocks, and malformed queries refused with 400 without harming the server.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use serde_json::Value;
use strata_integration_tests::cluster::{Cluster, ClusterSpec};
use strata_integration_tests::dataset::{self, TRACES};
use strata_integration_tests::otlp::grpc_push;
use strata_integration_tests::{block_metas, eventually_async, Server, FAST_BLOCKS, NO_BLOCKS};
use strata_proto::tempopb::QueryRangeResponse;

const S: u64 = 1_000_000_000;
const STEP: u64 = 10;

/// One span of the data set, as the test sees it.
#[derive(Debug, Clone)]
struct Sp {
    service: &'static str,
    start: u64,
    dur: u64,
    error: bool,
    server: bool,
    db: Option<&'static str>,
}

/// Every span of the data set (see the dataset module's docs).
fn spans(base: u64) -> Vec<Sp> {
    let mut out = Vec::new();
    for i in 0..TRACES {
        let start = base + i * S;
        out.push(Sp {
            service: ["frontend", "checkout", "cart"][(i % 3) as usize],
            start,
            dur: (i + 1) * 10_000_000,
            error: false,
            server: true,
            db: None,
        });
        for n in 0..1 + i % 4 {
            out.push(Sp {
                service: "db",
                start: start + 1_000_000 * (n + 1),
                dur: 1_000_000,
                error: n == 0 && i % 5 == 0,
                server: false,
                db: Some(if i % 3 == 0 { "postgres" } else { "redis" }),
            });
        }
    }
    out
}

/// A base time on a minute boundary, half an hour ago.
fn base_time() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now - 1800) / 60 * 60 * S
}

/// The query range used throughout: `[base, base + 60s]` in 10 s steps. Aligned, it starts
/// one step before `base` and has 7 intervals; the root of trace 0 starts exactly at `base`
/// and so belongs to the first interval `(base - 10s, base]`.
fn range(base: u64) -> (String, String) {
    ((base / S).to_string(), (base / S + 60).to_string())
}

/// Interval index of a span start (right-closed intervals from `base - STEP`).
fn interval(base: u64, ts: u64) -> Option<usize> {
    let first = base - STEP * S;
    if ts <= first || ts > base + 60 * S {
        return None;
    }
    Some(((ts - first).div_ceil(STEP * S) - 1) as usize)
}

fn ts_ms(base: u64, i: usize) -> i64 {
    ((base - STEP * S + (i as u64 + 1) * STEP * S) / 1_000_000) as i64
}

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

async fn query_range(server: &Server, base: u64, q: &str, extra: &[(&str, &str)]) -> Value {
    query_range_at(&server.url("/api/metrics/query_range"), base, q, extra).await
}

async fn query_range_at(url: &str, base: u64, q: &str, extra: &[(&str, &str)]) -> Value {
    let (start, end) = range(base);
    let step = STEP.to_string();
    let mut params = vec![("q", q), ("start", &start), ("end", &end), ("step", &step)];
    params.extend_from_slice(extra);
    let resp = reqwest::Client::new()
        .get(url)
        .query(&params)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    assert_eq!(status, 200, "{q}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn label_value(v: &Value) -> String {
    let v = &v["value"];
    if let Some(s) = v["stringValue"].as_str() {
        return s.to_string();
    }
    if let Some(s) = v["intValue"].as_str() {
        return s.to_string();
    }
    if let Some(d) = v["doubleValue"].as_f64() {
        return d.to_string();
    }
    format!("{v}")
}

/// `labels → {timestampMs: value}` (values omitted in JSON are 0).
fn series(v: &Value) -> BTreeMap<String, BTreeMap<i64, f64>> {
    v["series"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let labels = s["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| format!("{}={}", l["key"].as_str().unwrap(), label_value(l)))
                .collect::<Vec<_>>()
                .join(",");
            let samples = s["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    let ts: i64 = x["timestampMs"].as_str().unwrap().parse().unwrap();
                    (ts, x["value"].as_f64().unwrap_or(0.0))
                })
                .collect();
            (labels, samples)
        })
        .collect()
}

/// Expected per-interval aggregate of `value` over `spans` matching `keep`, grouped by
/// `group`; `None` from `value` skips a span.
fn expect(
    base: u64,
    spans: &[Sp],
    group: impl Fn(&Sp) -> String,
    keep: impl Fn(&Sp) -> bool,
    fold: impl Fn(&[f64]) -> f64,
    value: impl Fn(&Sp) -> f64,
    fill_zero: bool,
) -> BTreeMap<String, BTreeMap<i64, f64>> {
    let mut raw: BTreeMap<String, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for s in spans.iter().filter(|s| keep(s)) {
        if let Some(i) = interval(base, s.start) {
            raw.entry(group(s))
                .or_default()
                .entry(i)
                .or_default()
                .push(value(s));
        }
    }
    raw.into_iter()
        .map(|(g, by_i)| {
            let mut out = BTreeMap::new();
            for i in 0..7 {
                match by_i.get(&i) {
                    Some(v) => {
                        out.insert(ts_ms(base, i), fold(v));
                    }
                    None if fill_zero => {
                        out.insert(ts_ms(base, i), 0.0);
                    }
                    None => {}
                }
            }
            (g, out)
        })
        .collect()
}

fn count(v: &[f64]) -> f64 {
    v.len() as f64
}

fn assert_close(
    got: &BTreeMap<String, BTreeMap<i64, f64>>,
    want: &BTreeMap<String, BTreeMap<i64, f64>>,
    what: &str,
) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: series"
    );
    for (k, w) in want {
        let g = &got[k];
        assert_eq!(
            g.keys().collect::<Vec<_>>(),
            w.keys().collect::<Vec<_>>(),
            "{what} {k}"
        );
        for (ts, wv) in w {
            let gv = g[ts];
            assert!(
                (gv - wv).abs() <= 1e-9 * wv.abs().max(1.0),
                "{what} {k} @{ts}: {gv} != {wv}"
            );
        }
    }
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

/// Every function against values computed from the spans.
async fn check_functions(server: &Server, base: u64) {
    let all = spans(base);
    let svc = |s: &Sp| format!("resource.service.name={}", s.service);
    let name = |n: &'static str| move |_: &Sp| format!("__name__={n}");
    let any = |_: &Sp| true;
    let secs = |s: &Sp| s.dur as f64 / 1e9;

    let got = series(
        &query_range(
            server,
            base,
            "{ } | count_over_time() by (resource.service.name)",
            &[],
        )
        .await,
    );
    assert_close(
        &got,
        &expect(base, &all, svc, any, count, |_| 1.0, true),
        "count by service",
    );
    // The first interval ends exactly at base: it holds trace 0's root only.
    assert_eq!(got["resource.service.name=frontend"][&ts_ms(base, 0)], 1.0);
    assert_eq!(got["resource.service.name=db"][&ts_ms(base, 0)], 0.0);

    let got = series(&query_range(server, base, "{ } | rate()", &[]).await);
    let want = expect(
        base,
        &all,
        name("rate"),
        any,
        |v| v.len() as f64 / STEP as f64,
        |_| 1.0,
        true,
    );
    assert_close(&got, &want, "rate");

    let got =
        series(&query_range(server, base, "{ status = error } | count_over_time()", &[]).await);
    let want = expect(
        base,
        &all,
        name("count_over_time"),
        |s| s.error,
        count,
        |_| 1.0,
        true,
    );
    assert_close(&got, &want, "count of errors");

    for (f, fold) in [
        (
            "sum_over_time",
            (|v: &[f64]| v.iter().sum()) as fn(&[f64]) -> f64,
        ),
        ("min_over_time", |v: &[f64]| {
            v.iter().cloned().fold(f64::INFINITY, f64::min)
        }),
        ("max_over_time", |v: &[f64]| {
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        }),
        ("avg_over_time", |v: &[f64]| {
            v.iter().sum::<f64>() / v.len() as f64
        }),
    ] {
        let q = format!("{{ }} | {f}(duration) by (resource.service.name)");
        let got = series(&query_range(server, base, &q, &[]).await);
        assert_close(&got, &expect(base, &all, svc, any, fold, secs, false), &q);
    }

    // by() over an attribute only client spans have: servers have no value, and with every
    // label missing their series is labelled "nil".
    let got = series(
        &query_range(
            server,
            base,
            "{ } | count_over_time() by (span.db.system)",
            &[],
        )
        .await,
    );
    let db = |s: &Sp| format!("span.db.system={}", s.db.unwrap_or("nil"));
    assert_close(
        &got,
        &expect(base, &all, db, any, count, |_| 1.0, true),
        "by db.system",
    );
    // Two labels, one missing on some spans: the missing one is left out.
    let got = series(
        &query_range(
            server,
            base,
            "{ } | count_over_time() by (resource.service.name, span.db.system)",
            &[],
        )
        .await,
    );
    assert!(got.contains_key("resource.service.name=cart"), "{got:?}");
    assert!(
        got.contains_key("resource.service.name=db,span.db.system=redis"),
        "{got:?}"
    );

    // Histograms: counts per power-of-two bucket (in seconds) add up to the span counts.
    let got = series(&query_range(server, base, "{ } | histogram_over_time(duration)", &[]).await);
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    for (labels, samples) in &got {
        let b: f64 = labels.strip_prefix("__bucket=").unwrap().parse().unwrap();
        let ns = (b * 1e9).round() as u64;
        assert!(ns.is_power_of_two(), "{labels}");
        for (ts, v) in samples {
            *totals.entry(*ts).or_default() += v;
        }
    }
    let want = &expect(base, &all, name("x"), any, count, |_| 1.0, true)["__name__=x"];
    assert_eq!(&totals, want);

    // Quantiles of server span durations: each within its power-of-two bucket of the exact one.
    let got = series(
        &query_range(
            server,
            base,
            "{ kind = server } | quantile_over_time(duration, .5, 0.9)",
            &[],
        )
        .await,
    );
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["p=0.5", "p=0.9"]);
    for (p, key) in [(0.5, "p=0.5"), (0.9, "p=0.9")] {
        let exact = expect(
            base,
            &all,
            name("q"),
            |s| s.server,
            |v| {
                let mut v = v.to_vec();
                v.sort_by(f64::total_cmp);
                let rank = ((p * v.len() as f64).ceil() as usize).max(1);
                v[rank - 1]
            },
            |s| s.dur as f64,
            false,
        );
        for (ts, v) in &exact["__name__=q"] {
            let bound = (*v as u64).next_power_of_two() as f64 / 1e9;
            let q = got[key][ts];
            assert!(
                q <= bound * (1.0 + 1e-9) && q >= bound / 4.0,
                "{key} @{ts}: {q} vs exact {v}ns"
            );
        }
    }

    // topk(1): at each step only the largest series keeps its sample.
    let got = series(
        &query_range(
            server,
            base,
            "{ } | count_over_time() by (resource.service.name) | topk(1)",
            &[],
        )
        .await,
    );
    let counts = expect(base, &all, svc, any, count, |_| 1.0, true);
    for (k, samples) in &got {
        for (ts, v) in samples {
            let max = counts.values().map(|c| c[ts]).fold(0.0, f64::max);
            assert_eq!(*v, max, "{k} @{ts}");
        }
    }
    let got = series(
        &query_range(
            server,
            base,
            "{ } | count_over_time() by (resource.service.name) > 3",
            &[],
        )
        .await,
    );
    assert!(got.values().flat_map(|s| s.values()).all(|v| *v > 3.0));

    // compare(): error spans against the rest, per attribute value.
    let got = series(&query_range(server, base, "{ } | compare({ status = error })", &[]).await);
    let sum = |k: &str| -> f64 {
        got.get(k)
            .unwrap_or_else(|| panic!("{k} missing: {:?}", got.keys()))
            .values()
            .sum()
    };
    let errors = all.iter().filter(|s| s.error).count() as f64;
    assert_eq!(sum("__meta_type=selection,status=error"), errors);
    assert_eq!(sum("__meta_type=selection_total,status=nil"), errors);
    assert_eq!(
        sum("__meta_type=baseline_total,name=nil"),
        all.len() as f64 - errors
    );
    assert_eq!(
        sum("__meta_type=selection,resource.service.name=db"),
        errors
    );
    assert_eq!(
        sum("__meta_type=baseline,span.db.system=postgres"),
        all.iter()
            .filter(|s| s.db == Some("postgres") && !s.error)
            .count() as f64
    );
}

/// Exemplars: trace and span IDs of real spans, capped.
async fn check_exemplars(server: &Server, base: u64) {
    let v = query_range(
        server,
        base,
        "{ } | quantile_over_time(duration, .9)",
        &[("exemplars", "4")],
    )
    .await;
    let ex: Vec<&Value> = v["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .collect();
    assert!(!ex.is_empty() && ex.len() <= 4, "{v}");
    for e in ex {
        let labels = e["labels"].as_array().unwrap();
        assert_eq!(labels[0]["key"], "trace:id");
        assert_eq!(labels[1]["key"], "span:id");
        let tid = labels[0]["value"]["stringValue"].as_str().unwrap();
        assert_eq!(tid.len(), 32);
        let ids: Vec<String> = (0..TRACES).map(|i| hex(&dataset::id(i))).collect();
        assert!(ids.contains(&tid.to_string()), "{tid}");
        assert!(e["timestampMs"].as_str().is_some());
        assert!(e["value"].as_f64().unwrap() > 0.0);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_identically_from_live_data_and_blocks() {
    let base = base_time();
    let live = Server::start(NO_BLOCKS);
    let blocks = Server::start(FAST_BLOCKS);
    load(&live, base).await;
    load(&blocks, base).await;
    eventually_async(60, || async {
        let m = blocks.metrics().await;
        (unflushed_bytes(&m) == Some(0.0) && !block_metas(&blocks, "single-tenant").is_empty())
            .then_some(())
    })
    .await;
    assert!(block_metas(&live, "single-tenant").is_empty());

    for server in [&live, &blocks] {
        check_functions(server, base).await;
        check_exemplars(server, base).await;
    }
    for q in [
        "{ } | rate() by (resource.service.name)",
        "{ } | quantile_over_time(duration, .5, .99) by (kind)",
        "{ } | histogram_over_time(duration) by (status)",
        "{ span.http.status_code >= 200 } | avg_over_time(span.http.status_code) by (name)",
        "{ } | count_over_time() by (span.db.system, resource.region)",
        "{ } | compare({ span.http.status_code = 500 }, 5)",
        "({ status = error } | rate() by (resource.service.name)) / ({ } | rate() by (resource.service.name))",
    ] {
        let mut a = query_range(&live, base, q, &[("exemplars", "0")]).await;
        let mut b = query_range(&blocks, base, q, &[("exemplars", "0")]).await;
        a.as_object_mut().unwrap().remove("metrics");
        b.as_object_mut().unwrap().remove("metrics");
        assert_eq!(a, b, "live and block answers to {q} differ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_queries_encodings_limits_and_bad_requests() {
    let base = base_time();
    let server = Server::start(NO_BLOCKS);
    load(&server, base).await;
    let all = spans(base);

    // Instant: one value per series over [start, end], both ends included; strict shape.
    let start = (base / S).to_string();
    let end = (base / S + 60).to_string();
    let (status, body) = get(
        &server,
        "/api/metrics/query",
        &[
            ("q", "{ } | count_over_time() by (resource.service.name)"),
            ("start", &start),
            ("end", &end),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    for k in v.as_object().unwrap().keys() {
        assert!(
            ["series", "metrics"].contains(&k.as_str()),
            "unexpected field {k}"
        );
    }
    let mut got = BTreeMap::new();
    for s in v["series"].as_array().unwrap() {
        let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["labels", "value"]);
        got.insert(label_value(&s["labels"][0]), s["value"].as_f64().unwrap());
    }
    let mut want = BTreeMap::new();
    for s in &all {
        *want.entry(s.service.to_string()).or_insert(0.0) += 1.0;
    }
    assert_eq!(got, want);

    // Protobuf when asked.
    let (start, end) = range(base);
    let resp = reqwest::Client::new()
        .get(server.url("/api/metrics/query_range"))
        .header("Accept", "application/protobuf")
        .query(&[
            ("q", "{ } | count_over_time()"),
            ("start", &start),
            ("end", &end),
            ("step", "10s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let pb = QueryRangeResponse::decode(resp.bytes().await.unwrap()).unwrap();
    let total: f64 = pb.series[0].samples.iter().map(|s| s.value).sum();
    assert_eq!(total, all.len() as f64);
    assert_eq!(pb.series[0].samples.len(), 7);

    // The series limit cuts the answer and says so.
    let v = query_range(
        &server,
        base,
        "{ } | count_over_time() by (name)",
        &[("maxSeries", "2")],
    )
    .await;
    assert_eq!(v["series"].as_array().unwrap().len(), 2);
    assert_eq!(v["status"], "PARTIAL");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("maximum series limit of 2"),
        "{v}"
    );

    // Refusals name the limit; malformed queries get the parser's message.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("q", "{ } | rate()"), ("start", "1000"), ("end", "200000")],
            "max_duration",
        ),
        (
            &[
                ("q", "{ } | rate()"),
                ("start", "1000"),
                ("end", "80000"),
                ("step", "1"),
            ],
            "max_intervals",
        ),
        (&[("q", "{ .a = } | rate()")], "parse error"),
        (&[("q", "{ } | rate(")], "parse error"),
        (&[("q", "{ } | quantile_over_time(duration)")], ""),
        (&[("q", "{ } | rate() by (")], ""),
        (&[("q", "{ status = error }")], "metrics"),
        (&[("q", "{ } | rate()"), ("step", "banana")], "step"),
        (&[("q", "{ } | rate()"), ("start", "nope")], "start"),
        (&[], "q"),
    ];
    for (params, needle) in cases {
        for path in ["/api/metrics/query_range", "/api/metrics/query"] {
            if matches!(*needle, "max_intervals" | "step") && path == "/api/metrics/query" {
                continue; // an instant query has no step
            }
            let (status, body) = get(&server, path, params).await;
            assert_eq!(status, 400, "{path} {params:?}: {body}");
            assert!(body.contains(needle), "{path} {params:?}: {body}");
        }
    }
    // The server is still fine.
    let v = query_range(&server, base, "{ } | count_over_time()", &[]).await;
    assert_eq!(v["series"].as_array().unwrap().len(), 1);

    check_cli(&server, &want);
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

/// `strata query metrics`: a table with a chart per series, and instant values.
fn check_cli(server: &Server, per_service: &BTreeMap<String, f64>) {
    let addr = server.url("");
    let q = "{ } | count_over_time() by (resource.service.name)";
    let out = strata(&[
        "query", "--addr", &addr, "metrics", q, "--since", "1h", "--step", "1m",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("SERIES"), "{out}");
    assert_eq!(lines.len(), 1 + per_service.len() + 1, "{out}");
    assert!(
        lines[1].starts_with("{resource.service.name=\"cart\"}"),
        "{out}"
    );
    assert!(lines[1].chars().any(|c| "▂▃▄▅▆▇█".contains(c)), "{out}");
    assert!(lines[3].contains('█'), "{out}"); // db has the most spans
    assert!(lines.last().unwrap().starts_with("4 series"), "{out}");
    let out = strata(&[
        "query",
        "--addr",
        &addr,
        "metrics",
        q,
        "--since",
        "1h",
        "--instant",
    ]);
    for (svc, n) in per_service {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{{resource.service.name={svc:?}}}")))
            .unwrap_or_else(|| panic!("{svc} missing: {out}"));
        assert!(line.ends_with(&format!(" {n}")), "{line}");
    }
}

/// Distributed mode with replication factor 3 (every span on three ingesters, pushed through
/// two distributors): the querier merges the ingesters' partial series (over gRPC) with the
/// blocks it reads, before and after the data reaches blocks, and counts every span once —
/// not once per replica, and not twice when the querier and an ingester both hold a block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_answers_merge_ingesters_and_blocks_exactly() {
    let cluster = Cluster::start(ClusterSpec {
        ingesters: 3,
        distributors: 2,
        replication_factor: 3,
        ingester_settings: "  trace_idle_period: 500ms\n  flush_check_period: 100ms\n  max_block_duration: 1s\n  complete_block_timeout: 10m\n".into(),
        ..ClusterSpec::default()
    });
    let base = base_time();
    for i in 0..TRACES {
        grpc_push(
            &cluster.otlp_grpc[(i % 2) as usize],
            dataset::trace(i, base),
        )
        .await
        .unwrap();
    }
    let all = spans(base);
    let svc = |s: &Sp| format!("resource.service.name={}", s.service);
    let want = expect(base, &all, svc, |_| true, count, |_| 1.0, true);
    let url = cluster.querier.url("/api/metrics/query_range");
    let q = "{ } | count_over_time() by (resource.service.name)";
    let got = series(&query_range_at(&url, base, q, &[]).await);
    assert_close(&got, &want, "cluster, data just pushed");
    // Once the querier reads blocks (which the ingesters still hold as recent blocks), the
    // answer is the same.
    eventually_async(60, || async {
        let v = query_range_at(&url, base, q, &[]).await;
        (v["metrics"]["totalBlocks"].as_u64().unwrap_or(0) > 0
            || v["metrics"]["totalJobs"].as_u64().unwrap_or(0) > 1)
            .then_some(())
    })
    .await;
    let got = series(&query_range_at(&url, base, q, &[]).await);
    assert_close(&got, &want, "cluster, data in blocks");
}
