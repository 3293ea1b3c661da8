//! Consistent head sampling: each tenant keeps `overrides.*.sampling.head_ratio` of its traces,
//! decided from the trace ID alone, so every distributor, every batch of a trace and every retry
//! agree without coordination.
//!
//! The rule is OpenTelemetry's consistent probability sampling (W3C trace context level 2):
//!
//! * randomness `R`: the trace ID's least significant 56 bits (bytes 9..16, big-endian);
//! * rejection threshold `T = round((1 - ratio) * 2^56)`; a trace is kept when `R >= T`. A
//!   trace kept at ratio `p` is therefore kept at every ratio above `p`, and ratio 1 (`T = 0`)
//!   keeps everything, ratio 0 nothing.
//! * A trace sampled upstream carries its threshold in the tracestate, `ot=th:<hex>` (1–14 hex
//!   digits, the omitted low digits zero). If a span of the trace carries a threshold at least
//!   `T`, the upstream already kept it at this ratio or below: it is kept, never sampled again.
//! * A kept trace's spans carry the threshold that applies to them afterwards: `ot=th:` is set
//!   to `T` on spans whose own threshold is lower (or absent), so downstream readers of span
//!   counts can weigh them (an adjusted count of `2^56 / (2^56 - T)`), as OpenTelemetry's
//!   samplers do. Other tracestate members are kept; the `ot` member moves to the front.
//!
//! Dropped traces are counted by the pipeline with reason `head_ratio`.

use std::sync::Arc;

use strata_common::{TenantId, TraceId};
use strata_proto::roles::TraceSpans;
use strata_server::Overrides;

use super::sample::{Sampled, Sampler};

/// The `reason` label of spans this sampler drops.
pub const REASON: &str = "head_ratio";

/// `2^56`: thresholds and randomness are 56-bit.
const MAX: u64 = 1 << 56;

/// The rejection threshold of `ratio` (clamped to [0, 1]); `2^56` rejects everything.
pub fn threshold(ratio: f64) -> u64 {
    let ratio = ratio.clamp(0.0, 1.0);
    ((1.0 - ratio) * MAX as f64).round() as u64
}

/// The trace ID's randomness: its least significant 56 bits.
pub fn randomness(id: &TraceId) -> u64 {
    let b = id.as_bytes();
    let mut r = [0u8; 8];
    r[1..].copy_from_slice(&b[9..16]);
    u64::from_be_bytes(r)
}

/// The `th` of the `ot` member of a W3C tracestate, if present and well formed.
pub fn parse_th(tracestate: &str) -> Option<u64> {
    let ot = tracestate
        .split(',')
        .filter_map(|m| m.trim().split_once('='))
        .find(|(k, _)| *k == "ot")?
        .1;
    let th = ot.split(';').find_map(|kv| kv.strip_prefix("th:"))?;
    if th.is_empty() || th.len() > 14 || !th.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = u64::from_str_radix(th, 16).ok()?;
    Some(v << (4 * (14 - th.len())))
}

/// `th` as OpenTelemetry writes it: 14 hex digits with the trailing zeros removed (`0` for 0).
pub fn format_th(t: u64) -> String {
    let s = format!("{:014x}", t.min(MAX - 1));
    let trimmed = s.trim_end_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// `tracestate` with the `ot` member's `th` set to `t` (other `ot` sub-keys and members kept;
/// the `ot` member first, as W3C asks of a changed member).
pub fn with_th(tracestate: &str, t: u64) -> String {
    let th = format!("th:{}", format_th(t));
    let mut ot = th.clone();
    let mut rest = Vec::new();
    for member in tracestate
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        match member.split_once('=') {
            Some(("ot", value)) => {
                let others = value.split(';').filter(|kv| !kv.starts_with("th:"));
                ot = std::iter::once(th.as_str())
                    .chain(others)
                    .collect::<Vec<_>>()
                    .join(";");
            }
            _ => rest.push(member),
        }
    }
    std::iter::once(format!("ot={ot}"))
        .chain(rest.into_iter().map(str::to_string))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a trace is kept at threshold `t`, given the highest upstream threshold its spans
/// carry.
pub fn keep(id: &TraceId, t: u64, upstream: Option<u64>) -> bool {
    upstream.is_some_and(|u| u >= t) || randomness(id) >= t
}

/// The head sampler: each tenant's `sampling.head_ratio` from the overrides.
#[derive(Clone)]
pub struct HeadSampler {
    overrides: Overrides,
}

impl HeadSampler {
    pub fn new(overrides: Overrides) -> Arc<Self> {
        Arc::new(Self { overrides })
    }
}

impl Sampler for HeadSampler {
    fn sample(&self, tenant: &TenantId, traces: Vec<TraceSpans>) -> Sampled {
        let ratio = self.overrides.limits(tenant).sampling.head_ratio;
        if ratio >= 1.0 {
            return Sampled {
                kept: traces,
                dropped: Vec::new(),
            };
        }
        let t = threshold(ratio);
        let mut out = Sampled::default();
        for mut trace in traces {
            let upstream = spans_mut(&mut trace)
                .filter_map(|s| parse_th(&s.trace_state))
                .max();
            if keep(&trace.trace_id, t, upstream) {
                for span in spans_mut(&mut trace) {
                    if parse_th(&span.trace_state).is_none_or(|own| own < t) {
                        span.trace_state = with_th(&span.trace_state, t);
                    }
                }
                out.kept.push(trace);
            } else {
                out.dropped.push((REASON, trace.span_count));
            }
        }
        out
    }

    fn keeps_all(&self, tenant: &TenantId) -> bool {
        self.overrides.limits(tenant).sampling.head_ratio >= 1.0
    }
}

fn spans_mut(
    trace: &mut TraceSpans,
) -> impl Iterator<Item = &mut strata_proto::otlp::trace::Span> + '_ {
    trace
        .trace
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans)
}

#[cfg(test)]
mod tests;
