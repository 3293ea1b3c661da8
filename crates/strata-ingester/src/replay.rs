//! WAL replay at start: rebuilds every tenant's live set from the WAL segments on disk.
//!
//! Invariants:
//!
//! * Replay runs before the ingester exists, so no push and no flush can interleave with it;
//!   the new segment for pushes is opened only after it (in [`Ingester::start`]).
//! * Torn tails (a crash mid-append) are cut off by `strata_wal::replay`; each cut is reported
//!   in [`StartReport::truncations`] and counted in the `wal_truncations` metric.
//! * Every replayed trace remembers the segment it came from, so the segment is kept until that
//!   data is in a block written locally ([`crate::wal_cleanup`]).
//! * Data replayed from a segment whose block was already written (a crash between writing a
//!   block and deleting its segments) is written again; readers deduplicate spans.
//! * Replay applies no limits: the data was admitted before it was written to the WAL.
//!
//! [`Ingester::start`]: crate::Ingester::start

use std::path::Path;
use std::time::SystemTime;

use crate::{record, IngesterError, IngesterMetrics, Tenants};

/// What replay found at start.
#[derive(Debug, Clone, Default)]
pub struct StartReport {
    pub segments: usize,
    pub records: u64,
    pub traces: u64,
    pub truncations: Vec<String>,
}

/// Replays the WAL in `dir` (created if missing) into fresh live sets, with `now` as every
/// replayed trace's arrival time (the ingester passes a time `trace_idle_period` ago, so the
/// replayed traces are idle at once). Blocking file I/O.
pub(crate) fn replay_wal(
    dir: &Path,
    now: SystemTime,
    metrics: &IngesterMetrics,
) -> Result<(Tenants, StartReport), IngesterError> {
    let mut tenants = Tenants::new();
    let mut report = StartReport::default();
    std::fs::create_dir_all(dir)
        .map_err(|e| IngesterError::Replay(format!("creating {}: {e}", dir.display())))?;
    let replay = strata_wal::replay(dir, |segment, bytes| {
        let req = record::decode(bytes).map_err(|e| e.to_string())?;
        let inst = tenants.entry(req.tenant.clone()).or_default();
        report.traces += inst.lock().push(req.traces, now, segment);
        Ok(())
    })?;
    report.segments = replay.segments;
    report.records = replay.records;
    report.truncations = replay
        .truncated
        .iter()
        .map(|t| {
            format!(
                "segment {} cut at offset {} ({} bytes dropped): {}",
                t.segment, t.offset, t.dropped_bytes, t.reason
            )
        })
        .collect();
    metrics.wal_replayed_records.inc_by(replay.records);
    metrics
        .wal_truncations
        .inc_by(replay.truncated.len() as u64);
    metrics.traces_created.inc_by(report.traces);
    Ok((tenants, report))
}
