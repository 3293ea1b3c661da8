//! Rendering a [`TraceMatch`] in Tempo's response shape ([`TraceSearchMetadata`]).
//!
//! Format: trace IDs are hex with leading zeros trimmed (as Tempo shows them), span IDs always 16
//! hex characters; a missing root shows [`ROOT_SPAN_NOT_YET_RECEIVED`] as the root service and
//! an empty root name; the duration is in whole milliseconds (saturating); `span_set` is the
//! first of `span_sets`.

use strata_proto::tempopb::{self, TraceSearchMetadata};

use crate::TraceMatch;

/// Tempo's placeholder when the root span is missing.
pub const ROOT_SPAN_NOT_YET_RECEIVED: &str = "<root span not yet received>";

/// A [`TraceMatch`] in Tempo's response shape.
pub fn to_metadata(m: &TraceMatch) -> TraceSearchMetadata {
    into_metadata(m.clone())
}

/// [`to_metadata`], moving the match's strings and attributes instead of copying them.
pub fn into_metadata(m: TraceMatch) -> TraceSearchMetadata {
    let span_sets: Vec<tempopb::SpanSet> = m
        .span_sets
        .into_iter()
        .map(|s| tempopb::SpanSet {
            spans: s
                .spans
                .into_iter()
                .map(|sp| tempopb::SearchSpan {
                    span_id: hex16(&sp.span_id),
                    name: sp.name,
                    start_time_unix_nano: sp.start_time_unix_nano,
                    duration_nanos: sp.duration_nanos,
                    attributes: sp.attributes,
                })
                .collect(),
            matched: s.matched,
            attributes: s.attributes,
        })
        .collect();
    let dur_ns = m.end_time_unix_nano.saturating_sub(m.start_time_unix_nano);
    TraceSearchMetadata {
        trace_id: m.trace_id.to_hex_trimmed(),
        root_service_name: m
            .root_service_name
            .unwrap_or_else(|| ROOT_SPAN_NOT_YET_RECEIVED.to_string()),
        root_trace_name: m.root_span_name.unwrap_or_default(),
        start_time_unix_nano: m.start_time_unix_nano,
        duration_ms: u32::try_from(dur_ns / 1_000_000).unwrap_or(u32::MAX),
        span_set: span_sets.first().cloned(),
        span_sets,
        service_stats: m
            .service_stats
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    tempopb::ServiceStats {
                        span_count: v.span_count,
                        error_count: v.error_count,
                    },
                )
            })
            .collect(),
    }
}

/// Span IDs are always 16 hex characters (shorter IDs are left-padded).
fn hex16(id: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(16.max(id.len() * 2));
    for _ in id.len() * 2..16 {
        s.push('0');
    }
    for b in id {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}
