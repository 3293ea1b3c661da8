//! Byte-array columns whose values buffer holds no bytes get an allocated (still empty) buffer
//! before they are written.
//!
//! Why: an Arrow string or binary array whose values are all empty (`trace_state` on nearly
//! every span, `status_message` of a status without a message, an unset schema URL) has a
//! values buffer of length 0, whose pointer is dangling, not into any allocation. Parquet's
//! writer interns and compares each value as a slice of that buffer, and comparing empty
//! slices at such an address is slow where glibc's `memcmp` uses AVX-512 masked loads
//! (presumably a microcode assist for a masked load of an unmapped address, even with every
//! lane masked off; measured, not traced further): on the 2-vCPU Xeon of docs/BENCHMARKS.md a column of 8,192 empty strings
//! took 2,135 µs to encode with its dictionary and chunk statistics, and 125 µs once its values
//! buffer pointed into an allocation (`examples/empty_values.rs`; "Empty strings into Parquet"
//! in docs/BENCHMARKS.md).
//!
//! Rust's own empty slices (`&[]`, `""`, an unallocated `Vec` or `String`) point at address 1
//! and compare just as slowly (73 ns against 2.2 for `a == b` of two empty slices there): keep
//! such values out of hot comparisons too.
//!
//! Invariant: only the buffer's address changes, never a value, a null or an offset, so the
//! Parquet file is byte for byte what it would have been.

use arrow_array::{make_array, ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_schema::DataType;

use crate::error::Result;

/// `batch` with every byte-array values buffer of length 0, at any depth, replaced by an
/// allocated empty one; `batch` itself (no copy) when there is none.
pub(crate) fn with_allocated_empty_values(batch: RecordBatch) -> Result<RecordBatch> {
    let mut columns: Option<Vec<ArrayRef>> = None;
    for (i, c) in batch.columns().iter().enumerate() {
        if let Some(fixed) = fix(&c.to_data())? {
            columns.get_or_insert_with(|| batch.columns().to_vec())[i] = make_array(fixed);
        }
    }
    Ok(match columns {
        Some(columns) => RecordBatch::try_new(batch.schema(), columns)?,
        None => batch,
    })
}

/// The array with its (and its children's) empty values buffers allocated; `None` if it had
/// none.
fn fix(data: &ArrayData) -> Result<Option<ArrayData>> {
    match data.data_type() {
        DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary => {
            // Parquet only reads the values of non-null slots: an array of nulls (the `bytes`
            // leaf of every attribute list, nearly always) is left alone, and so are the lists
            // above it, which would otherwise be rebuilt and validated whole for nothing.
            let values = &data.buffers()[1];
            if data.null_count() == data.len() || !values.is_empty() {
                return Ok(None);
            }
            let buffers = vec![data.buffers()[0].clone(), allocated_empty()];
            let fixed = data.clone().into_builder().buffers(buffers).build()?;
            Ok(Some(fixed))
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::Struct(_)
        | DataType::Map(..) => {
            let mut children: Option<Vec<ArrayData>> = None;
            for (i, child) in data.child_data().iter().enumerate() {
                if let Some(fixed) = fix(child)? {
                    children.get_or_insert_with(|| data.child_data().to_vec())[i] = fixed;
                }
            }
            match children {
                Some(children) => Ok(Some(
                    data.clone().into_builder().child_data(children).build()?,
                )),
                None => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// A buffer of length 0 whose pointer is into a real (64-byte) allocation.
fn allocated_empty() -> Buffer {
    Buffer::from_vec(Vec::<u8>::with_capacity(64))
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, ListArray, StringArray, UInt32Array};
    use arrow_buffer::{NullBuffer, OffsetBuffer};
    use arrow_schema::Field;

    use std::sync::Arc;

    use super::*;

    fn dangling(a: &StringArray) -> bool {
        a.values().is_empty() && a.values().capacity() == 0
    }

    /// `n` strings, all empty (or all null), over a values buffer with no allocation.
    fn unallocated(n: usize, nulls: bool) -> StringArray {
        let nulls = nulls.then(|| NullBuffer::new_null(n));
        StringArray::new(
            OffsetBuffer::new_zeroed(n),
            Buffer::from_vec(Vec::<u8>::new()),
            nulls,
        )
    }

    /// One list holding every item of `items`.
    fn one_list(items: StringArray) -> ListArray {
        let n = items.len();
        let field = Arc::new(Field::new("item", DataType::Utf8, true));
        ListArray::new(
            field,
            OffsetBuffer::from_lengths([n]),
            Arc::new(items),
            None,
        )
    }

    #[test]
    fn empty_values_get_an_allocation_and_keep_their_values() {
        let empty = unallocated(3, false);
        let inner = unallocated(2, false);
        assert!(dangling(&empty) && dangling(&inner));
        let ints = UInt32Array::from(vec![7]);
        let batch = RecordBatch::try_from_iter(vec![
            ("s", Arc::new(empty.slice(1, 1)) as ArrayRef),
            ("l", Arc::new(one_list(inner)) as ArrayRef),
            ("i", Arc::new(ints) as ArrayRef),
        ])
        .unwrap();
        let out = with_allocated_empty_values(batch.clone()).unwrap();
        assert_eq!(out, batch, "same values, nulls and offsets");
        let s = out
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(!dangling(s));
        let l = out.column(1).to_data();
        assert!(!dangling(&StringArray::from(l.child_data()[0].clone())));
    }

    #[test]
    fn a_batch_without_empty_values_is_returned_as_is() {
        let s = StringArray::from(vec!["a", ""]);
        let batch = RecordBatch::try_from_iter(vec![("s", Arc::new(s) as ArrayRef)]).unwrap();
        let before = batch.column(0).to_data().buffers()[1].as_ptr();
        let out = with_allocated_empty_values(batch).unwrap();
        assert_eq!(out.column(0).to_data().buffers()[1].as_ptr(), before);
    }

    #[test]
    fn lists_whose_only_empty_values_are_nulls_are_not_rebuilt() {
        // A list whose string items are all null (as the `bytes` leaf of an attribute list
        // nearly always is): nothing parquet reads is at the dangling address.
        let list = one_list(unallocated(2, true));
        let batch = RecordBatch::try_from_iter(vec![("l", Arc::new(list) as ArrayRef)]).unwrap();
        let before = batch.column(0).to_data().child_data()[0].buffers()[1].as_ptr();
        let out = with_allocated_empty_values(batch).unwrap();
        let after = out.column(0).to_data().child_data()[0].buffers()[1].as_ptr();
        assert_eq!(after, before);
    }
}
