//! Validation and regrouping of an OTLP export request into one [`TracePush`] per trace ID.
//!
//! Validation is all-or-nothing, as in Tempo: one span with a trace ID that is not 16 bytes, or
//! a span ID that is not 8 non-zero bytes, rejects the whole request before anything is stored.
//! Regrouping keeps each span under a copy of its own resource and scope, so nothing is lost.

use std::collections::HashMap;

use bytes::Bytes;
use prost::Message;
use strata_common::{IdError, SpanId, TraceId};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans};
use strata_proto::roles::TracePush;
use strata_proto::tempopb;

/// Why a request was refused; also the `reason` label of the discarded-spans counter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{0}")]
    TraceId(IdError),
    #[error("{0}")]
    SpanId(IdError),
}

impl Invalid {
    pub fn reason(&self) -> &'static str {
        match self {
            Invalid::TraceId(_) => "invalid_trace_id",
            Invalid::SpanId(_) => "invalid_span_id",
        }
    }
}

/// Counts the spans of a request.
pub fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Checks every span's IDs.
pub fn validate(req: &ExportTraceServiceRequest) -> Result<(), Invalid> {
    for span in req
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
    {
        TraceId::from_slice(&span.trace_id).map_err(Invalid::TraceId)?;
        SpanId::from_slice(&span.span_id).map_err(Invalid::SpanId)?;
    }
    Ok(())
}

#[derive(Default)]
struct Builder {
    resource_spans: Vec<ResourceSpans>,
    cur_resource: Option<usize>,
    cur_scope: Option<usize>,
    spans: u32,
    start: u64,
    end: u64,
}

/// Splits a validated request by trace ID. IDs are re-checked, so an unvalidated request is
/// still refused rather than mis-grouped.
pub fn regroup(req: ExportTraceServiceRequest) -> Result<Vec<TracePush>, Invalid> {
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
            for span in spans {
                let id = TraceId::from_slice(&span.trace_id).map_err(Invalid::TraceId)?;
                SpanId::from_slice(&span.span_id).map_err(Invalid::SpanId)?;
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
    Ok(order
        .into_iter()
        .map(|id| {
            let b = by_trace
                .remove(&id)
                .expect("every ordered id has a builder");
            let payload = tempopb::Trace {
                resource_spans: b.resource_spans,
            }
            .encode_to_vec();
            TracePush {
                trace_id: id,
                span_count: b.spans,
                start_unix_nano: b.start,
                end_unix_nano: b.end,
                payload: Bytes::from(payload),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn request() -> ExportTraceServiceRequest {
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
        let pushes = regroup(request()).unwrap();
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

    #[test]
    fn bad_ids_reject_the_whole_batch() {
        let mut req = request();
        req.resource_spans[1].scope_spans[0].spans[0].trace_id = vec![1; 8];
        let err = validate(&req).unwrap_err();
        assert_eq!(err.reason(), "invalid_trace_id");
        assert_eq!(
            err.to_string(),
            "trace ids must be 128 bit, received 64 bits"
        );
        let mut req = request();
        req.resource_spans[0].scope_spans[0].spans[1].span_id = vec![0; 8];
        assert_eq!(validate(&req).unwrap_err().reason(), "invalid_span_id");
        assert!(regroup(req).is_err());
        assert_eq!(span_count(&request()), 4);
    }
}
