//! Live per-tenant limits: the [`Overrides`] handle every role asks for a tenant's
//! [`TenantLimits`], and the reloader that re-reads the per-tenant file.
//!
//! * Resolution: the tenant's own entry in the per-tenant file, else the file's `*` entry, else
//!   `overrides.defaults` (entries are already merged over the defaults field by field, see
//!   `strata_config::overrides`).
//! * The file is read once at start (a failure is a startup error), then every
//!   `per_tenant_override_period` by [`Overrides::run`]. A file that cannot be read or parsed
//!   keeps the previous values: the failure is logged and counted in
//!   `strata_overrides_reload_failures_total`. Each successful read sets
//!   `strata_overrides_last_reload_success_timestamp_seconds` (injected clock).
//! * Readers never block on the file: a reload swaps one `Arc` under a short lock.
//! * Tenants' credentials (`auth` in an entry) reload with the file; [`Overrides::credentials`]
//!   hands them to [`crate::auth`].

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::UNIX_EPOCH;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use strata_common::{SharedClock, TenantId};
use strata_config::{OverridesConfig, OverridesError, PerTenantLimits, TenantAuth, TenantLimits};
use tokio_util::sync::CancellationToken;

/// The limits in force at one moment.
#[derive(Debug, Default)]
struct Snapshot {
    defaults: Arc<TenantLimits>,
    wildcard: Option<Arc<TenantLimits>>,
    tenants: BTreeMap<TenantId, Arc<TenantLimits>>,
    credentials: Arc<BTreeMap<TenantId, TenantAuth>>,
    /// What the snapshot was built from, to tell whether a reload changed anything.
    source: PerTenantLimits,
}

impl Snapshot {
    fn new(defaults: &TenantLimits, source: PerTenantLimits) -> Self {
        Self {
            defaults: Arc::new(defaults.clone()),
            wildcard: source.wildcard.clone().map(Arc::new),
            tenants: source
                .tenants
                .iter()
                .map(|(k, v)| (k.clone(), Arc::new(v.clone())))
                .collect(),
            credentials: Arc::new(source.auth.clone()),
            source,
        }
    }
}

#[derive(Clone)]
struct OverridesMetrics {
    reload_failures: Counter,
    last_success: Gauge<f64, AtomicU64>,
    tenants: Gauge,
}

struct Shared {
    cfg: OverridesConfig,
    clock: Option<SharedClock>,
    current: RwLock<Arc<Snapshot>>,
    metrics: Option<OverridesMetrics>,
}

/// Per-tenant limits, shared by every role. Cheap to clone.
#[derive(Clone)]
pub struct Overrides {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides").finish_non_exhaustive()
    }
}

impl Default for Overrides {
    /// The compiled defaults for every tenant, no file.
    fn default() -> Self {
        Self::fixed(TenantLimits::default())
    }
}

impl Overrides {
    /// The same limits for every tenant, never reloaded (tests, and roles built without a
    /// configuration).
    pub fn fixed(defaults: TenantLimits) -> Self {
        let cfg = OverridesConfig {
            defaults,
            ..OverridesConfig::default()
        };
        let snap = Snapshot::new(&cfg.defaults, PerTenantLimits::default());
        Self {
            shared: Arc::new(Shared {
                cfg,
                clock: None,
                current: RwLock::new(Arc::new(snap)),
                metrics: None,
            }),
        }
    }

    /// Reads the per-tenant file (if configured) and registers the reload metrics. Blocking file
    /// I/O (one small file). A missing or invalid file is an error.
    pub fn load(
        cfg: &OverridesConfig,
        clock: SharedClock,
        registry: &mut Registry,
    ) -> Result<Self, OverridesError> {
        cfg.validate()?;
        let source = cfg.load_per_tenant()?;
        let metrics = OverridesMetrics {
            reload_failures: Counter::default(),
            last_success: Gauge::default(),
            tenants: Gauge::default(),
        };
        let r = registry.sub_registry_with_prefix("strata_overrides");
        r.register(
            "reload_failures",
            "Failed reads of the per-tenant overrides file (previous values kept)",
            metrics.reload_failures.clone(),
        );
        r.register(
            "last_reload_success_timestamp_seconds",
            "Unix time of the last successful read of the per-tenant overrides file",
            metrics.last_success.clone(),
        );
        r.register(
            "tenants",
            "Tenants with an entry in the per-tenant overrides file",
            metrics.tenants.clone(),
        );
        let o = Self {
            shared: Arc::new(Shared {
                cfg: cfg.clone(),
                clock: Some(clock),
                // The configured defaults from the start: `install` below only replaces the
                // snapshot when the per-tenant file differs from an empty one.
                current: RwLock::new(Arc::new(Snapshot::new(
                    &cfg.defaults,
                    PerTenantLimits::default(),
                ))),
                metrics: Some(metrics),
            }),
        };
        o.install(source);
        Ok(o)
    }

    /// The limits in force for `tenant`.
    pub fn limits(&self, tenant: &TenantId) -> Arc<TenantLimits> {
        let snap = self.snapshot();
        snap.tenants
            .get(tenant)
            .or(snap.wildcard.as_ref())
            .unwrap_or(&snap.defaults)
            .clone()
    }

    /// The per-tenant file's credentials; a new `Arc` after each reload that changed the file.
    pub fn credentials(&self) -> Arc<BTreeMap<TenantId, TenantAuth>> {
        self.snapshot().credentials.clone()
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.shared.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Installs new per-tenant values; returns whether they differ from the current ones.
    fn install(&self, source: PerTenantLimits) -> bool {
        let changed = self.snapshot().source != source;
        let n = source.tenants.len() + usize::from(source.wildcard.is_some());
        if changed {
            let snap = Arc::new(Snapshot::new(&self.shared.cfg.defaults, source));
            match self.shared.current.write() {
                Ok(mut g) => *g = snap,
                Err(poisoned) => *poisoned.into_inner() = snap,
            }
        }
        if let Some(m) = &self.shared.metrics {
            m.tenants.set(n as i64);
            if let Some(clock) = &self.shared.clock {
                let t = clock
                    .now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                m.last_success.set(t);
            }
        }
        changed
    }

    /// Re-reads the per-tenant file once. On error the previous values stay in force and the
    /// failure is counted. Returns whether the limits changed.
    pub fn reload(&self) -> Result<bool, OverridesError> {
        match self.shared.cfg.load_per_tenant() {
            Ok(source) => Ok(self.install(source)),
            Err(e) => {
                if let Some(m) = &self.shared.metrics {
                    m.reload_failures.inc();
                }
                Err(e)
            }
        }
    }

    /// Re-reads the per-tenant file every `per_tenant_override_period` until `shutdown` fires.
    /// Returns at once when no file is configured.
    pub async fn run(self, shutdown: CancellationToken) {
        if !self.shared.cfg.has_per_tenant_file() {
            return;
        }
        let period = self.shared.cfg.per_tenant_override_period;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; the file was read at start
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.reload()).await {
                Ok(Ok(true)) => tracing::info!("per-tenant overrides changed"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "reloading per-tenant overrides; keeping previous values")
                }
                Err(e) => tracing::error!(error = %e, "overrides reload task"),
            }
        }
    }
}

#[cfg(test)]
mod tests;
