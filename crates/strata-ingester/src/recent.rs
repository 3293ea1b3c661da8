//! Blocks this ingester wrote recently, and their expiry.
//!
//! A block written to local disk is remembered per tenant ([`RecentBlock`]) so that
//! [`IngesterQuerier`](strata_proto::roles::IngesterQuerier) answers include it while queriers
//! may not yet see it in the object store. Blocks found on local disk at start are remembered
//! too, as flushed at start time.
//!
//! Expiry: a block is forgotten once it was flushed at least `complete_block_timeout` ago (by
//! the injected clock) **and** its upload has succeeded. A block whose upload is still pending
//! is kept, however old: until then the local copy is the only one. A forgotten block's local
//! copy is deleted once no query still holds its reader (a lookup that started before the
//! expiry reads it to the end instead of failing on vanished files).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use strata_block::BlockReader;
use strata_common::TenantId;

use crate::Ingester;

/// A block written locally by this ingester.
pub(crate) struct RecentBlock {
    pub(crate) reader: Arc<BlockReader>,
    /// When it was written (or, for blocks found at start, when the ingester started).
    pub(crate) flushed_at: SystemTime,
}

impl Ingester {
    /// Readers of the blocks this ingester flushed recently (or keeps locally) for `tenant`.
    pub(crate) fn recent_readers(&self, tenant: &TenantId) -> Vec<Arc<BlockReader>> {
        self.inner
            .recent
            .lock()
            .get(tenant)
            .map(|v| v.iter().map(|b| b.reader.clone()).collect())
            .unwrap_or_default()
    }

    /// Forgets blocks flushed longer than `complete_block_timeout` ago whose upload has
    /// succeeded, and deletes the local copies of forgotten blocks no query still reads.
    pub(crate) async fn expire_recent(&self, now: SystemTime) {
        let keep = self.inner.cfg.complete_block_timeout;
        let up = &self.inner.uploader;
        {
            let mut recent = self.inner.recent.lock();
            let mut retired = self.inner.retired.lock();
            for (tenant, blocks) in recent.iter_mut() {
                blocks.retain(|b| {
                    let young = now.duration_since(b.flushed_at).unwrap_or(Duration::ZERO) < keep;
                    let id = b.reader.meta().block_id;
                    if young || up.is_pending(tenant, id) {
                        true
                    } else {
                        retired.push((tenant.clone(), b.reader.clone()));
                        false
                    }
                });
            }
        }
        // Only `retired` holds a reader no query has cloned (or whose queries are done).
        let unread: Vec<(TenantId, Arc<BlockReader>)> = {
            let mut retired = self.inner.retired.lock();
            let (unread, busy) = std::mem::take(&mut *retired)
                .into_iter()
                .partition(|(_, r)| Arc::strong_count(r) == 1);
            *retired = busy;
            unread
        };
        for (tenant, reader) in unread {
            up.delete_local(&tenant, reader.meta().block_id).await;
        }
    }
}
