//! Typed object keys.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStore;
use strata_common::{BlockId, TenantId};

use crate::StorageError;

/// The keys of one block's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPaths {
    pub tenant: TenantId,
    pub block: BlockId,
}

impl BlockPaths {
    pub fn new(tenant: TenantId, block: BlockId) -> Self {
        Self { tenant, block }
    }

    pub fn dir(&self) -> Path {
        Path::from_iter([self.tenant.as_str(), &self.block.to_string()])
    }

    pub fn meta(&self) -> Path {
        self.dir().join("meta.json")
    }

    pub fn data(&self) -> Path {
        self.dir().join("data.parquet")
    }

    pub fn bloom(&self) -> Path {
        self.dir().join("bloom")
    }
}

/// Tenants that have at least one object.
pub async fn list_tenants(store: &dyn ObjectStore) -> Result<Vec<TenantId>, StorageError> {
    let listing = store.list_with_delimiter(None).await?;
    let mut out = Vec::new();
    for p in listing.common_prefixes {
        if let Some(name) = p.filename() {
            if let Ok(t) = TenantId::new(name) {
                out.push(t);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Blocks of a tenant that have a `meta.json` (complete blocks), ascending by ID.
pub async fn list_blocks(
    store: &dyn ObjectStore,
    tenant: &TenantId,
) -> Result<Vec<BlockId>, StorageError> {
    let prefix = Path::from(tenant.as_str());
    let mut ids = BTreeSet::new();
    let mut stream = store.list(Some(&prefix));
    while let Some(meta) = stream.try_next().await? {
        let parts: Vec<_> = meta.location.parts().collect();
        if parts.len() == 3 && parts[2].as_ref() == "meta.json" {
            if let Ok(id) = parts[1].as_ref().parse::<BlockId>() {
                ids.insert(id);
            }
        }
    }
    Ok(ids.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    #[tokio::test]
    async fn lists_only_complete_blocks() {
        let store = InMemory::new();
        let t = TenantId::single();
        let done = BlockPaths::new(t.clone(), BlockId::new_random());
        let partial = BlockPaths::new(t.clone(), BlockId::new_random());
        store
            .put(&done.data(), PutPayload::from_static(b"x"))
            .await
            .unwrap();
        store
            .put(&done.meta(), PutPayload::from_static(b"{}"))
            .await
            .unwrap();
        store
            .put(&partial.data(), PutPayload::from_static(b"x"))
            .await
            .unwrap();
        assert_eq!(list_blocks(&store, &t).await.unwrap(), vec![done.block]);
        assert_eq!(list_tenants(&store).await.unwrap(), vec![t]);
        assert_eq!(
            done.meta().to_string(),
            format!("single-tenant/{}/meta.json", done.block)
        );
    }
}
