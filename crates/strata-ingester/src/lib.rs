//! The ingester: makes every accepted push durable, assembles traces, cuts blocks.
//!
//! Write path:
//!
//! 1. A push ([`PushRequest`]) is encoded as one WAL record ([`record`]) and appended to the
//!    WAL; with `fsync: always` the push is acknowledged only after the fsync that covers it
//!    (concurrent pushes share fsyncs). Only then does it enter the tenant's live set.
//! 2. The flush loop ([`Ingester::flush_tick`], every `flush_check_period`) moves idle or
//!    long-lived traces to the head block, cuts the head block by age or size, and writes cut
//!    blocks to the object store (`strata-block`). A failed write is retried on the next tick;
//!    the cut block stays queryable meanwhile.
//! 3. WAL segments are deleted only when no live trace, head block or unwritten cut block still
//!    needs them. A push holds a read lock on the "segment gate" from its WAL append until its
//!    data is in memory; the cleanup takes the write lock, so it never misses in-flight data.
//!
//! On start the WAL is replayed into the live set (torn tails are cut off and counted), then a
//! new segment is opened. Data replayed from a segment whose block was already written (a crash
//! between writing a block and deleting its segments) is written again; readers deduplicate spans.
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

pub mod app;
pub mod instance;
pub mod limits;
pub mod metrics;
pub mod record;
mod search;
pub mod upload;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use prost::Message;
use strata_block::{BlockReader, BlockWriter, WriterOptions};
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

use instance::{CutBlock, CutPolicy, Instance};
pub use metrics::IngesterMetrics;

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

/// What replay found at start.
#[derive(Debug, Clone, Default)]
pub struct StartReport {
    pub segments: usize,
    pub records: u64,
    pub traces: u64,
    pub truncations: Vec<String>,
}

/// Subdirectory of the WAL directory holding blocks written locally and not yet expired
/// ([`upload`]).
pub const LOCAL_BLOCKS_DIR: &str = "blocks";

struct RecentBlock {
    reader: Arc<BlockReader>,
    flushed_at: SystemTime,
}

struct Inner {
    cfg: IngesterConfig,
    block_cfg: BlockConfig,
    clock: SharedClock,
    /// Cut blocks are written to local disk first, then uploaded ([`upload`]).
    uploader: upload::Uploader,
    wal: Arc<Wal>,
    gate: RwLock<()>,
    tenants: Mutex<HashMap<TenantId, Arc<Mutex<Instance>>>>,
    recent: Mutex<HashMap<TenantId, Vec<RecentBlock>>>,
    flush_lock: tokio::sync::Mutex<()>,
    /// Payload bytes pushed and not yet written to a block (live + head + cut blocks).
    unflushed_bytes: AtomicU64,
    metrics: IngesterMetrics,
    overrides: Mutex<Overrides>,
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
        let mut tenants: HashMap<TenantId, Arc<Mutex<Instance>>> = HashMap::new();
        let mut report = StartReport::default();
        std::fs::create_dir_all(&cfg.wal.path).map_err(|e| {
            IngesterError::Replay(format!("creating {}: {e}", cfg.wal.path.display()))
        })?;
        let replay = strata_wal::replay(&cfg.wal.path, |segment, bytes| {
            let req = record::decode(bytes).map_err(|e| e.to_string())?;
            let inst = tenants.entry(req.tenant.clone()).or_default();
            report.traces += inst.lock().push(&req.traces, now, segment);
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
        })?;
        let ingester = Self {
            inner: Arc::new(Inner {
                cfg,
                block_cfg,
                clock,
                uploader,
                wal: Arc::new(wal),
                gate: RwLock::new(()),
                tenants: Mutex::new(tenants),
                recent: Mutex::new(recent),
                flush_lock: tokio::sync::Mutex::new(()),
                unflushed_bytes: AtomicU64::new(replayed_bytes),
                metrics,
                overrides: Mutex::new(Overrides::default()),
            }),
        };
        ingester.update_live_gauge();
        Ok((ingester, report))
    }

    /// Uses `overrides` for per-tenant limits from the next push on.
    pub fn set_overrides(&self, overrides: Overrides) {
        *self.inner.overrides.lock() = overrides;
    }

    fn policy(&self) -> CutPolicy {
        let c = &self.inner.cfg;
        CutPolicy {
            trace_idle_period: c.trace_idle_period,
            trace_live_period: c.trace_live_period,
            max_block_duration: c.max_block_duration,
            max_block_bytes: c.max_block_bytes,
        }
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

    /// Runs the flush loop until `shutdown` fires, then (if configured) flushes everything.
    pub async fn run(self, shutdown: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(self.inner.cfg.flush_check_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.flush_tick().await,
                _ = shutdown.cancelled() => break,
            }
        }
        if self.inner.cfg.flush_all_on_shutdown {
            self.flush_all().await;
        }
    }

    /// One pass of the flush loop, deciding with the injected clock.
    pub async fn flush_tick(&self) {
        self.flush(false).await;
    }

    /// Moves every trace to a block and writes it, e.g. at shutdown.
    pub async fn flush_all(&self) {
        self.flush(true).await;
    }

    async fn flush(&self, force: bool) {
        let _serial = self.inner.flush_lock.lock().await;
        let now = self.inner.clock.now();
        let policy = self.policy();
        let mut pending: Vec<(TenantId, Arc<CutBlock>)> = Vec::new();
        let mut cut_any = false;
        for (tenant, inst) in self.instances() {
            let mut g = inst.lock();
            g.move_to_head(now, &policy, force);
            if g.cut_if_ready(now, &policy, force).is_some() {
                cut_any = true;
                self.inner.metrics.blocks_cut.inc();
            }
            pending.extend(g.completing().into_iter().map(|b| (tenant.clone(), b)));
        }
        self.update_live_gauge();
        if cut_any {
            // New pushes go to a fresh segment, so the cut data's segments can be freed.
            let wal = self.inner.wal.clone();
            match tokio::task::spawn_blocking(move || wal.rotate()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "rotating wal"),
                Err(e) => tracing::error!(error = %e, "rotating wal"),
            }
        }
        for (tenant, block) in pending {
            match self.write_block(&tenant, &block).await {
                Err(IngesterError::Block(strata_block::BlockError::Empty)) => {
                    // Nothing decodable to write: the cut data had no spans.
                    tracing::warn!(tenant = %tenant, block = %block.id, "cut block had no spans");
                    self.instance(&tenant).lock().complete(block.id);
                    self.release(block.bytes);
                }
                Ok(reader) => {
                    tracing::debug!(tenant = %tenant, block = %block.id,
                        traces = block.traces.len(), "block written locally");
                    self.inner.uploader.enqueue(reader.meta());
                    self.inner
                        .recent
                        .lock()
                        .entry(tenant.clone())
                        .or_default()
                        .push(RecentBlock {
                            reader: Arc::new(reader),
                            flushed_at: now,
                        });
                    self.instance(&tenant).lock().complete(block.id);
                    self.release(block.bytes);
                }
                Err(e) => {
                    self.inner.metrics.block_flush_failures.inc();
                    tracing::error!(tenant = %tenant, block = %block.id, error = %e,
                        "writing block locally failed; will retry");
                }
            }
        }
        self.upload(force).await;
        self.expire_recent(now).await;
        self.delete_unneeded_segments().await;
    }

    /// Uploads the local blocks that are due (all of them when `force`, e.g. at shutdown).
    async fn upload(&self, force: bool) {
        let up = &self.inner.uploader;
        let report = if force {
            up.upload_all().await
        } else {
            up.upload_due().await
        };
        let m = &self.inner.metrics;
        for meta in &report.uploaded {
            m.blocks_flushed.inc();
            m.bytes_flushed.inc_by(meta.size_bytes);
            tracing::info!(tenant = %meta.tenant_id, block = %meta.block_id,
                traces = meta.total_traces, "block flushed");
        }
        m.block_flush_failures.inc_by(report.failed as u64);
        m.blocks_pending_upload.set(up.pending_count() as i64);
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

    fn release(&self, bytes: u64) {
        let sub = |v: u64| v.saturating_sub(bytes);
        let before = self
            .inner
            .unflushed_bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(sub(v)))
            .unwrap_or_else(|v| v);
        self.inner.metrics.unflushed_bytes.set(sub(before) as i64);
    }

    async fn write_block(
        &self,
        tenant: &TenantId,
        block: &CutBlock,
    ) -> Result<BlockReader, IngesterError> {
        let opts = WriterOptions::from_config(&self.inner.block_cfg, block.traces.len());
        let mut w = BlockWriter::new(
            self.inner.uploader.local(),
            tenant.clone(),
            block.id,
            opts,
            self.inner.clock.clone(),
        )?;
        for id in block.sorted_ids() {
            let entry = &block.traces[&id];
            let mut spans = Vec::new();
            for p in &entry.payloads {
                match tempopb::Trace::decode(p.as_ref()) {
                    Ok(t) => spans.extend(t.resource_spans),
                    // The distributor encoded it; a failure here is a bug, not bad input.
                    Err(e) => tracing::error!(trace = %id, error = %e, "undecodable payload"),
                }
            }
            w.add_trace(id, &spans).await?;
        }
        let meta = w.finish().await?;
        Ok(BlockReader::new(self.inner.uploader.local(), meta))
    }

    /// Forgets (and deletes locally) blocks flushed longer than `complete_block_timeout` ago
    /// whose upload has succeeded.
    async fn expire_recent(&self, now: SystemTime) {
        let keep = self.inner.cfg.complete_block_timeout;
        let up = &self.inner.uploader;
        let mut expired = Vec::new();
        {
            let mut recent = self.inner.recent.lock();
            for (tenant, blocks) in recent.iter_mut() {
                blocks.retain(|b| {
                    let young = now.duration_since(b.flushed_at).unwrap_or(Duration::ZERO) < keep;
                    let id = b.reader.meta().block_id;
                    if young || up.is_pending(tenant, id) {
                        true
                    } else {
                        expired.push((tenant.clone(), id));
                        false
                    }
                });
            }
        }
        for (tenant, id) in expired {
            up.delete_local(&tenant, id).await;
        }
    }

    async fn delete_unneeded_segments(&self) {
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

    /// Readers of the blocks this ingester flushed recently (or keeps locally) for `tenant`.
    fn recent_readers(&self, tenant: &TenantId) -> Vec<Arc<BlockReader>> {
        self.inner
            .recent
            .lock()
            .get(tenant)
            .map(|v| v.iter().map(|b| b.reader.clone()).collect())
            .unwrap_or_default()
    }

    /// Number of traces in the live set of every tenant.
    pub fn live_traces(&self) -> usize {
        self.instances()
            .iter()
            .map(|(_, i)| i.lock().live_traces())
            .sum()
    }
}

#[async_trait]
impl IngesterPusher for Ingester {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        if req.traces.is_empty() {
            return Ok(PushResponse::default());
        }
        let limit = self.inner.cfg.max_unflushed_bytes;
        let pending = self.inner.unflushed_bytes.load(Ordering::SeqCst);
        if pending >= limit {
            self.inner.metrics.pushes_refused.inc();
            return Err(RoleError::ResourceExhausted(format!(
                "ingester has {pending} bytes not yet written to blocks (limit {limit}); retry later"
            )));
        }
        let (req, errors_by_trace) = self.admit(req);
        if req.traces.is_empty() {
            return Ok(PushResponse { errors_by_trace });
        }
        let bytes: u64 = req.traces.iter().map(|t| t.payload.len() as u64).sum();
        let rec = record::encode(&req);
        let _gate = self.inner.gate.read().await;
        let wal = self.inner.wal.clone();
        let info = tokio::task::spawn_blocking(move || wal.append(&rec))
            .await
            .map_err(|e| RoleError::Internal(format!("wal append task: {e}")))?
            .map_err(|e| RoleError::Unavailable(format!("wal append: {e}")))?;
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
            .push(&req.traces, now, info.segment);
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

#[async_trait]
impl IngesterHealth for Ingester {
    async fn ready(&self) -> Result<(), RoleError> {
        // Constructed only after WAL replay, so an existing in-process ingester is ready.
        Ok(())
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
}

#[cfg(test)]
mod tests;
