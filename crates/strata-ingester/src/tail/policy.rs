//! Tail-sampling policies compiled from their configuration, and their evaluation on one
//! whole trace.
//!
//! * A trace is kept when any top-level policy keeps it; the first such policy (in
//!   configuration order) names the decision in metrics. `and` keeps when every sub-policy
//!   does (stopping at the first that does not, so a `rate_limiting` placed last only spends
//!   its budget on traces the others kept), `any` when one does, `not` when its sub-policy
//!   does not.
//! * Attribute policies look at every span's attributes and its resource's. `invert_match`
//!   negates the policy's answer.
//! * `probabilistic` uses head sampling's rule (OpenTelemetry consistent probability
//!   sampling on the trace ID's low 56 bits), so it is the same on every replica and a trace
//!   kept at p % is kept at any higher percentage.
//! * `traceql` answers come precomputed ([`TraceqlMatches`]): every query runs once over the
//!   batch of traces being decided, through the search engine.
//! * `rate_limiting` counts kept spans per policy in the current second of the injected
//!   clock.

use std::collections::HashSet;

use regex::Regex;
use strata_common::TraceId;
use strata_config::TailPolicy;
use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};
use strata_proto::otlp::trace::ResourceSpans;

/// A policy ready to evaluate.
#[derive(Debug)]
pub enum Policy {
    Always,
    /// OTLP status codes (0 unset, 1 ok, 2 error).
    Status(Vec<i32>),
    Latency {
        min_ns: u64,
        max_ns: Option<u64>,
    },
    /// Rejection threshold on the trace ID's 56 random bits.
    Probabilistic {
        threshold: u64,
    },
    Str {
        key: String,
        values: Vec<String>,
        regexes: Vec<Regex>,
        invert: bool,
    },
    Num {
        key: String,
        min: f64,
        max: f64,
        invert: bool,
    },
    Bool {
        key: String,
        value: bool,
        invert: bool,
    },
    SpanCount {
        min: u64,
        max: Option<u64>,
    },
    /// Index into the rate-limit state; limit per second.
    Rate {
        slot: usize,
        spans_per_second: u64,
    },
    /// Index into the TraceQL queries.
    TraceQl {
        slot: usize,
    },
    And(Vec<Policy>),
    Any(Vec<Policy>),
    Not(Box<Policy>),
}

/// A policy that cannot be compiled (bad TraceQL, a bad regular expression).
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct CompileError {
    pub key: String,
    pub message: String,
}

/// What compiling a tenant's policies collects besides the policies.
#[derive(Debug, Default)]
pub struct Compiled {
    /// TraceQL queries, by slot.
    pub queries: Vec<String>,
    /// Rate-limit slots.
    pub rates: usize,
}

const STATUS: [(&str, i32); 3] = [("UNSET", 0), ("OK", 1), ("ERROR", 2)];

/// Compiles `p` (validated by `strata-config`), `at` naming it in errors.
pub fn compile(p: &TailPolicy, at: &str, c: &mut Compiled) -> Result<Policy, CompileError> {
    let err = |key: String, message: String| CompileError { key, message };
    Ok(match p.kind.as_str() {
        "always_sample" => Policy::Always,
        "status_code" => {
            let codes = p
                .status_code
                .as_ref()
                .map(|s| &s.status_codes[..])
                .unwrap_or(&[]);
            Policy::Status(
                codes
                    .iter()
                    .filter_map(|c| STATUS.iter().find(|(n, _)| n == c).map(|(_, v)| *v))
                    .collect(),
            )
        }
        "latency" => {
            let l = p.latency.clone().unwrap_or_default();
            Policy::Latency {
                min_ns: l.threshold_ms.saturating_mul(1_000_000),
                max_ns: (l.upper_threshold_ms != 0)
                    .then(|| l.upper_threshold_ms.saturating_mul(1_000_000)),
            }
        }
        "probabilistic" => {
            let pct = p
                .probabilistic
                .as_ref()
                .map_or(0.0, |x| x.sampling_percentage);
            Policy::Probabilistic {
                threshold: threshold(pct / 100.0),
            }
        }
        "string_attribute" => {
            let s = p.string_attribute.clone().unwrap_or_default();
            let regexes = if s.enabled_regex_matching {
                s.values
                    .iter()
                    .map(|v| {
                        Regex::new(&format!("^(?:{v})$")).map_err(|e| {
                            err(format!("{at}.string_attribute.values"), e.to_string())
                        })
                    })
                    .collect::<Result<_, _>>()?
            } else {
                Vec::new()
            };
            Policy::Str {
                key: s.key,
                values: if s.enabled_regex_matching {
                    Vec::new()
                } else {
                    s.values
                },
                regexes,
                invert: s.invert_match,
            }
        }
        "numeric_attribute" => {
            let n = p.numeric_attribute.clone().unwrap_or_default();
            Policy::Num {
                key: n.key,
                min: n.min_value.unwrap_or(f64::NEG_INFINITY),
                max: n.max_value.unwrap_or(f64::INFINITY),
                invert: n.invert_match,
            }
        }
        "boolean_attribute" => {
            let b = p.boolean_attribute.clone().unwrap_or_default();
            Policy::Bool {
                key: b.key,
                value: b.value,
                invert: b.invert_match,
            }
        }
        "span_count" => {
            let s = p.span_count.clone().unwrap_or_default();
            Policy::SpanCount {
                min: s.min_spans,
                max: (s.max_spans != 0).then_some(s.max_spans),
            }
        }
        "rate_limiting" => {
            c.rates += 1;
            Policy::Rate {
                slot: c.rates - 1,
                spans_per_second: p.rate_limiting.as_ref().map_or(0, |r| r.spans_per_second),
            }
        }
        "traceql" => {
            let q = p
                .traceql
                .as_ref()
                .map(|t| t.query.clone())
                .unwrap_or_default();
            check_traceql(&q).map_err(|m| err(format!("{at}.traceql.query"), m))?;
            c.queries.push(q);
            Policy::TraceQl {
                slot: c.queries.len() - 1,
            }
        }
        "and" | "any" | "not" => {
            let subs: Vec<&TailPolicy> = match p.kind.as_str() {
                "and" => p.and.iter().flat_map(|a| &a.and_sub_policy).collect(),
                "any" => p.any.iter().flat_map(|a| &a.any_sub_policy).collect(),
                _ => p
                    .not
                    .iter()
                    .filter_map(|n| n.not_sub_policy.as_deref())
                    .collect(),
            };
            let kind = p.kind.as_str();
            let mut out = Vec::new();
            for (i, s) in subs.into_iter().enumerate() {
                let sub_at = match kind {
                    "not" => format!("{at}.not.not_sub_policy"),
                    _ => format!("{at}.{kind}.{kind}_sub_policy[{i}]"),
                };
                out.push(compile(s, &sub_at, c)?);
            }
            match kind {
                "and" => Policy::And(out),
                "any" => Policy::Any(out),
                _ => Policy::Not(Box::new(out.pop().unwrap_or(Policy::Always))),
            }
        }
        other => {
            return Err(err(
                format!("{at}.type"),
                format!("unknown policy type {other:?}"),
            ))
        }
    })
}

/// Whether `q` is a TraceQL search query the engine can evaluate.
pub fn check_traceql(q: &str) -> Result<(), String> {
    let req = strata_proto::tempopb::SearchRequest {
        query: q.to_string(),
        ..Default::default()
    };
    strata_engine::search::SearchJob::new(&req)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `round((1 - ratio) * 2^56)`, as head sampling computes it.
pub fn threshold(ratio: f64) -> u64 {
    let max = 1u64 << 56;
    ((1.0 - ratio.clamp(0.0, 1.0)) * max as f64).round() as u64
}

/// The trace ID's least significant 56 bits.
pub fn randomness(id: &TraceId) -> u64 {
    let mut b = [0u8; 8];
    b[1..].copy_from_slice(&id.0[9..16]);
    u64::from_be_bytes(b)
}

/// One decoded trace being decided.
pub struct TraceView<'a> {
    pub id: TraceId,
    pub spans: u64,
    pub rss: &'a [ResourceSpans],
}

impl TraceView<'_> {
    fn duration_ns(&self) -> u64 {
        let (mut start, mut end) = (u64::MAX, 0u64);
        for s in self.all_spans() {
            start = start.min(s.start_time_unix_nano);
            end = end.max(s.end_time_unix_nano);
        }
        end.saturating_sub(start)
    }

    fn all_spans(&self) -> impl Iterator<Item = &strata_proto::otlp::trace::Span> {
        self.rss
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
    }

    /// Every value of attribute `key` on a span or a resource.
    fn values<'k>(&'k self, key: &'k str) -> impl Iterator<Item = &'k AnyValue> + 'k {
        let find = move |attrs: &'k [KeyValue]| {
            attrs
                .iter()
                .filter(move |kv| kv.key == key)
                .filter_map(|kv| kv.value.as_ref())
        };
        self.rss.iter().flat_map(move |rs| {
            let res = rs
                .resource
                .as_ref()
                .map(|r| &r.attributes[..])
                .unwrap_or(&[]);
            find(res).chain(
                rs.scope_spans
                    .iter()
                    .flat_map(|ss| &ss.spans)
                    .flat_map(move |s| find(&s.attributes)),
            )
        })
    }
}

/// Which traces each TraceQL query matched, by slot.
pub type TraceqlMatches = Vec<HashSet<TraceId>>;

/// Per rate-limit slot: (second, spans kept in it).
pub type RateState = Vec<(u64, u64)>;

/// Whether `p` keeps `t`.
pub fn keeps(
    p: &Policy,
    t: &TraceView<'_>,
    ql: &TraceqlMatches,
    rates: &mut RateState,
    now_s: u64,
) -> bool {
    match p {
        Policy::Always => true,
        Policy::Status(codes) => t
            .all_spans()
            .any(|s| codes.contains(&s.status.as_ref().map_or(0, |st| st.code))),
        Policy::Latency { min_ns, max_ns } => {
            let d = t.duration_ns();
            d >= *min_ns && max_ns.is_none_or(|m| d <= m)
        }
        Policy::Probabilistic { threshold } => randomness(&t.id) >= *threshold,
        Policy::Str {
            key,
            values,
            regexes,
            invert,
        } => {
            let hit = t.values(key).any(|v| match &v.value {
                Some(Value::StringValue(s)) => {
                    values.iter().any(|x| x == s) || regexes.iter().any(|r| r.is_match(s))
                }
                _ => false,
            });
            hit != *invert
        }
        Policy::Num {
            key,
            min,
            max,
            invert,
        } => {
            let hit = t.values(key).any(|v| {
                let x = match &v.value {
                    Some(Value::IntValue(i)) => *i as f64,
                    Some(Value::DoubleValue(d)) => *d,
                    _ => return false,
                };
                x >= *min && x <= *max
            });
            hit != *invert
        }
        Policy::Bool { key, value, invert } => {
            let hit = t
                .values(key)
                .any(|v| matches!(&v.value, Some(Value::BoolValue(b)) if b == value));
            hit != *invert
        }
        Policy::SpanCount { min, max } => t.spans >= *min && max.is_none_or(|m| t.spans <= m),
        Policy::Rate {
            slot,
            spans_per_second,
        } => {
            let Some(state) = rates.get_mut(*slot) else {
                return false;
            };
            if state.0 != now_s {
                *state = (now_s, 0);
            }
            if state.1 + t.spans <= *spans_per_second {
                state.1 += t.spans;
                true
            } else {
                false
            }
        }
        Policy::TraceQl { slot } => ql.get(*slot).is_some_and(|m| m.contains(&t.id)),
        Policy::And(subs) => subs.iter().all(|s| keeps(s, t, ql, rates, now_s)),
        Policy::Any(subs) => subs.iter().any(|s| keeps(s, t, ql, rates, now_s)),
        Policy::Not(sub) => !keeps(sub, t, ql, rates, now_s),
    }
}
