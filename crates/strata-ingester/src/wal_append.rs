//! The WAL append step of a push: bounded, classified, counted.
//!
//! * **Bound.** Pushes encoded and handed to the WAL but not yet durable (written and, with
//!   `fsync: always`, fsynced) hold `wal_pending` bytes. When a push would take that past
//!   `max_wal_pending_bytes` it is refused before the write (`RESOURCE_EXHAUSTED` with a retry
//!   delay, counted in `strata_ingester_pushes_refused_total`), so a slow disk turns into
//!   backpressure instead of a growing queue of requests in memory. A push is never refused
//!   when nothing is pending, so one push larger than the bound still gets through. The
//!   reservation is released when the blocking write returns, also when the client has gone.
//! * **Failures.** A failed append answers `UNAVAILABLE` (nothing of the push was kept, the
//!   client may retry) and is counted in `strata_ingester_wal_append_failures_total{reason}`:
//!   `disk_full` (ENOSPC or a quota: the WAL's filesystem is full; appends work again once
//!   space returns), `io_error` (any other write or fsync error), `poisoned` (an fsync failed
//!   earlier, so the log refuses appends until the process restarts and replays it; `/ready`
//!   then fails) and `other`. The newest failure is reported on `/ready` until an append
//!   succeeds.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use strata_proto::roles::RoleError;
use strata_wal::{AppendInfo, Wal, WalError};

use crate::metrics::{IngesterMetrics, ReasonLabels};
use crate::record::RecordParts;

pub(crate) struct WalAppender {
    wal: Arc<Wal>,
    limit: u64,
    pending: Arc<AtomicU64>,
    last_failure: Mutex<Option<String>>,
    metrics: IngesterMetrics,
}

impl WalAppender {
    pub(crate) fn new(wal: Arc<Wal>, limit: u64, metrics: IngesterMetrics) -> Self {
        Self {
            wal,
            limit,
            pending: Arc::default(),
            last_failure: Mutex::new(None),
            metrics,
        }
    }

    /// Appends `record` (blocking work on Tokio's blocking pool) and hands it back.
    pub(crate) async fn append(
        &self,
        record: RecordParts,
    ) -> Result<(AppendInfo, RecordParts), RoleError> {
        let reservation = self.reserve(record.encoded_len() as u64)?;
        let wal = self.wal.clone();
        let (res, record) = tokio::task::spawn_blocking(move || {
            let res = wal.append_parts(&record.parts());
            drop(reservation);
            (res, record)
        })
        .await
        .map_err(|e| RoleError::Internal(format!("wal append task: {e}")))?;
        match res {
            Ok(info) => {
                if self.last_failure.lock().is_some() {
                    *self.last_failure.lock() = None;
                }
                Ok((info, record))
            }
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// `Some(description)` from a failed append until the next successful one.
    pub(crate) fn status(&self) -> Option<String> {
        self.last_failure.lock().clone()
    }

    /// `Some(reason)` once the log refuses every append until a restart (an fsync failed).
    pub(crate) fn poisoned(&self) -> Option<String> {
        self.wal.poisoned()
    }

    fn reserve(&self, bytes: u64) -> Result<Reservation, RoleError> {
        let before = self.pending.fetch_add(bytes, Ordering::SeqCst);
        let reservation = Reservation {
            pending: self.pending.clone(),
            bytes,
            gauge: self.metrics.wal_pending_bytes.clone(),
        };
        self.metrics
            .wal_pending_bytes
            .set((before + bytes).min(i64::MAX as u64) as i64);
        if before > 0 && before + bytes > self.limit {
            self.metrics.pushes_refused.inc();
            return Err(RoleError::ResourceExhausted(format!(
                "ingester WAL is behind: {before} bytes wait for the disk (limit {}); retry later",
                self.limit
            )));
        }
        Ok(reservation)
    }

    fn failed(&self, e: &WalError) -> RoleError {
        let reason = classify(e);
        self.metrics
            .wal_append_failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
        let (what, hint) = match reason {
            "disk_full" => ("the WAL disk is full", "retry later"),
            "poisoned" => (
                "the WAL is unusable after an fsync failure",
                "restart the ingester",
            ),
            _ => ("the WAL append failed", "retry later"),
        };
        tracing::warn!(reason, error = %e, "push not written to the WAL");
        *self.last_failure.lock() = Some(format!("{what}: {e}"));
        RoleError::Unavailable(format!("{what}; push not stored, {hint}"))
    }
}

/// The `reason` label of a failed append.
fn classify(e: &WalError) -> &'static str {
    match e {
        WalError::Io { source, .. } if disk_full(source) => "disk_full",
        WalError::Io { .. } => "io_error",
        WalError::Poisoned(_) => "poisoned",
        _ => "other",
    }
}

fn disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// Bytes of one push counted in `wal_pending` until dropped.
struct Reservation {
    pending: Arc<AtomicU64>,
    bytes: u64,
    gauge: prometheus_client::metrics::gauge::Gauge,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let after = self.pending.fetch_sub(self.bytes, Ordering::SeqCst) - self.bytes;
        self.gauge.set(after.min(i64::MAX as u64) as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    #[test]
    fn the_bound_refuses_only_while_something_else_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(Wal::open(strata_wal::WalConfig::new(dir.path())).unwrap());
        let metrics = IngesterMetrics::new(&mut Registry::default());
        let a = WalAppender::new(wal, 100, metrics.clone());
        let big = a
            .reserve(1000)
            .expect("nothing pending: a push over the bound still goes");
        assert!(matches!(a.reserve(1), Err(RoleError::ResourceExhausted(_))));
        drop(big);
        let first = a.reserve(60).unwrap();
        let second = a.reserve(40).expect("exactly at the bound");
        assert_eq!(metrics.wal_pending_bytes.get(), 100);
        assert!(a.reserve(1).is_err());
        drop((first, second));
        assert_eq!(a.pending.load(Ordering::SeqCst), 0);
        assert_eq!(metrics.wal_pending_bytes.get(), 0);
        assert_eq!(metrics.pushes_refused.get(), 2);
    }

    #[test]
    fn failures_are_classified_by_cause() {
        let io = |kind: io::ErrorKind| WalError::Io {
            op: "write record to",
            path: "/wal/1.wal".into(),
            source: io::Error::from(kind),
        };
        assert_eq!(classify(&io(io::ErrorKind::StorageFull)), "disk_full");
        assert_eq!(classify(&io(io::ErrorKind::QuotaExceeded)), "disk_full");
        // ENOSPC from the OS maps to StorageFull.
        let enospc = WalError::Io {
            op: "write record to",
            path: "/wal/1.wal".into(),
            source: io::Error::from_raw_os_error(28),
        };
        assert_eq!(classify(&enospc), "disk_full");
        assert_eq!(classify(&io(io::ErrorKind::Other)), "io_error");
        assert_eq!(classify(&WalError::Poisoned("fsync".into())), "poisoned");
        assert_eq!(classify(&WalError::EmptyRecord), "other");
    }
}
