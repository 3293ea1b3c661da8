//! `compacted.json`: the marker a compactor puts next to a block it has merged into another.
//!
//! Key: `<tenant>/<block-id>/compacted.json` ([`compacted_path`]). JSON, camelCase:
//!
//! ```json
//! {"format":"strata-compacted-v1","blockId":"…","compactedUnixNano":1700000000000000000,
//!  "replacedBy":["…"]}
//! ```
//!
//! Invariants: the marker is written only after every block in `replacedBy` is complete (its
//! `meta.json` exists), so a marked block's data is always available elsewhere. A marked block
//! stays readable until `compactedUnixNano + compacted_block_retention`; then the compactor
//! deletes it (`meta.json` first). Readers that see the marker *and* all of `replacedBy` may
//! skip the marked block.

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_common::BlockId;
use strata_storage::BlockPaths;

use crate::error::{BlockError, Result};

/// Format of `compacted.json` written by this build.
pub const COMPACTED_FORMAT: &str = "strata-compacted-v1";

/// File name of the marker inside a block directory.
pub const COMPACTED_FILE: &str = "compacted.json";

/// The marker's content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactedMarker {
    pub format: String,
    pub block_id: BlockId,
    /// When the block was marked (the compactor's clock).
    pub compacted_unix_nano: u64,
    /// The blocks that now hold this block's spans.
    pub replaced_by: Vec<BlockId>,
}

impl CompactedMarker {
    pub fn new(block_id: BlockId, compacted_unix_nano: u64, replaced_by: Vec<BlockId>) -> Self {
        Self {
            format: COMPACTED_FORMAT.to_string(),
            block_id,
            compacted_unix_nano,
            replaced_by,
        }
    }
}

/// `<tenant>/<block-id>/compacted.json`.
pub fn compacted_path(paths: &BlockPaths) -> Path {
    paths.dir().join(COMPACTED_FILE)
}

/// Writes the marker of `paths`' block.
pub async fn write_compacted(
    store: &dyn ObjectStore,
    paths: &BlockPaths,
    marker: &CompactedMarker,
) -> Result<()> {
    let path = compacted_path(paths);
    let json = serde_json::to_vec(marker).map_err(|source| BlockError::MetaJson {
        path: path.to_string(),
        source,
    })?;
    store.put(&path, PutPayload::from(json)).await?;
    Ok(())
}

/// Parses marker bytes, rejecting unknown formats.
pub fn parse_compacted(bytes: &[u8], path: &str) -> Result<CompactedMarker> {
    let m: CompactedMarker =
        serde_json::from_slice(bytes).map_err(|source| BlockError::MetaJson {
            path: path.to_string(),
            source,
        })?;
    if m.format != COMPACTED_FORMAT {
        return Err(BlockError::corrupt(
            path,
            format!("unknown compacted marker format {:?}", m.format),
        ));
    }
    Ok(m)
}

/// Reads the marker of a block; `None` when the block is not marked.
pub async fn read_compacted(
    store: &dyn ObjectStore,
    paths: &BlockPaths,
) -> Result<Option<CompactedMarker>> {
    let path = compacted_path(paths);
    match store.get(&path).await {
        Ok(r) => Ok(Some(parse_compacted(&r.bytes().await?, path.as_ref())?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
