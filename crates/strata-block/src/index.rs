//! The per-tenant block index `<tenant>/index.json`, and a one-pass listing of a tenant's block
//! directories.
//!
//! # `index.json`, format `strata-index-v1`
//!
//! JSON, camelCase: `{"format":"strata-index-v1","tenantId":…,"createdUnixNano":…,
//! "blocks":[<meta.json>…],"compacted":[{"meta":<meta.json>,"compactedUnixNano":…,
//! "replacedBy":[…]}…]}`.
//!
//! * Written by the compactor that owns the tenant, once per cycle, after listing the bucket:
//!   `blocks` are the complete blocks (with `meta.json`) without a `compacted.json` marker,
//!   `compacted` the complete blocks with one. Blocks are sorted by ID.
//! * Written with a single `put`, which object stores apply atomically: a reader sees the
//!   previous index or the new one, never a mix.
//! * It is a cache of the listing, never the source of truth: a reader must ignore an index
//!   older than its staleness bound (see `createdUnixNano`) and list the bucket instead, and
//!   blocks written after `createdUnixNano` are absent from it (ingesters keep serving their
//!   recent blocks for `complete_block_timeout`, which must exceed that bound).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_common::{BlockId, TenantId};

use crate::compacted::{CompactedMarker, COMPACTED_FILE};
use crate::error::{BlockError, Result};
use crate::meta::BlockMeta;

/// Format of `index.json` written by this build.
pub const INDEX_FORMAT: &str = "strata-index-v1";

/// A compacted block in the index.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactedEntry {
    pub meta: BlockMeta,
    pub compacted_unix_nano: u64,
    pub replaced_by: Vec<BlockId>,
}

impl CompactedEntry {
    pub fn new(meta: BlockMeta, marker: &CompactedMarker) -> Self {
        Self {
            meta,
            compacted_unix_nano: marker.compacted_unix_nano,
            replaced_by: marker.replaced_by.clone(),
        }
    }
}

/// The content of `index.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantIndex {
    pub format: String,
    pub tenant_id: String,
    /// When the listing behind this index was taken (the writer's clock).
    pub created_unix_nano: u64,
    /// Complete, live blocks.
    pub blocks: Vec<BlockMeta>,
    /// Complete blocks marked compacted, still readable until their grace period ends.
    pub compacted: Vec<CompactedEntry>,
}

impl TenantIndex {
    pub fn new(
        tenant: &TenantId,
        created_unix_nano: u64,
        mut blocks: Vec<BlockMeta>,
        mut compacted: Vec<CompactedEntry>,
    ) -> Self {
        blocks.sort_by_key(|m| m.block_id);
        compacted.sort_by_key(|c| c.meta.block_id);
        Self {
            format: INDEX_FORMAT.to_string(),
            tenant_id: tenant.as_str().to_string(),
            created_unix_nano,
            blocks,
            compacted,
        }
    }
}

/// `<tenant>/index.json`.
pub fn index_path(tenant: &TenantId) -> Path {
    Path::from_iter([tenant.as_str(), "index.json"])
}

/// Writes the tenant's index (one atomic `put`).
pub async fn write_index(store: &dyn ObjectStore, index: &TenantIndex) -> Result<()> {
    let tenant = TenantId::new(&index.tenant_id)
        .map_err(|e| BlockError::corrupt("index.json", format!("bad tenant: {e}")))?;
    let path = index_path(&tenant);
    let json = serde_json::to_vec(index).map_err(|source| BlockError::MetaJson {
        path: path.to_string(),
        source,
    })?;
    store.put(&path, PutPayload::from(json)).await?;
    Ok(())
}

/// Reads the tenant's index; `None` when there is none. Rejects unknown formats and an index
/// stored under another tenant.
pub async fn read_index(store: &dyn ObjectStore, tenant: &TenantId) -> Result<Option<TenantIndex>> {
    let path = index_path(tenant);
    let bytes = match store.get(&path).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let index: TenantIndex =
        serde_json::from_slice(&bytes).map_err(|source| BlockError::MetaJson {
            path: path.to_string(),
            source,
        })?;
    if index.format != INDEX_FORMAT {
        return Err(BlockError::corrupt(
            &path,
            format!("unknown index format {:?}", index.format),
        ));
    }
    if index.tenant_id != tenant.as_str() {
        return Err(BlockError::corrupt(
            &path,
            format!("index names tenant {:?}", index.tenant_id),
        ));
    }
    Ok(Some(index))
}

/// The objects of one block directory, from a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockObjects {
    pub block: BlockId,
    /// `meta.json` exists: the block is complete.
    pub has_meta: bool,
    /// `compacted.json` exists.
    pub has_compacted: bool,
    /// Every object in the directory.
    pub objects: Vec<Path>,
    /// Latest `last_modified` of the directory's objects, unix nanoseconds (store clock).
    pub newest_modified_unix_nano: u64,
}

impl BlockObjects {
    /// Objects in deletion order: `meta.json` first (the block stops being complete), the
    /// marker last.
    pub fn deletion_order(&self) -> Vec<Path> {
        let rank = |p: &Path| match p.filename() {
            Some("meta.json") => 0,
            Some(COMPACTED_FILE) => 2,
            _ => 1,
        };
        let mut v = self.objects.clone();
        v.sort_by_key(rank);
        v
    }
}

/// Lists every block directory of a tenant in one pass, complete or not, ascending by ID.
/// Objects that are not inside a `<tenant>/<block-id>/` directory are ignored.
pub async fn list_block_dirs(
    store: &dyn ObjectStore,
    tenant: &TenantId,
) -> Result<Vec<BlockObjects>> {
    let prefix = Path::from(tenant.as_str());
    let mut dirs: BTreeMap<BlockId, BlockObjects> = BTreeMap::new();
    let mut stream = store.list(Some(&prefix));
    while let Some(meta) = stream.try_next().await? {
        let parts: Vec<_> = meta.location.parts().collect();
        if parts.len() != 3 {
            continue;
        }
        let Ok(id) = parts[1].as_ref().parse::<BlockId>() else {
            continue;
        };
        let modified = meta
            .last_modified
            .timestamp_nanos_opt()
            .map_or(0, |n| n.max(0) as u64);
        let e = dirs.entry(id).or_insert_with(|| BlockObjects {
            block: id,
            has_meta: false,
            has_compacted: false,
            objects: Vec::new(),
            newest_modified_unix_nano: 0,
        });
        match parts[2].as_ref() {
            "meta.json" => e.has_meta = true,
            COMPACTED_FILE => e.has_compacted = true,
            _ => {}
        }
        e.newest_modified_unix_nano = e.newest_modified_unix_nano.max(modified);
        e.objects.push(meta.location);
    }
    Ok(dirs.into_values().collect())
}
