//! The ingester: makes every accepted push durable, assembles traces, cuts blocks.
//!
//! This file holds the [`Ingester`] type, its construction and the push and query entry points.
//! The flush path lives in `flush.rs` (the loop), `writers.rs` (cut blocks written concurrently
//! with accepting), `block_write.rs` (a cut block to local disk),
//! [`upload`] (local disk to the object store), `recent.rs` (recently written blocks and their
//! expiry) and `wal_cleanup.rs` (releasing WAL segments); WAL replay at start in `replay.rs`.
//!
//! Write path:
//!
//! 1. A push ([`PushRequest`]) is encoded as one WAL record ([`record`]) and appended to the
//!    WAL; with `fsync: always` the push is acknowledged only after the fsync that covers it
//!    (concurrent pushes share fsyncs). Only then does it enter the tenant's live set.
//! 2. The flush loop ([`Ingester::flush_tick`], every `flush_check_period`) moves idle or
//!    long-lived traces to the head block, cuts the head block by age or size, and hands cut
//!    blocks to `concurrent_block_writers` writers that write them (`strata-block`) while
//!    pushes go on. A failed write is retried on the next tick; the cut block stays queryable
//!    meanwhile.
//! 3. WAL segments are deleted only when no live trace, head block or unwritten cut block still
//!    needs them. A push holds a read lock on the "segment gate" from its WAL append until its
//!    data is in memory; the cleanup takes the write lock, so it never misses in-flight data.
//!
//! On start the WAL is replayed into the live set (torn tails are cut off and counted), then a
//! new segment is opened. Data replayed from a segment whose block was already written (a crash
//! between writing a block and deleting its segments) is written again; readers deduplicate spans.
//!
//! Memory bound: `max_unflushed_bytes` bounds the payload bytes held in the live set, the head
//! block and the cut blocks not yet written. Past half of it pushes are admitted at the rate the
//! block writers drain bytes ([`admission`]; `assumed_drain_bytes_per_second` until a rate is
//! measured, or with that 0 a growing fraction refused by the proportional law of
//! [`backpressure`]); a push the rate cannot admit yet is held up to `max_admission_wait`
//! before it is refused ([`shed`]); refusals happen before the WAL append
//! (`RESOURCE_EXHAUSTED`, counted in `strata_ingester_pushes_refused_total` and by the
//! distributor as `ingester_backpressure`);
//! pushes in flight may overshoot the bound by what they carry. The WAL on disk holds what is in
//! memory plus at most one segment (`wal.segment_max_bytes`), except while a trace stays live
//! for up to `trace_live_period` and pins its oldest segment.
//!
//! Limits: before the WAL append, each trace of a push is checked against the tenant's
//! `max_traces_per_user` and `max_bytes_per_trace` ([`limits`], values from the [`Overrides`]
//! given to [`Ingester::set_overrides`], else the compiled defaults). Refused traces are not
//! written; the push answers one [`strata_proto::roles::PushErrorReason`] per trace and counts them in
//! `strata_ingester_traces_refused_total{tenant,reason}`. WAL replay applies no limits.
//!
//! Read path: [`IngesterQuerier::find_trace_by_id`] returns every share in memory plus matches
//! in blocks this ingester wrote within `complete_block_timeout`, so a trace is never invisible
//! while queriers have not yet seen its block in the object store.

pub mod admission;
pub mod app;
pub mod backpressure;
mod block_write;
mod flush;
pub mod instance;
pub mod limits;
pub mod metrics;
mod metrics_query;
mod recent;
pub mod record;
mod replay;
mod search;
mod shed;
pub mod tail;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upload;
mod wal_append;
mod wal_cleanup;
mod writers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use prost::Message;
use strata_block::BlockReader;
use strata_common::{SharedClock, TenantId, TraceId};
use strata_config::{BlockConfig, FsyncMode, IngesterConfig};
use strata_proto::roles::{
    IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse, RoleError,
    TraceFragments,
};
use strata_proto::tempopb;
use strata_server::Overrides;
use strata_storage::SharedStore;
use strata_wal::{FsyncPolicy, Wal};
use tokio::sync::RwLock;

use instance::Instance;
pub use metrics::IngesterMetrics;
use recent::RecentBlock;
pub use replay::StartReport;

#[derive(Debug, thiserror::Error)]
pub enum IngesterError {
    #[error("wal: {0}")]
    Wal(#[from] strata_wal::WalError),
    #[error("wal replay: {0}")]
    Replay(String),
    #[error("block: {0}")]
    Block(#[from] strata_block::BlockError),
    #[error("local blocks: {0}")]
    Upload(#[from] upload::UploadError),
}

/// Subdirectory of the WAL directory holding blocks written locally and not yet expired
/// ([`upload`]).
pub const LOCAL_BLOCKS_DIR: &str = "blocks";

/// Every tenant's in-memory state.
type Tenants = HashMap<TenantId, Arc<Mutex<Instance>>>;

struct Inner {
    cfg: IngesterConfig,
    block_cfg: BlockConfig,
    clock: SharedClock,
    /// Cut blocks are written to local disk first, then uploaded ([`upload`]).
    uploader: upload::Uploader,
    wal: Arc<Wal>,
    /// Appends pushes to `wal`, bounded and counted ([`wal_append`]).
    appender: wal_append::WalAppender,
    /// The segment gate: read-locked by a push from its WAL append until its data is in memory,
    /// write-locked by the segment cleanup ([`wal_cleanup`]).
    gate: RwLock<()>,
    tenants: Mutex<Tenants>,
    /// Blocks written locally, per tenant, until they expire ([`recent`]).
    recent: Mutex<HashMap<TenantId, Vec<RecentBlock>>>,
    /// Expired recent blocks whose local copy waits for the queries still reading it.
    retired: Mutex<Vec<(TenantId, Arc<BlockReader>)>>,
    /// Serialises passes of the flush loop ([`flush`]).
    flush_lock: tokio::sync::Mutex<()>,
    /// The block writers ([`writers`]).
    writers: writers::Writers,
    /// Payload bytes pushed and not yet written to a block (live + head + cut blocks).
    unflushed_bytes: AtomicU64,
    /// Spreads backpressure refusals over pushes ([`backpressure`]).
    shedder: backpressure::Shedder,
    admission: admission::Admission,
    /// Bytes of pushes held for the admission rate or the bound ([`shed`]).
    waiting_bytes: AtomicU64,
    /// Woken whenever bytes leave memory (pushes held at the bound wait on it, [`shed`]).
    released: tokio::sync::Notify,
    metrics: IngesterMetrics,
    overrides: Mutex<Overrides>,
    /// Tail sampling of traces leaving the live set ([`tail`]).
    tail: tail::TailSampler,
    /// Cleared by [`Ingester::stop_accepting`] when the process stops: pushes and `Ready` then
    /// answer `UNAVAILABLE` (distributors hand the traces to the next ingester).
    accepting: AtomicBool,
}

/// The ingester role. Cheap to clone.
#[derive(Clone)]
pub struct Ingester {
    inner: Arc<Inner>,
}

impl Ingester {
    /// Replays the WAL and opens a new segment. Blocking file I/O: call from a blocking context
    /// or accept the short stall at start.
    pub fn start(
        cfg: IngesterConfig,
        block_cfg: BlockConfig,
        store: SharedStore,
        clock: SharedClock,
        metrics: IngesterMetrics,
    ) -> Result<(Self, StartReport), IngesterError> {
        let now = clock.now();
        // Replayed traces arrived before the restart: they count as idle already, so the flush
        // loop's first tick (at once) moves them to the head block, and a restart does not fill
        // the live set, and with it the per-tenant live-trace limit, with everything the WAL held.
        let replayed_at = now.checked_sub(cfg.trace_idle_period).unwrap_or(now);
        let (tenants, report) = replay::replay_wal(&cfg.wal.path, replayed_at, &metrics)?;
        let replayed_bytes: u64 = tenants.values().map(|i| i.lock().bytes()).sum();
        let (uploader, local_blocks) =
            upload::Uploader::open(&cfg.wal.path.join(LOCAL_BLOCKS_DIR), store, clock.clone())?;
        let mut recent: HashMap<TenantId, Vec<RecentBlock>> = HashMap::new();
        for meta in local_blocks {
            let Ok(paths) = meta.paths() else { continue };
            recent.entry(paths.tenant).or_default().push(RecentBlock {
                reader: Arc::new(BlockReader::new(uploader.local(), meta)),
                flushed_at: now,
            });
        }
        metrics
            .blocks_pending_upload
            .set(uploader.pending_count() as i64);
        let wal = Wal::open(strata_wal::WalConfig {
            dir: cfg.wal.path.clone(),
            segment_max_bytes: cfg.wal.segment_max_bytes,
            fsync: match cfg.wal.fsync {
                FsyncMode::Always => FsyncPolicy::Always,
                FsyncMode::Never => FsyncPolicy::Never,
            },
            fsync_delay: cfg.wal.inject_fsync_delay,
        })?;
        let wal = Arc::new(wal);
        let appender =
            wal_append::WalAppender::new(wal.clone(), cfg.max_wal_pending_bytes, metrics.clone());
        let tail = tail::TailSampler::new(&cfg.tail_sampling, &cfg.wal.path, metrics.tail.clone());
        let writers = writers::Writers::new(cfg.concurrent_block_writers);
        let assumed_drain = cfg.assumed_drain_bytes_per_second;
        let ingester = Self {
            inner: Arc::new(Inner {
                cfg,
                block_cfg,
                clock,
                uploader,
                wal,
                appender,
                gate: RwLock::new(()),
                tenants: Mutex::new(tenants),
                recent: Mutex::new(recent),
                retired: Mutex::new(Vec::new()),
                flush_lock: tokio::sync::Mutex::new(()),
                writers,
                unflushed_bytes: AtomicU64::new(replayed_bytes),
                shedder: backpressure::Shedder::default(),
                admission: admission::Admission::assuming(assumed_drain),
                waiting_bytes: AtomicU64::new(0),
                released: tokio::sync::Notify::new(),
                tail,
                metrics,
                overrides: Mutex::new(Overrides::default()),
                accepting: AtomicBool::new(true),
            }),
        };
        ingester.update_live_gauge();
        ingester
            .inner
            .metrics
            .drain_bytes_per_second
            .set(assumed_drain as i64);
        Ok((ingester, report))
    }

    /// Refuses pushes and reports not ready from now on (`UNAVAILABLE`); queries are still
    /// answered. Called when the process starts to stop, in every mode.
    pub fn stop_accepting(&self) {
        self.inner.accepting.store(false, Ordering::SeqCst);
    }

    fn check_accepting(&self) -> Result<(), RoleError> {
        if self.inner.accepting.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(RoleError::Unavailable("ingester is shutting down".into()))
        }
    }

    /// Uses `overrides` for per-tenant limits from the next push on.
    pub fn set_overrides(&self, overrides: Overrides) {
        *self.inner.overrides.lock() = overrides;
    }

    fn instance(&self, tenant: &TenantId) -> Arc<Mutex<Instance>> {
        self.inner
            .tenants
            .lock()
            .entry(tenant.clone())
            .or_default()
            .clone()
    }

    fn instances(&self) -> Vec<(TenantId, Arc<Mutex<Instance>>)> {
        let t = self.inner.tenants.lock();
        t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn update_live_gauge(&self) {
        let n: usize = self
            .instances()
            .iter()
            .map(|(_, i)| i.lock().live_traces())
            .sum();
        self.inner.metrics.live_traces.set(n as i64);
    }

    /// Uploads link each block's `data.parquet` into `target`, the directory behind the
    /// object store, instead of copying it (`upload.rs`). For a local store on the same
    /// filesystem as the WAL; where no link can be made there, blocks are copied.
    pub fn link_uploads_into(&self, target: strata_storage::LocalTarget) {
        self.inner.uploader.link_into(target);
    }

    /// `Some(description)` while blocks wait for an object store that is failing.
    pub fn upload_status(&self) -> Option<String> {
        let up = &self.inner.uploader;
        up.last_error().map(|e| {
            format!(
                "object store unavailable, {} block(s) kept on local disk and retried: {e}",
                up.pending_count()
            )
        })
    }

    /// `Some(description)` while WAL appends fail (e.g. its disk is full), until one succeeds.
    pub fn wal_status(&self) -> Option<String> {
        self.inner.appender.status()
    }

    /// Number of traces in the live set of every tenant.
    pub fn live_traces(&self) -> usize {
        self.instances()
            .iter()
            .map(|(_, i)| i.lock().live_traces())
            .sum()
    }
}

impl Ingester {
    /// A push past the backpressure decision: only the bound itself refuses it.
    /// `bytes`: the request's payload bytes ([`payload_bytes`]); `since`: when the push's wait
    /// for admission began (its waits share one `max_admission_wait`).
    async fn push_inner(
        &self,
        req: PushRequest,
        bytes: u64,
        since: tokio::time::Instant,
    ) -> Result<PushResponse, RoleError> {
        self.check_accepting()?;
        if req.traces.is_empty() {
            return Ok(PushResponse::default());
        }
        self.wait_below_bound(bytes, since).await?;
        let (req, errors_by_trace) = self.admit_traces(req);
        if req.traces.is_empty() {
            return Ok(PushResponse { errors_by_trace });
        }
        // Traces a limit refused are not kept.
        let bytes = if errors_by_trace.is_empty() {
            bytes
        } else {
            payload_bytes(&req)
        };
        let rec = record::RecordParts::new(req);
        let _gate = self.inner.gate.read().await;
        let (info, rec) = self.inner.appender.append(rec).await?;
        let req = rec.into_request();
        self.inner.metrics.wal_appends.inc();
        if let Some(d) = info.fsync {
            self.inner
                .metrics
                .wal_fsync_seconds
                .observe(d.as_secs_f64());
        }
        let now = self.inner.clock.now();
        let created = self
            .instance(&req.tenant)
            .lock()
            .push(req.traces, now, info.segment);
        let pending = self
            .inner
            .unflushed_bytes
            .fetch_add(bytes, Ordering::SeqCst)
            + bytes;
        self.inner.metrics.unflushed_bytes.set(pending as i64);
        self.inner.metrics.traces_created.inc_by(created);
        self.inner.metrics.live_traces.inc_by(created as i64);
        Ok(PushResponse { errors_by_trace })
    }
}

/// The payload bytes of a push's traces: what it adds to the unflushed bytes if every trace is
/// kept.
fn payload_bytes(req: &PushRequest) -> u64 {
    req.traces.iter().map(|t| t.payload.len() as u64).sum()
}

#[async_trait]
impl IngesterPusher for Ingester {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        self.check_accepting()?;
        if req.traces.is_empty() {
            return Ok(PushResponse::default());
        }
        let bytes = payload_bytes(&req);
        let since = tokio::time::Instant::now();
        self.shed(bytes).await?;
        self.push_inner(req, bytes, since).await
    }

    async fn admit(&self, _tenant: &TenantId, bytes: u64) -> Result<bool, RoleError> {
        self.check_accepting()?;
        self.shed(bytes).await.map(|()| true)
    }

    async fn push_admitted(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        let bytes = payload_bytes(&req);
        self.push_inner(req, bytes, tokio::time::Instant::now())
            .await
    }
}

#[async_trait]
impl IngesterHealth for Ingester {
    async fn ready(&self) -> Result<(), RoleError> {
        // Constructed only after WAL replay, so an existing ingester is ready until it stops or
        // its WAL refuses every append.
        self.check_accepting()?;
        match self.inner.appender.poisoned() {
            Some(reason) => Err(RoleError::Unavailable(format!(
                "the WAL refuses appends after a failure ({reason}); restart the ingester"
            ))),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl IngesterQuerier for Ingester {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        let existing = self.inner.tenants.lock().get(tenant).cloned();
        let mut payloads = existing
            .map(|i| i.lock().find(trace_id))
            .unwrap_or_default();
        let mut inspected: u64 = payloads.iter().map(|p| p.len() as u64).sum();
        for r in self.recent_readers(tenant) {
            // The block's bloom filter first (read once per block): most recent blocks do not
            // hold the trace and are not opened. A bloom that cannot be read rules nothing out.
            if let Ok(false) = r.may_contain(trace_id).await {
                continue;
            }
            match r.find_trace(trace_id).await {
                Ok(Some(found)) => {
                    inspected += found.inspected_bytes;
                    let t = tempopb::Trace {
                        resource_spans: found.resource_spans,
                    };
                    payloads.push(Bytes::from(t.encode_to_vec()));
                }
                Ok(None) => {}
                Err(e) => return Err(RoleError::Internal(format!("reading recent block: {e}"))),
            }
        }
        Ok(TraceFragments {
            payloads,
            inspected_bytes: inspected,
        })
    }

    async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        self.search_recent(tenant, req).await
    }

    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        self.search_tags_recent(tenant, req).await
    }

    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        self.search_tag_values_recent(tenant, req).await
    }

    async fn metrics_query_range(
        &self,
        tenant: &TenantId,
        req: &tempopb::QueryRangeRequest,
    ) -> Result<tempopb::QueryRangeResponse, RoleError> {
        self.metrics_recent(tenant, req).await
    }
}

#[cfg(test)]
mod tests;
