//! Validation: the one place span IDs are checked.
//!
//! All-or-nothing, as in Tempo: one span with a trace ID that is not 16 bytes, or a span ID that
//! is not 8 non-zero bytes, refuses the whole request before anything is stored. The parsed
//! trace IDs are kept, one per span in request order (resource, scope, span), so that no later
//! stage parses or checks them again: [`Validated`] can only be made here, and later stages may
//! change attribute values but never add, remove or reorder spans.

use strata_common::{IdError, SpanId, TraceId};
use strata_proto::otlp::collector::ExportTraceServiceRequest;

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

/// A request whose every span has valid IDs, with those trace IDs parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    req: ExportTraceServiceRequest,
    trace_ids: Vec<TraceId>,
}

impl Validated {
    /// The number of spans.
    pub fn span_count(&self) -> usize {
        self.trace_ids.len()
    }

    /// The request, for stages that change attribute values only (see the module docs).
    pub(crate) fn request_mut(&mut self) -> &mut ExportTraceServiceRequest {
        &mut self.req
    }

    /// The request and the trace ID of each of its spans, in request order.
    pub(crate) fn into_parts(self) -> (ExportTraceServiceRequest, Vec<TraceId>) {
        (self.req, self.trace_ids)
    }
}

/// Counts the spans of a request (before validation).
pub fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Checks every span's IDs.
pub fn validate(req: ExportTraceServiceRequest) -> Result<Validated, Invalid> {
    let mut trace_ids = Vec::with_capacity(span_count(&req));
    for span in req
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
    {
        trace_ids.push(TraceId::from_slice(&span.trace_id).map_err(Invalid::TraceId)?);
        SpanId::from_slice(&span.span_id).map_err(Invalid::SpanId)?;
    }
    Ok(Validated { req, trace_ids })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::group::tests::request;

    #[test]
    fn bad_ids_reject_the_whole_batch() {
        let mut req = request();
        req.resource_spans[1].scope_spans[0].spans[0].trace_id = vec![1; 8];
        let err = validate(req).unwrap_err();
        assert_eq!(err.reason(), "invalid_trace_id");
        assert_eq!(
            err.to_string(),
            "trace ids must be 128 bit, received 64 bits"
        );
        let mut req = request();
        req.resource_spans[0].scope_spans[0].spans[1].span_id = vec![0; 8];
        assert_eq!(validate(req).unwrap_err().reason(), "invalid_span_id");
        assert_eq!(span_count(&request()), 4);
    }

    #[test]
    fn keeps_each_span_trace_id_in_request_order() {
        let v = validate(request()).unwrap();
        assert_eq!(v.span_count(), 4);
        let (_, ids) = v.into_parts();
        let firsts: Vec<u8> = ids.iter().map(|id| id.as_bytes()[0]).collect();
        assert_eq!(firsts, vec![1, 2, 1, 1]);
    }
}
