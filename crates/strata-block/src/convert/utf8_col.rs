//! [`CheckedUtf8Builder`]: a `Utf8` column built from bytes whose UTF-8 was already checked,
//! validated once per column when it is finished.
//!
//! The block writer's wire path ([`super::from_wire`]) appends strings straight from share
//! bytes that [`super::wire`]'s index walk has already checked as prost does (UTF-8 included).
//! Turning each of them into a `&str` again (one `from_utf8` per attribute key, value and name)
//! was the largest single cost of the block writers. Here the bytes are appended as they are
//! and [`finish`](CheckedUtf8Builder::finish) builds the column with
//! [`StringArray::try_new`], which validates the whole contiguous value buffer in one pass and
//! checks that every offset falls on a character boundary (so two byte runs that only form
//! UTF-8 when joined are caught too).
//!
//! Invariant: the finished array is the one arrow's `StringBuilder` builds from the same values
//! (same offsets, values and validity), so the Parquet bytes written from it are the same. A
//! validation failure at `finish` means a caller broke the invariant of [`super::wire`]; it is
//! reported as [`BlockError::Corrupt`], never a panic. A column whose values outgrow Arrow's
//! `i32` offsets is refused too ([`BlockError::InvalidOptions`]: the batch is too large; the
//! builder records the overflow and refuses to finish).

use arrow_array::StringArray;
use arrow_buffer::{Buffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};

use crate::error::{BlockError, Result};

/// Builds one `Utf8` column; see the module docs.
#[derive(Debug)]
pub(crate) struct CheckedUtf8Builder {
    values: Vec<u8>,
    /// Always starts with 0; one more entry than appended values.
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    /// The values outgrew `i32` offsets; `finish` fails.
    overflow: bool,
}

impl Default for CheckedUtf8Builder {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            overflow: false,
        }
    }
}

impl CheckedUtf8Builder {
    /// Values appended since the last `finish` (nulls included).
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn end_value(&mut self) {
        match i32::try_from(self.values.len()) {
            Ok(o) => self.offsets.push(o),
            Err(_) => {
                self.overflow = true;
                let last = *self.offsets.last().unwrap_or(&0);
                self.offsets.push(last);
            }
        }
    }

    /// Appends bytes that should be UTF-8 (checked by the wire walk); `finish` validates them.
    pub fn append_bytes(&mut self, b: &[u8]) {
        self.values.extend_from_slice(b);
        self.end_value();
        self.nulls.append_non_null();
    }

    pub fn append_value(&mut self, s: &str) {
        self.append_bytes(s.as_bytes());
    }

    pub fn append_null(&mut self) {
        self.end_value();
        self.nulls.append_null();
    }

    /// `n` nulls, as `n` calls of [`append_null`](Self::append_null) would append them.
    pub fn append_nulls(&mut self, n: usize) {
        let last = *self.offsets.last().unwrap_or(&0);
        self.offsets.resize(self.offsets.len() + n, last);
        self.nulls.append_n_nulls(n);
    }

    pub fn append_option(&mut self, s: Option<&str>) {
        self.append_option_bytes(s.map(str::as_bytes));
    }

    /// [`append_bytes`](Self::append_bytes), or a null for `None`.
    pub fn append_option_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => self.append_bytes(b),
            None => self.append_null(),
        }
    }

    /// Builds the column, validating its UTF-8 once, and resets the builder (also on error),
    /// with room for as many values and bytes as this column had: the next batch of the same
    /// column is about as large, and would otherwise grow from empty.
    pub fn finish(&mut self) -> Result<StringArray> {
        let Self {
            values,
            offsets,
            mut nulls,
            overflow,
        } = std::mem::take(self);
        self.values.reserve(values.len());
        self.offsets.reserve(offsets.len());
        if overflow {
            return Err(BlockError::InvalidOptions(format!(
                "more than {} bytes of strings in one column of one batch exceed Arrow's i32 \
                 offsets",
                i32::MAX
            )));
        }
        // `OffsetBuffer::new` asserts that the offsets start at 0 or more and never decrease,
        // which holds by construction (an overflow repeats the last offset and is refused above).
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        StringArray::try_new(offsets, Buffer::from_vec(values), nulls.finish()).map_err(|e| {
            BlockError::corrupt(
                "<batch>",
                format!("a string column of checked shares is not UTF-8: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::builder::StringBuilder;
    use arrow_array::Array;

    use super::*;

    #[test]
    fn round_trips_mixed_values_like_string_builder() {
        let values: [Option<&str>; 8] = [
            Some("plain"),
            Some(""),
            None,
            Some("naïve café"),
            Some("日本語のキー"),
            None,
            Some("emoji 🦀 and 𝄞"),
            Some(""),
        ];
        let mut ours = CheckedUtf8Builder::default();
        let mut arrow = StringBuilder::new();
        for (i, v) in values.iter().enumerate() {
            // Both entry points: checked bytes and `&str`.
            if i % 2 == 0 {
                ours.append_option_bytes(v.map(str::as_bytes));
            } else {
                ours.append_option(*v);
            }
            arrow.append_option(*v);
        }
        let got = ours.finish().expect("valid UTF-8");
        let want = arrow.finish();
        assert_eq!(got, want);
        assert_eq!(got.value_offsets(), want.value_offsets());
        assert_eq!(got.nulls(), want.nulls());
        let back: Vec<Option<&str>> = got.iter().collect();
        assert_eq!(back, values);
        // The builder was reset.
        ours.append_value("again");
        let again = ours.finish().expect("valid");
        assert_eq!(again.len(), 1);
        assert_eq!(again.value(0), "again");
        assert!(again.nulls().is_none());
    }

    #[test]
    fn append_nulls_equals_repeated_append_null() {
        let (mut runs, mut ones) = (CheckedUtf8Builder::default(), CheckedUtf8Builder::default());
        for b in [&mut runs, &mut ones] {
            b.append_value("ä");
        }
        runs.append_nulls(3);
        (0..3).for_each(|_| ones.append_null());
        runs.append_nulls(0);
        for b in [&mut runs, &mut ones] {
            b.append_value("z");
        }
        assert_eq!(runs.len(), 5);
        assert_eq!(runs.finish().unwrap(), ones.finish().unwrap());
    }

    #[test]
    fn no_nulls_gives_no_null_buffer() {
        let mut b = CheckedUtf8Builder::default();
        b.append_bytes(b"a");
        b.append_bytes("é".as_bytes());
        let a = b.finish().expect("valid");
        assert!(a.nulls().is_none());
        assert_eq!(a.value(1), "é");
    }

    #[test]
    fn empty_builder_finishes_empty() {
        let a = CheckedUtf8Builder::default().finish().expect("valid");
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn invalid_bytes_fail_at_finish_not_panic() {
        let mut b = CheckedUtf8Builder::default();
        b.append_value("fine");
        b.append_bytes(&[0x66, 0xff, 0x6f]);
        let err = b.finish().expect_err("0xff is not UTF-8");
        assert!(matches!(err, BlockError::Corrupt { .. }), "{err}");
        // Reset after the failure: the next column is independent.
        b.append_value("ok");
        assert_eq!(b.finish().expect("valid").value(0), "ok");
    }

    #[test]
    fn a_character_split_across_two_values_fails() {
        // "é" is C3 A9: the joined buffer is valid UTF-8, but the offset between the two
        // values falls inside the character.
        let mut b = CheckedUtf8Builder::default();
        b.append_bytes(&[b'x', 0xc3]);
        b.append_bytes(&[0xa9, b'y']);
        let err = b.finish().expect_err("split character");
        assert!(matches!(err, BlockError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn truncated_character_at_the_end_fails() {
        let mut b = CheckedUtf8Builder::default();
        b.append_bytes(&[0xe6, 0x97]);
        assert!(b.finish().is_err());
    }
}
