//! The `strata-querier` process: Tempo's query API over the blocks in the object store and the
//! recent data of every ingester on the ring ([`FanoutQuerier`], which tolerates
//! `replication_factor - 1` unreachable ingesters and merges replicated answers; spans are
//! deduplicated by (span ID, kind)).
//!
//! With `querier.search.peers`, searches share their jobs with the other queriers
//! ([`crate::peers`]); the peer list is kept fresh (DNS) for the life of the process.
//!
//! Ready once the first block-list poll has completed. Stop ([`Lifecycle`]): not ready, the HTTP
//! server finishes in-flight requests, the poller and ring checks stop, exit.

use std::sync::Arc;

use strata_config::Config;
use strata_ring::IngesterPool;
use strata_server::{
    common_routes, BuildInfo, CancellationToken, CommonState, Lifecycle, Registry,
};

use crate::{FanoutQuerier, Querier};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Lifecycle(#[from] strata_server::LifecycleError),
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("storage: {0}")]
    Storage(#[from] strata_storage::StorageError),
    #[error("{0}")]
    Config(String),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
}

/// The TLS of jobs sent to peers: none while `server.http_tls_config` is off (the peers serve
/// plain HTTP, like this process); otherwise `ingester_client.grpc_client_config`, which must
/// then have `tls_enabled` (its CA verifies the peers' certificates).
fn peer_tls(cfg: &Config) -> Result<Option<strata_tls::ClientTls>, AppError> {
    if !cfg.server.http_tls_config.is_enabled() {
        return Ok(None);
    }
    let client = &cfg.ingester_client.grpc_client_config;
    if !client.tls_enabled {
        return Err(AppError::Config(
            "querier.search.peers with server.http_tls_config sends jobs to peers over HTTPS: \
             set ingester_client.grpc_client_config.tls_enabled (and tls_ca_path) to verify them"
                .into(),
        ));
    }
    strata_tls::ClientTls::from_config(client)
        .map_err(|e| AppError::Config(format!("ingester_client.grpc_client_config: {e}")))
}

/// Runs the querier process until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    if cfg.ring.is_unset() {
        return Err(AppError::Config(
            "ring.members or ring.dns must name the ingesters".into(),
        ));
    }
    let mut registry = Registry::default();
    strata_server::register_tls_metrics(&mut registry);
    let store: strata_storage::SharedStore = strata_storage::build_instrumented(
        &cfg.storage,
        strata_storage::StoreMetrics::new(&mut registry),
    )?;
    let mut lc = Lifecycle::new("querier", shutdown.clone());
    let factory = strata_rpc::conn_factory(&cfg.ingester_client)
        .map_err(|e| AppError::Config(e.to_string()))?;
    let ring_stop = CancellationToken::new();
    let (pool, ring_task) = IngesterPool::spawn(&cfg.ring, factory, ring_stop.clone()).await;
    pool.members()
        .report_to(strata_ring::RingMetrics::new(&mut registry), "ingester");
    lc.spawn_background(move |t| async move {
        t.cancelled().await;
        ring_stop.cancel();
        let _ = ring_task.await;
    });
    let overrides = strata_server::Overrides::load(
        &cfg.overrides,
        Arc::new(strata_common::SystemClock),
        &mut registry,
    )?;
    let querier = Querier::from_config(
        &cfg,
        Arc::new(FanoutQuerier::new(pool)),
        store,
        &mut registry,
    )
    .with_overrides(overrides.clone())
    .with_tenants(strata_server::auth::TenantResolver::from_config(
        &cfg,
        overrides.clone(),
        &mut registry,
    ));
    lc.spawn_background(move |t| overrides.run(t));
    let peers_cfg = &cfg.querier.search.peers;
    let querier = if peers_cfg.is_unset() {
        querier
    } else {
        let peers = Arc::new(crate::Peers::new(
            peers_cfg,
            &cfg.server.http_listen_address,
            querier.instance().to_string(),
            peer_tls(&cfg)?,
            Arc::new(strata_common::SystemClock),
        ));
        let membership = peers.membership().clone();
        lc.spawn_background(move |t| async move { membership.run(t).await });
        querier.with_peers(peers)
    };
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: lc.readiness(),
        build_info: BuildInfo::default(),
    };
    let api = crate::http::router(querier.clone())
        .merge(common_routes(common))
        .layer(tower_http::compression::CompressionLayer::new());
    let tls = &cfg.server.http_tls_config;
    lc.serve_http("query API", &cfg.server.http_listen_address, tls, api)
        .await?;
    // Ready only after the first successful block-list poll.
    querier.first_poll(&shutdown).await;
    let q = querier.clone();
    lc.spawn_background(move |t| q.run(t));
    Ok(lc.run().await?)
}
