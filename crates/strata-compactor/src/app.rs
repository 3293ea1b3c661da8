//! The `strata-compactor` process: serves `/ready` and `/metrics` on
//! `server.http_listen_address` and runs compaction cycles until SIGINT/SIGTERM, in the order of
//! [`Lifecycle`]. With `compactor.ring.members` (or `dns`) set, it shares the work with the
//! other members and must have `compactor.instance_addr` set to its own address as listed
//! there. `strata run` runs the compactor owning every job instead.

use std::sync::Arc;

use strata_common::{SharedClock, SystemClock};
use strata_config::Config;
use strata_server::{BuildInfo, CancellationToken, CommonState, Lifecycle, Overrides, Registry};

use crate::{Compactor, CompactorMetrics, CompactorSettings, OwnAll, Ownership, RingOwnership};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Lifecycle(#[from] strata_server::LifecycleError),
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("storage: {0}")]
    Storage(#[from] strata_storage::StorageError),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
    #[error("{0}")]
    Config(String),
}

/// The TLS of the ring's readiness probes: none while `server.http_tls_config` is off (the
/// members serve plain HTTP); otherwise `ingester_client.grpc_client_config`, which must then
/// have `tls_enabled` (its CA verifies the members' certificates).
fn probe_tls(cfg: &Config) -> Result<Option<strata_tls::ClientTls>, AppError> {
    if !cfg.server.http_tls_config.is_enabled() {
        return Ok(None);
    }
    let client = &cfg.ingester_client.grpc_client_config;
    if !client.tls_enabled {
        return Err(AppError::Config(
            "a compactor ring with server.http_tls_config probes its members over HTTPS: set \
             ingester_client.grpc_client_config.tls_enabled (and tls_ca_path) to verify them"
                .into(),
        ));
    }
    strata_tls::ClientTls::from_config(client)
        .map_err(|e| AppError::Config(format!("ingester_client.grpc_client_config: {e}")))
}

/// Runs the compactor process until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let mut registry = Registry::default();
    strata_server::register_tls_metrics(&mut registry);
    let store_metrics = strata_storage::StoreMetrics::new(&mut registry);
    let store: strata_storage::SharedStore =
        strata_storage::build_instrumented(&cfg.storage, store_metrics)?;
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)?;
    let mut lc = Lifecycle::new("compactor", shutdown);
    let ring = &cfg.compactor.ring;
    let ownership: Arc<dyn Ownership> = if ring.is_unset() {
        Arc::new(OwnAll)
    } else {
        if cfg.compactor.instance_addr.is_empty() {
            return Err(AppError::Config(
                "compactor.instance_addr must be set when compactor.ring has members".into(),
            ));
        }
        let members = RingOwnership::member_set(ring, probe_tls(&cfg)?);
        let m = members.clone();
        lc.spawn_background(move |t| async move { m.run(t).await });
        Arc::new(RingOwnership::new(
            members,
            cfg.compactor.instance_addr.clone(),
        ))
    };
    let compactor = Compactor::new(
        store,
        CompactorSettings::from_config(&cfg),
        ownership,
        Arc::new(overrides.clone()),
        clock,
        CompactorMetrics::new(&mut registry),
    );
    let router = strata_server::common_routes(CommonState {
        registry: Arc::new(registry),
        readiness: lc.readiness(),
        build_info: BuildInfo::default(),
    });
    let tls = &cfg.server.http_tls_config;
    lc.serve_http("http", &cfg.server.http_listen_address, tls, router)
        .await?;
    lc.spawn_background(move |t| overrides.run(t));
    lc.spawn_background(move |t| compactor.run(t));
    Ok(lc.run().await?)
}
