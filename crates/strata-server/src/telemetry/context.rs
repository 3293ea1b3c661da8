//! Trace context of Strata's own spans: which trace a span belongs to, its ID and parent, and
//! what it recorded, kept in the span's extensions; entering and leaving a traced span updates
//! the context current on this thread (`strata_common::trace_context`, read for log lines and
//! passed on by the internal gRPC client); a finished span is handed to the exporter.

use std::time::SystemTime;

pub use strata_common::trace_context::{current_trace, parse_traceparent, SpanContext};
use strata_common::trace_context::{enter, exit};

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
            enter(c);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(c) = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<Traced>().map(|t| t.ctx))
        {
            exit(c);
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
