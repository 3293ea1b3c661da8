//! The flush loop: from in-memory traces to blocks on local disk, then to the object store.
//!
//! One pass ([`Ingester::flush_tick`], every `flush_check_period`; [`Ingester::flush_all`] at
//! shutdown), in this order:
//!
//! 1. For every tenant, move traces idle for `trace_idle_period` (or live for
//!    `trace_live_period`) to the head block, and cut the head block once it is
//!    `max_block_duration` old or `max_block_bytes` big (everything, when forced). Decisions use
//!    the injected clock.
//! 2. If any block was cut, rotate the WAL: new pushes go to a fresh segment, so the cut data's
//!    segments can be freed once the block is written.
//! 3. Write every cut block not yet written to local disk ([`crate::block_write`]). A written
//!    block is queued for upload, remembered as recent ([`crate::recent`]), forgotten by its
//!    tenant's instance, and its bytes no longer count against `max_unflushed_bytes`. A failed
//!    write is counted and retried on the next pass; the cut block stays queryable meanwhile. A
//!    cut block with no decodable spans is dropped with a warning.
//! 4. Upload the local blocks that are due ([`crate::upload`]; all of them when forced).
//! 5. Expire recent blocks ([`crate::recent`]) and delete the WAL segments no longer needed
//!    ([`crate::wal_cleanup`]).
//!
//! Passes never overlap (`Inner::flush_lock`). Pushes run concurrently with a pass; the segment
//! gate ([`crate::wal_cleanup`]) keeps step 5 from deleting a segment holding data a push has
//! appended but not yet put in memory.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use strata_common::TenantId;

use crate::instance::{CutBlock, CutPolicy};
use crate::recent::RecentBlock;
use crate::{Ingester, IngesterError};

impl Ingester {
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

    fn policy(&self) -> CutPolicy {
        let c = &self.inner.cfg;
        CutPolicy {
            trace_idle_period: c.trace_idle_period,
            trace_live_period: c.trace_live_period,
            max_block_duration: c.max_block_duration,
            max_block_bytes: c.max_block_bytes,
        }
    }

    async fn flush(&self, force: bool) {
        let _serial = self.inner.flush_lock.lock().await;
        let now = self.inner.clock.now();
        let policy = self.policy();
        let mut pending: Vec<(TenantId, Arc<CutBlock>)> = Vec::new();
        let mut cut_any = false;
        for (tenant, inst) in self.instances() {
            let tail = self.tail_policies(&tenant);
            if tail.is_empty() {
                inst.lock().move_to_head(now, &policy, force);
            } else {
                self.tail_sample(&tenant, &inst, &tail, now, &policy, force)
                    .await;
            }
            let mut g = inst.lock();
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
        // Decisions become durable before the WAL data they were made on can be deleted.
        let tail_now = self.inner.clock.now_unix_nanos() / 1_000_000;
        let ingester = self.clone();
        let _ = tokio::task::spawn_blocking(move || ingester.inner.tail.maintain(tail_now)).await;
        self.delete_unneeded_segments().await;
    }

    /// The tenant's tail-sampling policies (none: tail sampling off).
    fn tail_policies(&self, tenant: &TenantId) -> Vec<strata_config::TailPolicy> {
        let overrides = self.inner.overrides.lock().clone();
        overrides.limits(tenant).sampling.tail.policies.clone()
    }

    /// Decides the tenant's ready traces ([`crate::tail`]) off the async threads, then moves
    /// the kept ones to the head block and releases the dropped ones.
    async fn tail_sample(
        &self,
        tenant: &TenantId,
        inst: &Arc<parking_lot::Mutex<crate::instance::Instance>>,
        policies: &[strata_config::TailPolicy],
        now: std::time::SystemTime,
        policy: &CutPolicy,
        force: bool,
    ) {
        use crate::tail::{Decision, Pending};
        let ready = inst.lock().ready(now, policy, force);
        if ready.is_empty() {
            return;
        }
        let pending: Vec<Pending> = ready
            .into_iter()
            .map(|(id, payloads, spans)| Pending {
                id,
                payloads,
                spans,
            })
            .collect();
        let now_ms = self.inner.clock.now_unix_nanos() / 1_000_000;
        let (ingester, t, p) = (self.clone(), tenant.clone(), policies.to_vec());
        let (pending, decisions) = match tokio::task::spawn_blocking(move || {
            let d = ingester.inner.tail.decide(&t, &p, &pending, now_ms);
            (pending, d)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%tenant, error = %e, "tail-sampling task failed; traces stay live");
                return;
            }
        };
        let (mut keep, mut drop) = (Vec::new(), Vec::new());
        let mut dropped_spans = 0;
        for (p, d) in pending.iter().zip(&decisions) {
            match d {
                Decision::Keep => keep.push(p.id),
                Decision::Drop => {
                    drop.push(p.id);
                    dropped_spans += p.spans;
                }
            }
        }
        let (_, spans, bytes) = inst.lock().settle(now, &keep, &drop);
        self.inner.metrics.tail.late_spans(
            tenant,
            Decision::Drop,
            spans.saturating_sub(dropped_spans),
        );
        self.release(bytes);
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

    /// `bytes` of a cut block are in a block now: they no longer count as unflushed.
    fn release(&self, bytes: u64) {
        let sub = |v: u64| v.saturating_sub(bytes);
        let before = self
            .inner
            .unflushed_bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(sub(v)))
            .unwrap_or_else(|v| v);
        self.inner.metrics.unflushed_bytes.set(sub(before) as i64);
    }
}
