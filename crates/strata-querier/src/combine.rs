//! Merges the shares of one trace from ingesters and blocks into one `tempopb.Trace`.
//!
//! * Spans with the same (span ID, kind) are kept once: replicas, retries and the overlap
//!   between an ingester's recent blocks and the object store all produce duplicates.
//! * Shares under an identical resource (and schema URL) are merged into one `ResourceSpans`,
//!   and within it shares under an identical scope into one `ScopeSpans`.
//! * With a byte limit, spans past it are left out and the result is marked partial.

use std::collections::{HashMap, HashSet};

use prost::Message;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans};
use strata_proto::tempopb::Trace;

/// The merged trace and whether spans were left out to respect the size limit.
#[derive(Debug, Default)]
pub struct Combined {
    pub trace: Trace,
    pub spans: usize,
    pub partial: bool,
}

/// Combines shares; `max_bytes` of 0 means no limit.
pub fn combine(shares: impl IntoIterator<Item = ResourceSpans>, max_bytes: usize) -> Combined {
    let mut out = Combined::default();
    let mut seen: HashSet<(Vec<u8>, i32)> = HashSet::new();
    let mut resource_index: HashMap<(Vec<u8>, String), usize> = HashMap::new();
    let mut scope_index: HashMap<(usize, Vec<u8>, String), usize> = HashMap::new();
    let mut size = 0usize;
    for rs in shares {
        let rkey = (
            rs.resource
                .as_ref()
                .map(|r| r.encode_to_vec())
                .unwrap_or_default(),
            rs.schema_url.clone(),
        );
        for ss in rs.scope_spans {
            for span in ss.spans {
                if !seen.insert((span.span_id.clone(), span.kind)) {
                    continue;
                }
                let span_size = span.encoded_len();
                if max_bytes > 0 && size + span_size > max_bytes {
                    out.partial = true;
                    continue;
                }
                size += span_size;
                let ri = *resource_index.entry(rkey.clone()).or_insert_with(|| {
                    out.trace.resource_spans.push(ResourceSpans {
                        resource: rs.resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: rs.schema_url.clone(),
                    });
                    out.trace.resource_spans.len() - 1
                });
                let skey = (
                    ri,
                    ss.scope
                        .as_ref()
                        .map(|s| s.encode_to_vec())
                        .unwrap_or_default(),
                    ss.schema_url.clone(),
                );
                let scopes = &mut out.trace.resource_spans[ri].scope_spans;
                let si = *scope_index.entry(skey).or_insert_with(|| {
                    scopes.push(ScopeSpans {
                        scope: ss.scope.clone(),
                        spans: Vec::new(),
                        schema_url: ss.schema_url.clone(),
                    });
                    scopes.len() - 1
                });
                scopes[si].spans.push(span);
                out.spans += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::otlp::common::InstrumentationScope;
    use strata_proto::otlp::resource::Resource;
    use strata_proto::otlp::trace::Span;

    fn share(service: u32, scope: &str, spans: &[(u8, i32)]) -> ResourceSpans {
        ResourceSpans {
            resource: Some(Resource {
                dropped_attributes_count: service,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: scope.into(),
                    ..Default::default()
                }),
                spans: spans
                    .iter()
                    .map(|(id, kind)| Span {
                        span_id: vec![*id; 8],
                        kind: *kind,
                        name: "x".repeat(100),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
    }

    #[test]
    fn dedupes_by_span_id_and_kind_and_merges_resources() {
        let c = combine(
            vec![
                share(1, "a", &[(1, 2), (2, 2)]),
                share(1, "a", &[(2, 2), (3, 2)]),
                share(1, "b", &[(4, 2)]),
                share(2, "a", &[(1, 3)]), // same id, other kind (Zipkin shared span): kept
            ],
            0,
        );
        assert_eq!(c.spans, 5);
        assert!(!c.partial);
        assert_eq!(c.trace.resource_spans.len(), 2);
        assert_eq!(c.trace.resource_spans[0].scope_spans.len(), 2);
        assert_eq!(c.trace.resource_spans[0].scope_spans[0].spans.len(), 3);
    }

    #[test]
    fn size_limit_makes_a_partial_trace() {
        let c = combine(vec![share(1, "a", &[(1, 1), (2, 1), (3, 1)])], 250);
        assert!(c.partial);
        assert_eq!(c.spans, 2);
    }
}
