//! OTLP/JSON request decoding (`POST /v1/traces` with `Content-Type: application/json`).
//!
//! Implements the "JSON Protobuf Encoding" of the OTLP specification by walking a parsed
//! [`serde_json::Value`] and building the prost types directly:
//!
//! * keys are lowerCamelCase; the original snake_case proto names are accepted too;
//! * `traceId` / `spanId` / `parentSpanId` (and link IDs) are hex strings — case-insensitive,
//!   `""` means empty bytes. Invalid hex is an error; the *length* is not checked here (the
//!   distributor rejects wrong-length IDs with Tempo's own message);
//! * enums are integers, or their proto names (`"SPAN_KIND_SERVER"`);
//! * integers of any width are JSON numbers or strings holding numbers;
//! * doubles are numbers or the strings `"NaN"`, `"Infinity"`, `"-Infinity"`;
//! * `bytesValue` is base64 (standard or URL-safe alphabet, padding optional);
//! * `null` means "field not set"; unknown fields are ignored;
//! * the pre-1.0 names `instrumentationLibrarySpans` / `instrumentationLibrary` are read as
//!   `scopeSpans` / `scope` when the new names are absent.
//!
//! The `with-serde` derives of `opentelemetry-proto` are not used: they silently drop
//! snake_case keys, reject enum names, 32-bit integers given as strings, `null` values and
//! `"NaN"` doubles.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::otlp::collector::ExportTraceServiceRequest;
use crate::otlp::common::{any_value, AnyValue, ArrayValue, EntityRef, InstrumentationScope};
use crate::otlp::common::{KeyValue, KeyValueList};
use crate::otlp::resource::Resource;
use crate::otlp::trace::span::{Event, Link, SpanKind};
use crate::otlp::trace::status::StatusCode;
use crate::otlp::trace::{ResourceSpans, ScopeSpans, Span, Status};

#[cfg(test)]
mod tests;

/// Why an OTLP/JSON body could not be decoded. Either way the request is malformed (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum OtlpJsonError {
    /// The body is not well-formed JSON (the message carries serde's line and column).
    #[error("invalid OTLP/JSON request body: {0}")]
    Syntax(#[from] serde_json::Error),
    /// The body is JSON but a field has a value OTLP does not allow there.
    #[error("invalid OTLP/JSON request body: {path}: {message}")]
    Invalid {
        /// Where the bad value is, e.g. `resourceSpans[0].scopeSpans[1].spans[2].traceId`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Decodes an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode_export_request(body: &[u8]) -> Result<ExportTraceServiceRequest, OtlpJsonError> {
    let root: Value = serde_json::from_slice(body)?;
    let at = Path::Root;
    let obj = object(&root, &at)?;
    Ok(ExportTraceServiceRequest {
        resource_spans: list(obj, "resourceSpans", "resource_spans", &at, resource_spans)?,
    })
}

/// A location in the document, built on the stack and only rendered for error messages.
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Field(parent, name) => {
                parent.render(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Path::Index(parent, i) => {
                parent.render(out);
                out.push_str(&format!("[{i}]"));
            }
        }
    }

    fn error(&self, message: impl Into<String>) -> OtlpJsonError {
        let mut path = String::new();
        self.render(&mut path);
        if path.is_empty() {
            path.push_str("(root)");
        }
        OtlpJsonError::Invalid {
            path,
            message: message.into(),
        }
    }
}

type Obj = Map<String, Value>;

/// The value of a field under its JSON (camelCase) or proto (snake_case) name, with its
/// path; `None` when absent or `null`.
fn field<'v, 'p>(
    obj: &'v Obj,
    camel: &'p str,
    snake: &'p str,
    at: &'p Path<'p>,
) -> Option<(&'v Value, Path<'p>)> {
    [camel, snake]
        .into_iter()
        .find_map(|name| match obj.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some((v, Path::Field(at, name))),
        })
}

fn object<'v>(v: &'v Value, at: &Path<'_>) -> Result<&'v Obj, OtlpJsonError> {
    v.as_object()
        .ok_or_else(|| at.error(format!("expected an object, found {}", kind_of(v))))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn list<T>(
    obj: &Obj,
    camel: &str,
    snake: &str,
    at: &Path<'_>,
    decode: fn(&Obj, &Path<'_>) -> Result<T, OtlpJsonError>,
) -> Result<Vec<T>, OtlpJsonError> {
    let Some((v, at)) = field(obj, camel, snake, at) else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| at.error(format!("expected an array, found {}", kind_of(v))))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = Path::Index(&at, i);
            decode(object(item, &at)?, &at)
        })
        .collect()
}

fn message<T>(
    obj: &Obj,
    camel: &str,
    snake: &str,
    at: &Path<'_>,
    decode: fn(&Obj, &Path<'_>) -> Result<T, OtlpJsonError>,
) -> Result<Option<T>, OtlpJsonError> {
    match field(obj, camel, snake, at) {
        None => Ok(None),
        Some((v, at)) => decode(object(v, &at)?, &at).map(Some),
    }
}

fn string(obj: &Obj, camel: &str, snake: &str, at: &Path<'_>) -> Result<String, OtlpJsonError> {
    match field(obj, camel, snake, at) {
        None => Ok(String::new()),
        Some((Value::String(s), _)) => Ok(s.clone()),
        Some((v, at)) => Err(at.error(format!("expected a string, found {}", kind_of(v)))),
    }
}

fn strings(
    obj: &Obj,
    camel: &str,
    snake: &str,
    at: &Path<'_>,
) -> Result<Vec<String>, OtlpJsonError> {
    let Some((v, at)) = field(obj, camel, snake, at) else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| at.error(format!("expected an array, found {}", kind_of(v))))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => {
                Err(Path::Index(&at, i)
                    .error(format!("expected a string, found {}", kind_of(other))))
            }
        })
        .collect()
}

/// An integer given as a JSON number or a string. Integral floats (`1e3`, `"5.0"`) are
/// accepted, as protobuf's JSON mapping allows.
fn integer(v: &Value, at: &Path<'_>) -> Result<i128, OtlpJsonError> {
    let bad = || at.error(format!("expected an integer, found {v}"));
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else {
                n.as_f64().and_then(integral_float).ok_or_else(bad)
            }
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i128>() {
                Ok(i)
            } else {
                s.parse::<f64>()
                    .ok()
                    .and_then(integral_float)
                    .ok_or_else(bad)
            }
        }
        _ => Err(bad()),
    }
}

fn integral_float(f: f64) -> Option<i128> {
    // Every finite integral double below 2^64 in magnitude fits an i128 exactly.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < LIMIT).then_some(f as i128)
}

fn int_value<T: TryFrom<i128>>(v: &Value, at: &Path<'_>) -> Result<T, OtlpJsonError> {
    let i = integer(v, at)?;
    T::try_from(i).map_err(|_| {
        at.error(format!(
            "{i} is out of range for {}",
            std::any::type_name::<T>()
        ))
    })
}

fn int_field<T: TryFrom<i128> + Default>(
    obj: &Obj,
    camel: &str,
    snake: &str,
    at: &Path<'_>,
) -> Result<T, OtlpJsonError> {
    match field(obj, camel, snake, at) {
        None => Ok(T::default()),
        Some((v, at)) => int_value(v, &at),
    }
}

/// An enum given as its number (or a string holding it) or as its proto name.
fn enum_field(
    obj: &Obj,
    camel: &str,
    snake: &str,
    at: &Path<'_>,
    by_name: fn(&str) -> Option<i32>,
) -> Result<i32, OtlpJsonError> {
    let Some((v, at)) = field(obj, camel, snake, at) else {
        return Ok(0);
    };
    if let Value::String(s) = v {
        if let Some(n) = by_name(s) {
            return Ok(n);
        }
        if s.trim().parse::<i128>().is_err() {
            return Err(at.error(format!("unknown enum value {s:?}")));
        }
    }
    let i = integer(v, &at)?;
    i32::try_from(i).map_err(|_| at.error(format!("{i} is out of range for an enum")))
}

/// A trace or span ID in hex. Any even number of hex digits is accepted; `""` is empty.
fn hex_id(obj: &Obj, camel: &str, snake: &str, at: &Path<'_>) -> Result<Vec<u8>, OtlpJsonError> {
    match field(obj, camel, snake, at) {
        None => Ok(Vec::new()),
        Some((Value::String(s), at)) => {
            hex::decode(s).map_err(|e| at.error(format!("invalid hex ID {s:?}: {e}")))
        }
        Some((v, at)) => Err(at.error(format!("expected a hex string, found {}", kind_of(v)))),
    }
}

const BASE64_CONFIG: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64_STANDARD: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, BASE64_CONFIG);
const BASE64_URL_SAFE: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::URL_SAFE, BASE64_CONFIG);

fn base64_bytes(v: &Value, at: &Path<'_>) -> Result<Vec<u8>, OtlpJsonError> {
    let Value::String(s) = v else {
        return Err(at.error(format!("expected a base64 string, found {}", kind_of(v))));
    };
    BASE64_STANDARD
        .decode(s)
        .or_else(|_| BASE64_URL_SAFE.decode(s))
        .map_err(|e| at.error(format!("invalid base64: {e}")))
}

fn double(v: &Value, at: &Path<'_>) -> Result<f64, OtlpJsonError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| at.error("invalid number")),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| at.error(format!("expected a double, found {other:?}"))),
        },
        other => Err(at.error(format!("expected a double, found {}", kind_of(other)))),
    }
}

fn resource_spans(obj: &Obj, at: &Path<'_>) -> Result<ResourceSpans, OtlpJsonError> {
    let mut scopes = list(obj, "scopeSpans", "scope_spans", at, scope_spans)?;
    if scopes.is_empty() {
        scopes = list(
            obj,
            "instrumentationLibrarySpans",
            "instrumentation_library_spans",
            at,
            scope_spans,
        )?;
    }
    Ok(ResourceSpans {
        resource: message(obj, "resource", "resource", at, resource)?,
        scope_spans: scopes,
        schema_url: string(obj, "schemaUrl", "schema_url", at)?,
    })
}

fn resource(obj: &Obj, at: &Path<'_>) -> Result<Resource, OtlpJsonError> {
    Ok(Resource {
        attributes: list(obj, "attributes", "attributes", at, key_value)?,
        dropped_attributes_count: int_field(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            at,
        )?,
        entity_refs: list(obj, "entityRefs", "entity_refs", at, entity_ref)?,
    })
}

fn entity_ref(obj: &Obj, at: &Path<'_>) -> Result<EntityRef, OtlpJsonError> {
    Ok(EntityRef {
        schema_url: string(obj, "schemaUrl", "schema_url", at)?,
        r#type: string(obj, "type", "type", at)?,
        id_keys: strings(obj, "idKeys", "id_keys", at)?,
        description_keys: strings(obj, "descriptionKeys", "description_keys", at)?,
    })
}

fn scope_spans(obj: &Obj, at: &Path<'_>) -> Result<ScopeSpans, OtlpJsonError> {
    let mut scope = message(obj, "scope", "scope", at, scope)?;
    if scope.is_none() {
        scope = message(
            obj,
            "instrumentationLibrary",
            "instrumentation_library",
            at,
            self::scope,
        )?;
    }
    Ok(ScopeSpans {
        scope,
        spans: list(obj, "spans", "spans", at, span)?,
        schema_url: string(obj, "schemaUrl", "schema_url", at)?,
    })
}

fn scope(obj: &Obj, at: &Path<'_>) -> Result<InstrumentationScope, OtlpJsonError> {
    Ok(InstrumentationScope {
        name: string(obj, "name", "name", at)?,
        version: string(obj, "version", "version", at)?,
        attributes: list(obj, "attributes", "attributes", at, key_value)?,
        dropped_attributes_count: int_field(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            at,
        )?,
    })
}

fn span_kind_by_name(name: &str) -> Option<i32> {
    SpanKind::from_str_name(name).map(|k| k as i32)
}

fn status_code_by_name(name: &str) -> Option<i32> {
    StatusCode::from_str_name(name).map(|c| c as i32)
}

fn span(obj: &Obj, at: &Path<'_>) -> Result<Span, OtlpJsonError> {
    Ok(Span {
        trace_id: hex_id(obj, "traceId", "trace_id", at)?,
        span_id: hex_id(obj, "spanId", "span_id", at)?,
        trace_state: string(obj, "traceState", "trace_state", at)?,
        parent_span_id: hex_id(obj, "parentSpanId", "parent_span_id", at)?,
        flags: int_field(obj, "flags", "flags", at)?,
        name: string(obj, "name", "name", at)?,
        kind: enum_field(obj, "kind", "kind", at, span_kind_by_name)?,
        start_time_unix_nano: int_field(obj, "startTimeUnixNano", "start_time_unix_nano", at)?,
        end_time_unix_nano: int_field(obj, "endTimeUnixNano", "end_time_unix_nano", at)?,
        attributes: list(obj, "attributes", "attributes", at, key_value)?,
        dropped_attributes_count: int_field(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            at,
        )?,
        events: list(obj, "events", "events", at, event)?,
        dropped_events_count: int_field(obj, "droppedEventsCount", "dropped_events_count", at)?,
        links: list(obj, "links", "links", at, link)?,
        dropped_links_count: int_field(obj, "droppedLinksCount", "dropped_links_count", at)?,
        status: message(obj, "status", "status", at, status)?,
    })
}

fn event(obj: &Obj, at: &Path<'_>) -> Result<Event, OtlpJsonError> {
    Ok(Event {
        time_unix_nano: int_field(obj, "timeUnixNano", "time_unix_nano", at)?,
        name: string(obj, "name", "name", at)?,
        attributes: list(obj, "attributes", "attributes", at, key_value)?,
        dropped_attributes_count: int_field(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            at,
        )?,
    })
}

fn link(obj: &Obj, at: &Path<'_>) -> Result<Link, OtlpJsonError> {
    Ok(Link {
        trace_id: hex_id(obj, "traceId", "trace_id", at)?,
        span_id: hex_id(obj, "spanId", "span_id", at)?,
        trace_state: string(obj, "traceState", "trace_state", at)?,
        attributes: list(obj, "attributes", "attributes", at, key_value)?,
        dropped_attributes_count: int_field(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            at,
        )?,
        flags: int_field(obj, "flags", "flags", at)?,
    })
}

fn status(obj: &Obj, at: &Path<'_>) -> Result<Status, OtlpJsonError> {
    Ok(Status {
        message: string(obj, "message", "message", at)?,
        code: enum_field(obj, "code", "code", at, status_code_by_name)?,
    })
}

fn key_value(obj: &Obj, at: &Path<'_>) -> Result<KeyValue, OtlpJsonError> {
    Ok(KeyValue {
        key: string(obj, "key", "key", at)?,
        value: message(obj, "value", "value", at, any_value)?,
        key_strindex: 0,
    })
}

fn array_value(obj: &Obj, at: &Path<'_>) -> Result<ArrayValue, OtlpJsonError> {
    Ok(ArrayValue {
        values: list(obj, "values", "values", at, any_value)?,
    })
}

fn kvlist_value(obj: &Obj, at: &Path<'_>) -> Result<KeyValueList, OtlpJsonError> {
    Ok(KeyValueList {
        values: list(obj, "values", "values", at, key_value)?,
    })
}

/// An `AnyValue`. An object with none of the known members is an empty value.
fn any_value(obj: &Obj, at: &Path<'_>) -> Result<AnyValue, OtlpJsonError> {
    use any_value::Value as V;
    let value = if let Some((v, at)) = field(obj, "stringValue", "string_value", at) {
        match v {
            Value::String(s) => V::StringValue(s.clone()),
            other => return Err(at.error(format!("expected a string, found {}", kind_of(other)))),
        }
    } else if let Some((v, at)) = field(obj, "boolValue", "bool_value", at) {
        match v {
            Value::Bool(b) => V::BoolValue(*b),
            other => return Err(at.error(format!("expected a boolean, found {}", kind_of(other)))),
        }
    } else if let Some((v, at)) = field(obj, "intValue", "int_value", at) {
        V::IntValue(int_value(v, &at)?)
    } else if let Some((v, at)) = field(obj, "doubleValue", "double_value", at) {
        V::DoubleValue(double(v, &at)?)
    } else if let Some(array) = message(obj, "arrayValue", "array_value", at, array_value)? {
        V::ArrayValue(array)
    } else if let Some(kvlist) = message(obj, "kvlistValue", "kvlist_value", at, kvlist_value)? {
        V::KvlistValue(kvlist)
    } else if let Some((v, at)) = field(obj, "bytesValue", "bytes_value", at) {
        V::BytesValue(base64_bytes(v, &at)?)
    } else {
        return Ok(AnyValue { value: None });
    };
    Ok(AnyValue { value: Some(value) })
}
