//! The querier's view of the blocks in the object store, refreshed every `blocklist_poll`.
//! For each block it keeps the `meta.json` and the bloom filter, so a trace-by-ID lookup opens
//! only blocks whose time range and bloom filter admit the ID.
//!
//! Where the block list comes from, per tenant and per poll:
//!
//! * The tenant index `<tenant>/index.json` (written by the compactor, format in
//!   `strata_block::index`) when it exists, parses, and is younger than the staleness bound
//!   ([`DEFAULT_INDEX_MAX_AGE`], or [`BlockList::with_index_max_age`]). Its `blocks` are used as
//!   they are (no `meta.json` reads); its `compacted` entries are left out.
//! * Otherwise a listing of the tenant's objects: every block with `meta.json`, except those
//!   with a `compacted.json` marker whose replacement blocks are all in the same listing (a
//!   marked block whose output is not visible yet stays, so nothing is ever missed).
//!
//! In both cases a block named in another listed block's `compactedFrom` (the inputs of a
//! compaction whose output is complete) is left out, markers written or not.
//!
//! Blocks written after the index was built are not in it; ingesters serve their recent blocks
//! for `complete_block_timeout` (default 15m), which must exceed the index bound plus the poll.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use parking_lot::RwLock;
use strata_block::{
    list_block_dirs, read_bloom, read_compacted, read_index, read_meta, BlockMeta, BlockReader,
    Bloom, CompactedMarker, FindResult, FooterCache,
};
use strata_common::{BlockId, SharedClock, SystemClock, TenantId, TraceId};
use strata_storage::{list_tenants, BlockPaths, SharedStore};
use tracing::Instrument;

/// An index older than this is ignored and the bucket listed instead: three default
/// compaction cycles (30s each) plus margin. `storage.blocklist_poll_stale_tenant_index`.
pub const DEFAULT_INDEX_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// New blocks whose `meta.json` and `bloom` are read at once during a poll.
const LOAD_CONCURRENCY: usize = 32;

/// Candidate blocks a trace-by-ID lookup reads at once.
pub const LOOKUP_CONCURRENCY: usize = 8;

/// A block the querier can search.
pub struct BlockEntry {
    pub reader: Arc<BlockReader>,
    pub bloom: Bloom,
}

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, HashMap<BlockId, Arc<BlockEntry>>>,
    /// Compacted markers seen (immutable, so cached).
    markers: HashMap<BlockId, CompactedMarker>,
}

/// Blocks per tenant.
#[derive(Clone)]
pub struct BlockList {
    store: SharedStore,
    state: Arc<RwLock<State>>,
    clock: SharedClock,
    index_max_age: Duration,
    /// Where readers keep their decoded footers (bounded); `None`: each reader keeps its own.
    footers: Option<Arc<FooterCache>>,
    /// [`BlockReader::with_whole_read_bytes`] of the readers made.
    whole_read_bytes: i64,
}

impl BlockList {
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            state: Arc::default(),
            clock: Arc::new(SystemClock),
            index_max_age: DEFAULT_INDEX_MAX_AGE,
            footers: None,
            whole_read_bytes: strata_block::WHOLE_READ_BYTES,
        }
    }

    /// Readers made from now on read row groups of at most `bytes` whole
    /// ([`BlockReader::with_whole_read_bytes`]); for benchmarks and tests comparing the two
    /// ways of reading.
    pub fn with_whole_read_bytes(mut self, bytes: i64) -> Self {
        self.whole_read_bytes = bytes;
        self
    }

    /// Readers of this list keep their decoded footers in `cache`, so footer memory is bounded
    /// by its capacity rather than growing with the number of blocks read.
    pub fn with_footer_cache(mut self, cache: Arc<FooterCache>) -> Self {
        self.footers = Some(cache);
        self
    }

    /// The shared footer cache, if any.
    pub fn footer_cache(&self) -> Option<&Arc<FooterCache>> {
        self.footers.as_ref()
    }

    /// The clock that judges the index's age.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The staleness bound of the tenant index.
    pub fn with_index_max_age(mut self, max_age: Duration) -> Self {
        self.index_max_age = max_age;
        self
    }

    /// Re-reads the block list; new blocks get their meta and bloom loaded, vanished blocks are
    /// dropped. Returns the number of blocks known afterwards. A block that cannot be read is
    /// skipped with a warning and retried on the next poll.
    pub async fn poll(&self) -> Result<usize, strata_storage::StorageError> {
        let tenants = list_tenants(self.store.as_ref()).await?;
        let mut next: HashMap<TenantId, HashMap<BlockId, Arc<BlockEntry>>> = HashMap::new();
        for tenant in tenants {
            let wanted = match self.blocks_from_index(&tenant).await {
                Some(metas) => metas,
                None => self.blocks_from_listing(&tenant).await?,
            };
            let known = self
                .state
                .read()
                .tenants
                .get(&tenant)
                .cloned()
                .unwrap_or_default();
            let mut blocks = HashMap::new();
            let mut new = Vec::new();
            for (id, meta) in wanted {
                match known.get(&id) {
                    Some(e) => {
                        blocks.insert(id, e.clone());
                    }
                    None => new.push((id, meta)),
                }
            }
            // New blocks' metas and blooms, LOAD_CONCURRENCY reads at a time (a querier
            // starting over a large bucket would otherwise wait for one round trip per block).
            let tenant_ref = &tenant;
            let loaded: Vec<_> = stream::iter(new)
                .map(|(id, meta)| async move { (id, self.load(tenant_ref, id, meta).await) })
                .buffer_unordered(LOAD_CONCURRENCY)
                .collect()
                .await;
            for (id, r) in loaded {
                match r {
                    Ok(e) => {
                        blocks.insert(id, Arc::new(e));
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %tenant, block = %id, error = %e, "skipping unreadable block")
                    }
                }
            }
            // A compaction's output names its inputs: once it is listed they are left out even
            // before their `compacted.json` markers are written, so no span is read twice.
            let replaced: HashSet<BlockId> = blocks
                .values()
                .flat_map(|b| b.reader.meta().compacted_from.iter().copied())
                .collect();
            blocks.retain(|id, _| !replaced.contains(id));
            next.insert(tenant, blocks);
        }
        let n = next.values().map(|b| b.len()).sum();
        let mut st = self.state.write();
        let present: HashSet<BlockId> = next.values().flat_map(|b| b.keys().copied()).collect();
        st.markers.retain(|id, _| present.contains(id));
        st.tenants = next;
        Ok(n)
    }

    /// The live blocks of a fresh tenant index; `None` when there is none, it is unreadable, or
    /// it is too old.
    async fn blocks_from_index(
        &self,
        tenant: &TenantId,
    ) -> Option<Vec<(BlockId, Option<BlockMeta>)>> {
        let index = match read_index(self.store.as_ref(), tenant).await {
            Ok(Some(i)) => i,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(tenant = %tenant, error = %e, "unreadable tenant index; listing");
                return None;
            }
        };
        let now = self.clock.now_unix_nanos();
        let max_age = u64::try_from(self.index_max_age.as_nanos()).unwrap_or(u64::MAX);
        if now.saturating_sub(index.created_unix_nano) > max_age {
            return None;
        }
        Some(
            index
                .blocks
                .into_iter()
                .map(|m| (m.block_id, Some(m)))
                .collect(),
        )
    }

    /// Complete blocks from a listing, without compacted blocks whose outputs are all listed.
    async fn blocks_from_listing(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(BlockId, Option<BlockMeta>)>, strata_storage::StorageError> {
        let dirs = list_block_dirs(self.store.as_ref(), tenant)
            .await
            .map_err(|e| match e {
                strata_block::BlockError::ObjectStore(e) => e.into(),
                other => strata_storage::StorageError::BadKey(other.to_string()),
            })?;
        let complete: HashSet<BlockId> = dirs
            .iter()
            .filter(|d| d.has_meta)
            .map(|d| d.block)
            .collect();
        let mut out = Vec::new();
        for d in dirs.iter().filter(|d| d.has_meta) {
            if d.has_compacted {
                if let Some(m) = self.marker(tenant, d.block).await {
                    if !m.replaced_by.is_empty()
                        && m.replaced_by.iter().all(|r| complete.contains(r))
                    {
                        continue;
                    }
                }
            }
            out.push((d.block, None));
        }
        Ok(out)
    }

    async fn marker(&self, tenant: &TenantId, id: BlockId) -> Option<CompactedMarker> {
        if let Some(m) = self.state.read().markers.get(&id) {
            return Some(m.clone());
        }
        let paths = BlockPaths::new(tenant.clone(), id);
        match read_compacted(self.store.as_ref(), &paths).await {
            Ok(Some(m)) => {
                self.state.write().markers.insert(id, m.clone());
                Some(m)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(tenant = %tenant, block = %id, error = %e, "unreadable compacted marker");
                None
            }
        }
    }

    async fn load(
        &self,
        tenant: &TenantId,
        id: BlockId,
        meta: Option<BlockMeta>,
    ) -> Result<BlockEntry, strata_block::BlockError> {
        let meta = match meta {
            Some(m) => {
                m.check_format()?;
                m
            }
            None => read_meta(self.store.as_ref(), tenant, id).await?,
        };
        let bloom = read_bloom(self.store.as_ref(), tenant, id).await?;
        let reader =
            BlockReader::new(self.store.clone(), meta).with_whole_read_bytes(self.whole_read_bytes);
        Ok(BlockEntry {
            reader: Arc::new(match &self.footers {
                Some(c) => reader.with_footer_cache(c.clone()),
                None => reader,
            }),
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

    /// Looks `id` up in every block [`candidates`](Self::candidates) names,
    /// [`LOOKUP_CONCURRENCY`] blocks at a time (on an object store each is a few round trips).
    /// Answers one result per candidate, in no particular order.
    pub async fn find_trace(
        &self,
        tenant: &TenantId,
        id: &TraceId,
        range: Option<(u64, u64)>,
    ) -> Vec<Result<Option<FindResult>, strata_block::BlockError>> {
        stream::iter(self.candidates(tenant, id, range))
            .map(|b| {
                let span = tracing::info_span!(
                    "block.find_trace",
                    block_id = %b.reader.meta().block_id
                );
                async move { b.reader.find_trace(id).await }.instrument(span)
            })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .collect()
            .await
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

    /// One block of a tenant, if known.
    pub fn get(&self, tenant: &TenantId, id: &BlockId) -> Option<Arc<BlockEntry>> {
        self.state.read().tenants.get(tenant)?.get(id).cloned()
    }

    /// Number of blocks known for a tenant.
    pub fn len(&self, tenant: &TenantId) -> usize {
        self.state.read().tenants.get(tenant).map_or(0, |b| b.len())
    }
}
