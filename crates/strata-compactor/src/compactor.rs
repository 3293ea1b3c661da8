//! [`Compactor`]: one cycle per `compaction_cycle` over every tenant.
//!
//! Per tenant, a cycle: lists the block directories once; reads `meta.json` and
//! `compacted.json` of blocks not seen before (both are immutable, so they are cached);
//! if it owns the tenant, deletes what retention says (see [`crate::retention`]); runs the
//! jobs [`crate::plan`] proposes that it owns; and, if it owns the tenant, writes the tenant's
//! `index.json` from the resulting state. Every time decision uses the injected clock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use parking_lot::Mutex;
use strata_block::{
    list_block_dirs, read_compacted, read_meta, write_index, BlockMeta, BlockObjects,
    CompactedEntry, CompactedMarker, TenantIndex,
};
use strata_common::{BlockId, SharedClock, TenantId};
use strata_storage::{list_tenants, BlockPaths, SharedStore};
use tokio_util::sync::CancellationToken;

use crate::background::JobThread;
use crate::error::CompactorError;
use crate::job::{run_job, JobOutcome};
use crate::metrics::{reason, CompactorMetrics, TenantLabel};
use crate::ownership::{job_key, tenant_key, Ownership};
use crate::plan::{plan, window_of, Job, PlanLimits};
use crate::retention::{cutoff, delete_block, RetentionOverrides};
use crate::settings::CompactorSettings;

/// What one cycle did (summed over tenants).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleReport {
    pub tenants: usize,
    /// Jobs run, as (tenant, window, output block).
    pub jobs: Vec<(TenantId, u64, BlockId)>,
    pub failed_jobs: usize,
    pub blocks_compacted: usize,
    pub deleted_retention: Vec<BlockId>,
    pub deleted_compacted: Vec<BlockId>,
    pub deleted_orphans: Vec<BlockId>,
    pub indexes_written: usize,
}

#[derive(Default)]
struct TenantCache {
    metas: HashMap<BlockId, BlockMeta>,
    markers: HashMap<BlockId, CompactedMarker>,
}

/// The compactor role. Cheap to clone.
#[derive(Clone)]
pub struct Compactor {
    store: SharedStore,
    settings: CompactorSettings,
    ownership: Arc<dyn Ownership>,
    overrides: Arc<dyn RetentionOverrides>,
    clock: SharedClock,
    metrics: CompactorMetrics,
    cache: Arc<Mutex<HashMap<TenantId, TenantCache>>>,
    /// Where jobs run (started at the first job).
    jobs: Arc<JobThread>,
}

impl Compactor {
    pub fn new(
        store: SharedStore,
        settings: CompactorSettings,
        ownership: Arc<dyn Ownership>,
        overrides: Arc<dyn RetentionOverrides>,
        clock: SharedClock,
        metrics: CompactorMetrics,
    ) -> Self {
        let jobs = Arc::new(JobThread::new(i32::from(settings.job_nice)));
        Self {
            store,
            settings,
            ownership,
            overrides,
            clock,
            metrics,
            cache: Arc::default(),
            jobs,
        }
    }

    pub fn settings(&self) -> &CompactorSettings {
        &self.settings
    }

    /// Runs a cycle every `compaction_cycle` (the first at once) until `shutdown` fires. A
    /// cycle in progress is abandoned on shutdown; that is as safe as a crash.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.compaction_cycle);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            tokio::select! {
                r = self.run_cycle() => match r {
                    Ok(rep) => tracing::debug!(?rep, "compaction cycle done"),
                    Err(e) => tracing::warn!(error = %e, "compaction cycle failed"),
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// One cycle over every tenant. A tenant that fails is logged and counted; the others
    /// still run. Fails only when the tenants cannot be listed.
    pub async fn run_cycle(&self) -> Result<CycleReport, CompactorError> {
        self.metrics.cycles.inc();
        let mut report = CycleReport::default();
        for tenant in list_tenants(self.store.as_ref()).await? {
            report.tenants += 1;
            if let Err(e) = self.tenant_cycle(&tenant, &mut report).await {
                self.metrics.cycle_failures.inc();
                tracing::warn!(tenant = %tenant, error = %e, "compaction cycle failed for tenant");
            }
        }
        Ok(report)
    }

    async fn tenant_cycle(
        &self,
        tenant: &TenantId,
        report: &mut CycleReport,
    ) -> Result<(), CompactorError> {
        let now = self.clock.now_unix_nanos();
        let owner = self.ownership.owns(tenant_key(tenant));
        let dirs = list_block_dirs(self.store.as_ref(), tenant).await?;
        let orphan_cutoff = cutoff(now, self.settings.orphan_age);
        let mut live: Vec<BlockMeta> = Vec::new();
        let mut compacted: Vec<(BlockMeta, CompactedMarker)> = Vec::new();
        let mut by_id: HashMap<BlockId, &BlockObjects> = HashMap::new();
        for d in &dirs {
            if !d.has_meta {
                if owner && d.newest_modified_unix_nano < orphan_cutoff {
                    delete_block(&self.store, d).await?;
                    self.metrics.deleted(reason::ORPHAN);
                    report.deleted_orphans.push(d.block);
                }
                continue;
            }
            by_id.insert(d.block, d);
            let Some(meta) = self.meta(tenant, d.block).await else {
                continue;
            };
            match d.has_compacted {
                true => match self.marker(tenant, d.block).await {
                    Some(m) => compacted.push((meta, m)),
                    None => continue,
                },
                false => live.push(meta),
            }
        }
        self.forget_missing(tenant, &dirs);

        let retention = self
            .overrides
            .block_retention(tenant)
            .unwrap_or(self.settings.block_retention);
        let expired = cutoff(now, retention);
        if owner {
            let started = Instant::now();
            let grace = u64::try_from(self.settings.compacted_block_retention.as_nanos())
                .unwrap_or(u64::MAX);
            let mut kept = Vec::with_capacity(compacted.len());
            for (meta, marker) in compacted {
                let why = if marker.compacted_unix_nano.saturating_add(grace) <= now {
                    Some(reason::COMPACTED)
                } else if meta.end_time_unix_nano < expired {
                    Some(reason::RETENTION)
                } else {
                    None
                };
                match why {
                    Some(why) => {
                        delete_block(&self.store, by_id[&meta.block_id]).await?;
                        self.metrics.deleted(why);
                        match why {
                            reason::COMPACTED => report.deleted_compacted.push(meta.block_id),
                            _ => report.deleted_retention.push(meta.block_id),
                        }
                    }
                    None => kept.push((meta, marker)),
                }
            }
            compacted = kept;
            let mut kept = Vec::with_capacity(live.len());
            for meta in live {
                if meta.end_time_unix_nano < expired {
                    delete_block(&self.store, by_id[&meta.block_id]).await?;
                    self.metrics.deleted(reason::RETENTION);
                    report.deleted_retention.push(meta.block_id);
                } else {
                    kept.push(meta);
                }
            }
            live = kept;
            self.metrics
                .retention_duration
                .observe(started.elapsed().as_secs_f64());
            let secs = self
                .clock
                .now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            self.metrics.retention_last_success.set(secs);
        } else {
            // Not ours to delete, but never worth compacting either.
            live.retain(|m| m.end_time_unix_nano >= expired);
        }

        let window_nanos = u64::try_from(self.settings.compaction_window.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let limits = PlanLimits {
            window_nanos,
            max_objects: self.settings.max_compaction_objects,
            max_bytes: self.settings.max_block_bytes,
        };
        let jobs: Vec<_> = plan(&live, now, limits)
            .into_iter()
            .filter(|job| self.ownership.owns(job_key(tenant, job.window)))
            .collect();
        self.metrics
            .outstanding_blocks
            .get_or_create(&TenantLabel {
                tenant: tenant.to_string(),
            })
            .set(jobs.iter().map(|j| j.inputs.len() as i64).sum());
        for job in jobs {
            debug_assert!(job
                .inputs
                .iter()
                .all(|m| window_of(m, window_nanos) == job.window));
            let r = self.run_job_off_runtime(tenant, &job).await;
            match r {
                Ok(out) => {
                    let done: HashSet<BlockId> = out.inputs.iter().copied().collect();
                    let marker_for = |id| {
                        CompactedMarker::new(id, out.marked_unix_nano, vec![out.output.block_id])
                    };
                    let (gone, rest): (Vec<_>, Vec<_>) =
                        live.into_iter().partition(|m| done.contains(&m.block_id));
                    live = rest;
                    for m in gone {
                        let marker = marker_for(m.block_id);
                        self.remember(tenant, &m, Some(&marker));
                        compacted.push((m, marker));
                    }
                    self.remember(tenant, &out.output, None);
                    report
                        .jobs
                        .push((tenant.clone(), job.window, out.output.block_id));
                    report.blocks_compacted += out.inputs.len();
                    live.push(out.output);
                }
                Err(e) => {
                    self.metrics.job_failures.inc();
                    report.failed_jobs += 1;
                    tracing::warn!(tenant = %tenant, window = job.window, error = %e,
                        "compaction job failed");
                }
            }
        }

        if owner {
            let entries = compacted
                .into_iter()
                .map(|(meta, marker)| CompactedEntry::new(meta, &marker))
                .collect();
            let index = TenantIndex::new(tenant, now, live, entries);
            write_index(self.store.as_ref(), &index).await?;
            self.metrics.index_writes.inc();
            report.indexes_written += 1;
        }
        Ok(())
    }

    /// Runs `job` on the job thread ([`crate::background`]), off the async runtime's workers.
    async fn run_job_off_runtime(
        &self,
        tenant: &TenantId,
        job: &Job,
    ) -> Result<JobOutcome, CompactorError> {
        let (store, tenant, job) = (self.store.clone(), tenant.clone(), job.clone());
        let (settings, clock) = (self.settings.clone(), self.clock.clone());
        let metrics = self.metrics.clone();
        self.jobs
            .run(async move { run_job(&store, &tenant, &job, &settings, &clock, &metrics).await })
            .await?
    }

    /// The block's meta, from the cache or `meta.json`; `None` (logged) when unreadable.
    async fn meta(&self, tenant: &TenantId, id: BlockId) -> Option<BlockMeta> {
        if let Some(m) = self.cache.lock().get(tenant).and_then(|c| c.metas.get(&id)) {
            return Some(m.clone());
        }
        match read_meta(self.store.as_ref(), tenant, id).await {
            Ok(m) => {
                self.remember(tenant, &m, None);
                Some(m)
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant, block = %id, error = %e, "skipping unreadable block");
                None
            }
        }
    }

    async fn marker(&self, tenant: &TenantId, id: BlockId) -> Option<CompactedMarker> {
        if let Some(m) = self
            .cache
            .lock()
            .get(tenant)
            .and_then(|c| c.markers.get(&id))
        {
            return Some(m.clone());
        }
        let paths = BlockPaths::new(tenant.clone(), id);
        match read_compacted(self.store.as_ref(), &paths).await {
            Ok(Some(m)) => {
                let mut cache = self.cache.lock();
                let c = cache.entry(tenant.clone()).or_default();
                c.markers.insert(id, m.clone());
                Some(m)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(tenant = %tenant, block = %id, error = %e, "unreadable compacted marker");
                None
            }
        }
    }

    fn remember(&self, tenant: &TenantId, meta: &BlockMeta, marker: Option<&CompactedMarker>) {
        let mut cache = self.cache.lock();
        let c = cache.entry(tenant.clone()).or_default();
        c.metas.insert(meta.block_id, meta.clone());
        if let Some(m) = marker {
            c.markers.insert(meta.block_id, m.clone());
        }
    }

    fn forget_missing(&self, tenant: &TenantId, dirs: &[BlockObjects]) {
        let present: HashSet<BlockId> = dirs.iter().map(|d| d.block).collect();
        if let Some(c) = self.cache.lock().get_mut(tenant) {
            c.metas.retain(|id, _| present.contains(id));
            c.markers.retain(|id, _| present.contains(id));
        }
    }
}
