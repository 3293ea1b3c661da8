//! The flush loop: from in-memory traces to blocks on local disk, then to the object store.
//!
//! One pass ([`Ingester::flush_tick`], every `flush_check_period`; [`Ingester::flush_all`] at
//! shutdown), in this order:
//!
//! 1. For every tenant, move traces idle for `trace_idle_period` (or live for
//!    `trace_live_period`) to the head block, cutting it each time it reaches the block size
//!    (`max_block_bytes`, or an eighth of `max_unflushed_bytes` if that is smaller), and cut
//!    what is left once it is `max_block_duration` old (everything, when forced). Decisions use
//!    the injected clock.
//! 2. If any block was cut, rotate the WAL: new pushes go to a fresh segment, so the cut data's
//!    segments can be freed once the block is written.
//! 3. Hand every cut block not yet written to the block writers ([`crate::writers`]), which
//!    write several at once on blocking threads while pushes are accepted; the loop does not
//!    wait for them. A written block is queued for upload, remembered as recent
//!    ([`crate::recent`]), forgotten by its tenant's instance, and its bytes no longer count
//!    against `max_unflushed_bytes`. A failed write is counted and started again by the next
//!    pass; the cut block stays queryable meanwhile.
//! 4. Upload the local blocks that are due ([`crate::upload`]; all of them when forced).
//! 5. Expire recent blocks ([`crate::recent`]) and delete the WAL segments no longer needed
//!    ([`crate::wal_cleanup`]).
//!
//! Passes never overlap (`Inner::flush_lock`), but they only cut and hand over, so cutting
//! goes on every `flush_check_period` however long a block write takes. The loop's passes
//! never wait for writes; [`Ingester::flush_tick`] and [`Ingester::flush_all`] do (between
//! steps 3 and 4), so their callers find the blocks written. Pushes run concurrently with a
//! pass; the segment gate ([`crate::wal_cleanup`]) keeps step 5 from deleting a segment holding
//! data a push has appended but not yet put in memory.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use strata_common::TenantId;

use crate::instance::{CutBlock, CutPolicy};
use crate::Ingester;

impl Ingester {
    /// Runs the flush loop until `shutdown` fires, then (if configured) flushes everything.
    pub async fn run(self, shutdown: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(self.inner.cfg.flush_check_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.flush(false, false).await,
                _ = shutdown.cancelled() => break,
            }
        }
        if self.inner.cfg.flush_all_on_shutdown {
            self.flush_all().await;
        }
    }

    /// One pass of the flush loop, deciding with the injected clock, that also waits for the
    /// block writes it started.
    pub async fn flush_tick(&self) {
        self.flush(false, true).await;
    }

    /// Moves every trace to a block and writes it, e.g. at shutdown.
    pub async fn flush_all(&self) {
        self.flush(true, true).await;
    }

    fn policy(&self) -> CutPolicy {
        let c = &self.inner.cfg;
        CutPolicy {
            trace_idle_period: c.trace_idle_period,
            trace_live_period: c.trace_live_period,
            max_block_duration: c.max_block_duration,
            max_block_bytes: c.max_block_bytes.min((c.max_unflushed_bytes / 8).max(1)),
        }
    }

    async fn flush(&self, force: bool, wait: bool) {
        let _serial = self.inner.flush_lock.lock().await;
        let now = self.inner.clock.now();
        let policy = self.policy();
        let mut pending: Vec<(TenantId, Arc<CutBlock>)> = Vec::new();
        let mut cuts = 0;
        for (tenant, inst) in self.instances() {
            let tail = self.tail_policies(&tenant);
            if tail.is_empty() {
                cuts += inst.lock().move_to_head(now, &policy, force).1;
            } else {
                cuts += self
                    .tail_sample(&tenant, &inst, &tail, now, &policy, force)
                    .await;
            }
            let mut g = inst.lock();
            if g.cut_if_ready(now, &policy, force).is_some() {
                cuts += 1;
            }
            pending.extend(g.completing().into_iter().map(|b| (tenant.clone(), b)));
        }
        self.inner.metrics.blocks_cut.inc_by(cuts as u64);
        self.update_live_gauge();
        if cuts > 0 {
            // New pushes go to a fresh segment, so the cut data's segments can be freed.
            let wal = self.inner.wal.clone();
            match tokio::task::spawn_blocking(move || wal.rotate()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "rotating wal"),
                Err(e) => tracing::error!(error = %e, "rotating wal"),
            }
        }
        self.dispatch_writes(pending);
        if wait {
            self.wait_writes().await;
        }
        self.upload(force).await;
        self.expire_recent(self.inner.clock.now()).await;
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
    ) -> usize {
        use crate::tail::{Decision, Pending};
        let ready = inst.lock().ready(now, policy, force);
        if ready.is_empty() {
            return 0;
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
                return 0;
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
        let (cuts, (_, spans, bytes)) = inst.lock().settle(now, policy, &keep, &drop);
        self.inner.metrics.tail.late_spans(
            tenant,
            Decision::Drop,
            spans.saturating_sub(dropped_spans),
        );
        self.release(bytes);
        cuts
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

    /// `bytes` of a cut block are in a block now (or were dropped): they no longer count as
    /// unflushed.
    pub(crate) fn release(&self, bytes: u64) {
        let sub = |v: u64| v.saturating_sub(bytes);
        let before = self
            .inner
            .unflushed_bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(sub(v)))
            .unwrap_or_else(|v| v);
        self.inner.metrics.unflushed_bytes.set(sub(before) as i64);
        let now = self.inner.clock.now();
        self.inner.admission.released(now, bytes);
        self.inner.released.notify_waiters();
        let drain = self.inner.admission.drain_rate(now).unwrap_or(0.0);
        self.inner.metrics.drain_bytes_per_second.set(drain as i64);
    }
}
