//! W3C trace context of Strata's own spans (self-tracing): a span's place in its trace, the
//! `traceparent` text form (`00-<32 hex trace ID>-<16 hex span ID>-<2 hex flags>`), and the
//! context current on this thread.
//!
//! The tracing layer in `strata-server::telemetry` calls [`enter`] and [`exit`] as traced spans
//! are entered and left; [`current_trace`] then tells any crate (the internal gRPC client, log
//! formatting) which traced span the running code belongs to, without depending on the layer.

use std::cell::RefCell;

/// A span's place in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

impl SpanContext {
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// This span as the parent in a W3C `traceparent` (sampled flag set).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id_hex(), self.span_id_hex())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`) into (trace ID, parent span
/// ID); `None` when it is not one, or either ID is all zeros.
pub fn parse_traceparent(header: &str) -> Option<([u8; 16], [u8; 8])> {
    let mut parts = header.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let trace: [u8; 16] = decode_hex(trace)?;
    let span: [u8; 8] = decode_hex(span)?;
    (trace != [0; 16] && span != [0; 8]).then_some((trace, span))
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

thread_local! {
    /// Contexts of the traced spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<SpanContext>> = const { RefCell::new(Vec::new()) };
}

/// The trace context of the innermost traced span entered on this thread.
pub fn current_trace() -> Option<SpanContext> {
    ENTERED.with(|e| e.borrow().last().copied())
}

/// A traced span with context `ctx` was entered on this thread.
pub fn enter(ctx: SpanContext) {
    ENTERED.with(|e| e.borrow_mut().push(ctx));
}

/// The traced span with context `ctx` was left on this thread.
pub fn exit(ctx: SpanContext) {
    ENTERED.with(|e| {
        let mut e = e.borrow_mut();
        if let Some(i) = e.iter().rposition(|x| *x == ctx) {
            e.remove(i);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_parses_and_rejects_malformed_headers() {
        let (trace, span) =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(hex(&trace), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&span), "00f067aa0ba902b7");
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_context_round_trips_through_its_traceparent_and_nests_per_thread() {
        let outer = SpanContext {
            trace_id: [7; 16],
            span_id: [1; 8],
        };
        let inner = SpanContext {
            span_id: [2; 8],
            ..outer
        };
        assert_eq!(
            parse_traceparent(&outer.traceparent()),
            Some((outer.trace_id, outer.span_id))
        );
        assert_eq!(current_trace(), None);
        enter(outer);
        enter(inner);
        assert_eq!(current_trace(), Some(inner));
        exit(inner);
        assert_eq!(current_trace(), Some(outer));
        exit(outer);
        assert_eq!(current_trace(), None);
    }
}
