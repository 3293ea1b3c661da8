//! The span every Zipkin decoder produces: Zipkin's v2 model, with tag values typed (v2 tags
//! are strings; v1 Thrift binary annotations carry a type). Zipkin v1 spans are first
//! converted to it ([`super::v1`]), as Zipkin's own server does, so one translation
//! ([`super::to_otlp`]) serves every encoding.

use std::net::{Ipv4Addr, Ipv6Addr};

use strata_proto::otlp::common::any_value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Client,
    Server,
    Producer,
    Consumer,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "CLIENT" => Some(Kind::Client),
            "SERVER" => Some(Kind::Server),
            "PRODUCER" => Some(Kind::Producer),
            "CONSUMER" => Some(Kind::Consumer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoint {
    pub service_name: String,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Epoch microseconds.
    pub timestamp: u64,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZipkinSpan {
    /// 64-bit IDs are left-padded.
    pub trace_id: [u8; 16],
    pub id: [u8; 8],
    pub parent_id: Option<[u8; 8]>,
    pub name: String,
    pub kind: Option<Kind>,
    /// Epoch microseconds; `None` when absent.
    pub timestamp: Option<u64>,
    /// Microseconds.
    pub duration: u64,
    pub local_endpoint: Option<Endpoint>,
    pub remote_endpoint: Option<Endpoint>,
    pub annotations: Vec<Annotation>,
    /// In the order received; later duplicates win.
    pub tags: Vec<(String, Value)>,
    pub shared: bool,
}

/// A body that is not a valid list of spans in the encoding it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl DecodeError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
