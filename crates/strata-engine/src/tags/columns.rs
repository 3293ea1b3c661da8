//! Column access over block-schema batches for tag discovery. Every mismatch with the schema
//! is an [`EngineError::Batch`], never a panic.

use std::collections::HashSet;

use arrow_arith::boolean::and;
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array,
    Int64Array, ListArray, RecordBatch, StringArray, StructArray, UInt8Array,
};
use arrow_buffer::NullBuffer;
use arrow_ord::cmp::eq;
use arrow_select::filter::filter;
use strata_block::schema::{col, tag};

use super::render::Scalar;
use super::TagScope;
use crate::array::{homogeneous_array, Elem};
use crate::EngineError;

type Result<T> = std::result::Result<T, EngineError>;

fn bad(msg: String) -> EngineError {
    EngineError::Batch(msg)
}

pub(super) fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| bad(format!("batch lacks column {name}")))
}

pub(super) fn downcast<'a, T: 'static>(a: &'a dyn Array, what: &str) -> Result<&'a T> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| bad(format!("{what}: unexpected type {}", a.data_type())))
}

fn child<'a>(s: &'a StructArray, name: &str, what: &str) -> Result<&'a ArrayRef> {
    s.column_by_name(name)
        .ok_or_else(|| bad(format!("{what} lacks field {name}")))
}

/// Checks that a row mask fits the batch.
pub(super) fn check_mask(batch: &RecordBatch, rows: Option<&BooleanArray>) -> Result<()> {
    match rows {
        Some(m) if m.len() != batch.num_rows() => Err(bad(format!(
            "row mask has {} entries for {} rows",
            m.len(),
            batch.num_rows()
        ))),
        _ => Ok(()),
    }
}

/// The rows to keep: set mask bits (null = unset) that are also valid in `nulls`; `None` = all.
fn effective_mask(
    mask: Option<&BooleanArray>,
    nulls: Option<&NullBuffer>,
) -> Result<Option<BooleanArray>> {
    let valid = |n: &NullBuffer| BooleanArray::new(n.inner().clone(), None);
    Ok(match (mask, nulls) {
        (None, None) => None,
        (Some(m), None) => Some(m.clone()),
        (None, Some(n)) => Some(valid(n)),
        (Some(m), Some(n)) => Some(and(m, &valid(n))?),
    })
}

/// Applies a row mask to a plain column.
pub(super) fn masked(array: &ArrayRef, mask: Option<&BooleanArray>) -> Result<ArrayRef> {
    Ok(match mask {
        None => array.clone(),
        Some(m) => filter(array.as_ref(), m)?,
    })
}

/// The items of the selected (and non-null) rows of a list column, as one flat array.
fn selected_items(list: &ListArray, mask: Option<&BooleanArray>) -> Result<ArrayRef> {
    let filtered;
    let list = match effective_mask(mask, list.nulls())? {
        None => list,
        Some(m) => {
            filtered = filter(list, &m)?;
            downcast::<ListArray>(filtered.as_ref(), "list column")?
        }
    };
    let offsets = list.value_offsets();
    let bound = |o: Option<&i32>| {
        o.and_then(|&v| usize::try_from(v).ok())
            .ok_or_else(|| bad("list column has bad offsets".to_string()))
    };
    let (start, end) = (bound(offsets.first())?, bound(offsets.last())?);
    if end < start || end > list.values().len() {
        return Err(bad("list column has bad offsets".to_string()));
    }
    Ok(list.values().slice(start, end - start))
}

fn struct_items(list: &dyn Array, mask: Option<&BooleanArray>, what: &str) -> Result<StructArray> {
    let list = downcast::<ListArray>(list, what)?;
    let items = selected_items(list, mask)?;
    Ok(downcast::<StructArray>(items.as_ref(), what)?.clone())
}

/// The batch column holding a scope's attributes (for events and links, the list of
/// events/links whose `attrs` field holds them).
pub(super) fn scope_column(scope: TagScope) -> &'static str {
    match scope {
        TagScope::Resource => col::RESOURCE_ATTRS,
        TagScope::Span => col::ATTRS,
        TagScope::Event => col::EVENTS,
        TagScope::Link => col::LINKS,
        TagScope::Instrumentation => col::SCOPE_ATTRS,
    }
}

/// The attribute structs (`{key, type, str, ...}`) of a scope over the selected rows.
pub(super) fn scope_attrs(
    batch: &RecordBatch,
    scope: TagScope,
    mask: Option<&BooleanArray>,
) -> Result<StructArray> {
    let name = scope_column(scope);
    let array = column(batch, name)?;
    match scope {
        TagScope::Event | TagScope::Link => {
            let field = match scope {
                TagScope::Event => col::event::ATTRS,
                _ => col::link::ATTRS,
            };
            let outer = struct_items(array.as_ref(), mask, name)?;
            let attrs = child(&outer, field, name)?;
            struct_items(attrs.as_ref(), None, name)
        }
        _ => struct_items(array.as_ref(), mask, name),
    }
}

/// The `key` column of attribute structs.
pub(super) fn attr_keys(entries: &StructArray) -> Result<&StringArray> {
    downcast(
        child(entries, col::attr::KEY, "attribute")?.as_ref(),
        col::attr::KEY,
    )
}

/// Emits every scalar value of the attributes named `name` (array elements one by one).
pub(super) fn attr_values(
    entries: &StructArray,
    name: &str,
    mut emit: impl FnMut(Scalar<'_>),
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let hit = eq(attr_keys(entries)?, &StringArray::new_scalar(name))?;
    if hit.true_count() == 0 {
        return Ok(());
    }
    let matched = filter(entries, &hit)?;
    let m = downcast::<StructArray>(matched.as_ref(), "attribute")?;
    let field = |f: &str| child(m, f, "attribute");
    let ty: &UInt8Array = downcast(field(col::attr::TYPE)?.as_ref(), col::attr::TYPE)?;
    let str_: &StringArray = downcast(field(col::attr::STR)?.as_ref(), col::attr::STR)?;
    let int: &Int64Array = downcast(field(col::attr::INT)?.as_ref(), col::attr::INT)?;
    let dbl: &Float64Array = downcast(field(col::attr::DOUBLE)?.as_ref(), col::attr::DOUBLE)?;
    let bool_: &BooleanArray = downcast(field(col::attr::BOOL)?.as_ref(), col::attr::BOOL)?;
    let bytes: &BinaryArray = downcast(field(col::attr::BYTES)?.as_ref(), col::attr::BYTES)?;
    for i in 0..m.len() {
        match ty.value(i) {
            tag::STRING if str_.is_valid(i) => emit(Scalar::Str(str_.value(i))),
            tag::INT if int.is_valid(i) => emit(Scalar::Int(int.value(i))),
            tag::DOUBLE if dbl.is_valid(i) => emit(Scalar::Double(dbl.value(i))),
            tag::BOOL if bool_.is_valid(i) => emit(Scalar::Bool(bool_.value(i))),
            tag::ARRAY if bytes.is_valid(i) => {
                for e in homogeneous_array(bytes.value(i)).unwrap_or_default() {
                    emit(match &e {
                        Elem::Str(s) => Scalar::Str(s),
                        Elem::Int(v) => Scalar::Int(*v),
                        Elem::Float(v) => Scalar::Double(*v),
                        Elem::Bool(v) => Scalar::Bool(*v),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Emits the non-empty, non-null strings of a string array.
pub(super) fn emit_strings(
    array: &dyn Array,
    what: &str,
    mut emit: impl FnMut(&str),
) -> Result<()> {
    let s: &StringArray = downcast(array, what)?;
    for v in s.iter().flatten() {
        if !v.is_empty() {
            emit(v);
        }
    }
    Ok(())
}

/// The `name` strings of the events of the selected rows.
pub(super) fn event_names(batch: &RecordBatch, mask: Option<&BooleanArray>) -> Result<ArrayRef> {
    let events = struct_items(column(batch, col::EVENTS)?.as_ref(), mask, col::EVENTS)?;
    Ok(child(&events, col::event::NAME, col::EVENTS)?.clone())
}

/// Root spans (empty `parent_span_id`) of the traces with at least one selected row.
pub(super) fn root_rows(batch: &RecordBatch, mask: Option<&BooleanArray>) -> Result<BooleanArray> {
    let parent = column(batch, col::PARENT_SPAN_ID)?;
    let lengths = arrow_string::length::length(parent.as_ref())?;
    let root = eq(&lengths, &Int32Array::new_scalar(0))?;
    let Some(mask) = mask else {
        return Ok(root);
    };
    let ids: &FixedSizeBinaryArray =
        downcast(column(batch, col::TRACE_ID)?.as_ref(), col::TRACE_ID)?;
    let selected = |i: usize| mask.is_valid(i) && mask.value(i);
    let traces: HashSet<&[u8]> = (0..ids.len())
        .filter(|&i| selected(i))
        .map(|i| ids.value(i))
        .collect();
    Ok((0..root.len())
        .map(|i| Some(root.is_valid(i) && root.value(i) && traces.contains(ids.value(i))))
        .collect())
}
