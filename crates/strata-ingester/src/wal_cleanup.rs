//! Releasing WAL segments once their data is durable elsewhere.
//!
//! The release rule: a segment is deleted only when no live trace, head block or unwritten cut
//! block still needs it. Each of those remembers the oldest segment holding its data
//! ([`Instance::min_segment`](crate::instance::Instance::min_segment)); every segment before the
//! oldest one still needed (or, with nothing in memory, before the current segment) goes. A cut
//! block stops needing its segments once it is written to local disk: the local copy is then the
//! durable one ([`crate::upload`]).
//!
//! The segment gate (`Inner::gate`): a push holds its read lock from its WAL append until its
//! data is in the tenant's live set; the cleanup takes the write lock. So the cleanup never sees
//! a segment holding data that is appended but not yet in memory, and never deletes it.

use crate::Ingester;

impl Ingester {
    /// Deletes the WAL segments no in-memory data needs any more (rule above).
    pub(crate) async fn delete_unneeded_segments(&self) {
        let _gate = self.inner.gate.write().await;
        let needed = self
            .instances()
            .iter()
            .filter_map(|(_, i)| i.lock().min_segment())
            .min();
        let wal = self.inner.wal.clone();
        let before = needed.unwrap_or_else(|| wal.current_segment());
        match tokio::task::spawn_blocking(move || wal.delete_segments_before(before)).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(deleted = n, "wal segments deleted"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "deleting wal segments"),
            Err(e) => tracing::error!(error = %e, "deleting wal segments"),
        }
    }
}
