//! Checks that a Parquet footer's byte ranges lie inside the file, before any page is read.
//!
//! The `parquet` crate trusts the column-chunk offsets and sizes and the offset index's page
//! locations of a footer that parsed: a corrupted one (a negative size, a range past the end, a
//! page before its chunk's start) makes it panic (`ColumnChunkMetaData::byte_range` asserts; the push decoder subtracts range
//! bounds) instead of returning an error. A block whose ranges do not fit its `size_bytes` is
//! corrupt, and says so here. Found by `fuzz_block_corrupted_parquet`.

use parquet::file::metadata::ParquetMetaData;

/// `Err(reason)` when a column chunk or a page of `md` is not within a file of `file_size`
/// bytes.
pub(crate) fn check_ranges(md: &ParquetMetaData, file_size: u64) -> Result<(), String> {
    let within = |what: &str, start: i64, len: i64| -> Result<(), String> {
        let fits = u64::try_from(start)
            .ok()
            .zip(u64::try_from(len).ok())
            .and_then(|(s, l)| s.checked_add(l))
            .is_some_and(|end| end <= file_size);
        if fits {
            Ok(())
        } else {
            Err(format!(
                "{what} at offset {start} of {len} bytes is outside the {file_size}-byte file"
            ))
        }
    };
    for (rg, group) in md.row_groups().iter().enumerate() {
        let pages = md.page_index_for_row_group(rg);
        for (c, col) in group.columns().iter().enumerate() {
            let what = format!("row group {rg} column {c}");
            let start = col
                .dictionary_page_offset()
                .unwrap_or(col.data_page_offset());
            within(&what, start, col.compressed_size())?;
            if let Some(d) = col.dictionary_page_offset() {
                within(&what, d, 0)?;
            }
            within(&what, col.data_page_offset(), 0)?;
            if let Some(index) = pages.offset_index(c) {
                // Pages lie in their chunk, in order: the reader takes the bytes between the
                // chunk's start and the first page as the dictionary page.
                let end = start.saturating_add(col.compressed_size());
                let mut previous = start;
                for page in index.page_locations() {
                    let size = i64::from(page.compressed_page_size);
                    within(&format!("{what} page"), page.offset, size)?;
                    if page.offset < previous || page.offset.saturating_add(size) > end {
                        return Err(format!(
                            "{what}: page at offset {} of {size} bytes is out of order or \
                             outside its chunk (offsets {start}..{end})",
                            page.offset
                        ));
                    }
                    previous = page.offset;
                }
                // Pages start at row 0 and their first rows increase within the row group: the
                // reader turns them into row ranges (a decreasing one would underflow there).
                let rows = group.num_rows();
                let mut prev_row: Option<i64> = None;
                for page in index.page_locations() {
                    let first = page.first_row_index;
                    let ordered = match prev_row {
                        None => first == 0,
                        Some(p) => first > p,
                    };
                    if !ordered || first >= rows.max(1) {
                        return Err(format!(
                            "{what}: page first row {first} is out of order or past the row \
                             group's {rows} rows"
                        ));
                    }
                    prev_row = Some(first);
                }
            }
        }
    }
    Ok(())
}
