//! Intrinsic fields as value columns.
//!
//! * `status`: `status_code`, null (no status) read as unset (0). `statusMessage`:
//!   `status_message`, null read as `""` (Tempo stores no distinction).
//! * IDs (`span:id`, `span:parentID`, `trace:id`, `link:traceID`, `link:spanID`) are
//!   lower-case hex with leading zeros trimmed and then left-padded to the ID's width (16
//!   for span IDs, 32 for trace IDs): the form Tempo compares, so a root's `span:parentID`
//!   is `0000000000000000`. Compilation normalises ID literals the same way.
//! * Trace-level values (`trace:duration` = latest end − earliest start, `trace:rootName`,
//!   `trace:rootService`) repeat on every span of the trace; root name and service are
//!   missing when the trace has no root span.
//! * `event:timeSinceStart` = event time − span start (may be negative).
//! * `instrumentation:name`/`version`: `scope_name`/`scope_version`, missing when the span
//!   has no scope.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    Array, ArrayRef, BinaryArray, FixedSizeBinaryArray, Int32Array, Int64Array, StringArray,
    UInt32Array, UInt64Array,
};
use arrow_select::take::take;
use strata_block::schema::col;
use strata_traceql::Intrinsic;

use super::ctx::Ctx;
use super::value::{bad, downcast, Ty, Value};
use crate::plan::ir::Domain;
use crate::EngineError;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn durations(a: &UInt64Array) -> ArrayRef {
    Arc::new(a.unary::<_, arrow_array::types::Int64Type>(to_i64))
}

pub(crate) fn strings(a: &ArrayRef, what: &str) -> Result<ArrayRef, EngineError> {
    downcast::<StringArray>(a.as_ref(), what)?;
    Ok(a.clone())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Canonical hex of an ID (see the module docs).
pub(crate) fn id_hex(bytes: &[u8], width: usize) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    let trimmed = s.trim_start_matches('0');
    format!("{trimmed:0>width$}")
}

fn hex_binary(a: &BinaryArray, width: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(a.len(), a.len() * width);
    for v in a.iter() {
        b.append_option(v.map(|v| id_hex(v, width)));
    }
    Arc::new(b.finish())
}

fn hex_fixed(a: &FixedSizeBinaryArray, width: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(a.len(), a.len() * width);
    let mut last: Option<(&[u8], String)> = None;
    for i in 0..a.len() {
        if a.is_null(i) {
            b.append_null();
            continue;
        }
        let v = a.value(i);
        match &last {
            Some((lv, s)) if *lv == v => b.append_value(s),
            _ => {
                let s = id_hex(v, width);
                b.append_value(&s);
                last = Some((v, s));
            }
        }
    }
    Arc::new(b.finish())
}

pub(crate) fn intrinsic(ctx: &mut Ctx<'_>, i: Intrinsic) -> Result<Value, EngineError> {
    use Intrinsic as I;
    Ok(match i {
        I::Duration => Value::col(Ty::Dur, durations(ctx.typed::<UInt64Array>(col::DURATION)?)),
        I::Name => Value::col(Ty::Str, strings(ctx.column(col::NAME)?, col::NAME)?),
        I::Status => {
            let a = ctx.typed::<Int32Array>(col::STATUS_CODE)?;
            let filled: Int32Array = a.iter().map(|v| Some(v.unwrap_or(0))).collect();
            Value::col(Ty::Status, Arc::new(filled))
        }
        I::StatusMessage => {
            let a = ctx.typed::<StringArray>(col::STATUS_MESSAGE)?;
            let filled: StringArray = a.iter().map(|v| Some(v.unwrap_or(""))).collect();
            Value::col(Ty::Str, Arc::new(filled))
        }
        I::Kind => {
            let a = ctx.column(col::KIND)?;
            downcast::<Int32Array>(a.as_ref(), col::KIND)?;
            Value::col(Ty::Kind, a.clone())
        }
        I::SpanId => Value::col(Ty::Str, hex_binary(ctx.typed(col::SPAN_ID)?, 16)),
        I::SpanParentId => Value::col(Ty::Str, hex_binary(ctx.typed(col::PARENT_SPAN_ID)?, 16)),
        I::TraceId => Value::col(Ty::Str, hex_fixed(ctx.typed(col::TRACE_ID)?, 32)),
        I::InstrumentationName => Value::col(
            Ty::Str,
            strings(ctx.column(col::SCOPE_NAME)?, col::SCOPE_NAME)?,
        ),
        I::InstrumentationVersion => Value::col(
            Ty::Str,
            strings(ctx.column(col::SCOPE_VERSION)?, col::SCOPE_VERSION)?,
        ),
        I::ChildCount | I::NestedSetLeft | I::NestedSetRight | I::NestedSetParent => {
            let tree = ctx
                .tree
                .ok_or_else(|| bad("span tree not available for a tree intrinsic"))?;
            let v = match i {
                I::ChildCount => &tree.child_count,
                I::NestedSetLeft => &tree.left,
                I::NestedSetRight => &tree.right,
                _ => &tree.nested_parent,
            };
            Value::col(Ty::Int, Arc::new(Int64Array::from(v.clone())))
        }
        I::TraceDuration | I::TraceRootName | I::TraceRootService => trace_level(ctx, i)?,
        I::EventName => {
            let sub = ctx.sub(Domain::Event)?;
            Value::col(
                Ty::Str,
                strings(sub.field(col::event::NAME)?, "event name")?,
            )
        }
        I::EventTimeSinceStart => {
            let start = Value::col(Ty::Dur, durations(ctx.typed::<UInt64Array>(col::START)?));
            let start = ctx.broadcast(&start, Domain::Event)?;
            let start = start
                .slot(Ty::Dur)
                .map(|a| downcast::<Int64Array>(a.as_ref(), "start").cloned())
                .transpose()?;
            let sub = ctx.sub(Domain::Event)?;
            let times =
                downcast::<UInt64Array>(sub.field(col::event::TIME)?.as_ref(), "event time")?;
            let since: Int64Array = match start {
                Some(start) => times
                    .iter()
                    .zip(start.iter())
                    .map(|(t, s)| Some(to_i64(t?).wrapping_sub(s?)))
                    .collect(),
                None => Int64Array::new_null(times.len()),
            };
            Value::col(Ty::Dur, Arc::new(since))
        }
        I::LinkTraceId | I::LinkSpanId => {
            let sub = ctx.sub(Domain::Link)?;
            let (field, width) = if i == I::LinkTraceId {
                (col::link::TRACE_ID, 32)
            } else {
                (col::link::SPAN_ID, 16)
            };
            let ids = downcast::<BinaryArray>(sub.field(field)?.as_ref(), field)?;
            Value::col(Ty::Str, hex_binary(ids, width))
        }
        I::Parent => {
            return Err(EngineError::Unsupported(
                "the parent intrinsic is not supported".into(),
            ))
        }
    })
}

fn trace_level(ctx: &mut Ctx<'_>, i: Intrinsic) -> Result<Value, EngineError> {
    let traces = ctx
        .traces
        .ok_or_else(|| bad("trace-level intrinsic needs whole traces"))?;
    if i == Intrinsic::TraceDuration {
        let start = ctx.typed::<UInt64Array>(col::START)?;
        let end = ctx.typed::<UInt64Array>(col::END)?;
        let per_trace: Vec<i64> = traces
            .ranges
            .iter()
            .map(|r| {
                let s = r.clone().map(|i| start.value(i)).min().unwrap_or(0);
                let e = r.clone().map(|i| end.value(i)).max().unwrap_or(0);
                to_i64(e.saturating_sub(s))
            })
            .collect();
        let rows: Int64Array = traces
            .trace_of
            .iter()
            .map(|t| per_trace.get(*t as usize).copied())
            .collect();
        return Ok(Value::col(Ty::Dur, Arc::new(rows)));
    }
    let idx: UInt32Array = traces
        .trace_of
        .iter()
        .map(|t| {
            traces
                .root
                .get(*t as usize)
                .copied()
                .flatten()
                .map(|r| r as u32)
        })
        .collect();
    let column = if i == Intrinsic::TraceRootName {
        col::NAME
    } else {
        col::SERVICE_NAME
    };
    let values = strings(ctx.column(column)?, column)?;
    Ok(Value::col(Ty::Str, take(values.as_ref(), &idx, None)?))
}
