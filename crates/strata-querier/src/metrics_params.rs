//! Query-string parsing for the TraceQL metrics endpoints, with Tempo's rules (contract
//! §2.6) and the tenant's bounds ([`QueryMetricsLimits`]).
//!
//! * `q` or `query` (`q` wins); it must parse as a metrics query (the parser's message
//!   otherwise).
//! * `start`/`end`: unix seconds (up to 10 digits), unix nanoseconds (more digits), float
//!   seconds or RFC 3339. Without `start`, the range is the `since` before `end` (a
//!   Prometheus duration, default 1h); without `end`, now.
//! * `step` (range only): seconds or a Go duration; default [`default_step`]. The range is
//!   then aligned ([`MetricsRange::aligned`]).
//! * `exemplars`: capped at the tenant's `max_exemplars` (its default when absent);
//!   `maxSeries`: at most the tenant's `max_series`.
//! * Refused (400, naming the limit): a range longer than `max_duration`, more than
//!   `max_intervals` steps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use strata_config::QueryMetricsLimits;
use strata_engine::metrics::{default_step, MetricsRange};
use strata_proto::tempopb::QueryRangeRequest;

use crate::params::go_duration;
use crate::QueryError;

const SEC: u64 = 1_000_000_000;

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::BadRequest(msg.into())
}

fn first<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

/// A point in time: unix seconds, unix nanoseconds, float seconds or RFC 3339.
pub fn parse_time(s: &str) -> Option<u64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = s.parse().ok()?;
        return if s.len() <= 10 {
            n.checked_mul(SEC)
        } else {
            Some(n)
        };
    }
    if let Ok(f) = s.parse::<f64>() {
        if (0.0..1e11).contains(&f) {
            return Some((f * 1e9).round() as u64);
        }
        return None;
    }
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(d.as_nanos()).ok()
}

/// A Prometheus duration (`1h`, `30m`, `2d`, `1h30m`) or Go duration, in nanoseconds.
pub fn parse_prom_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(ns) = go_duration(s) {
        return Some(ns);
    }
    // Units Go lacks: d, w, y, possibly followed by Go units (`1d12h`).
    let split = s.find(['d', 'w', 'y'])?;
    let (num, rest) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit = match &rest[..1] {
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => 365 * 86_400,
    };
    let tail = &rest[1..];
    let more = if tail.is_empty() {
        0
    } else {
        go_duration(tail)?
    };
    n.checked_mul(unit * SEC)?.checked_add(more)
}

/// A step: a number of seconds or a duration.
fn parse_step(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(f) = s.parse::<f64>() {
        return (f.is_finite() && f > 0.0).then(|| (f * 1e9).round() as u64);
    }
    parse_prom_duration(s).filter(|n| *n > 0)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn query_text(params: &[(String, String)]) -> Result<String, QueryError> {
    let q = first(params, "q")
        .or_else(|| first(params, "query"))
        .ok_or_else(|| bad("invalid request: q (the TraceQL metrics query) is required"))?;
    if q.len() > strata_traceql::MAX_QUERY_BYTES {
        return Err(bad(format!(
            "query is {} bytes, over the limit of {} bytes",
            q.len(),
            strata_traceql::MAX_QUERY_BYTES
        )));
    }
    // The parser's message for anything malformed, before any other check.
    strata_traceql::parse_and_validate(q).map_err(|e| bad(e.to_string()))?;
    Ok(q.to_string())
}

/// `[start, end]` in unix nanoseconds, within the tenant's longest range.
fn time_range(
    params: &[(String, String)],
    limits: &QueryMetricsLimits,
) -> Result<(u64, u64), QueryError> {
    let end = match first(params, "end") {
        Some(e) => parse_time(e).ok_or_else(|| bad(format!("invalid end: {e}")))?,
        None => now_ns(),
    };
    let start = match first(params, "start") {
        Some(s) => parse_time(s).ok_or_else(|| bad(format!("invalid start: {s}")))?,
        None => {
            let since = match first(params, "since") {
                Some(s) => {
                    parse_prom_duration(s).ok_or_else(|| bad(format!("invalid since: {s}")))?
                }
                None => 3600 * SEC,
            };
            end.saturating_sub(since)
        }
    };
    if end <= start {
        return Err(bad("invalid range: end must be after start"));
    }
    let max = u64::try_from(limits.max_duration.as_nanos()).unwrap_or(u64::MAX);
    if max > 0 && end - start > max {
        return Err(bad(format!(
            "metrics query time range {} exceeds the maximum allowed duration of {} (query_metrics.max_duration)",
            humantime::format_duration(Duration::from_nanos(end - start)),
            humantime::format_duration(limits.max_duration)
        )));
    }
    Ok((start, end))
}

fn counts(
    params: &[(String, String)],
    limits: &QueryMetricsLimits,
    req: &mut QueryRangeRequest,
) -> Result<(), QueryError> {
    req.exemplars = match first(params, "exemplars") {
        Some(e) => e
            .trim()
            .parse::<u32>()
            .map_err(|_| bad(format!("invalid exemplars: {e}")))?
            .min(limits.max_exemplars),
        None => limits.max_exemplars,
    };
    req.max_series = limits.max_series;
    if let Some(m) = first(params, "maxSeries") {
        let m: u32 = m
            .trim()
            .parse()
            .map_err(|_| bad(format!("invalid maxSeries: {m}")))?;
        if m > 0 && (req.max_series == 0 || m < req.max_series) {
            req.max_series = m;
        }
    }
    Ok(())
}

/// `/api/metrics/query_range` parameters as an aligned request.
pub fn range_request(
    params: &[(String, String)],
    limits: &QueryMetricsLimits,
) -> Result<QueryRangeRequest, QueryError> {
    let query = query_text(params)?;
    let (start, end) = time_range(params, limits)?;
    let step = match first(params, "step") {
        Some(s) => parse_step(s).ok_or_else(|| bad(format!("invalid step: {s}")))?,
        None => default_step(start, end),
    };
    let r = MetricsRange::aligned(start, end, step);
    let steps = r.intervals() as u64;
    if limits.max_intervals > 0 && steps > limits.max_intervals {
        return Err(bad(format!(
            "metrics query has {steps} steps, more than the maximum of {} (query_metrics.max_intervals); use a larger step",
            limits.max_intervals
        )));
    }
    if steps as usize > strata_engine::metrics::MAX_INTERVALS {
        return Err(bad(format!(
            "metrics query has {steps} steps, more than {}",
            strata_engine::metrics::MAX_INTERVALS
        )));
    }
    let mut req = QueryRangeRequest {
        query,
        start: r.start,
        end: r.end,
        step: r.step,
        instant: Some(false),
        ..Default::default()
    };
    counts(params, limits, &mut req)?;
    Ok(req)
}

/// `/api/metrics/query` parameters as an instant request over `[start, end]`.
pub fn instant_request(
    params: &[(String, String)],
    limits: &QueryMetricsLimits,
) -> Result<QueryRangeRequest, QueryError> {
    let query = query_text(params)?;
    let (start, end) = time_range(params, limits)?;
    let r = MetricsRange::instant(start, end);
    if r.end <= r.start {
        return Err(bad("invalid range: end must be after start"));
    }
    let mut req = QueryRangeRequest {
        query,
        start: r.start,
        end: r.end,
        step: r.step,
        instant: Some(true),
        ..Default::default()
    };
    counts(params, limits, &mut req)?;
    req.exemplars = 0;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn times_in_every_form() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000 * SEC));
        assert_eq!(
            parse_time("1700000000123456789"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500_000_000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z"),
            Some(1_700_000_000 * SEC)
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_prom_duration("1h"), Some(3600 * SEC));
        assert_eq!(parse_prom_duration("2d"), Some(2 * 86_400 * SEC));
        assert_eq!(parse_prom_duration("1d12h"), Some(36 * 3600 * SEC));
        assert_eq!(parse_step("30"), Some(30 * SEC));
        assert_eq!(parse_step("1m"), Some(60 * SEC));
        assert_eq!(parse_step("0"), None);
    }

    #[test]
    fn range_requests_are_aligned_and_bounded() {
        let l = QueryMetricsLimits::default();
        let r = range_request(
            &p(&[
                ("q", "{ } | rate()"),
                ("start", "1000"),
                ("end", "1100"),
                ("step", "60"),
            ]),
            &l,
        )
        .unwrap();
        assert_eq!((r.start, r.end, r.step), (900 * SEC, 1140 * SEC, 60 * SEC));
        assert_eq!(r.exemplars, 100);
        let long = p(&[("q", "{ } | rate()"), ("start", "0"), ("end", "200000")]);
        let e = range_request(&long, &l).unwrap_err().to_string();
        assert!(e.contains("max_duration"), "{e}");
        let many = p(&[
            ("q", "{ } | rate()"),
            ("start", "1000"),
            ("end", "30000"),
            ("step", "1"),
        ]);
        let e = range_request(&many, &l).unwrap_err().to_string();
        assert!(e.contains("max_intervals"), "{e}");
        let e = range_request(&p(&[("q", "{ .a = } | rate()")]), &l)
            .unwrap_err()
            .to_string();
        assert!(e.contains("parse error"), "{e}");
        let r = range_request(
            &p(&[
                ("query", "{ } | rate()"),
                ("since", "15m"),
                ("exemplars", "5000"),
            ]),
            &l,
        )
        .unwrap();
        assert_eq!(r.exemplars, 100);
    }
}
