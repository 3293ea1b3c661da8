//! Attribute lists: `List<Struct{key, type, str, int, double, bool, bytes}>`.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, UInt8Builder,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, ListArray, StringArray,
    StructArray, UInt8Array,
};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use prost::Message;
use strata_proto::otlp::common::{any_value::Value, AnyValue, ArrayValue, KeyValue, KeyValueList};

use super::utf8_col::CheckedUtf8Builder;
use super::{downcast, offset};
use crate::error::{BlockError, Result};
use crate::schema::{attr_fields, attr_item_field, col::attr as f, tag};

/// Builds one attribute-list column, one list per row.
#[derive(Debug)]
pub(crate) struct AttrListBuilder {
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    pub(super) key: CheckedUtf8Builder,
    ty: UInt8Builder,
    str_: CheckedUtf8Builder,
    int: Int64Builder,
    double: Float64Builder,
    bool_: BooleanBuilder,
    bytes: BinaryBuilder,
}

impl Default for AttrListBuilder {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            key: CheckedUtf8Builder::default(),
            ty: UInt8Builder::new(),
            str_: CheckedUtf8Builder::default(),
            int: Int64Builder::new(),
            double: Float64Builder::new(),
            bool_: BooleanBuilder::new(),
            bytes: BinaryBuilder::new(),
        }
    }
}

impl AttrListBuilder {
    /// Appends one row's list.
    pub fn append(&mut self, attrs: &[KeyValue]) -> Result<()> {
        for kv in attrs {
            self.append_kv(kv);
        }
        self.finish_row()
    }

    /// Appends a null list (the owner — resource or scope — is absent).
    pub fn append_null(&mut self) -> Result<()> {
        self.offsets.push(offset(self.ty.len())?);
        self.nulls.append_null();
        Ok(())
    }

    fn append_kv(&mut self, kv: &KeyValue) {
        self.key.append_value(&kv.key);
        let Some(v) = kv.value.as_ref() else {
            return self.push_value(tag::ABSENT, Cell::Null);
        };
        let Some(v) = v.value.as_ref() else {
            return self.push_value(tag::EMPTY, Cell::Null);
        };
        match v {
            Value::StringValue(s) => self.push_value(tag::STRING, Cell::Str(s.as_bytes())),
            Value::BoolValue(b) => self.push_value(tag::BOOL, Cell::Bool(*b)),
            Value::IntValue(i) => self.push_value(tag::INT, Cell::Int(*i)),
            Value::DoubleValue(d) => self.push_value(tag::DOUBLE, Cell::Double(*d)),
            Value::BytesValue(b) => self.push_value(tag::BYTES, Cell::Bytes(b)),
            Value::ArrayValue(a) => self.push_value(tag::ARRAY, Cell::Bytes(&a.encode_to_vec())),
            Value::KvlistValue(l) => self.push_value(tag::KVLIST, Cell::Bytes(&l.encode_to_vec())),
            Value::StringValueStrindex(i) => {
                self.push_value(tag::STRING_INDEX, Cell::Int(i64::from(*i)))
            }
        }
    }

    /// Appends the value columns of one attribute of type `t` (its key is already appended).
    /// At most one value column is set per attribute; the others get their nulls lazily, in
    /// runs, when they are next set or at `finish` ([`pad`]): the same arrays, fewer calls.
    pub(super) fn push_value(&mut self, t: u8, value: Cell<'_>) {
        let at = self.ty.len();
        self.ty.append_value(t);
        match value {
            Cell::Null => {}
            Cell::Str(s) => put(&mut self.str_, at, s),
            Cell::Int(i) => put(&mut self.int, at, i),
            Cell::Double(d) => put(&mut self.double, at, d),
            Cell::Bool(b) => put(&mut self.bool_, at, b),
            Cell::Bytes(b) => put(&mut self.bytes, at, b),
        }
    }

    /// Ends the current row's (non-null) list.
    pub(super) fn finish_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.ty.len())?);
        self.nulls.append_non_null();
        Ok(())
    }

    /// Finishes the column and resets the builder.
    pub fn finish(&mut self) -> Result<ListArray> {
        let n = self.ty.len();
        pad(&mut self.str_, n);
        pad(&mut self.int, n);
        pad(&mut self.double, n);
        pad(&mut self.bool_, n);
        pad(&mut self.bytes, n);
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.key.finish()?),
            Arc::new(self.ty.finish()),
            Arc::new(self.str_.finish()?),
            Arc::new(self.int.finish()),
            Arc::new(self.double.finish()),
            Arc::new(self.bool_.finish()),
            Arc::new(self.bytes.finish()),
        ];
        let values = StructArray::try_new(attr_fields(), children, None)?;
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let list = ListArray::try_new(
            attr_item_field(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Arc::new(values),
            self.nulls.finish(),
        )?;
        Ok(list)
    }
}

/// The value of one attribute, in the value column its type uses (`Null`: none of them).
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell<'a> {
    Null,
    /// UTF-8: a `&str`'s bytes, or bytes the wire walk checked; validated with its column at
    /// `finish`.
    Str(&'a [u8]),
    Int(i64),
    Double(f64),
    Bool(bool),
    Bytes(&'a [u8]),
}

/// A value column of [`AttrListBuilder`], which appends its nulls in runs.
trait NullPadded {
    fn len(&self) -> usize;
    fn append_nulls(&mut self, n: usize);
}

/// A value column that takes values of type `V`.
trait Put<V>: NullPadded {
    fn append(&mut self, v: V);
}

/// Appends nulls to `col` until it holds `len` values.
fn pad(col: &mut impl NullPadded, len: usize) {
    let have = col.len();
    if have < len {
        col.append_nulls(len - have);
    }
}

/// Appends `v` as the value at index `at` of `col`, after the nulls before it.
fn put<V>(col: &mut impl Put<V>, at: usize, v: V) {
    pad(col, at);
    col.append(v);
}

macro_rules! value_column {
    ($($t:ty => $v:ty),*) => {$(
        impl NullPadded for $t {
            fn len(&self) -> usize {
                ArrayBuilder::len(self)
            }
            fn append_nulls(&mut self, n: usize) {
                <$t>::append_nulls(self, n)
            }
        }
        impl Put<$v> for $t {
            fn append(&mut self, v: $v) {
                self.append_value(v)
            }
        }
    )*};
}
value_column!(Int64Builder => i64, Float64Builder => f64, BooleanBuilder => bool, BinaryBuilder => &[u8]);

impl NullPadded for CheckedUtf8Builder {
    fn len(&self) -> usize {
        CheckedUtf8Builder::len(self)
    }
    fn append_nulls(&mut self, n: usize) {
        CheckedUtf8Builder::append_nulls(self, n)
    }
}

impl Put<&[u8]> for CheckedUtf8Builder {
    fn append(&mut self, v: &[u8]) {
        self.append_bytes(v)
    }
}

/// Typed access to one attribute-list column.
#[derive(Debug)]
pub(crate) struct AttrListReader<'a> {
    list: &'a ListArray,
    key: &'a StringArray,
    ty: &'a UInt8Array,
    str_: &'a StringArray,
    int: &'a Int64Array,
    double: &'a Float64Array,
    bool_: &'a BooleanArray,
    bytes: &'a BinaryArray,
}

impl<'a> AttrListReader<'a> {
    pub fn new(array: &'a dyn Array, what: &str) -> Result<Self> {
        let list: &ListArray = downcast(array, what)?;
        let items: &StructArray = downcast(list.values().as_ref(), what)?;
        let child = |name: &str| {
            items
                .column_by_name(name)
                .ok_or_else(|| BlockError::corrupt("<batch>", format!("{what} lacks {name}")))
        };
        Ok(Self {
            list,
            key: downcast(child(f::KEY)?.as_ref(), f::KEY)?,
            ty: downcast(child(f::TYPE)?.as_ref(), f::TYPE)?,
            str_: downcast(child(f::STR)?.as_ref(), f::STR)?,
            int: downcast(child(f::INT)?.as_ref(), f::INT)?,
            double: downcast(child(f::DOUBLE)?.as_ref(), f::DOUBLE)?,
            bool_: downcast(child(f::BOOL)?.as_ref(), f::BOOL)?,
            bytes: downcast(child(f::BYTES)?.as_ref(), f::BYTES)?,
        })
    }

    pub fn is_null(&self, row: usize) -> bool {
        self.list.is_null(row)
    }

    /// The attributes of `row` (empty for a null list).
    pub fn get(&self, row: usize) -> Result<Vec<KeyValue>> {
        let offsets = self.list.value_offsets();
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        (start..end).map(|i| self.kv(i)).collect()
    }

    fn kv(&self, i: usize) -> Result<KeyValue> {
        let missing =
            |t: u8| BlockError::corrupt("<batch>", format!("attribute tag {t} without its value"));
        let t = self.ty.value(i);
        let value = match t {
            tag::ABSENT => None,
            tag::EMPTY => Some(AnyValue { value: None }),
            _ => {
                let v = match t {
                    tag::STRING => Value::StringValue(
                        non_null(self.str_, i)
                            .map(|a| a.value(i).to_string())
                            .ok_or_else(|| missing(t))?,
                    ),
                    tag::BOOL => Value::BoolValue(
                        non_null(self.bool_, i)
                            .map(|a| a.value(i))
                            .ok_or_else(|| missing(t))?,
                    ),
                    tag::INT => Value::IntValue(
                        non_null(self.int, i)
                            .map(|a| a.value(i))
                            .ok_or_else(|| missing(t))?,
                    ),
                    tag::DOUBLE => Value::DoubleValue(
                        non_null(self.double, i)
                            .map(|a| a.value(i))
                            .ok_or_else(|| missing(t))?,
                    ),
                    tag::STRING_INDEX => {
                        let raw = non_null(self.int, i)
                            .map(|a| a.value(i))
                            .ok_or_else(|| missing(t))?;
                        Value::StringValueStrindex(i32::try_from(raw).map_err(|_| missing(t))?)
                    }
                    tag::BYTES | tag::ARRAY | tag::KVLIST => {
                        let b = non_null(self.bytes, i)
                            .map(|a| a.value(i))
                            .ok_or_else(|| missing(t))?;
                        match t {
                            tag::BYTES => Value::BytesValue(b.to_vec()),
                            tag::ARRAY => Value::ArrayValue(ArrayValue::decode(b)?),
                            _ => Value::KvlistValue(KeyValueList::decode(b)?),
                        }
                    }
                    other => {
                        return Err(BlockError::corrupt(
                            "<batch>",
                            format!("unknown attribute type tag {other}"),
                        ))
                    }
                };
                Some(AnyValue { value: Some(v) })
            }
        };
        Ok(KeyValue {
            key: self.key.value(i).to_string(),
            value,
            ..Default::default()
        })
    }
}

fn non_null<A: Array>(a: &A, i: usize) -> Option<&A> {
    a.is_valid(i).then_some(a)
}

#[cfg(test)]
mod tests {
    use arrow_array::builder::StringBuilder;
    use strata_proto::otlp::common::AnyValue;

    use super::*;

    fn kv(key: &str, value: Option<Value>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.map(|v| AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    /// The lazily null-padded value columns equal columns that got a value or a null for every
    /// attribute, runs of nulls at the end of a batch and null lists included.
    #[test]
    fn value_columns_pad_nulls_as_appending_one_by_one() {
        let rows: Vec<Option<Vec<KeyValue>>> = vec![
            Some(vec![
                kv("s", Some(Value::StringValue("é".into()))),
                kv("i", Some(Value::IntValue(-3))),
            ]),
            None,
            Some(vec![]),
            Some(vec![
                kv("b", Some(Value::BoolValue(true))),
                kv("absent", None),
                kv("d", Some(Value::DoubleValue(0.5))),
                kv("x", Some(Value::BytesValue(vec![1]))),
                kv("s2", Some(Value::StringValue("日本".into()))),
            ]),
            Some(vec![kv("i2", Some(Value::IntValue(7))), kv("n", None)]),
        ];
        let mut b = AttrListBuilder::default();
        let (mut str_, mut int, mut double) = (
            StringBuilder::new(),
            Int64Builder::new(),
            Float64Builder::new(),
        );
        let (mut bool_, mut bytes) = (BooleanBuilder::new(), BinaryBuilder::new());
        for row in &rows {
            match row {
                Some(kvs) => b.append(kvs).unwrap(),
                None => b.append_null().unwrap(),
            }
            for kv in row.iter().flatten() {
                let v = kv.value.as_ref().and_then(|v| v.value.as_ref());
                str_.append_option(match v {
                    Some(Value::StringValue(s)) => Some(s),
                    _ => None,
                });
                int.append_option(match v {
                    Some(Value::IntValue(i)) => Some(*i),
                    _ => None,
                });
                double.append_option(match v {
                    Some(Value::DoubleValue(d)) => Some(*d),
                    _ => None,
                });
                bool_.append_option(match v {
                    Some(Value::BoolValue(x)) => Some(*x),
                    _ => None,
                });
                bytes.append_option(match v {
                    Some(Value::BytesValue(x)) => Some(x),
                    _ => None,
                });
            }
        }
        let list = b.finish().unwrap();
        let items = list
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        let col = |name: &str| items.column_by_name(name).unwrap().clone();
        assert_eq!(col(f::STR).as_ref(), &str_.finish() as &dyn Array);
        assert_eq!(col(f::INT).as_ref(), &int.finish() as &dyn Array);
        assert_eq!(col(f::DOUBLE).as_ref(), &double.finish() as &dyn Array);
        assert_eq!(col(f::BOOL).as_ref(), &bool_.finish() as &dyn Array);
        assert_eq!(col(f::BYTES).as_ref(), &bytes.finish() as &dyn Array);
        let reader = AttrListReader::new(&list, "attrs").unwrap();
        for (row, want) in rows.iter().enumerate() {
            assert_eq!(reader.is_null(row), want.is_none());
            assert_eq!(&reader.get(row).unwrap(), want.as_ref().unwrap_or(&vec![]));
        }
        // The builder was reset: a second batch starts from no values.
        b.append(&[kv("only", Some(Value::IntValue(1)))]).unwrap();
        let again = b.finish().unwrap();
        assert_eq!(again.values().len(), 1);
    }
}
