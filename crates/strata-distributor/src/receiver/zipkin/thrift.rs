//! Zipkin v1 Thrift (`POST /api/v1/spans`, `Content-Type: application/x-thrift`): a binary-
//! protocol `list<zipkincore.Span>` (IDL: `proto/jaeger/thrift/zipkincore.thrift`). Binary
//! annotation values keep their Thrift type: `BOOL` → bool, `I16`/`I32`/`I64` → int,
//! `DOUBLE` → double, `STRING` → string, `BYTES` → bytes.

use std::net::{Ipv4Addr, Ipv6Addr};

use strata_proto::otlp::common::any_value::Value;
use thrift::protocol::{TInputProtocol, TType};

use super::model::{DecodeError, Endpoint};
use super::v1::{V1Annotation, V1BinaryAnnotation, V1Span};
use crate::receiver::thrift::{self as t, read_list, read_struct};

fn endpoint(p: &mut dyn TInputProtocol) -> t::Result<Endpoint> {
    let mut e = Endpoint::default();
    read_struct(p, |p, id, ty| {
        match (id, ty) {
            (1, TType::I32) => {
                let v = p.read_i32()?;
                if v != 0 {
                    e.ipv4 = Some(Ipv4Addr::from(v as u32));
                }
            }
            (2, TType::I16) => e.port = p.read_i16()? as u16,
            (3, TType::String) => e.service_name = p.read_string()?,
            (4, TType::String) => {
                let b = p.read_bytes()?;
                if let Ok(a) = <[u8; 16]>::try_from(b.as_slice()) {
                    e.ipv6 = Some(Ipv6Addr::from(a));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(e)
}

fn annotation(p: &mut dyn TInputProtocol) -> t::Result<V1Annotation> {
    let mut a = V1Annotation {
        timestamp: 0,
        value: String::new(),
        host: None,
    };
    read_struct(p, |p, id, ty| {
        match (id, ty) {
            (1, TType::I64) => a.timestamp = p.read_i64()?.max(0) as u64,
            (2, TType::String) => a.value = p.read_string()?,
            (3, TType::Struct) => a.host = Some(endpoint(p)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(a)
}

/// A binary annotation's bytes as the type it declares.
fn typed(bytes: Vec<u8>, annotation_type: i32) -> Value {
    let int = |n: usize| -> Option<i64> {
        (bytes.len() == n).then(|| {
            bytes
                .iter()
                .fold(0i64, |acc, b| (acc << 8) | i64::from(*b))
                // Sign-extend from n bytes.
                .wrapping_shl(64 - 8 * n as u32)
                .wrapping_shr(64 - 8 * n as u32)
        })
    };
    let typed = match annotation_type {
        0 => bytes.first().map(|b| Value::BoolValue(*b != 0)),
        2 => int(2).map(Value::IntValue),
        3 => int(4).map(Value::IntValue),
        4 => int(8).map(Value::IntValue),
        5 => <[u8; 8]>::try_from(bytes.as_slice())
            .ok()
            .map(|b| Value::DoubleValue(f64::from_be_bytes(b))),
        6 => Some(Value::StringValue(
            String::from_utf8_lossy(&bytes).into_owned(),
        )),
        _ => None,
    };
    typed.unwrap_or(Value::BytesValue(bytes))
}

fn binary_annotation(p: &mut dyn TInputProtocol) -> t::Result<V1BinaryAnnotation> {
    let (mut key, mut value, mut ty, mut host) = (String::new(), Vec::new(), 6, None);
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::String) => key = p.read_string()?,
            (2, TType::String) => value = p.read_bytes()?,
            (3, TType::I32) => ty = p.read_i32()?,
            (4, TType::Struct) => host = Some(endpoint(p)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(V1BinaryAnnotation {
        key,
        value: typed(value, ty),
        host,
    })
}

fn span(p: &mut dyn TInputProtocol) -> t::Result<(V1Span, i64, i64)> {
    let mut s = V1Span {
        trace_id: [0; 16],
        id: [0; 8],
        parent_id: None,
        name: String::new(),
        timestamp: None,
        duration: None,
        annotations: Vec::new(),
        binary_annotations: Vec::new(),
    };
    let (mut low, mut high) = (0i64, 0i64);
    read_struct(p, |p, id, ty| {
        match (id, ty) {
            (1, TType::I64) => low = p.read_i64()?,
            (3, TType::String) => s.name = p.read_string()?,
            (4, TType::I64) => s.id = p.read_i64()?.to_be_bytes(),
            (5, TType::I64) => s.parent_id = Some(p.read_i64()?.to_be_bytes()),
            (6, TType::List) => s.annotations = read_list(p, TType::Struct, annotation)?,
            (8, TType::List) => {
                s.binary_annotations = read_list(p, TType::Struct, binary_annotation)?
            }
            (10, TType::I64) => s.timestamp = u64::try_from(p.read_i64()?).ok().filter(|t| *t > 0),
            (11, TType::I64) => s.duration = Some(p.read_i64()?.max(0) as u64),
            (12, TType::I64) => high = p.read_i64()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok((s, high, low))
}

/// Reads a `list<zipkincore.Span>` (also the argument of the Jaeger agent's
/// `emitZipkinBatch`).
pub(crate) fn read_spans(p: &mut dyn TInputProtocol) -> t::Result<Vec<V1Span>> {
    let spans = read_list(p, TType::Struct, span)?;
    Ok(spans
        .into_iter()
        .map(|(mut s, high, low)| {
            s.trace_id[..8].copy_from_slice(&high.to_be_bytes());
            s.trace_id[8..].copy_from_slice(&low.to_be_bytes());
            if s.parent_id == Some([0; 8]) {
                s.parent_id = None;
            }
            s
        })
        .collect())
}

/// Decodes a v1 Thrift body.
pub fn decode(body: &[u8]) -> Result<Vec<V1Span>, DecodeError> {
    read_spans(&mut t::binary(body))
        .map_err(|e| DecodeError::new(format!("decoding zipkin v1 thrift: {e}")))
}
