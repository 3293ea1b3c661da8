//! The resource table of format v4 (`strata-parquet-v4`): each distinct resource of a block
//! once, and the `resource_ref` column of `data.parquet` naming a row of it per span.
//!
//! # Format
//!
//! The table is stored in `data.parquet`'s footer, under the key-value metadata key
//! [`RESOURCES_KEY`]: standard base64 (with padding) of a complete Parquet file whose schema
//! is [`resource_table_schema`] — `resource_attrs`, `resource_dropped_attributes_count`,
//! `resource_entity_refs`, `resource_schema_url`, with the types and meanings of the same
//! columns of format v3 (see [`crate::schema`]). Row *i* is the resource that
//! `resource_ref = i` names. A v4 file without the key has no spans. Kept in the footer, the
//! table comes with the footer a reader fetches anyway (one read for a trace by ID, cached
//! with the footer for search) and needs no object of its own.
//!
//! The table grows with the block's distinct resources (a few hundred bytes each, before
//! compression), not with its spans; a block of very many distinct resources (one per
//! short-lived process, say) has a correspondingly large footer, which every reader loads.
//!
//! # Invariants
//!
//! * Every `resource_ref` of the file is below the table's row count (readers check, and
//!   report a corrupt block otherwise).
//! * Rows are distinct as written by an ingester (keyed by the resource's protobuf bytes as
//!   received and its schema URL); two equal rows are allowed and mean the same resource.
//! * Readers turn `resource_ref` back into the four v3 columns ([`ResourceTable::expand`]),
//!   so every reader above this crate sees v3-shaped batches.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StructArray, UInt32Array, UInt8Array};
use arrow_schema::{Field, Schema};
use base64::Engine;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;

use crate::convert::{downcast, table_resources, ResourceCtx, SpanBatchBuilder};
use crate::error::{BlockError, Result};
use crate::schema::{col, resource_table_schema, tag, RESOURCE_COLUMNS};

/// Footer key of the resource table (format v4).
pub const RESOURCES_KEY: &str = "strata.resources";

/// A block's distinct resources (format v4); see the module docs.
#[derive(Debug, Clone)]
pub struct ResourceTable {
    batch: RecordBatch,
}

impl ResourceTable {
    /// A table of `batch`'s rows; its schema must be [`resource_table_schema`].
    pub(crate) fn new(batch: RecordBatch) -> Result<Self> {
        if batch.schema().fields() != resource_table_schema().fields() {
            return Err(BlockError::corrupt(
                "<resources>",
                "the resource table does not have the resource columns",
            ));
        }
        Ok(Self { batch })
    }

    /// Rows (distinct resources).
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table's rows as a batch of [`resource_table_schema`].
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// The table of a v4 file's footer (an empty table when the key is absent).
    pub fn from_footer(md: &ParquetMetaData, block: impl ToString) -> Result<Self> {
        let value = md
            .file_metadata()
            .key_value_metadata()
            .and_then(|kvs| kvs.iter().find(|kv| kv.key == RESOURCES_KEY))
            .and_then(|kv| kv.value.as_deref());
        let Some(value) = value else {
            return Self::new(RecordBatch::new_empty(resource_table_schema()));
        };
        let corrupt = |reason: String| BlockError::corrupt(block.to_string(), reason);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|e| corrupt(format!("resource table is not base64: {e}")))?;
        // A corrupt embedded file may reach a panic in the decoder (see `crate::guard`).
        let decoded = std::panic::catch_unwind(|| decode(Bytes::from(bytes)))
            .map_err(|_| corrupt("the Parquet decoder failed on the resource table".into()))?;
        let batch = decoded.map_err(|e| corrupt(format!("resource table: {e}")))?;
        Self::new(batch).map_err(|_| corrupt("resource table has the wrong columns".into()))
    }

    /// Whether a resource of the table has an array-valued attribute (a reader that answers
    /// `resource.service.name` from the `service_name` column must then look further). A
    /// table it cannot read counts as having one.
    pub fn has_array_attribute(&self) -> bool {
        let attrs = self.batch.column(0).as_any().downcast_ref::<ListArray>();
        let types = attrs.and_then(|l| {
            let items = l.values().as_any().downcast_ref::<StructArray>()?;
            let t = items.column_by_name(col::attr::TYPE)?;
            t.as_any().downcast_ref::<UInt8Array>().cloned()
        });
        types.is_none_or(|t| t.values().contains(&tag::ARRAY))
    }

    /// The footer value of this table (see the module docs).
    pub(crate) fn to_footer_value(&self, zstd: ZstdLevel) -> Result<String> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .build();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, self.batch.schema(), Some(props))?;
        w.write(&self.batch)?;
        w.close()?;
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// `batch` with its `resource_ref` column replaced, in place, by those of the resource
    /// columns named in `wanted` (in [`RESOURCE_COLUMNS`] order), taken from the table.
    /// A batch without `resource_ref` is returned as it is.
    pub fn expand(&self, batch: RecordBatch, wanted: &[&str]) -> Result<RecordBatch> {
        let schema = batch.schema();
        let Ok(at) = schema.index_of(col::RESOURCE_REF) else {
            return Ok(batch);
        };
        let refs: &UInt32Array = downcast(batch.column(at).as_ref(), col::RESOURCE_REF)?;
        check_refs(refs, self.len())?;
        let table = self.batch.schema();
        let mut fields: Vec<Arc<Field>> = Vec::with_capacity(schema.fields().len() + 3);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.capacity());
        for (i, f) in schema.fields().iter().enumerate() {
            if i != at {
                fields.push(f.clone());
                columns.push(batch.column(i).clone());
                continue;
            }
            for (c, name) in RESOURCE_COLUMNS.iter().enumerate() {
                if wanted.contains(name) {
                    fields.push(Arc::new(table.field(c).clone()));
                    columns.push(arrow_select::take::take(
                        self.batch.column(c).as_ref(),
                        refs,
                        None,
                    )?);
                }
            }
        }
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &options,
        )?)
    }

    /// [`expand`](Self::expand) to every resource column: a v4 batch becomes a v3-shaped one.
    pub fn expand_all(&self, batch: RecordBatch) -> Result<RecordBatch> {
        self.expand(batch, &RESOURCE_COLUMNS)
    }
}

/// The resource table of a compaction's output, made of its inputs' tables
/// ([`merge_tables`]): each distinct resource once, and for every input the output row of
/// each of its rows. [`BlockWriter::with_resource_merge`](crate::BlockWriter::with_resource_merge)
/// takes it.
#[derive(Debug)]
pub struct ResourceMerge {
    /// A builder in ref mode whose table is the union.
    pub(crate) builder: SpanBatchBuilder,
    /// Per input table, per row: the row of the union.
    pub maps: Vec<Vec<u32>>,
}

/// The union of `tables`: rows equal in content (the same resource and schema URL, compared
/// by their protobuf encoding) become one. Costs a decode of every table row, not of spans.
pub fn merge_tables(tables: &[&ResourceTable]) -> Result<ResourceMerge> {
    let mut builder = SpanBatchBuilder::with_resource_table();
    let mut maps = Vec::with_capacity(tables.len());
    for t in tables {
        let rows = table_resources(&t.batch)?;
        let map = (rows.iter())
            .map(|(r, url)| builder.intern_resource(&ResourceCtx::new(r.as_ref(), url)))
            .collect::<Result<Vec<u32>>>()?;
        maps.push(map);
    }
    Ok(ResourceMerge { builder, maps })
}

/// `refs` mapped through `map` (an input's rows to the merged table's); a ref outside `map`
/// is a corrupt block.
pub(crate) fn remap(refs: &UInt32Array, map: &UInt32Array) -> Result<ArrayRef> {
    check_refs(refs, map.len())?;
    Ok(arrow_select::take::take(map, refs, None)?)
}

/// Every ref non-null and below `rows` (a table's, or a map's, length); a corrupt block
/// otherwise.
fn check_refs(refs: &UInt32Array, rows: usize) -> Result<()> {
    let rows = rows as u64;
    if refs.null_count() > 0 || refs.values().iter().any(|&r| u64::from(r) >= rows) {
        return Err(BlockError::corrupt(
            "<batch>",
            format!("a resource_ref is null or not below the table's {rows} rows"),
        ));
    }
    Ok(())
}

fn decode(bytes: Bytes) -> Result<RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    let schema = resource_table_schema();
    for b in &batches {
        if b.schema().fields() != schema.fields() {
            return Err(BlockError::corrupt(
                "<resources>",
                "the resource table does not have the resource columns",
            ));
        }
    }
    Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
}
