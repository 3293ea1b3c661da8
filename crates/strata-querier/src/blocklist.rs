//! The querier's view of the blocks in the object store, refreshed every `blocklist_poll`.
//! For each block it keeps the `meta.json` and the bloom filter, so a trace-by-ID lookup opens
//! only blocks whose time range and bloom filter admit the ID.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use strata_block::{read_bloom, read_meta, BlockReader, Bloom};
use strata_common::{BlockId, TenantId, TraceId};
use strata_storage::{list_blocks, list_tenants, SharedStore};

/// A block the querier can search.
pub struct BlockEntry {
    pub reader: Arc<BlockReader>,
    pub bloom: Bloom,
}

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, HashMap<BlockId, Arc<BlockEntry>>>,
}

/// Blocks per tenant.
#[derive(Clone)]
pub struct BlockList {
    store: SharedStore,
    state: Arc<RwLock<State>>,
}

impl BlockList {
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            state: Arc::default(),
        }
    }

    /// Re-reads the block list; new blocks get their meta and bloom loaded, vanished blocks are
    /// dropped. Returns the number of blocks known afterwards. A block that cannot be read is
    /// skipped with a warning and retried on the next poll.
    pub async fn poll(&self) -> Result<usize, strata_storage::StorageError> {
        let tenants = list_tenants(self.store.as_ref()).await?;
        let mut next: HashMap<TenantId, HashMap<BlockId, Arc<BlockEntry>>> = HashMap::new();
        for tenant in tenants {
            let ids = list_blocks(self.store.as_ref(), &tenant).await?;
            let known = self
                .state
                .read()
                .tenants
                .get(&tenant)
                .cloned()
                .unwrap_or_default();
            let mut blocks = HashMap::new();
            for id in ids {
                if let Some(e) = known.get(&id) {
                    blocks.insert(id, e.clone());
                    continue;
                }
                match self.load(&tenant, id).await {
                    Ok(e) => {
                        blocks.insert(id, Arc::new(e));
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %tenant, block = %id, error = %e, "skipping unreadable block")
                    }
                }
            }
            next.insert(tenant, blocks);
        }
        let n = next.values().map(|b| b.len()).sum();
        self.state.write().tenants = next;
        Ok(n)
    }

    async fn load(
        &self,
        tenant: &TenantId,
        id: BlockId,
    ) -> Result<BlockEntry, strata_block::BlockError> {
        let meta = read_meta(self.store.as_ref(), tenant, id).await?;
        let bloom = read_bloom(self.store.as_ref(), tenant, id).await?;
        Ok(BlockEntry {
            reader: Arc::new(BlockReader::new(self.store.clone(), meta)),
            bloom,
        })
    }

    /// Blocks that may hold `id`, optionally restricted to those overlapping
    /// `[start, end]` (unix nanoseconds).
    pub fn candidates(
        &self,
        tenant: &TenantId,
        id: &TraceId,
        range: Option<(u64, u64)>,
    ) -> Vec<Arc<BlockEntry>> {
        let state = self.state.read();
        let Some(blocks) = state.tenants.get(tenant) else {
            return Vec::new();
        };
        blocks
            .values()
            .filter(|b| match range {
                Some((start, end)) => {
                    let m = b.reader.meta();
                    m.start_time_unix_nano <= end && m.end_time_unix_nano >= start
                }
                None => true,
            })
            .filter(|b| b.bloom.may_contain(id))
            .cloned()
            .collect()
    }

    /// Every block of a tenant.
    pub fn all(&self, tenant: &TenantId) -> Vec<Arc<BlockEntry>> {
        self.state
            .read()
            .tenants
            .get(tenant)
            .map(|b| b.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of blocks known for a tenant.
    pub fn len(&self, tenant: &TenantId) -> usize {
        self.state.read().tenants.get(tenant).map_or(0, |b| b.len())
    }
}
