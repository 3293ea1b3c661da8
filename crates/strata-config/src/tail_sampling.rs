//! Tail sampling settings: the per-tenant policies (`overrides.*.sampling.tail`, the
//! OpenTelemetry Collector's `tail_sampling` policy shapes plus `traceql`) and the ingester's
//! decision store (`ingester.tail_sampling`).
//!
//! ```yaml
//! overrides:
//!   defaults:
//!     sampling:
//!       tail:
//!         policies:
//!           - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
//!           - { name: slow, type: latency, latency: { threshold_ms: 1000 } }
//!           - { name: rest, type: probabilistic, probabilistic: { sampling_percentage: 5 } }
//! ```
//!
//! A policy names its `type` and carries the section of that name, and no other. Validation
//! here covers everything but TraceQL syntax (checked by the ingester, and by
//! `strata config check`, which can parse TraceQL).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Every policy type.
pub const TAIL_POLICY_TYPES: [&str; 13] = [
    "always_sample",
    "status_code",
    "latency",
    "probabilistic",
    "string_attribute",
    "numeric_attribute",
    "boolean_attribute",
    "span_count",
    "rate_limiting",
    "traceql",
    "and",
    "any",
    "not",
];

/// `overrides.*.sampling.tail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailSamplingLimits {
    /// A trace is kept when any policy keeps it; none: tail sampling is off for the tenant
    /// (every trace kept). Default none.
    pub policies: Vec<TailPolicy>,
}

/// One policy (or a sub-policy of `and`, `any`, `not`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailPolicy {
    /// Labels the policy's decisions in metrics. Required at the top level.
    pub name: String,
    /// One of [`TAIL_POLICY_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<StatusCodePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilistic: Option<ProbabilisticPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_attribute: Option<StringAttributePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric_attribute: Option<NumericAttributePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boolean_attribute: Option<BooleanAttributePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_count: Option<SpanCountPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimitingPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceql: Option<TraceqlPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and: Option<AndPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<AnyPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<NotPolicy>,
}

/// Keeps traces with a span whose status is one of `status_codes` (`OK`, `ERROR`, `UNSET`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusCodePolicy {
    pub status_codes: Vec<String>,
}

/// Keeps traces lasting (latest span end − earliest span start) at least `threshold_ms`, and
/// at most `upper_threshold_ms` when that is not 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyPolicy {
    pub threshold_ms: u64,
    pub upper_threshold_ms: u64,
}

/// Keeps `sampling_percentage` % of traces, decided from the trace ID as head sampling decides
/// (OpenTelemetry consistent probability sampling): a trace kept at p % is kept at any higher
/// percentage, by every replica.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbabilisticPolicy {
    pub sampling_percentage: f64,
}

/// Keeps traces with a span (or its resource) whose attribute `key` is a string equal to one
/// of `values`, or matching one of them as a regular expression with `enabled_regex_matching`
/// (anchored at both ends). `invert_match` keeps the traces that do not match instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StringAttributePolicy {
    pub key: String,
    pub values: Vec<String>,
    pub enabled_regex_matching: bool,
    pub invert_match: bool,
}

/// Keeps traces with a span (or resource) attribute `key`, an integer or a double, within
/// `[min_value, max_value]` (either bound may be left out). `invert_match` as above.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NumericAttributePolicy {
    pub key: String,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub invert_match: bool,
}

/// Keeps traces with a span (or resource) boolean attribute `key` equal to `value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BooleanAttributePolicy {
    pub key: String,
    pub value: bool,
    pub invert_match: bool,
}

/// Keeps traces of at least `min_spans` spans and at most `max_spans` (0: no maximum).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanCountPolicy {
    pub min_spans: u64,
    pub max_spans: u64,
}

/// Keeps traces while this policy has kept fewer than `spans_per_second` spans in the current
/// second (per tenant and ingester: with replication each replica counts its own, so replicas
/// may disagree on traces near the limit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitingPolicy {
    pub spans_per_second: u64,
}

/// Keeps traces with a span set matching a TraceQL query, e.g. `{ span.http.status_code >= 500 }`,
/// evaluated by Strata's engine on the whole trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceqlPolicy {
    pub query: String,
}

/// Keeps traces every sub-policy keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AndPolicy {
    pub and_sub_policy: Vec<TailPolicy>,
}

/// Keeps traces at least one sub-policy keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnyPolicy {
    pub any_sub_policy: Vec<TailPolicy>,
}

/// Keeps traces the sub-policy does not keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotPolicy {
    pub not_sub_policy: Option<Box<TailPolicy>>,
}

impl TailSamplingLimits {
    /// Bad policies, as a message naming the key (`sampling.tail.policies[1].latency...`).
    pub fn validate(&self) -> Result<(), String> {
        for (i, p) in self.policies.iter().enumerate() {
            let at = format!("sampling.tail.policies[{i}]");
            if p.name.trim().is_empty() {
                return Err(format!("{at}.name is required"));
            }
            if self.policies[..i].iter().any(|q| q.name == p.name) {
                return Err(format!("{at}.name {:?} is used twice", p.name));
            }
            p.validate(&at)?;
        }
        Ok(())
    }
}

impl TailPolicy {
    /// The sections present, by name.
    fn sections(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |present: bool, name: &'static str| {
            if present {
                out.push(name);
            }
        };
        add(self.status_code.is_some(), "status_code");
        add(self.latency.is_some(), "latency");
        add(self.probabilistic.is_some(), "probabilistic");
        add(self.string_attribute.is_some(), "string_attribute");
        add(self.numeric_attribute.is_some(), "numeric_attribute");
        add(self.boolean_attribute.is_some(), "boolean_attribute");
        add(self.span_count.is_some(), "span_count");
        add(self.rate_limiting.is_some(), "rate_limiting");
        add(self.traceql.is_some(), "traceql");
        add(self.and.is_some(), "and");
        add(self.any.is_some(), "any");
        add(self.not.is_some(), "not");
        out
    }

    /// Checks this policy, `at` naming it in messages.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        let kind = self.kind.as_str();
        if !TAIL_POLICY_TYPES.contains(&kind) {
            return Err(format!(
                "{at}.type: unknown policy type {kind:?} (known: {})",
                TAIL_POLICY_TYPES.join(", ")
            ));
        }
        let sections = self.sections();
        if let Some(other) = sections.iter().find(|s| **s != kind) {
            return Err(format!(
                "{at}.{other}: a policy of type {kind} takes no {other} section"
            ));
        }
        if kind != "always_sample" && sections.is_empty() {
            return Err(format!(
                "{at}.{kind} is required for a policy of type {kind}"
            ));
        }
        let key_required = |key: &str, what: &str| {
            if key.is_empty() {
                Err(format!("{at}.{what}.key is required"))
            } else {
                Ok(())
            }
        };
        match kind {
            "status_code" => {
                let p = self.status_code.as_ref().expect("checked above");
                if p.status_codes.is_empty() {
                    return Err(format!("{at}.status_code.status_codes must not be empty"));
                }
                for c in &p.status_codes {
                    if !["OK", "ERROR", "UNSET"].contains(&c.as_str()) {
                        return Err(format!(
                            "{at}.status_code.status_codes: unknown status {c:?} (OK, ERROR, UNSET)"
                        ));
                    }
                }
            }
            "latency" => {
                let p = self.latency.as_ref().expect("checked above");
                if p.upper_threshold_ms != 0 && p.upper_threshold_ms < p.threshold_ms {
                    return Err(format!(
                        "{at}.latency.upper_threshold_ms must be 0 or >= threshold_ms"
                    ));
                }
            }
            "probabilistic" => {
                let v = self
                    .probabilistic
                    .as_ref()
                    .expect("checked above")
                    .sampling_percentage;
                if !(0.0..=100.0).contains(&v) {
                    return Err(format!(
                        "{at}.probabilistic.sampling_percentage must be between 0 and 100, got {v}"
                    ));
                }
            }
            "string_attribute" => {
                let p = self.string_attribute.as_ref().expect("checked above");
                key_required(&p.key, "string_attribute")?;
                if p.values.is_empty() {
                    return Err(format!("{at}.string_attribute.values must not be empty"));
                }
                if p.enabled_regex_matching {
                    for v in &p.values {
                        regex::Regex::new(v).map_err(|e| {
                            format!(
                                "{at}.string_attribute.values: bad regular expression {v:?}: {e}"
                            )
                        })?;
                    }
                }
            }
            "numeric_attribute" => {
                let p = self.numeric_attribute.as_ref().expect("checked above");
                key_required(&p.key, "numeric_attribute")?;
                if p.min_value.is_none() && p.max_value.is_none() {
                    return Err(format!(
                        "{at}.numeric_attribute: min_value or max_value is required"
                    ));
                }
                if let (Some(a), Some(b)) = (p.min_value, p.max_value) {
                    if a > b {
                        return Err(format!(
                            "{at}.numeric_attribute.min_value must be <= max_value"
                        ));
                    }
                }
            }
            "boolean_attribute" => {
                key_required(
                    &self.boolean_attribute.as_ref().expect("checked above").key,
                    "boolean_attribute",
                )?;
            }
            "span_count" => {
                let p = self.span_count.as_ref().expect("checked above");
                if p.max_spans != 0 && p.max_spans < p.min_spans {
                    return Err(format!(
                        "{at}.span_count.max_spans must be 0 or >= min_spans"
                    ));
                }
            }
            "rate_limiting"
                if self
                    .rate_limiting
                    .as_ref()
                    .is_some_and(|r| r.spans_per_second == 0) =>
            {
                return Err(format!("{at}.rate_limiting.spans_per_second must be > 0"));
            }
            "traceql"
                if self
                    .traceql
                    .as_ref()
                    .is_some_and(|t| t.query.trim().is_empty()) =>
            {
                return Err(format!("{at}.traceql.query is required"));
            }
            "and" | "any" => {
                let subs = match kind {
                    "and" => &self.and.as_ref().expect("checked above").and_sub_policy,
                    _ => &self.any.as_ref().expect("checked above").any_sub_policy,
                };
                if subs.is_empty() {
                    return Err(format!("{at}.{kind}.{kind}_sub_policy must not be empty"));
                }
                for (i, s) in subs.iter().enumerate() {
                    s.validate(&format!("{at}.{kind}.{kind}_sub_policy[{i}]"))?;
                }
            }
            "not" => match &self.not.as_ref().expect("checked above").not_sub_policy {
                Some(s) => s.validate(&format!("{at}.not.not_sub_policy"))?,
                None => return Err(format!("{at}.not.not_sub_policy is required")),
            },
            _ => {}
        }
        Ok(())
    }

    /// Every TraceQL query in this policy and its sub-policies, with the key naming it.
    pub fn traceql_queries(&self, at: &str, out: &mut Vec<(String, String)>) {
        if let Some(q) = &self.traceql {
            out.push((format!("{at}.traceql.query"), q.query.clone()));
        }
        if let Some(a) = &self.and {
            for (i, s) in a.and_sub_policy.iter().enumerate() {
                s.traceql_queries(&format!("{at}.and.and_sub_policy[{i}]"), out);
            }
        }
        if let Some(a) = &self.any {
            for (i, s) in a.any_sub_policy.iter().enumerate() {
                s.traceql_queries(&format!("{at}.any.any_sub_policy[{i}]"), out);
            }
        }
        if let Some(s) = self.not.as_ref().and_then(|n| n.not_sub_policy.as_ref()) {
            s.traceql_queries(&format!("{at}.not.not_sub_policy"), out);
        }
    }
}

/// `ingester.tail_sampling`: where and how long an ingester remembers its decisions, so spans
/// arriving after a trace was decided follow the decision, also across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailSamplingStoreConfig {
    /// Directory of the decision store (an embedded `sled` database). Empty: `decisions` under
    /// `ingester.wal.path`. Opened only when a tenant has tail-sampling policies.
    pub path: PathBuf,
    /// A decision is forgotten this long after it was made. Default `1h`.
    #[serde(with = "humantime_serde")]
    pub decision_ttl: Duration,
    /// Most decisions remembered; past it the oldest are forgotten first. Default 1000000.
    pub max_decisions: u64,
}

impl Default for TailSamplingStoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            decision_ttl: Duration::from_secs(3600),
            max_decisions: 1_000_000,
        }
    }
}

impl TailSamplingStoreConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.decision_ttl.is_zero() {
            return Err("ingester.tail_sampling.decision_ttl must be > 0".into());
        }
        if self.max_decisions == 0 {
            return Err("ingester.tail_sampling.max_decisions must be > 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        let policies: Vec<TailPolicy> = serde_yaml_ng::from_str(yaml).unwrap();
        TailSamplingLimits { policies }.validate().unwrap_err()
    }

    #[test]
    fn bad_policies_name_their_key() {
        let cases = [
            ("- { name: a, type: nope }", "policies[0].type: unknown policy type \"nope\""),
            ("- { type: always_sample }", "policies[0].name is required"),
            (
                "- { name: a, type: always_sample }\n- { name: a, type: always_sample }",
                "policies[1].name \"a\" is used twice",
            ),
            ("- { name: a, type: latency }", "policies[0].latency is required"),
            (
                "- { name: a, type: latency, status_code: { status_codes: [ERROR] } }",
                "policies[0].status_code: a policy of type latency takes no status_code section",
            ),
            (
                "- { name: a, type: status_code, status_code: { status_codes: [BROKEN] } }",
                "status_codes: unknown status \"BROKEN\"",
            ),
            (
                "- { name: a, type: probabilistic, probabilistic: { sampling_percentage: 120 } }",
                "policies[0].probabilistic.sampling_percentage must be between 0 and 100",
            ),
            (
                "- { name: a, type: string_attribute, string_attribute: { key: k, values: ['('], enabled_regex_matching: true } }",
                "policies[0].string_attribute.values: bad regular expression",
            ),
            (
                "- { name: a, type: numeric_attribute, numeric_attribute: { key: k } }",
                "min_value or max_value is required",
            ),
            (
                "- { name: a, type: rate_limiting, rate_limiting: { spans_per_second: 0 } }",
                "policies[0].rate_limiting.spans_per_second must be > 0",
            ),
            (
                "- { name: a, type: and, and: { and_sub_policy: [ { type: latency, latency: { threshold_ms: 5, upper_threshold_ms: 1 } } ] } }",
                "policies[0].and.and_sub_policy[0].latency.upper_threshold_ms",
            ),
            (
                "- { name: a, type: not, not: {} }",
                "policies[0].not.not_sub_policy is required",
            ),
            (
                "- { name: a, type: traceql, traceql: { query: ' ' } }",
                "policies[0].traceql.query is required",
            ),
        ];
        for (yaml, want) in cases {
            let e = err(yaml);
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
