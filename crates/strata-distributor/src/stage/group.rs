//! Grouping: splits a validated request into one [`TraceSpans`] per trace ID, in order of each
//! trace's first span. Each span stays under a copy of its own resource and scope, so nothing is
//! lost; consecutive spans of a trace under the same resource and scope share one copy. IDs were
//! checked by [`validate`](super::validate) and are not parsed again.

use std::collections::HashMap;

use strata_common::TraceId;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans};
use strata_proto::roles::TraceSpans;
use strata_proto::tempopb;

use super::validate::Validated;

#[derive(Default)]
struct Builder {
    resource_spans: Vec<ResourceSpans>,
    cur_resource: Option<usize>,
    cur_scope: Option<usize>,
    spans: u32,
    start: u64,
    end: u64,
}

/// Splits a validated request by trace ID.
pub fn group(valid: Validated) -> Vec<TraceSpans> {
    let (req, trace_ids) = valid.into_parts();
    let mut ids = trace_ids.into_iter();
    let mut order: Vec<TraceId> = Vec::new();
    let mut by_trace: HashMap<TraceId, Builder> = HashMap::new();
    for (ri, rs) in req.resource_spans.into_iter().enumerate() {
        let ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        } = rs;
        for (si, ss) in scope_spans.into_iter().enumerate() {
            let ScopeSpans {
                scope,
                spans,
                schema_url: scope_schema_url,
            } = ss;
            for (span, id) in spans.into_iter().zip(ids.by_ref()) {
                let b = by_trace.entry(id).or_insert_with(|| {
                    order.push(id);
                    Builder {
                        start: u64::MAX,
                        ..Default::default()
                    }
                });
                if b.cur_resource != Some(ri) {
                    b.resource_spans.push(ResourceSpans {
                        resource: resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: schema_url.clone(),
                    });
                    b.cur_resource = Some(ri);
                    b.cur_scope = None;
                }
                let rs_out = b.resource_spans.last_mut().expect("pushed above");
                if b.cur_scope != Some(si) {
                    rs_out.scope_spans.push(ScopeSpans {
                        scope: scope.clone(),
                        spans: Vec::new(),
                        schema_url: scope_schema_url.clone(),
                    });
                    b.cur_scope = Some(si);
                }
                b.spans += 1;
                b.start = b.start.min(span.start_time_unix_nano);
                b.end = b.end.max(span.end_time_unix_nano);
                rs_out
                    .scope_spans
                    .last_mut()
                    .expect("pushed above")
                    .spans
                    .push(span);
            }
        }
    }
    order
        .into_iter()
        .map(|id| {
            let b = by_trace
                .remove(&id)
                .expect("every ordered id has a builder");
            TraceSpans {
                trace_id: id,
                span_count: b.spans,
                start_unix_nano: b.start,
                end_unix_nano: b.end,
                trace: tempopb::Trace {
                    resource_spans: b.resource_spans,
                },
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stage::validate::validate;
    use prost::Message;
    use strata_proto::otlp::collector::ExportTraceServiceRequest;
    use strata_proto::otlp::common::InstrumentationScope;
    use strata_proto::otlp::resource::Resource;
    use strata_proto::otlp::trace::Span;

    fn span(trace: u8, span: u8, start: u64) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![span; 8],
            name: format!("s{span}"),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 10,
            ..Default::default()
        }
    }

    fn scope(name: &str, spans: Vec<Span>) -> ScopeSpans {
        ScopeSpans {
            scope: Some(InstrumentationScope {
                name: name.into(),
                ..Default::default()
            }),
            spans,
            schema_url: format!("scope-{name}"),
        }
    }

    pub(crate) fn request() -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(Resource {
                        dropped_attributes_count: 1,
                        ..Default::default()
                    }),
                    scope_spans: vec![
                        scope("a", vec![span(1, 1, 100), span(2, 2, 50)]),
                        scope("b", vec![span(1, 3, 10)]),
                    ],
                    schema_url: "r1".into(),
                },
                ResourceSpans {
                    resource: None,
                    scope_spans: vec![scope("c", vec![span(1, 4, 500)])],
                    schema_url: "r2".into(),
                },
            ],
        }
    }

    #[test]
    fn splits_by_trace_keeping_resource_and_scope() {
        let pushes: Vec<_> = group(validate(request()).unwrap())
            .iter()
            .map(TraceSpans::encode)
            .collect();
        assert_eq!(pushes.len(), 2);
        let t1 = &pushes[0];
        assert_eq!(t1.trace_id, TraceId([1; 16]));
        assert_eq!(t1.span_count, 3);
        assert_eq!((t1.start_unix_nano, t1.end_unix_nano), (10, 510));
        let decoded = tempopb::Trace::decode(t1.payload.as_ref()).unwrap();
        assert_eq!(decoded.resource_spans.len(), 2);
        assert_eq!(decoded.resource_spans[0].schema_url, "r1");
        let scopes: Vec<_> = decoded.resource_spans[0]
            .scope_spans
            .iter()
            .map(|s| s.scope.as_ref().unwrap().name.clone())
            .collect();
        assert_eq!(scopes, vec!["a", "b"]);
        assert_eq!(decoded.resource_spans[1].scope_spans[0].spans[0].name, "s4");
        assert_eq!(pushes[1].span_count, 1);
    }
}
