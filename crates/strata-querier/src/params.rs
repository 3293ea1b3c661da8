//! Query-string parsing for the search endpoints, with Tempo's rules and messages
//! (contract §2.3–§2.5): Go durations, logfmt tags, unix-second ranges, limits.

use std::collections::BTreeMap;

use strata_proto::tempopb::SearchRequest;

use crate::QueryError;

/// Largest `limit` accepted (Tempo 3's `max_result_limit`).
pub const MAX_LIMIT: u32 = 262_144;
/// Largest `spss`.
pub const MAX_SPSS: u32 = 100;
/// Longest `[start, end]` range (`max_duration`, 168h).
pub const MAX_RANGE_SECS: u64 = 168 * 3600;

const KNOWN: &[&str] = &[
    "q",
    "tags",
    "minDuration",
    "maxDuration",
    "limit",
    "start",
    "end",
    "spss",
];

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::BadRequest(msg.into())
}

fn first<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `/api/search` parameters as a `SearchRequest`.
pub fn search_request(params: &[(String, String)]) -> Result<SearchRequest, QueryError> {
    let mut req = SearchRequest {
        limit: strata_engine::merge::DEFAULT_SEARCH_LIMIT,
        spans_per_span_set: strata_engine::search::DEFAULT_SPSS,
        ..Default::default()
    };
    let q = first(params, "q").filter(|s| !s.is_empty());
    let tags = first(params, "tags").filter(|s| !s.is_empty());
    if q.is_some() && tags.is_some() {
        return Err(bad(
            "invalid request: can't specify tags and q in the same query",
        ));
    }
    if let Some(q) = q {
        if q.len() > strata_traceql::MAX_QUERY_BYTES {
            return Err(bad(format!(
                "query is {} bytes, over the limit of {} bytes",
                q.len(),
                strata_traceql::MAX_QUERY_BYTES
            )));
        }
        req.query = q.to_string();
    }
    if let Some(t) = tags {
        req.tags = logfmt(t)?;
    }
    let (start, end) = range(params)?;
    // Legacy form: with no q, tags or range, unknown parameters are tags.
    if q.is_none() && tags.is_none() && start.is_none() {
        for (k, v) in params {
            if !KNOWN.contains(&k.as_str()) {
                req.tags.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some((s, e)) = start.zip(end) {
        req.start = s;
        req.end = e;
    }
    let min = duration_ms(params, "minDuration")?;
    let max = duration_ms(params, "maxDuration")?;
    if let (Some(min), Some(max)) = (min, max) {
        if max < min {
            return Err(bad("invalid maxDuration: must be greater than minDuration"));
        }
    }
    req.min_duration_ms = min.unwrap_or(0);
    req.max_duration_ms = max.unwrap_or(0);
    if let Some(l) = first(params, "limit") {
        let l: u32 = l
            .trim()
            .parse()
            .map_err(|_| bad(format!("invalid limit: {l}")))?;
        if l == 0 {
            return Err(bad("invalid limit: must be a positive number"));
        }
        if l > MAX_LIMIT {
            return Err(bad(format!(
                "limit {l} exceeds max query limit {MAX_LIMIT}"
            )));
        }
        req.limit = l;
    }
    if let Some(s) = first(params, "spss") {
        let n: i64 = s
            .trim()
            .parse()
            .map_err(|_| bad(format!("invalid spss: {s}")))?;
        if n <= 0 {
            return Err(bad("invalid spss: must be a positive number"));
        }
        if n > i64::from(MAX_SPSS) {
            return Err(bad(format!("spss exceeds the maximum of {MAX_SPSS}")));
        }
        req.spans_per_span_set = n as u32;
    }
    Ok(req)
}

/// `start`/`end` in unix seconds: both or neither, `end > start`, at most 168h apart.
pub fn range(params: &[(String, String)]) -> Result<(Option<u32>, Option<u32>), QueryError> {
    let get = |k: &str| -> Result<Option<u32>, QueryError> {
        match first(params, k).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .map(Some)
                .map_err(|_| bad(format!("invalid {k}: {v}"))),
        }
    };
    let (start, end) = (get("start")?, get("end")?);
    match (start, end) {
        (None, None) => Ok((None, None)),
        (Some(s), Some(e)) => {
            if e <= s {
                return Err(bad("http parameter start must be before end"));
            }
            if u64::from(e - s) > MAX_RANGE_SECS {
                return Err(bad(format!(
                    "range specified by start and end exceeds {}h. received start={s} end={e}",
                    MAX_RANGE_SECS / 3600
                )));
            }
            Ok((Some(s), Some(e)))
        }
        _ => Err(bad("invalid request: both start and end must be given")),
    }
}

fn duration_ms(params: &[(String, String)], key: &str) -> Result<Option<u32>, QueryError> {
    match first(params, key).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let ns = go_duration(v).ok_or_else(|| bad(format!("invalid {key}: {v}")))?;
            Ok(Some(u32::try_from(ns / 1_000_000).unwrap_or(u32::MAX)))
        }
    }
}

/// A Go duration (`300ms`, `1.5h`, `2h45m`, `0`) in nanoseconds. Negative durations are
/// refused.
pub fn go_duration(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() || num == "." {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = tail;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return None;
    }
    Some(total as u64)
}

/// `k=v k2="v 2"`: a duplicate key or a malformed pair is an error.
pub fn logfmt(s: &str) -> Result<BTreeMap<String, String>, QueryError> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if chars.next() != Some('=') || key.is_empty() {
            return Err(bad(format!("invalid tags: malformed pair near {key:?}")));
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    None => return Err(bad("invalid tags: unterminated quoted value")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some(c) => value.push(c),
                        None => return Err(bad("invalid tags: unterminated quoted value")),
                    },
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(bad(format!("invalid tags: duplicate key {key}")));
        }
    }
    Ok(out)
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
    fn go_durations() {
        assert_eq!(go_duration("100ms"), Some(100_000_000));
        assert_eq!(go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(
            go_duration("2h45m"),
            Some((2 * 3600 + 45 * 60) * 1_000_000_000)
        );
        assert_eq!(go_duration("0"), Some(0));
        assert_eq!(go_duration("10"), None);
        assert_eq!(go_duration("-1s"), None);
        assert_eq!(go_duration("1x"), None);
        assert_eq!(go_duration(""), None);
    }

    #[test]
    fn logfmt_tags() {
        let t = logfmt(r#"service.name=api  http.url="/a b" x="q\"uote""#).unwrap();
        assert_eq!(t["service.name"], "api");
        assert_eq!(t["http.url"], "/a b");
        assert_eq!(t["x"], "q\"uote");
        assert!(logfmt("a=1 a=2").is_err());
        assert!(logfmt("novalue").is_err());
        assert!(logfmt(r#"a="open"#).is_err());
    }

    #[test]
    fn search_params_follow_tempo() {
        let r = search_request(&p(&[("q", "{ }"), ("limit", "5"), ("spss", "7")])).unwrap();
        assert_eq!((r.limit, r.spans_per_span_set), (5, 7));
        assert!(search_request(&p(&[("q", "{}"), ("tags", "a=b")])).is_err());
        assert!(search_request(&p(&[("limit", "0")])).is_err());
        assert!(search_request(&p(&[("limit", "300000")])).is_err());
        assert!(search_request(&p(&[("spss", "101")])).is_err());
        assert!(search_request(&p(&[("spss", "0")])).is_err());
        assert!(search_request(&p(&[("start", "10")])).is_err());
        assert!(search_request(&p(&[("start", "10"), ("end", "5")])).is_err());
        assert!(search_request(&p(&[("start", "0"), ("end", "700000")])).is_err());
        assert!(search_request(&p(&[("minDuration", "2s"), ("maxDuration", "1s")])).is_err());
        let r = search_request(&p(&[("service.name", "api"), ("limit", "3")])).unwrap();
        assert_eq!(r.tags["service.name"], "api");
        let r = search_request(&p(&[("minDuration", "1.5s")])).unwrap();
        assert_eq!(r.min_duration_ms, 1500);
    }
}
