//! Jaeger Thrift (IDL: `proto/jaeger/thrift/jaeger.thrift`, `agent.thrift`): a `Batch`
//! struct (the body of `POST /api/traces`, binary protocol), and the agent's one-way
//! `emitBatch` message (UDP datagrams, compact or binary protocol). Tag values keep their
//! Thrift types.

use strata_proto::otlp::common::any_value::Value;
use thrift::protocol::{TInputProtocol, TMessageType, TType};

use super::model::{micros_to_nanos, trace_id, Batch, JaegerSpan, Log, Process, RefType, SpanRef};
use crate::receiver::thrift::{self as t, read_list, read_struct};

fn tag(p: &mut dyn TInputProtocol) -> t::Result<(String, Value)> {
    let (mut key, mut ty) = (String::new(), 0);
    let mut values: [Option<Value>; 5] = Default::default();
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::String) => key = p.read_string()?,
            (2, TType::I32) => ty = p.read_i32()?,
            (3, TType::String) => values[0] = Some(Value::StringValue(p.read_string()?)),
            (4, TType::Double) => values[1] = Some(Value::DoubleValue(p.read_double()?)),
            (5, TType::Bool) => values[2] = Some(Value::BoolValue(p.read_bool()?)),
            (6, TType::I64) => values[3] = Some(Value::IntValue(p.read_i64()?)),
            (7, TType::String) => values[4] = Some(Value::BytesValue(p.read_bytes()?)),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    // TagType: STRING, DOUBLE, BOOL, LONG, BINARY; the value of the declared type (the
    // Collector writes an unknown type as a string saying so).
    let value = usize::try_from(ty)
        .ok()
        .and_then(|i| values.get_mut(i)?.take())
        .unwrap_or_else(|| Value::StringValue(format!("<Unknown Jaeger TagType {ty}>")));
    Ok((key, value))
}

fn tags(p: &mut dyn TInputProtocol) -> t::Result<Vec<(String, Value)>> {
    read_list(p, TType::Struct, tag)
}

fn log(p: &mut dyn TInputProtocol) -> t::Result<Log> {
    let mut l = Log::default();
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::I64) => l.time_unix_nano = micros_to_nanos(p.read_i64()?),
            (2, TType::List) => l.fields = tags(p)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(l)
}

fn span_ref(p: &mut dyn TInputProtocol) -> t::Result<SpanRef> {
    let (mut ty, mut low, mut high, mut span) = (0, 0, 0, 0);
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::I32) => ty = p.read_i32()?,
            (2, TType::I64) => low = p.read_i64()?,
            (3, TType::I64) => high = p.read_i64()?,
            (4, TType::I64) => span = p.read_i64()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(SpanRef {
        ref_type: if ty == 0 {
            RefType::ChildOf
        } else {
            RefType::FollowsFrom
        },
        trace_id: trace_id(high, low),
        span_id: span.to_be_bytes(),
    })
}

fn span(p: &mut dyn TInputProtocol) -> t::Result<JaegerSpan> {
    let mut s = JaegerSpan::default();
    let (mut low, mut high, mut start, mut duration) = (0, 0, 0, 0);
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::I64) => low = p.read_i64()?,
            (2, TType::I64) => high = p.read_i64()?,
            (3, TType::I64) => s.span_id = p.read_i64()?.to_be_bytes(),
            (4, TType::I64) => s.parent_span_id = p.read_i64()?.to_be_bytes(),
            (5, TType::String) => s.operation_name = p.read_string()?,
            (6, TType::List) => s.references = read_list(p, TType::Struct, span_ref)?,
            (8, TType::I64) => start = p.read_i64()?,
            (9, TType::I64) => duration = p.read_i64()?,
            (10, TType::List) => s.tags = tags(p)?,
            (11, TType::List) => s.logs = read_list(p, TType::Struct, log)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    s.trace_id = trace_id(high, low);
    s.start_unix_nano = micros_to_nanos(start);
    s.duration_nano = micros_to_nanos(duration);
    Ok(s)
}

fn process(p: &mut dyn TInputProtocol) -> t::Result<Process> {
    let mut pr = Process::default();
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::String) => pr.service_name = p.read_string()?,
            (2, TType::List) => pr.tags = tags(p)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(pr)
}

/// Reads a `jaeger.Batch` struct.
pub fn batch(p: &mut dyn TInputProtocol) -> t::Result<Batch> {
    let mut b = Batch::default();
    read_struct(p, |p, id, tt| {
        match (id, tt) {
            (1, TType::Struct) => b.process = Some(process(p)?),
            (2, TType::List) => b.spans = read_list(p, TType::Struct, span)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(b)
}

/// What an agent datagram carries.
#[derive(Debug)]
pub enum AgentMessage {
    /// `emitBatch(1: jaeger.Batch batch)`.
    Batch(Batch),
    /// `emitZipkinBatch(1: list<zipkincore.Span> spans)`.
    Zipkin(Vec<crate::receiver::zipkin::v1::V1Span>),
}

/// Reads one agent message: a one-way (or call) `emitBatch` / `emitZipkinBatch`.
pub fn agent_message(p: &mut dyn TInputProtocol) -> t::Result<AgentMessage> {
    let header = p.read_message_begin()?;
    if !matches!(
        header.message_type,
        TMessageType::OneWay | TMessageType::Call
    ) {
        return Err(protocol_error(format!(
            "unexpected message type {:?}",
            header.message_type
        )));
    }
    let mut out = None;
    match header.name.as_str() {
        "emitBatch" => read_struct(p, |p, id, tt| {
            if (id, tt) != (1, TType::Struct) {
                return Ok(false);
            }
            out = Some(AgentMessage::Batch(batch(p)?));
            Ok(true)
        })?,
        "emitZipkinBatch" => read_struct(p, |p, id, tt| {
            if (id, tt) != (1, TType::List) {
                return Ok(false);
            }
            out = Some(AgentMessage::Zipkin(
                crate::receiver::zipkin::thrift::read_spans(p)?,
            ));
            Ok(true)
        })?,
        other => return Err(protocol_error(format!("unknown method {other:?}"))),
    }
    p.read_message_end()?;
    out.ok_or_else(|| protocol_error(format!("{} without its argument", header.name)))
}

fn protocol_error(message: String) -> thrift::Error {
    thrift::Error::Protocol(thrift::ProtocolError::new(
        thrift::ProtocolErrorKind::InvalidData,
        message,
    ))
}
