//! Trace context of Strata's own spans: which trace a span belongs to, its ID and parent, and
//! what it recorded, kept in the span's extensions; the context current on this thread for
//! log lines; a finished span handed to the exporter.

use std::cell::RefCell;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::export::{FinishedSpan, SpanSink, Value};

/// The span field that makes a span the root of a trace; its value is the request's W3C
/// `traceparent` header, or empty (a new trace).
pub const TRACEPARENT: &str = "traceparent";

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

/// What a traced span carries until it closes.
struct Traced {
    ctx: SpanContext,
    parent: Option<[u8; 8]>,
    name: String,
    kind_server: bool,
    start: SystemTime,
    attributes: Vec<(&'static str, Value)>,
    error: Option<String>,
}

/// Records fields: the root's `traceparent`, `otel.*` controls, the rest as attributes.
#[derive(Default)]
struct Fields {
    traceparent: Option<String>,
    name: Option<String>,
    kind_server: bool,
    error: Option<String>,
    attributes: Vec<(&'static str, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        match (field.name(), &value) {
            (TRACEPARENT, Value::Str(s)) => self.traceparent = Some(s.clone()),
            ("otel.name", Value::Str(s)) => self.name = Some(s.clone()),
            ("otel.kind", Value::Str(s)) => self.kind_server = s == "server",
            ("otel.status_code", Value::Str(s)) if s.eq_ignore_ascii_case("error") => {
                self.error.get_or_insert_with(String::new);
            }
            ("error", _) => self.error = Some(value.to_string()),
            (name, _) if name.starts_with("otel.") => {}
            (name, _) => {
                self.attributes.retain(|(k, _)| *k != name);
                self.attributes.push((name, value));
            }
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Str(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::I64(i64::try_from(value).unwrap_or(i64::MAX)));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::Str(format!("{value:?}")));
    }
}

thread_local! {
    /// Contexts of the traced spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<SpanContext>> = const { RefCell::new(Vec::new()) };
}

/// The trace context of the innermost traced span entered on this thread.
pub fn current_trace() -> Option<SpanContext> {
    ENTERED.with(|e| e.borrow().last().copied())
}

/// The layer that gives spans their trace context and hands finished ones to `sink`.
pub struct ContextLayer {
    sink: Option<SpanSink>,
}

impl ContextLayer {
    pub fn new(sink: Option<SpanSink>) -> Self {
        Self { sink }
    }
}

impl<S> Layer<S> for ContextLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<Traced>().map(|t| t.ctx));
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let (trace_id, parent_id) = match (parent, &fields.traceparent) {
            (Some(p), _) => (p.trace_id, Some(p.span_id)),
            (None, Some(header)) => match parse_traceparent(header) {
                Some((trace, span)) => (trace, Some(span)),
                None => (rand::random::<u128>().max(1).to_be_bytes(), None),
            },
            (None, None) => return,
        };
        let traced = Traced {
            ctx: SpanContext {
                trace_id,
                span_id: rand::random::<u64>().max(1).to_be_bytes(),
            },
            parent: parent_id,
            name: fields.name.unwrap_or_else(|| span.name().to_string()),
            kind_server: fields.kind_server,
            start: SystemTime::now(),
            attributes: fields.attributes,
            error: fields.error,
        };
        span.extensions_mut().insert(traced);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(traced) = ext.get_mut::<Traced>() else {
            return;
        };
        let mut fields = Fields {
            attributes: std::mem::take(&mut traced.attributes),
            error: traced.error.take(),
            ..Fields::default()
        };
        values.record(&mut fields);
        traced.attributes = fields.attributes;
        traced.error = fields.error;
        if let Some(name) = fields.name {
            traced.name = name;
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(c) = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<Traced>().map(|t| t.ctx))
        {
            ENTERED.with(|e| e.borrow_mut().push(c));
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(c) = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<Traced>().map(|t| t.ctx))
        {
            ENTERED.with(|e| {
                let mut e = e.borrow_mut();
                if let Some(i) = e.iter().rposition(|x| *x == c) {
                    e.remove(i);
                }
            });
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(sink) = &self.sink else { return };
        let Some(span) = ctx.span(&id) else { return };
        let Some(t) = span.extensions_mut().remove::<Traced>() else {
            return;
        };
        sink.push(FinishedSpan {
            trace_id: t.ctx.trace_id,
            span_id: t.ctx.span_id,
            parent_span_id: t.parent,
            name: t.name,
            server: t.kind_server,
            start: t.start,
            end: SystemTime::now(),
            attributes: t.attributes,
            error: t.error,
        });
    }
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
}
