//! `meta.json`: a block's summary, written last so that its presence marks the block complete.

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_common::{BlockId, TenantId};
use strata_storage::BlockPaths;

use crate::error::{BlockError, Result};

/// The block format [`BlockWriter::new`](crate::BlockWriter::new) writes (ingesters and
/// compactors choose theirs by `storage.block.format`, v4 by default). Every format is also
/// stored in the Parquet file's key-value metadata under [`FORMAT_KEY`]. v2 added the
/// `replica` column, v3 the trace-level columns (see the `schema` module), v4 the resource
/// table ([`FORMAT_V4`]).
pub const FORMAT_VERSION: &str = "strata-parquet-v3";

/// The second block format, still read (and written on request,
/// [`BlockWriter::new_with_format`](crate::BlockWriter::new_with_format)): no trace-level
/// columns.
pub const FORMAT_V2: &str = "strata-parquet-v2";

/// The first block format, still read: no `replica` column (every row counts).
pub const FORMAT_V1: &str = "strata-parquet-v1";

/// The fourth block format, read, and written on request
/// ([`BlockWriter::new_with_format`](crate::BlockWriter::new_with_format)): each distinct
/// resource once per block, in the resource table of the Parquet footer
/// ([`crate::resources`]), and `resource_ref` on the span rows in place of the resource
/// columns.
pub const FORMAT_V4: &str = "strata-parquet-v4";

/// The fifth block format, read, and written only by a concatenation
/// ([`Concat`](crate::Concat)): the columns and footer of v4, rows sorted by trace ID within
/// each sorted run of row groups rather than across the file (format and invariants in
/// [`crate::concat`]).
pub const FORMAT_V5: &str = "strata-parquet-v5";

/// Every format this build reads.
pub const READ_FORMATS: &[&str] = &[FORMAT_V1, FORMAT_V2, FORMAT_VERSION, FORMAT_V4, FORMAT_V5];

/// Formats a [`BlockWriter`](crate::BlockWriter) can write.
pub const WRITE_FORMATS: &[&str] = &[FORMAT_V2, FORMAT_VERSION, FORMAT_V4];

/// [`READ_FORMATS`] for error messages.
pub(crate) const READ_FORMATS_TEXT: &str =
    "strata-parquet-v1, strata-parquet-v2, strata-parquet-v3, strata-parquet-v4 and strata-parquet-v5";

/// Key of the format version in the Parquet footer's key-value metadata.
pub const FORMAT_KEY: &str = "strata.format";

/// A block's summary, serialised as camelCase JSON in `meta.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// One of [`READ_FORMATS`] for blocks this build can read.
    pub format: String,
    pub block_id: BlockId,
    pub tenant_id: String,
    /// Minimum span start time in the block.
    pub start_time_unix_nano: u64,
    /// Maximum span end time in the block.
    pub end_time_unix_nano: u64,
    /// Distinct trace IDs in the block.
    pub total_traces: u64,
    /// Rows (spans) in `data.parquet`.
    pub total_spans: u64,
    /// Size of `data.parquet` in bytes.
    pub size_bytes: u64,
    /// Size of `bloom` in bytes.
    pub bloom_bytes: u64,
    pub row_groups: u32,
    /// 0 for blocks cut by an ingester; raised by each compaction.
    pub compaction_level: u32,
    /// When the writer finished, from the clock injected into it.
    pub created_unix_nano: u64,
    /// For a compaction's output: the blocks it replaces (absent from `meta.json` when empty,
    /// and in blocks written before it existed). Readers leave those blocks out as soon as
    /// this block is listed, so a span is never read from both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compacted_from: Vec<BlockId>,
}

impl BlockMeta {
    /// The object keys of this block.
    pub fn paths(&self) -> Result<BlockPaths> {
        let tenant = TenantId::new(&self.tenant_id).map_err(|e| {
            BlockError::corrupt(self.block_id, format!("bad tenant in meta.json: {e}"))
        })?;
        Ok(BlockPaths::new(tenant, self.block_id))
    }

    /// Whether `data.parquet` has the `replica` column (format v2 and later).
    pub fn has_replica_column(&self) -> bool {
        self.format != FORMAT_V1
    }

    /// Whether `data.parquet` has the trace-level columns (format v3 and later).
    pub fn has_trace_columns(&self) -> bool {
        self.format != FORMAT_V1 && self.format != FORMAT_V2
    }

    /// Whether the resources are in the footer's resource table, `resource_ref` on the rows
    /// (format v4).
    pub fn has_resource_table(&self) -> bool {
        self.format == FORMAT_V4 || self.format == FORMAT_V5
    }

    /// Rejects formats this build does not know.
    pub fn check_format(&self) -> Result<()> {
        if READ_FORMATS.contains(&self.format.as_str()) {
            Ok(())
        } else {
            Err(BlockError::UnsupportedFormat {
                block: self.block_id,
                found: self.format.clone(),
                expected: READ_FORMATS_TEXT,
            })
        }
    }
}

/// Reads and validates a block's `meta.json`: the format must be one of [`READ_FORMATS`] and the
/// block and tenant IDs inside must match the ones it is stored under.
pub async fn read_meta(
    store: &dyn ObjectStore,
    tenant: &TenantId,
    block: BlockId,
) -> Result<BlockMeta> {
    let path = BlockPaths::new(tenant.clone(), block).meta();
    let bytes = store.get(&path).await?.bytes().await?;
    let meta = parse_meta(&bytes, path.as_ref())?;
    meta.check_format()?;
    if meta.block_id != block || meta.tenant_id != tenant.as_str() {
        return Err(BlockError::corrupt(
            block,
            format!(
                "meta.json names block {} of tenant {:?} but is stored under {}",
                meta.block_id, meta.tenant_id, path
            ),
        ));
    }
    Ok(meta)
}

/// Parses `meta.json` bytes without checking the format.
pub fn parse_meta(bytes: &[u8], path: &str) -> Result<BlockMeta> {
    serde_json::from_slice(bytes).map_err(|source| BlockError::MetaJson {
        path: path.to_string(),
        source,
    })
}

/// Writes `meta.json`; callers write it after every other object of the block.
pub(crate) async fn write_meta(store: &dyn ObjectStore, meta: &BlockMeta) -> Result<()> {
    let path = meta.paths()?.meta();
    let json = serde_json::to_vec_pretty(meta).map_err(|source| BlockError::MetaJson {
        path: path.to_string(),
        source,
    })?;
    store.put(&path, PutPayload::from(json)).await?;
    Ok(())
}
