//! The `strata-querier` process: Tempo's query API over the blocks in the object store and the
//! recent data of every ingester on the ring ([`FanoutQuerier`], which tolerates
//! `replication_factor - 1` unreachable ingesters and merges replicated answers; spans are
//! deduplicated by (span ID, kind)).
//!
//! Ready once the first block-list poll has completed. Stop: not ready, the HTTP server
//! finishes in-flight requests, exit.

use std::sync::Arc;

use strata_config::Config;
use strata_ring::IngesterPool;
use strata_server::{
    bind, common_routes, serve_http, BuildInfo, CancellationToken, CommonState, Readiness, Registry,
};

use crate::{BlockList, FanoutQuerier, Querier, QuerierMetrics, QuerierSettings};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("storage: {0}")]
    Storage(#[from] strata_storage::StorageError),
    #[error("{0}")]
    Config(String),
}

/// Runs the querier process until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    if cfg.ring.is_unset() {
        return Err(AppError::Config(
            "ring.members or ring.dns must name the ingesters".into(),
        ));
    }
    let mut registry = Registry::default();
    let store: strata_storage::SharedStore = strata_storage::build_instrumented(
        &cfg.storage,
        strata_storage::StoreMetrics::new(&mut registry),
    )?;
    let factory = strata_rpc::conn_factory(&cfg.ingester_client);
    let background = CancellationToken::new();
    let (pool, ring_task) = IngesterPool::spawn(&cfg.ring, factory, background.clone()).await;

    let readiness = Readiness::default();
    let blocks =
        BlockList::new(store).with_index_max_age(cfg.storage.blocklist_poll_stale_tenant_index);
    let querier = Querier::new(
        Arc::new(FanoutQuerier::new(pool.clone())),
        blocks.clone(),
        QuerierSettings {
            multitenancy_enabled: cfg.multitenancy_enabled,
            max_bytes_per_trace: cfg.querier.max_bytes_per_trace,
            blocklist_poll: cfg.storage.blocklist_poll,
        },
        QuerierMetrics::new(&mut registry),
    );
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: readiness.clone(),
        build_info: BuildInfo::default(),
    };
    let api = crate::http::router(querier.clone())
        .merge(common_routes(common))
        .layer(tower_http::compression::CompressionLayer::new());
    let servers = CancellationToken::new();
    let l = bind(&cfg.server.http_listen_address).await?;
    tracing::info!(addr = %cfg.server.http_listen_address, "query API listening");
    let mut http = tokio::spawn(serve_http(l, api, servers.clone()));

    // Ready after the first successful block-list poll; keep trying until then.
    loop {
        match blocks.poll().await {
            Ok(n) => {
                tracing::info!(blocks = n, "block list loaded");
                break;
            }
            Err(e) => tracing::warn!(error = %e, "first block-list poll failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    let poll = tokio::spawn(querier.clone().run(background.clone()));
    readiness.set(true);
    tracing::info!("querier is ready");

    let result = tokio::select! {
        _ = shutdown.cancelled() => Ok(()),
        res = &mut http => match res {
            Ok(Ok(())) => Err(AppError::Config("http server stopped unexpectedly".into())),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(AppError::Config(format!("http server task: {e}"))),
        },
    };
    readiness.set(false);
    servers.cancel();
    let _ = http.await;
    background.cancel();
    let _ = poll.await;
    let _ = ring_task.await;
    tracing::info!("querier stopped");
    result
}
