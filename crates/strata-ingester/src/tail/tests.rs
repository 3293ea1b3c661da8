//! Policies on hand-built traces, and the sampler's decisions with its store.

use bytes::Bytes;
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_config::TailPolicy;
use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{status::StatusCode, ResourceSpans, ScopeSpans, Span, Status};
use strata_proto::tempopb;

use super::*;

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// Trace `n` (ID low bytes = n): `spans` spans lasting `ms` in all, status `status` on the
/// last, attributes `attrs` on every span.
fn trace(n: u64, spans: usize, ms: u64, status: StatusCode, attrs: Vec<KeyValue>) -> Pending {
    let mut id = [0u8; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    let start = 1_700_000_000_000_000_000u64;
    let list: Vec<Span> = (0..spans)
        .map(|i| Span {
            trace_id: id.to_vec(),
            span_id: ((i + 1) as u64).to_be_bytes().to_vec(),
            name: format!("op-{i}"),
            start_time_unix_nano: start,
            end_time_unix_nano: start + ms * 1_000_000,
            attributes: attrs.clone(),
            status: (i + 1 == spans).then_some(Status {
                code: status as i32,
                message: String::new(),
            }),
            ..Default::default()
        })
        .collect();
    let t = tempopb::Trace {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("api".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: list,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    };
    Pending {
        id: TraceId(id),
        payloads: vec![Bytes::from(t.encode_to_vec())],
        spans: spans as u64,
    }
}

fn policies(yaml: &str) -> Vec<TailPolicy> {
    let p: Vec<TailPolicy> = serde_yaml_ng::from_str(yaml).unwrap();
    strata_config::TailSamplingLimits {
        policies: p.clone(),
    }
    .validate()
    .unwrap();
    p
}

fn sampler(dir: &std::path::Path) -> TailSampler {
    TailSampler::new(
        &TailSamplingStoreConfig::default(),
        dir,
        TailMetrics::default(),
    )
}

const SEEDS: &str = r#"
- { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
- { name: slow, type: latency, latency: { threshold_ms: 1000 } }
- { name: rest, type: probabilistic, probabilistic: { sampling_percentage: 5 } }
"#;

#[test]
fn the_seed_policy_keeps_errors_slow_traces_and_a_consistent_fraction_of_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let s = sampler(dir.path());
    let t = TenantId::single();
    let p = policies(SEEDS);
    let mut pending = Vec::new();
    for n in 0..2000u64 {
        // n*large odd constant spreads the low 56 bits.
        let id = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (ms, status) = match n % 10 {
            0 => (5, StatusCode::Error),
            1 => (1500, StatusCode::Ok),
            _ => (5, StatusCode::Unset),
        };
        pending.push(trace(id, 3, ms, status, vec![]));
    }
    let d = s.decide(&t, &p, &pending, 1_000);
    for (n, d) in d.iter().enumerate() {
        if n % 10 < 2 {
            assert_eq!(*d, Decision::Keep, "trace {n} is an error or slow");
        }
    }
    let rest: Vec<&Decision> = d
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 10 >= 2)
        .map(|(_, d)| d)
        .collect();
    let kept = rest.iter().filter(|d| ***d == Decision::Keep).count() as f64;
    let frac = kept / rest.len() as f64;
    assert!((0.025..0.075).contains(&frac), "kept {frac} of the rest");
    // The probabilistic part agrees with head sampling's rule.
    for (n, p) in pending.iter().enumerate().filter(|(n, _)| n % 10 >= 2) {
        let want = policy::randomness(&p.id) >= policy::threshold(0.05);
        assert_eq!(d[n] == Decision::Keep, want);
    }
    let m = &s.metrics;
    let get = |decision: &'static str, policy: &str| {
        m.traces
            .get_or_create(&DecisionLabels {
                tenant: "single-tenant".into(),
                decision,
                policy: policy.into(),
            })
            .get()
    };
    assert_eq!(get("kept", "errors"), 200);
    assert_eq!(get("kept", "slow"), 200);
    assert_eq!(get("kept", "rest") + get("dropped", "none"), 1600);
}

#[test]
fn later_spans_follow_the_stored_decision_also_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let t = TenantId::single();
    let p =
        policies("- { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }");
    {
        let s = sampler(dir.path());
        let d = s.decide(
            &t,
            &p,
            &[
                trace(1, 2, 5, StatusCode::Error, vec![]),
                trace(2, 2, 5, StatusCode::Ok, vec![]),
            ],
            1_000,
        );
        assert_eq!(d, vec![Decision::Keep, Decision::Drop]);
        s.maintain(1_000);
    }
    let s = sampler(dir.path());
    // Late spans: trace 1 now without its error span, trace 2 now with one.
    let d = s.decide(
        &t,
        &p,
        &[
            trace(1, 1, 5, StatusCode::Ok, vec![]),
            trace(2, 1, 5, StatusCode::Error, vec![]),
        ],
        2_000,
    );
    assert_eq!(d, vec![Decision::Keep, Decision::Drop]);
    // Past the TTL (1h) the store no longer decides.
    let d = s.decide(
        &t,
        &p,
        &[trace(2, 1, 5, StatusCode::Error, vec![])],
        2_000 + 3_600_001,
    );
    assert_eq!(d, vec![Decision::Keep]);
}

#[test]
fn attribute_span_count_rate_traceql_and_combinations() {
    let dir = tempfile::tempdir().unwrap();
    let s = sampler(dir.path());
    let t = TenantId::single();
    let get = Value::StringValue("GET".into());
    let post = Value::StringValue("POST".into());
    let code = |c: i64| kv("http.status_code", Value::IntValue(c));
    let cases: Vec<(&str, Vec<Pending>, Vec<Decision>)> = vec![
        (
            "- { name: m, type: string_attribute, string_attribute: { key: http.method, values: [GET] } }",
            vec![trace(1, 1, 1, StatusCode::Unset, vec![kv("http.method", get.clone())]),
                 trace(2, 1, 1, StatusCode::Unset, vec![kv("http.method", post.clone())])],
            vec![Decision::Keep, Decision::Drop],
        ),
        (
            "- { name: m, type: string_attribute, string_attribute: { key: http.method, values: ['P.*'], enabled_regex_matching: true, invert_match: true } }",
            vec![trace(3, 1, 1, StatusCode::Unset, vec![kv("http.method", get.clone())]),
                 trace(4, 1, 1, StatusCode::Unset, vec![kv("http.method", post.clone())])],
            vec![Decision::Keep, Decision::Drop],
        ),
        (
            // Resource attributes count too.
            "- { name: svc, type: string_attribute, string_attribute: { key: service.name, values: [api] } }",
            vec![trace(5, 1, 1, StatusCode::Unset, vec![])],
            vec![Decision::Keep],
        ),
        (
            "- { name: n, type: numeric_attribute, numeric_attribute: { key: http.status_code, min_value: 500 } }",
            vec![trace(6, 1, 1, StatusCode::Unset, vec![code(503)]),
                 trace(7, 1, 1, StatusCode::Unset, vec![code(200)])],
            vec![Decision::Keep, Decision::Drop],
        ),
        (
            "- { name: b, type: boolean_attribute, boolean_attribute: { key: debug, value: true } }",
            vec![trace(8, 1, 1, StatusCode::Unset, vec![kv("debug", Value::BoolValue(true))]),
                 trace(9, 1, 1, StatusCode::Unset, vec![kv("debug", Value::BoolValue(false))])],
            vec![Decision::Keep, Decision::Drop],
        ),
        (
            "- { name: c, type: span_count, span_count: { min_spans: 3, max_spans: 5 } }",
            vec![trace(10, 2, 1, StatusCode::Unset, vec![]), trace(11, 4, 1, StatusCode::Unset, vec![]),
                 trace(12, 6, 1, StatusCode::Unset, vec![])],
            vec![Decision::Drop, Decision::Keep, Decision::Drop],
        ),
        (
            // 5 spans a second: the first two 2-span traces fit, the third does not.
            "- { name: r, type: rate_limiting, rate_limiting: { spans_per_second: 5 } }",
            vec![trace(13, 2, 1, StatusCode::Unset, vec![]), trace(14, 2, 1, StatusCode::Unset, vec![]),
                 trace(15, 2, 1, StatusCode::Unset, vec![])],
            vec![Decision::Keep, Decision::Keep, Decision::Drop],
        ),
        (
            "- { name: q, type: traceql, traceql: { query: '{ span.http.status_code >= 500 }' } }",
            vec![trace(16, 2, 1, StatusCode::Unset, vec![code(500)]),
                 trace(17, 2, 1, StatusCode::Unset, vec![code(404)])],
            vec![Decision::Keep, Decision::Drop],
        ),
        (
            r#"
- name: slow-gets
  type: and
  and:
    and_sub_policy:
      - { type: latency, latency: { threshold_ms: 100 } }
      - { type: not, not: { not_sub_policy: { type: string_attribute, string_attribute: { key: http.method, values: [POST] } } } }
- name: any
  type: any
  any:
    any_sub_policy:
      - { type: span_count, span_count: { min_spans: 10 } }
      - { type: boolean_attribute, boolean_attribute: { key: debug, value: true } }
"#,
            vec![trace(18, 1, 200, StatusCode::Unset, vec![kv("http.method", get.clone())]),
                 trace(19, 1, 200, StatusCode::Unset, vec![kv("http.method", post.clone())]),
                 trace(20, 12, 1, StatusCode::Unset, vec![]),
                 trace(21, 1, 1, StatusCode::Unset, vec![])],
            vec![Decision::Keep, Decision::Drop, Decision::Keep, Decision::Drop],
        ),
    ];
    for (yaml, pending, want) in cases {
        let got = s.decide(&t, &policies(yaml), &pending, 5_000);
        assert_eq!(got, want, "{yaml}");
    }
}

#[test]
fn policies_that_do_not_compile_keep_everything_and_count_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = sampler(dir.path());
    let t = TenantId::single();
    // Valid for strata-config (it does not parse TraceQL), refused by the engine.
    let p: Vec<TailPolicy> =
        serde_yaml_ng::from_str("- { name: q, type: traceql, traceql: { query: '{ span.x = ' } }")
            .unwrap();
    let e = compile_policies(&p).unwrap_err();
    assert_eq!(e.key, "sampling.tail.policies[0].traceql.query");
    let d = s.decide(&t, &p, &[trace(1, 1, 1, StatusCode::Unset, vec![])], 1_000);
    assert_eq!(d, vec![Decision::Keep]);
    assert_eq!(
        s.metrics
            .errors
            .get_or_create(&TenantLabels {
                tenant: "single-tenant".into()
            })
            .get(),
        1
    );
}
