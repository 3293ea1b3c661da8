//! The baseline: a plain parquet-crate scan of the columns a query reads, over every row of
//! every block, decoding them into Arrow batches of 8192 rows and only counting rows — the
//! cost of decoding those columns without evaluating anything.
//!
//! It opens each `data.parquet` as a local file with the synchronous
//! `ParquetRecordBatchReaderBuilder` (the footer is parsed once, before timing, as Strata's
//! block readers also cache it). "Bytes read" is the compressed size of the projected column
//! chunks in the footer: what the scan reads from the file.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use strata_block::BlockMeta;

use crate::BoxError;

/// One block's `data.parquet`, open, with its parsed footer.
pub struct BaselineFile {
    file: File,
    md: ArrowReaderMetadata,
}

/// Opens the blocks' data files under `dir` (the local object store's root).
pub fn open(dir: &Path, metas: &[BlockMeta]) -> Result<Vec<BaselineFile>, BoxError> {
    metas
        .iter()
        .map(|m| {
            let file = File::open(dir.join(m.paths()?.data().as_ref()))?;
            let md = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())?;
            Ok(BaselineFile { file, md })
        })
        .collect()
}

/// The column to read for `c`: in format v4 the resource columns are read as `resource_ref`
/// (the footer's resource table, decoded with the footer, holds the rest).
fn resource_ref_for<'a>(md: &ArrowReaderMetadata, c: &'a str) -> &'a str {
    use strata_block::schema::{col, RESOURCE_COLUMNS};
    match md.schema().index_of(col::RESOURCE_REF) {
        Ok(_) if RESOURCE_COLUMNS.contains(&c) => col::RESOURCE_REF,
        _ => c,
    }
}

/// Compressed bytes of the column chunks under the top-level `columns`, over all files.
pub fn column_bytes(files: &[BaselineFile], columns: &[&str]) -> u64 {
    files
        .iter()
        .flat_map(|f| f.md.metadata().row_groups().iter().map(move |rg| (f, rg)))
        .flat_map(|(f, rg)| rg.columns().iter().map(move |c| (f, c)))
        .filter(|(f, c)| {
            let parts = c.column_descr().path().parts();
            parts.first().is_some_and(|root| {
                columns
                    .iter()
                    .any(|c| resource_ref_for(&f.md, c) == root.as_str())
            })
        })
        .map(|(_, c)| c.compressed_size().max(0) as u64)
        .sum()
}

/// Decodes `columns` of every row of every file; returns the number of rows.
pub fn scan(files: &[BaselineFile], columns: &[&str]) -> Result<u64, BoxError> {
    let mut rows = 0u64;
    for f in files {
        let mut roots = columns
            .iter()
            .map(|c| f.md.schema().index_of(resource_ref_for(&f.md, c)))
            .collect::<Result<Vec<_>, _>>()?;
        roots.sort_unstable();
        roots.dedup();
        let mask = ProjectionMask::roots(f.md.parquet_schema(), roots);
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(f.file.try_clone()?, f.md.clone())
                .with_projection(mask)
                .with_batch_size(8192)
                .build()?;
        for batch in reader {
            rows += batch?.num_rows() as u64;
        }
    }
    Ok(rows)
}
