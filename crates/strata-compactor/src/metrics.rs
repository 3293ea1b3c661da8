//! The compactor's metrics, all under `strata_compactor_`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Why blocks were deleted.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

/// The tenant a gauge is about.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabel {
    pub tenant: String,
}

/// Reason label values of `blocks_deleted_total`.
pub mod reason {
    /// Past the tenant's block retention.
    pub const RETENTION: &str = "retention";
    /// Marked compacted longer than `compacted_block_retention` ago.
    pub const COMPACTED: &str = "compacted";
    /// A directory without `meta.json`, untouched for the orphan age.
    pub const ORPHAN: &str = "orphan";
}

/// Counters and histograms of one compactor. Cheap to clone.
#[derive(Clone)]
pub struct CompactorMetrics {
    pub cycles: Counter,
    pub cycle_failures: Counter,
    pub jobs: Counter,
    pub job_failures: Counter,
    pub blocks_compacted: Counter,
    pub blocks_written: Counter,
    pub spans_written: Counter,
    pub jobs_concatenated: Counter,
    pub spans_concatenated: Counter,
    pub duplicate_spans_removed: Counter,
    pub blocks_deleted: Family<ReasonLabel, Counter>,
    pub compaction_duration: Histogram,
    pub retention_duration: Histogram,
    pub retention_last_success: Gauge<f64, AtomicU64>,
    pub index_writes: Counter,
    /// Blocks in the compaction jobs this compactor planned in its last cycle, per tenant
    /// (the backlog; jobs of other compactors are not counted).
    pub outstanding_blocks: Family<TenantLabel, Gauge>,
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

impl CompactorMetrics {
    /// Creates the metrics and registers them (pass a throwaway registry in tests).
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::unregistered();
        let r = registry.sub_registry_with_prefix("strata_compactor");
        r.register("cycles", "Compaction cycles run", m.cycles.clone());
        r.register(
            "cycle_failures",
            "Cycles that failed for a tenant (listing or index errors)",
            m.cycle_failures.clone(),
        );
        r.register("jobs", "Compaction jobs completed", m.jobs.clone());
        r.register(
            "job_failures",
            "Compaction jobs that failed",
            m.job_failures.clone(),
        );
        r.register(
            "blocks_compacted",
            "Input blocks marked compacted",
            m.blocks_compacted.clone(),
        );
        r.register(
            "blocks_written",
            "Output blocks written",
            m.blocks_written.clone(),
        );
        r.register(
            "spans_written",
            "Spans written to output blocks",
            m.spans_written.clone(),
        );
        r.register(
            "jobs_concatenated",
            "Compaction jobs that copied their inputs' encoded row groups (format v5) instead of merging rows",
            m.jobs_concatenated.clone(),
        );
        r.register(
            "spans_concatenated",
            "Spans of concatenating jobs: copied without being decoded (also in spans_written)",
            m.spans_concatenated.clone(),
        );
        r.register(
            "duplicate_spans_removed",
            "Duplicate spans (same span ID and kind) dropped while merging",
            m.duplicate_spans_removed.clone(),
        );
        r.register(
            "blocks_deleted",
            "Blocks deleted, by reason (retention, compacted, orphan)",
            m.blocks_deleted.clone(),
        );
        r.register(
            "compaction_duration_seconds",
            "Duration of one compaction job",
            m.compaction_duration.clone(),
        );
        r.register(
            "retention_duration_seconds",
            "Duration of one tenant's retention pass",
            m.retention_duration.clone(),
        );
        r.register(
            "retention_last_success_timestamp_seconds",
            "Unix time of the last completed retention pass",
            m.retention_last_success.clone(),
        );
        r.register(
            "index_writes",
            "Tenant indexes written",
            m.index_writes.clone(),
        );
        r.register(
            "outstanding_blocks",
            "Blocks in the compaction jobs planned in the last cycle, by tenant",
            m.outstanding_blocks.clone(),
        );
        m
    }

    /// Metrics not registered anywhere.
    pub fn unregistered() -> Self {
        Self {
            cycles: Counter::default(),
            cycle_failures: Counter::default(),
            jobs: Counter::default(),
            job_failures: Counter::default(),
            blocks_compacted: Counter::default(),
            blocks_written: Counter::default(),
            spans_written: Counter::default(),
            jobs_concatenated: Counter::default(),
            spans_concatenated: Counter::default(),
            duplicate_spans_removed: Counter::default(),
            blocks_deleted: Family::default(),
            compaction_duration: seconds(),
            retention_duration: seconds(),
            retention_last_success: Gauge::default(),
            index_writes: Counter::default(),
            outstanding_blocks: Family::default(),
        }
    }

    pub fn deleted(&self, reason: &str) {
        self.blocks_deleted
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }
}
