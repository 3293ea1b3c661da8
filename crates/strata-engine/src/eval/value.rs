//! Dynamically typed columns of values.
//!
//! A [`Value`] holds the values of one expression over `len` rows (spans, events or links).
//! Attributes are typed per row (`.x` may be a string on one span and an int on another), so
//! a value is a set of typed Arrow arrays, one per [`Ty`] that occurs ("slots"), plus
//! optionally the array-typed rows ([`ArrVal`]).
//!
//! # Invariants
//! * Every slot array has `len` rows, or exactly one row when `scalar` (a literal, the same
//!   for every row).
//! * A row has a value in at most one slot or in `arr`; a row with none is missing (nil).
//! * Slot array types: Int, Dur → Int64 (nanoseconds for Dur); Float → Float64; Str → Utf8;
//!   Bool → Boolean; Status, Kind → Int32 with OTLP numbering.
//! * Array elements ([`ArrVal::elems`]) are never scalar and have no arrays themselves.

use std::sync::Arc;

use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array,
    StringArray, UInt32Array,
};
use arrow_buffer::BooleanBuffer;
use arrow_schema::DataType;
use arrow_select::concat::concat;
use arrow_select::take::take;
use strata_proto::otlp::common::{any_value, AnyValue, ArrayValue};

use crate::plan::ir::Lit;
use crate::plan::text;
use crate::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ty {
    Int,
    Float,
    Str,
    Bool,
    Dur,
    Status,
    Kind,
}

impl Ty {
    fn data_type(self) -> DataType {
        match self {
            Ty::Int | Ty::Dur => DataType::Int64,
            Ty::Float => DataType::Float64,
            Ty::Str => DataType::Utf8,
            Ty::Bool => DataType::Boolean,
            Ty::Status | Ty::Kind => DataType::Int32,
        }
    }
}

const ALL_TYS: [Ty; 7] = [
    Ty::Int,
    Ty::Float,
    Ty::Str,
    Ty::Bool,
    Ty::Dur,
    Ty::Status,
    Ty::Kind,
];

/// Values of one expression over a set of rows (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Value {
    pub len: usize,
    pub scalar: bool,
    pub slots: Vec<(Ty, ArrayRef)>,
    pub arr: Option<Arc<ArrVal>>,
}

/// The array-typed rows of a [`Value`].
#[derive(Debug)]
pub(crate) struct ArrVal {
    /// Element range per row (`len + 1` entries); empty for rows without an array.
    pub offsets: Vec<usize>,
    /// Whether the row holds an array (possibly empty).
    pub present: Vec<bool>,
    pub elems: Value,
}

impl ArrVal {
    /// For every element, the row it belongs to.
    pub(crate) fn parents(&self) -> UInt32Array {
        let mut out = Vec::with_capacity(self.elems.len);
        for row in 0..self.present.len() {
            let n = self.offsets[row + 1] - self.offsets[row];
            out.extend(std::iter::repeat_n(row as u32, n));
        }
        UInt32Array::from(out)
    }
}

/// One row's value, borrowed from a [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sv<'a> {
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bool(bool),
    Dur(i64),
    Status(i32),
    Kind(i32),
    Array(Vec<Sv<'a>>),
}

impl Sv<'_> {
    /// As Tempo renders it in responses: durations in Go's format, status and kind by name.
    pub(crate) fn to_any(&self) -> AnyValue {
        use any_value::Value as V;
        let v = match self {
            Sv::Int(i) => V::IntValue(*i),
            Sv::Float(f) => V::DoubleValue(*f),
            Sv::Str(s) => V::StringValue((*s).to_string()),
            Sv::Bool(b) => V::BoolValue(*b),
            Sv::Dur(d) => V::StringValue(crate::gofmt::go_duration(*d)),
            Sv::Status(s) => V::StringValue(text::status_name(*s)),
            Sv::Kind(k) => V::StringValue(text::kind_name(*k)),
            Sv::Array(items) => V::ArrayValue(ArrayValue {
                values: items.iter().map(Sv::to_any).collect(),
            }),
        };
        AnyValue { value: Some(v) }
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::Batch(msg.into())
}

/// Downcasts an array, reporting a mismatch as a bad batch.
pub(crate) fn downcast<'a, T: 'static>(a: &'a dyn Array, what: &str) -> Result<&'a T, EngineError> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| bad(format!("{what} has unexpected type {}", a.data_type())))
}

impl Value {
    /// Missing on every row.
    pub(crate) fn null(len: usize) -> Self {
        Self {
            len,
            scalar: true,
            slots: Vec::new(),
            arr: None,
        }
    }

    /// A literal on every row.
    pub(crate) fn lit(lit: &Lit, len: usize) -> Self {
        let (ty, a): (Ty, ArrayRef) = match lit {
            Lit::Nil => return Self::null(len),
            Lit::Bool(b) => (Ty::Bool, Arc::new(BooleanArray::from(vec![*b]))),
            Lit::Int(i) => (Ty::Int, Arc::new(Int64Array::from(vec![*i]))),
            Lit::Float(f) => (Ty::Float, Arc::new(Float64Array::from(vec![*f]))),
            Lit::Str(s) => (Ty::Str, Arc::new(StringArray::from(vec![s.as_str()]))),
            Lit::Dur(d) => (Ty::Dur, Arc::new(Int64Array::from(vec![*d]))),
            Lit::Status(s) => (Ty::Status, Arc::new(Int32Array::from(vec![*s]))),
            Lit::Kind(k) => (Ty::Kind, Arc::new(Int32Array::from(vec![*k]))),
        };
        Self {
            len,
            scalar: true,
            slots: vec![(ty, a)],
            arr: None,
        }
    }

    /// A column of one type (nulls are missing values).
    pub(crate) fn col(ty: Ty, a: ArrayRef) -> Self {
        let len = a.len();
        Self::from_slots(len, vec![(ty, a)], None)
    }

    /// Drops all-null slots.
    pub(crate) fn from_slots(
        len: usize,
        slots: Vec<(Ty, ArrayRef)>,
        arr: Option<Arc<ArrVal>>,
    ) -> Self {
        let slots = slots
            .into_iter()
            .filter(|(_, a)| a.null_count() < a.len())
            .collect();
        Self {
            len,
            scalar: false,
            slots,
            arr,
        }
    }

    pub(crate) fn slot(&self, ty: Ty) -> Option<&ArrayRef> {
        self.slots.iter().find(|(t, _)| *t == ty).map(|(_, a)| a)
    }

    /// The same value over `len` rows (only meaningful for scalars).
    pub(crate) fn with_len(&self, len: usize) -> Self {
        let mut v = self.clone();
        v.len = len;
        v
    }

    /// Rows `idx` (null index → missing).
    pub(crate) fn take(&self, idx: &UInt32Array) -> Result<Self, EngineError> {
        if self.scalar {
            return Ok(self.with_len(idx.len()));
        }
        let slots = self
            .slots
            .iter()
            .map(|(t, a)| Ok((*t, take(a.as_ref(), idx, None)?)))
            .collect::<Result<Vec<_>, EngineError>>()?;
        let arr = match &self.arr {
            None => None,
            Some(arr) => take_arrays(arr, idx)?,
        };
        Ok(Self::from_slots(idx.len(), slots, arr))
    }

    /// The same values as full-length arrays.
    fn expand(&self) -> Result<Self, EngineError> {
        if !self.scalar {
            return Ok(self.clone());
        }
        let zeros = UInt32Array::from(vec![0u32; self.len]);
        let slots = self
            .slots
            .iter()
            .map(|(t, a)| Ok((*t, take(a.as_ref(), &zeros, None)?)))
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Self::from_slots(self.len, slots, None))
    }

    /// `self`'s rows followed by `other`'s.
    pub(crate) fn concat(&self, other: &Value) -> Result<Self, EngineError> {
        let (a, b) = (self.expand()?, other.expand()?);
        let mut slots = Vec::new();
        for ty in ALL_TYS {
            if a.slot(ty).is_none() && b.slot(ty).is_none() {
                continue;
            }
            let part = |v: &Value| {
                v.slot(ty)
                    .cloned()
                    .unwrap_or_else(|| new_null_array(&ty.data_type(), v.len))
            };
            let (pa, pb) = (part(&a), part(&b));
            slots.push((ty, concat(&[pa.as_ref(), pb.as_ref()])?));
        }
        let arr = match (&a.arr, &b.arr) {
            (None, None) => None,
            (x, y) => {
                let empty = |len: usize| ArrVal {
                    offsets: vec![0; len + 1],
                    present: vec![false; len],
                    elems: Value::from_slots(0, Vec::new(), None),
                };
                let xa = x.clone().unwrap_or_else(|| Arc::new(empty(a.len)));
                let ya = y.clone().unwrap_or_else(|| Arc::new(empty(b.len)));
                let shift = xa.elems.len;
                let mut offsets = xa.offsets.clone();
                offsets.extend(ya.offsets.iter().skip(1).map(|o| o + shift));
                let mut present = xa.present.clone();
                present.extend_from_slice(&ya.present);
                let elems = xa.elems.concat(&ya.elems)?;
                Some(Arc::new(ArrVal {
                    offsets,
                    present,
                    elems,
                }))
            }
        };
        Ok(Self::from_slots(a.len + b.len, slots, arr))
    }

    /// The rows of `parts` in order (`len` in all), or `None` when a part is a scalar or
    /// holds arrays. No parts: missing on every row.
    pub(crate) fn concat_all(parts: &[Value], len: usize) -> Result<Option<Self>, EngineError> {
        if parts.is_empty() {
            return Ok(Some(Self::null(len)));
        }
        if parts.iter().any(|p| p.scalar || p.arr.is_some()) {
            return Ok(None);
        }
        let mut slots = Vec::new();
        for ty in ALL_TYS {
            if parts.iter().all(|p| p.slot(ty).is_none()) {
                continue;
            }
            let arrays: Vec<ArrayRef> = parts
                .iter()
                .map(|p| {
                    p.slot(ty)
                        .cloned()
                        .unwrap_or_else(|| new_null_array(&ty.data_type(), p.len))
                })
                .collect();
            let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            slots.push((ty, concat(&refs)?));
        }
        let v = Self::from_slots(len, slots, None);
        if v.slots.iter().any(|(_, a)| a.len() != len) {
            return Err(bad("concatenated values have the wrong length"));
        }
        Ok(Some(v))
    }

    /// Per row: whether it has a value.
    pub(crate) fn exists(&self) -> BooleanArray {
        let n = if self.scalar { 1 } else { self.len };
        let mut acc = BooleanBuffer::new_unset(n);
        for (_, a) in &self.slots {
            let valid = match a.logical_nulls() {
                Some(nulls) => nulls.inner().clone(),
                None => BooleanBuffer::new_set(a.len()),
            };
            if valid.len() == n {
                acc = &acc | &valid;
            }
        }
        if let Some(arr) = &self.arr {
            if arr.present.len() == n {
                acc = &acc | &BooleanBuffer::from(arr.present.as_slice());
            }
        }
        if self.scalar {
            let b = acc.value(0);
            BooleanArray::new(BooleanBuffer::collect_bool(self.len, |_| b), None)
        } else {
            BooleanArray::new(acc, None)
        }
    }

    /// Per row: the boolean value, null where the row is not a boolean.
    pub(crate) fn bools(&self) -> Result<BooleanArray, EngineError> {
        let Some(a) = self.slot(Ty::Bool) else {
            return Ok(BooleanArray::new_null(self.len));
        };
        let b = downcast::<BooleanArray>(a.as_ref(), "boolean value")?;
        if self.scalar {
            return Ok(if b.is_valid(0) {
                BooleanArray::from(vec![b.value(0); self.len])
            } else {
                BooleanArray::new_null(self.len)
            });
        }
        Ok(b.clone())
    }

    /// The value of one row, `None` when missing.
    pub(crate) fn get(&self, row: usize) -> Result<Option<Sv<'_>>, EngineError> {
        let i = if self.scalar { 0 } else { row };
        for (ty, a) in &self.slots {
            if i >= a.len() || a.is_null(i) {
                continue;
            }
            return Ok(Some(scalar_at(*ty, a.as_ref(), i)?));
        }
        if let Some(arr) = &self.arr {
            if arr.present.get(row).copied().unwrap_or(false) {
                let mut items = Vec::new();
                for e in arr.offsets[row]..arr.offsets[row + 1] {
                    if let Some(v) = arr.elems.get(e)? {
                        items.push(v);
                    }
                }
                return Ok(Some(Sv::Array(items)));
            }
        }
        Ok(None)
    }
}

fn scalar_at(ty: Ty, a: &dyn Array, i: usize) -> Result<Sv<'_>, EngineError> {
    Ok(match ty {
        Ty::Int => Sv::Int(downcast::<Int64Array>(a, "int value")?.value(i)),
        Ty::Dur => Sv::Dur(downcast::<Int64Array>(a, "duration value")?.value(i)),
        Ty::Float => Sv::Float(downcast::<Float64Array>(a, "float value")?.value(i)),
        Ty::Str => Sv::Str(downcast::<StringArray>(a, "string value")?.value(i)),
        Ty::Bool => Sv::Bool(downcast::<BooleanArray>(a, "boolean value")?.value(i)),
        Ty::Status => Sv::Status(downcast::<Int32Array>(a, "status value")?.value(i)),
        Ty::Kind => Sv::Kind(downcast::<Int32Array>(a, "kind value")?.value(i)),
    })
}

fn take_arrays(arr: &ArrVal, idx: &UInt32Array) -> Result<Option<Arc<ArrVal>>, EngineError> {
    let mut offsets = Vec::with_capacity(idx.len() + 1);
    offsets.push(0usize);
    let mut present = Vec::with_capacity(idx.len());
    let mut elem_idx: Vec<u32> = Vec::new();
    for i in idx.iter() {
        let row = i.map(|r| r as usize).filter(|r| *r < arr.present.len());
        match row {
            Some(r) if arr.present[r] => {
                present.push(true);
                elem_idx.extend((arr.offsets[r]..arr.offsets[r + 1]).map(|e| e as u32));
            }
            _ => present.push(false),
        }
        offsets.push(elem_idx.len());
    }
    if !present.iter().any(|p| *p) {
        return Ok(None);
    }
    let elems = arr.elems.take(&UInt32Array::from(elem_idx))?;
    Ok(Some(Arc::new(ArrVal {
        offsets,
        present,
        elems,
    })))
}

/// `b` with nulls read as false.
pub(crate) fn null_to_false(b: &BooleanArray) -> BooleanArray {
    match b.nulls() {
        None => b.clone(),
        Some(nulls) => BooleanArray::new(b.values() & nulls.inner(), None),
    }
}
