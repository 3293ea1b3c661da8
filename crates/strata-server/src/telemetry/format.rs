//! Log line formats. Both write the same keys in the same order: `ts` (RFC 3339, UTC,
//! milliseconds), `level`, `target`, `msg`, the event's own fields, then `trace_id` and
//! `span_id` when the line was logged inside a traced span ([`super::context`]).
//!
//! * `logfmt`: `key=value`, values quoted (with `\"`, `\\`, `\n` escapes) when they hold a
//!   space, `=`, a quote or a control character, or are empty.
//! * `json`: one object per line; numbers and booleans stay JSON numbers and booleans.

use std::fmt::Write as _;

use serde_json::Value as Json;
use strata_config::LogFormat;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter for `server.log_format`.
pub struct LineFormat {
    format: LogFormat,
}

impl LineFormat {
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }
}

/// An event's fields in order, `message` first as `msg`.
#[derive(Default)]
struct Fields(Vec<(String, Json)>);

impl Fields {
    fn put(&mut self, field: &Field, value: Json) {
        let name = match field.name() {
            "message" => "msg",
            // The line's own keys win; an event field of the same name is kept under another.
            n @ ("ts" | "level" | "target" | "msg" | "trace_id" | "span_id") => {
                self.0.push((format!("field.{n}"), value));
                return;
            }
            n => n.strip_prefix("r#").unwrap_or(n),
        };
        self.0.push((name.to_string(), value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Json::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Json::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(
            field,
            serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number),
        );
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Json::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Json::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Json::from(format!("{value:?}")));
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let msg_at = fields.0.iter().position(|(k, _)| k == "msg");
        let msg = msg_at.map(|i| fields.0.remove(i).1);
        let mut line: Vec<(String, Json)> = vec![
            (
                "ts".into(),
                Json::from(
                    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
                ),
            ),
            (
                "level".into(),
                Json::from(meta.level().as_str().to_ascii_lowercase()),
            ),
            ("target".into(), Json::from(meta.target())),
            ("msg".into(), msg.unwrap_or_else(|| Json::from(""))),
        ];
        line.extend(fields.0);
        if let Some(c) = super::context::current_trace() {
            line.push(("trace_id".into(), Json::from(c.trace_id_hex())));
            line.push(("span_id".into(), Json::from(c.span_id_hex())));
        }
        let text = match self.format {
            LogFormat::Json => json_line(&line),
            LogFormat::Logfmt => logfmt_line(&line),
        };
        writeln!(writer, "{text}")
    }
}

fn json_line(fields: &[(String, Json)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Json::from(k.as_str()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

fn logfmt_line(fields: &[(String, Json)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let value = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(out, "{k}=");
        logfmt_value(&mut out, &value);
    }
    out
}

fn logfmt_value(out: &mut String, value: &str) {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if plain {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Vec<(String, Json)> {
        vec![
            ("level".into(), Json::from("info")),
            ("msg".into(), Json::from("query served")),
            ("status".into(), Json::from(200)),
            ("path".into(), Json::from("a=\"b\"\n")),
            ("empty".into(), Json::from("")),
            (
                "trace_id".into(),
                Json::from("0af7651916cd43dd8448eb211c80319c"),
            ),
        ]
    }

    #[test]
    fn logfmt_quotes_only_what_needs_it() {
        assert_eq!(
            logfmt_line(&line()),
            r#"level=info msg="query served" status=200 path="a=\"b\"\n" empty="" trace_id=0af7651916cd43dd8448eb211c80319c"#
        );
    }

    #[test]
    fn json_keeps_order_and_types() {
        let text = json_line(&line());
        assert_eq!(
            text,
            r#"{"level":"info","msg":"query served","status":200,"path":"a=\"b\"\n","empty":"","trace_id":"0af7651916cd43dd8448eb211c80319c"}"#
        );
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(v["status"], 200);
    }
}
