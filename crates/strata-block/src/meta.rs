//! `meta.json`: a block's summary, written last so that its presence marks the block complete.

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_common::{BlockId, TenantId};
use strata_storage::BlockPaths;

use crate::error::{BlockError, Result};

/// The only block format this build writes and reads. Also stored in the Parquet file's
/// key-value metadata under [`FORMAT_KEY`].
pub const FORMAT_VERSION: &str = "strata-parquet-v1";

/// Key of the format version in the Parquet footer's key-value metadata.
pub const FORMAT_KEY: &str = "strata.format";

/// A block's summary, serialised as camelCase JSON in `meta.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// Always [`FORMAT_VERSION`] for blocks this build can read.
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
}

impl BlockMeta {
    /// The object keys of this block.
    pub fn paths(&self) -> Result<BlockPaths> {
        let tenant = TenantId::new(&self.tenant_id).map_err(|e| {
            BlockError::corrupt(self.block_id, format!("bad tenant in meta.json: {e}"))
        })?;
        Ok(BlockPaths::new(tenant, self.block_id))
    }

    /// Rejects formats this build does not know.
    pub fn check_format(&self) -> Result<()> {
        if self.format == FORMAT_VERSION {
            Ok(())
        } else {
            Err(BlockError::UnsupportedFormat {
                block: self.block_id,
                found: self.format.clone(),
                expected: FORMAT_VERSION,
            })
        }
    }
}

/// Reads and validates a block's `meta.json`: the format must be [`FORMAT_VERSION`] and the
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
