//! [`BlockReader::column_chunk_dictionary`]: the dictionary of one column chunk, read from
//! its dictionary page alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::basic::{Encoding, PageType, Type};
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ColumnChunkMetaData;

use parquet::file::serialized_reader::SerializedPageReader;

use crate::at::At;
use crate::error::{BlockError, Result};
use crate::reader::BlockReader;

/// The distinct values of a dictionary-encoded byte-array column chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDictionary {
    /// Every value of the chunk's dictionary, in dictionary order. Every non-null value of
    /// the chunk is among them (the chunk being entirely dictionary-encoded).
    pub values: Vec<Vec<u8>>,
    /// Bytes fetched from `data.parquet` for it (the dictionary page only).
    pub inspected_bytes: u64,
}

impl BlockReader {
    /// The dictionary of column `column` (a leaf path such as `name`) in row group
    /// `row_group`, when it holds every value of the chunk: the column is a byte array and
    /// the footer's page encoding statistics show that all data pages are dictionary-encoded
    /// (a writer falls back to plain pages when a dictionary grows too large, and then the
    /// dictionary misses values). `None` otherwise, or for an unknown column or row group.
    /// Only the dictionary page is fetched.
    pub async fn column_chunk_dictionary(
        &self,
        row_group: usize,
        column: &str,
    ) -> Result<Option<ChunkDictionary>> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let md = self.file(&mut source).await?.metadata().clone();
        let Some(rg) = md.row_groups().get(row_group) else {
            return Ok(None);
        };
        let Some(chunk) = rg
            .columns()
            .iter()
            .find(|c| c.column_descr().path().string() == column)
        else {
            return Ok(None);
        };
        if chunk.column_descr().physical_type() != Type::BYTE_ARRAY || !exhaustive(chunk) {
            return Ok(None);
        }
        let (Some(start), Ok(end)) = (
            chunk
                .dictionary_page_offset()
                .and_then(|o| u64::try_from(o).ok()),
            u64::try_from(chunk.data_page_offset()),
        ) else {
            return Ok(None);
        };
        if start >= end || end > self.meta().size_bytes {
            return Ok(None);
        }
        let bytes = source.get_bytes(start..end).await?;
        let page = Arc::new(At { start, bytes });
        let rows = usize::try_from(rg.num_rows()).unwrap_or(0);
        let mut pages = SerializedPageReader::new(page, chunk, rows, None)?;
        let corrupt = |why: &str| {
            BlockError::corrupt(
                self.meta().block_id,
                format!("dictionary of {column} in row group {row_group}: {why}"),
            )
        };
        let values = match pages.get_next_page()? {
            Some(Page::DictionaryPage {
                buf,
                num_values,
                encoding: Encoding::PLAIN | Encoding::PLAIN_DICTIONARY,
                ..
            }) => plain_byte_arrays(buf, num_values).ok_or_else(|| corrupt("bad values"))?,
            Some(Page::DictionaryPage { .. }) => return Ok(None),
            _ => return Err(corrupt("no dictionary page at the dictionary offset")),
        };
        Ok(Some(ChunkDictionary {
            values,
            inspected_bytes: counter.load(Ordering::Relaxed),
        }))
    }
}

/// Whether every data page of `chunk` is dictionary-encoded, by its page encoding
/// statistics (full or reduced to a mask of data page encodings); unknown counts as no.
fn exhaustive(chunk: &ColumnChunkMetaData) -> bool {
    let dict = |e: Encoding| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY);
    if chunk.dictionary_page_offset().is_none() {
        return false;
    }
    if let Some(mask) = chunk.page_encoding_stats_mask() {
        let mut encodings = mask.encodings().peekable();
        return encodings.peek().is_some() && encodings.all(dict);
    }
    if let Some(stats) = chunk.page_encoding_stats() {
        let data = |t: PageType| matches!(t, PageType::DATA_PAGE | PageType::DATA_PAGE_V2);
        let mut pages = stats.iter().filter(|s| data(s.page_type)).peekable();
        return pages.peek().is_some() && pages.all(|s| dict(s.encoding));
    }
    false
}

/// `n` PLAIN byte arrays (4-byte little-endian length, then the bytes) filling `buf`.
fn plain_byte_arrays(mut buf: Bytes, n: u32) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(usize::try_from(n).ok()?.min(buf.len() / 4));
    for _ in 0..n {
        if buf.remaining() < 4 {
            return None;
        }
        let len = usize::try_from(buf.get_u32_le()).ok()?;
        if buf.remaining() < len {
            return None;
        }
        out.push(buf.split_to(len).to_vec());
    }
    buf.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values() {
        let mut b = Vec::new();
        for v in [&b"a"[..], b"", b"xyz"] {
            b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            b.extend_from_slice(v);
        }
        let want = vec![b"a".to_vec(), vec![], b"xyz".to_vec()];
        assert_eq!(plain_byte_arrays(Bytes::from(b.clone()), 3), Some(want));
        assert_eq!(plain_byte_arrays(Bytes::from(b.clone()), 2), None);
        assert_eq!(
            plain_byte_arrays(Bytes::from(b[..b.len() - 1].to_vec()), 3),
            None
        );
    }
}
