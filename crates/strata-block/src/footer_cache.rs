//! [`FooterCache`]: decoded Parquet footers and page indexes of many blocks, bounded in bytes.
//!
//! A [`BlockReader`](crate::BlockReader) keeps its block's decoded footer for as long as it
//! lives, unless it shares a `FooterCache` ([`BlockReader::with_footer_cache`]
//! (crate::BlockReader::with_footer_cache)): then the footer is looked up there and, when
//! absent, read and inserted. Entries are evicted least recently used first once the sum of
//! their sizes (`ParquetMetaData::memory_size`) passes the capacity, so a querier's memory for
//! footers stays bounded however many blocks the store holds. A footer larger than the whole
//! capacity is used once and not kept. Two readers missing the same block at once both read
//! it (no single flight); the second insert replaces the first.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use strata_common::BlockId;

/// See the module docs.
#[derive(Debug)]
pub struct FooterCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// block → (footer, its size, its last use)
    entries: HashMap<BlockId, (ArrowReaderMetadata, usize, u64)>,
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
        }
    }

    /// The footer of `block`, if cached (it becomes the most recently used).
    pub fn get(&self, block: BlockId) -> Option<ArrowReaderMetadata> {
        let mut g = self.inner.lock();
        g.tick += 1;
        let tick = g.tick;
        let (file, old) = {
            let e = g.entries.get_mut(&block)?;
            let old = std::mem::replace(&mut e.2, tick);
            (e.0.clone(), old)
        };
        g.by_use.remove(&old);
        g.by_use.insert(tick, block);
        Some(file)
    }

    /// Caches `file` as `block`'s footer, evicting the least recently used ones over capacity.
    pub fn insert(&self, block: BlockId, file: ArrowReaderMetadata) {
        let size = file.metadata().memory_size();
        if size > self.capacity {
            return;
        }
        let mut g = self.inner.lock();
        g.tick += 1;
        let tick = g.tick;
        if let Some((_, old_size, old_tick)) = g.entries.insert(block, (file, size, tick)) {
            g.bytes -= old_size;
            g.by_use.remove(&old_tick);
        }
        g.by_use.insert(tick, block);
        g.bytes += size;
        while g.bytes > self.capacity {
            let Some((_, victim)) = g.by_use.pop_first() else {
                break;
            };
            if let Some((_, s, _)) = g.entries.remove(&victim) {
                g.bytes -= s;
            }
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
