//! Zipkin v2 protobuf (`POST /api/v2/spans`, `Content-Type: application/x-protobuf`): a
//! `zipkin.proto3.ListOfSpans`.

use std::net::{Ipv4Addr, Ipv6Addr};

use prost::Message;
use strata_proto::otlp::common::any_value::Value;
use strata_proto::zipkin_proto3 as pb;

use super::model::{Annotation, DecodeError, Endpoint, Kind, ZipkinSpan};
use crate::receiver::otlp_build::pad_id;

fn endpoint(e: pb::Endpoint) -> Endpoint {
    Endpoint {
        service_name: e.service_name,
        ipv4: <[u8; 4]>::try_from(e.ipv4.as_ref())
            .ok()
            .map(Ipv4Addr::from),
        ipv6: <[u8; 16]>::try_from(e.ipv6.as_ref())
            .ok()
            .map(Ipv6Addr::from),
        port: e.port as u16,
    }
}

fn span(s: pb::Span) -> Result<ZipkinSpan, DecodeError> {
    let trace_id = pad_id::<16>(&s.trace_id)
        .ok_or_else(|| DecodeError::new("trace_id longer than 16 bytes"))?;
    let id = pad_id::<8>(&s.id).ok_or_else(|| DecodeError::new("id longer than 8 bytes"))?;
    let parent_id = match s.parent_id.len() {
        0 => None,
        _ => Some(
            pad_id::<8>(&s.parent_id)
                .ok_or_else(|| DecodeError::new("parent_id longer than 8 bytes"))?,
        ),
    };
    let kind = match pb::span::Kind::try_from(s.kind) {
        Ok(pb::span::Kind::Client) => Some(Kind::Client),
        Ok(pb::span::Kind::Server) => Some(Kind::Server),
        Ok(pb::span::Kind::Producer) => Some(Kind::Producer),
        Ok(pb::span::Kind::Consumer) => Some(Kind::Consumer),
        _ => None,
    };
    let mut tags: Vec<(String, Value)> = s
        .tags
        .into_iter()
        .map(|(k, v)| (k, Value::StringValue(v)))
        .collect();
    // A map arrives in no particular order; sort so the same span always gives the same bytes.
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(ZipkinSpan {
        trace_id,
        id,
        parent_id,
        name: s.name,
        kind,
        timestamp: Some(s.timestamp).filter(|t| *t > 0),
        duration: s.duration,
        local_endpoint: s.local_endpoint.map(endpoint),
        remote_endpoint: s.remote_endpoint.map(endpoint),
        annotations: s
            .annotations
            .into_iter()
            .map(|a| Annotation {
                timestamp: a.timestamp,
                value: a.value,
            })
            .collect(),
        tags,
        shared: s.shared,
    })
}

/// Decodes a v2 protobuf body.
pub fn decode(body: &[u8]) -> Result<Vec<ZipkinSpan>, DecodeError> {
    let list = pb::ListOfSpans::decode(body)
        .map_err(|e| DecodeError::new(format!("decoding zipkin protobuf: {e}")))?;
    list.spans.into_iter().map(span).collect()
}
