//! Merging answers of several sources into one: the one place that decides how search
//! results, tag names and tag values of replicas, ingesters and blocks combine. Used by the
//! querier for its ingester fan-out (every replica answers for the same data) and for
//! combining the ingesters' answer with the blocks'.
//!
//! * search: per trace ID with [`SearchAccumulator`] (one entry per trace however many
//!   sources hold it), the newest `limit` traces, metrics summed;
//! * tag names: per scope (scopes in first-seen order), names deduplicated and sorted, at most
//!   `max_tags_per_scope` per scope when it is not 0;
//! * tag values: deduplicated by (type, value), sorted, at most `max_tag_values` when it is
//!   not 0;
//! * `inspected_bytes` of tag answers is summed.
//!
//! A search `limit` of 0 means [`DEFAULT_SEARCH_LIMIT`] ([`search_limit`]), everywhere.

use std::collections::{BTreeSet, HashMap};

use strata_proto::tempopb::{
    MetadataMetrics, SearchResponse, SearchTagValuesV2Response, SearchTagsV2Response,
    SearchTagsV2Scope,
};

use crate::search::SearchAccumulator;

/// Tempo's default search limit: traces answered when a request does not say.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;

/// The number of traces a search with `limit` answers: `limit`, or [`DEFAULT_SEARCH_LIMIT`]
/// when it is 0.
pub fn search_limit(limit: u32) -> usize {
    match limit {
        0 => DEFAULT_SEARCH_LIMIT as usize,
        n => n as usize,
    }
}

/// `0` (no limit) as `usize::MAX`.
fn cap(limit: u32) -> usize {
    match limit {
        0 => usize::MAX,
        n => n as usize,
    }
}

/// Search answers merged per trace ID, cut to the newest `limit` traces (see
/// [`search_limit`]), metrics summed.
pub fn merge_search(
    parts: impl IntoIterator<Item = SearchResponse>,
    limit: usize,
) -> SearchResponse {
    let mut acc = SearchAccumulator::new();
    for p in parts {
        acc.add_response(p);
    }
    acc.finish(limit)
}

/// Tag-name answers merged per scope (first-seen order), each scope's names deduplicated,
/// sorted and cut to `max_tags_per_scope` (0: no limit).
pub fn merge_tag_names(
    parts: impl IntoIterator<Item = SearchTagsV2Response>,
    max_tags_per_scope: u32,
) -> SearchTagsV2Response {
    let mut order: Vec<String> = Vec::new();
    let mut names: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut inspected = 0;
    for p in parts {
        inspected += p.metrics.map_or(0, |m| m.inspected_bytes);
        for s in p.scopes {
            if !names.contains_key(&s.name) {
                order.push(s.name.clone());
            }
            names.entry(s.name).or_default().extend(s.tags);
        }
    }
    let scopes = order
        .into_iter()
        .map(|name| {
            let tags = names
                .remove(&name)
                .unwrap_or_default()
                .into_iter()
                .take(cap(max_tags_per_scope))
                .collect();
            SearchTagsV2Scope { name, tags }
        })
        .collect();
    SearchTagsV2Response {
        scopes,
        metrics: Some(MetadataMetrics {
            inspected_bytes: inspected,
        }),
    }
}

/// Tag-value answers merged: values deduplicated by (type, value), sorted, cut to
/// `max_tag_values` (0: no limit).
pub fn merge_tag_values(
    parts: impl IntoIterator<Item = SearchTagValuesV2Response>,
    max_tag_values: u32,
) -> SearchTagValuesV2Response {
    let mut values = BTreeSet::new();
    let mut inspected = 0;
    for p in parts {
        inspected += p.metrics.map_or(0, |m| m.inspected_bytes);
        values.extend(p.tag_values);
    }
    SearchTagValuesV2Response {
        tag_values: values.into_iter().take(cap(max_tag_values)).collect(),
        metrics: Some(MetadataMetrics {
            inspected_bytes: inspected,
        }),
    }
}

#[cfg(test)]
mod tests {
    use strata_proto::tempopb::{SearchMetrics, TagValue, TraceSearchMetadata};

    use super::*;

    fn trace(id: &str, start: u64) -> TraceSearchMetadata {
        TraceSearchMetadata {
            trace_id: id.into(),
            start_time_unix_nano: start,
            ..Default::default()
        }
    }

    fn metrics(bytes: u64) -> Option<MetadataMetrics> {
        Some(MetadataMetrics {
            inspected_bytes: bytes,
        })
    }

    #[test]
    fn search_limit_defaults_to_20() {
        assert_eq!(search_limit(0), 20);
        assert_eq!(search_limit(3), 3);
    }

    #[test]
    fn search_merges_replicas_and_keeps_the_newest() {
        let part = |ids: &[(&str, u64)]| SearchResponse {
            traces: ids.iter().map(|(id, s)| trace(id, *s)).collect(),
            metrics: Some(SearchMetrics {
                inspected_bytes: 10,
                ..Default::default()
            }),
        };
        let got = merge_search(
            [
                part(&[("a", 1), ("b", 2)]),
                part(&[("b", 2), ("c", 3)]),
                part(&[("a", 1)]),
            ],
            2,
        );
        let ids: Vec<&str> = got.traces.iter().map(|t| t.trace_id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        assert_eq!(got.metrics.unwrap().inspected_bytes, 30);
    }

    #[test]
    fn tag_names_merge_per_scope_in_first_seen_order() {
        let scope = |name: &str, tags: &[&str]| SearchTagsV2Scope {
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        };
        let got = merge_tag_names(
            [
                SearchTagsV2Response {
                    scopes: vec![scope("span", &["z", "a"]), scope("resource", &["x"])],
                    metrics: metrics(5),
                },
                SearchTagsV2Response {
                    scopes: vec![scope("resource", &["x", "b", "c"]), scope("event", &[])],
                    metrics: None,
                },
            ],
            2,
        );
        assert_eq!(
            got.scopes,
            [
                scope("span", &["a", "z"]),
                scope("resource", &["b", "c"]),
                scope("event", &[])
            ]
        );
        assert_eq!(got.metrics, metrics(5));
        let all = merge_tag_names(
            [SearchTagsV2Response {
                scopes: vec![scope("span", &["b", "a", "c"])],
                metrics: None,
            }],
            0,
        );
        assert_eq!(all.scopes, [scope("span", &["a", "b", "c"])]);
        assert_eq!(all.metrics, metrics(0));
    }

    #[test]
    fn tag_values_deduplicate_by_type_and_value() {
        let v = |t: &str, v: &str| TagValue {
            r#type: t.into(),
            value: v.into(),
        };
        let got = merge_tag_values(
            [
                SearchTagValuesV2Response {
                    tag_values: vec![v("string", "b"), v("int", "1")],
                    metrics: metrics(1),
                },
                SearchTagValuesV2Response {
                    tag_values: vec![v("string", "b"), v("string", "1"), v("string", "a")],
                    metrics: metrics(2),
                },
            ],
            0,
        );
        assert_eq!(got.tag_values.len(), 4);
        assert!(got.tag_values.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(got.metrics, metrics(3));
        let cut = merge_tag_values(
            [SearchTagValuesV2Response {
                tag_values: vec![v("string", "b"), v("string", "a")],
                metrics: None,
            }],
            1,
        );
        assert_eq!(cut.tag_values, [v("string", "a")]);
    }
}
