//! Zipkin JSON: v2 (`POST /api/v2/spans`, the default) and v1 (`POST /api/v1/spans`), each a
//! JSON array of spans with hex IDs and microsecond times.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use strata_proto::otlp::common::any_value::Value;

use super::model::{Annotation, DecodeError, Endpoint, Kind, ZipkinSpan};
use super::v1::{V1Annotation, V1BinaryAnnotation, V1Span};
use crate::receiver::otlp_build::hex_id;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonEndpoint {
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    ipv4: Option<String>,
    #[serde(default)]
    ipv6: Option<String>,
    #[serde(default)]
    port: Option<i64>,
}

impl JsonEndpoint {
    fn into_endpoint(self) -> Result<Endpoint, DecodeError> {
        let ipv4 = match self.ipv4.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<Ipv4Addr>()
                    .map_err(|_| DecodeError::new(format!("invalid ipv4 {s:?}")))?,
            ),
            None => None,
        };
        let ipv6 = match self.ipv6.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<Ipv6Addr>()
                    .map_err(|_| DecodeError::new(format!("invalid ipv6 {s:?}")))?,
            ),
            None => None,
        };
        Ok(Endpoint {
            service_name: self.service_name.unwrap_or_default(),
            ipv4,
            ipv6,
            // Zipkin ports are unsigned 16-bit; Thrift-era clients may send them negative.
            port: self.port.map(|p| p as u16).unwrap_or(0),
        })
    }
}

#[derive(Deserialize)]
struct JsonAnnotation {
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(default)]
    value: String,
    #[serde(default)]
    endpoint: Option<JsonEndpoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpanV2 {
    trace_id: String,
    id: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(default)]
    duration: Option<u64>,
    #[serde(default)]
    local_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    remote_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    annotations: Vec<JsonAnnotation>,
    #[serde(default)]
    tags: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    shared: Option<bool>,
}

fn trace_id(s: &str) -> Result<[u8; 16], DecodeError> {
    hex_id::<16>(s).ok_or_else(|| DecodeError::new(format!("invalid trace ID {s:?}")))
}

fn span_id(s: &str) -> Result<[u8; 8], DecodeError> {
    hex_id::<8>(s).ok_or_else(|| DecodeError::new(format!("invalid span ID {s:?}")))
}

fn parent_id(s: Option<&str>) -> Result<Option<[u8; 8]>, DecodeError> {
    s.filter(|s| !s.is_empty()).map(span_id).transpose()
}

/// Zipkin v2 tags are strings; numbers and booleans some clients send are kept as their text.
fn tag_text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Decodes a v2 JSON body.
pub fn decode_v2(body: &[u8]) -> Result<Vec<ZipkinSpan>, DecodeError> {
    let spans: Vec<JsonSpanV2> = serde_json::from_slice(body)
        .map_err(|e| DecodeError::new(format!("decoding zipkin v2 json: {e}")))?;
    spans
        .into_iter()
        .map(|s| {
            Ok(ZipkinSpan {
                trace_id: trace_id(&s.trace_id)?,
                id: span_id(&s.id)?,
                parent_id: parent_id(s.parent_id.as_deref())?,
                name: s.name.unwrap_or_default(),
                kind: s.kind.as_deref().and_then(Kind::parse),
                timestamp: s.timestamp.filter(|t| *t > 0),
                duration: s.duration.unwrap_or(0),
                local_endpoint: s.local_endpoint.map(|e| e.into_endpoint()).transpose()?,
                remote_endpoint: s.remote_endpoint.map(|e| e.into_endpoint()).transpose()?,
                annotations: s
                    .annotations
                    .into_iter()
                    .map(|a| Annotation {
                        timestamp: a.timestamp.unwrap_or(0),
                        value: a.value,
                    })
                    .collect(),
                tags: s
                    .tags
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, Value::StringValue(tag_text(v)?))))
                    .collect(),
                shared: s.shared.unwrap_or(false),
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonBinaryAnnotation {
    key: String,
    value: serde_json::Value,
    #[serde(default)]
    endpoint: Option<JsonEndpoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpanV1 {
    trace_id: String,
    id: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(default)]
    duration: Option<u64>,
    #[serde(default)]
    annotations: Vec<JsonAnnotation>,
    #[serde(default)]
    binary_annotations: Vec<JsonBinaryAnnotation>,
}

/// Decodes a v1 JSON body into v1 spans (converted by [`super::v1`]).
pub fn decode_v1(body: &[u8]) -> Result<Vec<V1Span>, DecodeError> {
    let spans: Vec<JsonSpanV1> = serde_json::from_slice(body)
        .map_err(|e| DecodeError::new(format!("decoding zipkin v1 json: {e}")))?;
    spans
        .into_iter()
        .map(|s| {
            let annotations = s
                .annotations
                .into_iter()
                .map(|a| {
                    Ok(V1Annotation {
                        timestamp: a.timestamp.unwrap_or(0),
                        value: a.value,
                        host: a.endpoint.map(|e| e.into_endpoint()).transpose()?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?;
            let binary_annotations = s
                .binary_annotations
                .into_iter()
                .map(|b| {
                    let value = match b.value {
                        serde_json::Value::String(s) => Value::StringValue(s),
                        serde_json::Value::Bool(v) => Value::BoolValue(v),
                        serde_json::Value::Number(n) => match n.as_i64() {
                            Some(i) => Value::IntValue(i),
                            None => Value::DoubleValue(n.as_f64().unwrap_or_default()),
                        },
                        other => Value::StringValue(other.to_string()),
                    };
                    Ok(V1BinaryAnnotation {
                        key: b.key,
                        value,
                        host: b.endpoint.map(|e| e.into_endpoint()).transpose()?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?;
            Ok(V1Span {
                trace_id: trace_id(&s.trace_id)?,
                id: span_id(&s.id)?,
                parent_id: parent_id(s.parent_id.as_deref())?,
                name: s.name.unwrap_or_default(),
                timestamp: s.timestamp.filter(|t| *t > 0),
                duration: s.duration,
                annotations,
                binary_annotations,
            })
        })
        .collect()
}
