//! [`FooterCache`]: decoded Parquet footers and page indexes of many blocks, bounded in bytes.
//!
//! A [`BlockReader`](crate::BlockReader) keeps its block's decoded footer for as long as it
//! lives, unless it shares a `FooterCache`
//! ([`BlockReader::with_footer_cache`](crate::BlockReader::with_footer_cache)): then the
//! footer is looked up there and, when absent, read and inserted. Entries are evicted least recently used first once the sum of
//! their sizes (`ParquetMetaData::memory_size`) passes the capacity, so a querier's memory for
//! footers stays bounded however many blocks the store holds. A footer larger than the whole
//! capacity is used once and not kept. Two readers missing the same block at once both read
//! it (no single flight); the second insert replaces the first.
//!
//! A block's decoded resource table (format v4) may be kept with its footer
//! ([`insert_table`](FooterCache::insert_table)), counted in its size and dropped with it.
//!
//! Invariants: the bytes held never exceed the capacity once an insert returns; every
//! [`get`](FooterCache::get) counts one hit or one miss, every footer dropped to make room one
//! eviction, and every footer too large to keep one rejection ([`FooterCacheStats`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use parking_lot::Mutex;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use strata_common::BlockId;

use crate::resources::ResourceTable;

/// See the module docs.
#[derive(Debug)]
pub struct FooterCache {
    capacity: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    rejected: AtomicU64,
}

/// What a [`FooterCache`] has done so far, and what it holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FooterCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing (the reader then reads the footer from the store).
    pub misses: u64,
    /// Footers dropped to stay within the capacity.
    pub evictions: u64,
    /// Footers larger than the whole capacity, used once and not kept.
    pub rejected: u64,
    /// Bytes of footers held.
    pub bytes: usize,
    /// Footers held.
    pub entries: usize,
    /// The bound on `bytes`.
    pub capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// block → (footer, its size, its last use)
    entries: HashMap<BlockId, (ArrowReaderMetadata, usize, u64)>,
    /// block → its resource table (format v4), decoded from a footer held in `entries`; its
    /// size is counted in that entry's.
    tables: HashMap<BlockId, Arc<ResourceTable>>,
    /// last use → block, for eviction
    by_use: BTreeMap<u64, BlockId>,
    bytes: usize,
    tick: u64,
}

impl FooterCache {
    /// A cache holding at most `capacity` bytes of decoded footers.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// The footer of `block`, if cached (it becomes the most recently used).
    pub fn get(&self, block: BlockId) -> Option<ArrowReaderMetadata> {
        let mut g = self.inner.lock();
        g.tick += 1;
        let tick = g.tick;
        let (file, old) = {
            let Some(e) = g.entries.get_mut(&block) else {
                self.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            let old = std::mem::replace(&mut e.2, tick);
            (e.0.clone(), old)
        };
        g.by_use.remove(&old);
        g.by_use.insert(tick, block);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(file)
    }

    /// The decoded resource table of `block` (format v4), if its footer is held and the table
    /// was added; counts nothing and changes no recency.
    pub fn table(&self, block: BlockId) -> Option<Arc<ResourceTable>> {
        self.inner.lock().tables.get(&block).cloned()
    }

    /// Keeps `table`, decoded from `block`'s footer, while that footer is held (its size is
    /// added to the footer's; a table that would not fit is not kept).
    pub fn insert_table(&self, block: BlockId, table: Arc<ResourceTable>) {
        let size = table.batch().get_array_memory_size();
        let mut g = self.inner.lock();
        if g.tables.contains_key(&block) || g.bytes + size > self.capacity {
            return;
        }
        let Some(e) = g.entries.get_mut(&block) else {
            return;
        };
        e.1 += size;
        g.bytes += size;
        g.tables.insert(block, table);
    }

    /// Whether `block`'s footer is held; counts nothing and changes no recency.
    pub fn contains(&self, block: BlockId) -> bool {
        self.inner.lock().entries.contains_key(&block)
    }

    /// Caches `file` as `block`'s footer, evicting the least recently used ones over capacity.
    pub fn insert(&self, block: BlockId, file: ArrowReaderMetadata) {
        let size = file.metadata().memory_size();
        if size > self.capacity {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut g = self.inner.lock();
        g.tick += 1;
        let tick = g.tick;
        if let Some((_, old_size, old_tick)) = g.entries.insert(block, (file, size, tick)) {
            g.bytes -= old_size;
            g.by_use.remove(&old_tick);
            g.tables.remove(&block);
        }
        g.by_use.insert(tick, block);
        g.bytes += size;
        while g.bytes > self.capacity {
            let Some((_, victim)) = g.by_use.pop_first() else {
                break;
            };
            if let Some((_, s, _)) = g.entries.remove(&victim) {
                g.tables.remove(&victim);
                g.bytes -= s;
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts so far and current occupancy.
    pub fn stats(&self) -> FooterCacheStats {
        let (bytes, entries) = {
            let g = self.inner.lock();
            (g.bytes, g.entries.len())
        };
        FooterCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            bytes,
            entries,
            capacity: self.capacity,
        }
    }

    /// Bytes of footers held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }

    /// Footers held.
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
