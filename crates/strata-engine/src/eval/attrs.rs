//! Attribute lookup in `Attrs` columns (`List<Struct{key, type, str, int, double, bool,
//! bytes}>`, see [`strata_block::schema`]).
//!
//! Vectorised: one key comparison over all entries of the column, one pass over the list
//! offsets to pick each row's **first** entry with the key, then `take` of the typed value
//! columns. An entry's `type` tag decides its slot (1 string, 2 bool, 3 int, 4 double,
//! 6 array); other tags (absent value, bytes, kvlist, string-table index) count as the key
//! being present without a comparable value.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, ListArray, StringArray, StructArray, UInt32Array,
    UInt8Array,
};
use arrow_ord::cmp::eq;
use arrow_select::nullif::nullif;
use arrow_select::take::take;
use strata_block::schema::{col::attr as f, tag};

use super::value::{bad, downcast, ArrVal, Ty, Value};
use crate::array::{decode_array, Elem};
use crate::EngineError;

/// The result of looking a key up in every row of an attribute list column.
#[derive(Clone)]
pub(crate) struct Lookup {
    pub value: Value,
    /// Per row: whether the key is present (whatever its value type).
    pub present: BooleanArray,
}

fn child<'a>(s: &'a StructArray, name: &str) -> Result<&'a ArrayRef, EngineError> {
    s.column_by_name(name)
        .ok_or_else(|| bad(format!("attribute struct lacks field {name}")))
}

/// List offsets as `usize`, checked.
pub(crate) fn offsets(list: &ListArray) -> Result<Vec<usize>, EngineError> {
    list.value_offsets()
        .iter()
        .map(|o| usize::try_from(*o).map_err(|_| bad("negative list offset")))
        .collect()
}

/// Looks `key` up in `list` (an `Attrs` column or a slice of one).
pub(crate) fn lookup(list: &dyn Array, key: &str, what: &str) -> Result<Lookup, EngineError> {
    let list = downcast::<ListArray>(list, what)?;
    let n = list.len();
    let entries = downcast::<StructArray>(list.values().as_ref(), what)?;
    let keys = downcast::<StringArray>(child(entries, f::KEY)?.as_ref(), "attribute key")?;
    let hits = eq(keys, &StringArray::new_scalar(key))?;
    let offs = offsets(list)?;
    let (lo, hi) = (
        offs.first().copied().unwrap_or(0),
        offs.last().copied().unwrap_or(0),
    );

    // First entry with the key, per row.
    let mut first: Vec<Option<u32>> = vec![None; n];
    let mut row = 0;
    let mut found = 0usize;
    for e in hits.values().set_indices() {
        if e < lo || hits.is_null(e) {
            continue;
        }
        if e >= hi {
            break;
        }
        while row < n && offs[row + 1] <= e {
            row += 1;
        }
        if row >= n {
            break;
        }
        if first[row].is_none() && list.is_valid(row) {
            first[row] = Some(u32::try_from(e).map_err(|_| bad("attribute index overflow"))?);
            found += 1;
        }
    }
    let present = BooleanArray::from(first.iter().map(|f| f.is_some()).collect::<Vec<_>>());
    if found == 0 {
        return Ok(Lookup {
            value: Value::null(n),
            present,
        });
    }
    let idx = UInt32Array::from(first);
    let types = take(child(entries, f::TYPE)?.as_ref(), &idx, None)?;
    let types = downcast::<UInt8Array>(types.as_ref(), "attribute type")?;
    let mut seen = [false; 16];
    for t in types.iter().flatten() {
        if let Some(s) = seen.get_mut(usize::from(t)) {
            *s = true;
        }
    }
    let mut slots = Vec::new();
    for (t, ty, field) in [
        (tag::STRING, Ty::Str, f::STR),
        (tag::BOOL, Ty::Bool, f::BOOL),
        (tag::INT, Ty::Int, f::INT),
        (tag::DOUBLE, Ty::Float, f::DOUBLE),
    ] {
        if !seen[usize::from(t)] {
            continue;
        }
        let values = take(child(entries, field)?.as_ref(), &idx, None)?;
        let other_type = arrow_ord::cmp::neq(types, &UInt8Array::new_scalar(t))?;
        slots.push((ty, nullif(values.as_ref(), &other_type)?));
    }
    let arr = if seen[usize::from(tag::ARRAY)] {
        let bytes = take(child(entries, f::BYTES)?.as_ref(), &idx, None)?;
        let bytes = downcast::<BinaryArray>(bytes.as_ref(), "attribute bytes")?;
        arrays(types, bytes)?
    } else {
        None
    };
    Ok(Lookup {
        value: Value::from_slots(n, slots, arr),
        present,
    })
}

/// Decodes the array-typed rows.
fn arrays(types: &UInt8Array, bytes: &BinaryArray) -> Result<Option<Arc<ArrVal>>, EngineError> {
    let n = types.len();
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0usize);
    let mut present = Vec::with_capacity(n);
    let (mut s, mut b, mut i, mut d) = (
        StringBuilder::new(),
        BooleanBuilder::new(),
        Int64Builder::new(),
        Float64Builder::new(),
    );
    let mut count = 0usize;
    for row in 0..n {
        let decoded =
            (types.is_valid(row) && types.value(row) == tag::ARRAY && bytes.is_valid(row))
                .then(|| decode_array(bytes.value(row)))
                .flatten();
        present.push(decoded.is_some());
        for e in decoded.into_iter().flatten() {
            s.append_option(match &e {
                Elem::Str(v) => Some(v.as_str()),
                _ => None,
            });
            b.append_option(match e {
                Elem::Bool(v) => Some(v),
                _ => None,
            });
            i.append_option(match e {
                Elem::Int(v) => Some(v),
                _ => None,
            });
            d.append_option(match e {
                Elem::Float(v) => Some(v),
                _ => None,
            });
            count += 1;
        }
        offsets.push(count);
    }
    if !present.iter().any(|p| *p) {
        return Ok(None);
    }
    let slots: Vec<(Ty, ArrayRef)> = vec![
        (Ty::Str, Arc::new(s.finish())),
        (Ty::Bool, Arc::new(b.finish())),
        (Ty::Int, Arc::new(i.finish())),
        (Ty::Float, Arc::new(d.finish())),
    ];
    Ok(Some(Arc::new(ArrVal {
        offsets,
        present,
        elems: Value::from_slots(count, slots, None),
    })))
}

/// `.x`: the span's attribute where the span has the key, else the resource's.
pub(crate) fn unscoped(span: &Lookup, resource: &Lookup) -> Result<Value, EngineError> {
    let n = span.value.len;
    if span.present.true_count() == 0 {
        return Ok(resource.value.clone());
    }
    if resource.value.slots.is_empty() && resource.value.arr.is_none() {
        return Ok(span.value.clone());
    }
    let both = span.value.concat(&resource.value)?;
    let idx: UInt32Array = (0..n)
        .map(|i| {
            let j = if span.present.value(i) { i } else { n + i };
            Some(j as u32)
        })
        .collect();
    both.take(&idx)
}
