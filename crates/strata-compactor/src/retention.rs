//! Deleting blocks: past retention, compacted past their grace period, and orphans.
//!
//! * **Retention**: a block whose `end_time_unix_nano` is older than `now - retention` is
//!   deleted, where retention is the tenant's `compaction.block_retention` override, else
//!   `compactor.block_retention`.
//! * **Compacted**: a block marked compacted at `t` is deleted once `t +
//!   compacted_block_retention <= now`.
//! * **Orphans**: a directory without `meta.json` whose newest object is older than the
//!   orphan age (a writer killed mid-block) is deleted.
//!
//! A block's objects are deleted `meta.json` first, so it stops being complete before its data
//! goes; a pass interrupted after that leaves an orphan, removed by a later pass.

use std::collections::HashMap;
use std::time::Duration;

use object_store::ObjectStoreExt;
use strata_block::BlockObjects;
use strata_common::TenantId;
use strata_storage::SharedStore;

use crate::error::CompactorError;

/// A tenant's retention, when it differs from the compactor's default.
pub trait RetentionOverrides: Send + Sync {
    fn block_retention(&self, tenant: &TenantId) -> Option<Duration>;
}

/// No per-tenant retention: every tenant uses `compactor.block_retention`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOverrides;

impl RetentionOverrides for NoOverrides {
    fn block_retention(&self, _tenant: &TenantId) -> Option<Duration> {
        None
    }
}

impl RetentionOverrides for HashMap<TenantId, Duration> {
    fn block_retention(&self, tenant: &TenantId) -> Option<Duration> {
        self.get(tenant).copied()
    }
}

/// The live per-tenant limits (`overrides.*.compaction.block_retention`).
impl RetentionOverrides for strata_server::Overrides {
    fn block_retention(&self, tenant: &TenantId) -> Option<Duration> {
        self.limits(tenant).compaction.block_retention
    }
}

/// `now - d` in unix nanoseconds, saturating at 0.
pub fn cutoff(now_unix_nanos: u64, d: Duration) -> u64 {
    now_unix_nanos.saturating_sub(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Deletes every object of a block directory, `meta.json` first. Objects already gone are
/// not an error.
pub async fn delete_block(store: &SharedStore, dir: &BlockObjects) -> Result<(), CompactorError> {
    for path in dir.deletion_order() {
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
