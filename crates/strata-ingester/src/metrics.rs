//! The ingester's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub tenant: String,
    pub reason: String,
}

/// A `reason` label alone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone)]
pub struct IngesterMetrics {
    pub wal_fsync_seconds: Histogram,
    pub wal_appends: Counter,
    /// Failed WAL appends by cause ([`crate::wal_append`]).
    pub wal_append_failures: Family<ReasonLabels, Counter>,
    /// Bytes of pushes handed to the WAL and not yet durable.
    pub wal_pending_bytes: Gauge,
    pub wal_replayed_records: Counter,
    pub wal_truncations: Counter,
    pub live_traces: Gauge,
    pub traces_created: Counter,
    pub blocks_cut: Counter,
    pub blocks_flushed: Counter,
    pub block_flush_failures: Counter,
    pub bytes_flushed: Counter,
    pub unflushed_bytes: Gauge,
    /// Bytes/s the block writers released over the last admission window (0: not known).
    pub drain_bytes_per_second: Gauge,
    pub blocks_pending_upload: Gauge,
    pub pushes_refused: Counter,
    /// How long admitted pushes were held for the admission rate ([`crate::shed`]); a push
    /// admitted at once is not observed.
    pub admission_wait_seconds: Histogram,
    /// Bytes of pushes held for the admission rate now.
    pub admission_waiting_bytes: Gauge,
    /// Traces refused by per-tenant limits, by `PushErrorReason::label`.
    pub traces_refused: Family<RefusedLabels, Counter>,
    /// Tail sampling ([`crate::tail`]).
    pub tail: crate::tail::TailMetrics,
}

impl IngesterMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            // 50µs … ~3.3s
            wal_fsync_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 17)),
            wal_appends: Counter::default(),
            wal_append_failures: Family::default(),
            wal_pending_bytes: Gauge::default(),
            wal_replayed_records: Counter::default(),
            wal_truncations: Counter::default(),
            live_traces: Gauge::default(),
            traces_created: Counter::default(),
            blocks_cut: Counter::default(),
            blocks_flushed: Counter::default(),
            block_flush_failures: Counter::default(),
            bytes_flushed: Counter::default(),
            unflushed_bytes: Gauge::default(),
            drain_bytes_per_second: Gauge::default(),
            blocks_pending_upload: Gauge::default(),
            pushes_refused: Counter::default(),
            // 100µs … ~3.3s
            admission_wait_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            admission_waiting_bytes: Gauge::default(),
            traces_refused: Family::default(),
            tail: crate::tail::TailMetrics::default(),
        };
        let r = registry.sub_registry_with_prefix("strata_ingester");
        m.tail.register(r);
        r.register(
            "blocks_pending_upload",
            "Blocks complete on local disk and not yet in the object store",
            m.blocks_pending_upload.clone(),
        );
        r.register(
            "wal_fsync_duration_seconds",
            "Time a push waited for the WAL fsync that made it durable",
            m.wal_fsync_seconds.clone(),
        );
        r.register(
            "wal_appends",
            "Records appended to the WAL",
            m.wal_appends.clone(),
        );
        r.register(
            "wal_append_failures",
            "WAL appends that failed (push answered UNAVAILABLE, nothing kept), by reason: disk_full, io_error, poisoned, other",
            m.wal_append_failures.clone(),
        );
        r.register(
            "wal_pending_bytes",
            "Bytes of pushes handed to the WAL and not yet durable (bounded by max_wal_pending_bytes)",
            m.wal_pending_bytes.clone(),
        );
        r.register(
            "wal_replayed_records",
            "WAL records replayed at start",
            m.wal_replayed_records.clone(),
        );
        r.register(
            "wal_truncations",
            "Torn or corrupt WAL tails cut off at replay",
            m.wal_truncations.clone(),
        );
        r.register(
            "live_traces",
            "Traces still receiving spans",
            m.live_traces.clone(),
        );
        r.register(
            "traces_created",
            "Traces first seen",
            m.traces_created.clone(),
        );
        r.register(
            "blocks_cut",
            "Head blocks cut into blocks",
            m.blocks_cut.clone(),
        );
        r.register(
            "blocks_flushed",
            "Blocks written to the object store",
            m.blocks_flushed.clone(),
        );
        r.register(
            "block_flush_failures",
            "Failed attempts to write a block (retried)",
            m.block_flush_failures.clone(),
        );
        r.register(
            "bytes_flushed",
            "Bytes of data.parquet written to the object store",
            m.bytes_flushed.clone(),
        );
        r.register(
            "unflushed_bytes",
            "Bytes of traces in memory and not yet in a block",
            m.unflushed_bytes.clone(),
        );
        r.register(
            "drain_bytes_per_second",
            "Bytes per second the block writers took out of memory over the last 15 s (the last such figure while fewer blocks were written; assumed_drain_bytes_per_second until one is measured), the rate pushes are admitted at past half of max_unflushed_bytes (0: not known)",
            m.drain_bytes_per_second.clone(),
        );
        r.register(
            "pushes_refused",
            "Pushes refused by backpressure: max_unflushed_bytes (memory) or max_wal_pending_bytes (a slow WAL disk)",
            m.pushes_refused.clone(),
        );
        r.register(
            "admission_wait_seconds",
            "How long pushes admitted after a wait were held for the admission rate (max_admission_wait)",
            m.admission_wait_seconds.clone(),
        );
        r.register(
            "admission_waiting_bytes",
            "Bytes of pushes held now, waiting for the admission rate",
            m.admission_waiting_bytes.clone(),
        );
        r.register(
            "traces_refused",
            "Traces refused by per-tenant limits (not written), by reason",
            m.traces_refused.clone(),
        );
        m
    }
}
