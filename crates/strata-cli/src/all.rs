//! All roles in one process, wired through the in-process implementations of the role traits:
//! the distributor pushes straight into the ingester, the querier reads it directly.
//!
//! The compactor runs here too, owning every job.
//!
//! Start order: storage → ingester (WAL replay) → querier (first block-list poll) → servers →
//! ready. Stop order (SIGINT/SIGTERM): not ready → servers stop accepting → ingester flushes.

use std::sync::Arc;

use anyhow::Context;
use strata_common::{SharedClock, SystemClock};
use strata_compactor::{Compactor, CompactorMetrics, CompactorSettings, OwnAll};
use strata_config::Config;
use strata_distributor::Distributor;
use strata_ingester::IngesterMetrics;
use strata_querier::{BlockList, Querier, QuerierMetrics, QuerierSettings};
use strata_server::{
    bind, common_routes, serve_http, BuildInfo, CancellationToken, CommonState, Readiness, Registry,
};

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    let mut registry = Registry::default();
    let store_metrics = strata_storage::StoreMetrics::new(&mut registry);
    let store: strata_storage::SharedStore =
        strata_storage::build_instrumented(&cfg.storage, store_metrics)
            .context("opening storage")?;
    let overrides = strata_server::Overrides::load(&cfg.overrides, clock.clone(), &mut registry)
        .context("loading per-tenant overrides")?;

    let ingester_metrics = IngesterMetrics::new(&mut registry);
    let ingester =
        strata_ingester::app::start(&cfg, store.clone(), clock.clone(), ingester_metrics)
            .await
            .context("starting ingester")?;
    ingester.set_overrides(overrides.clone());

    let distributor = Distributor::from_config(
        &cfg,
        Arc::new(ingester.clone()),
        overrides.clone(),
        clock.clone(),
        &mut registry,
    );
    let blocks = BlockList::new(store.clone())
        .with_index_max_age(cfg.storage.blocklist_poll_stale_tenant_index);
    blocks.poll().await.context("first block-list poll")?;
    let querier = Querier::new(
        Arc::new(ingester.clone()),
        blocks,
        QuerierSettings {
            multitenancy_enabled: cfg.multitenancy_enabled,
            max_bytes_per_trace: cfg.querier.max_bytes_per_trace,
            blocklist_poll: cfg.storage.blocklist_poll,
        },
        QuerierMetrics::new(&mut registry),
    );
    // One process owns every compaction job.
    let compactor = Compactor::new(
        store.clone(),
        CompactorSettings::from_config(&cfg),
        Arc::new(OwnAll),
        Arc::new(overrides.clone()),
        clock.clone(),
        CompactorMetrics::new(&mut registry),
    );

    let readiness = Readiness::default();
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: readiness.clone(),
        build_info: BuildInfo::default(),
    };
    let api = strata_querier::http::router(querier.clone())
        .merge(common_routes(common))
        .layer(tower_http::compression::CompressionLayer::new());

    let servers = CancellationToken::new();
    let background = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();

    let http_listener = bind(&cfg.server.http_listen_address).await?;
    tracing::info!(addr = %cfg.server.http_listen_address, "query API listening");
    tasks.spawn(serve_named(
        "http api",
        serve_http(http_listener, api, servers.clone()),
    ));
    strata_distributor::app::spawn_receivers(&cfg, &distributor, &servers, &mut tasks).await?;
    let flush = tokio::spawn(ingester.clone().run(background.clone()));
    let poll = tokio::spawn(querier.clone().run(background.clone()));
    let compact = tokio::spawn(compactor.run(background.clone()));
    let reload = tokio::spawn(overrides.run(background.clone()));
    tokio::spawn(strata_ingester::app::report_store_status(
        ingester.clone(),
        readiness.clone(),
        background.clone(),
    ));

    readiness.set(true);
    tracing::info!("strata is ready");

    tokio::select! {
        _ = strata_server::process::shutdown_signal() => tracing::info!("shutting down"),
        Some(res) = tasks.join_next() => {
            readiness.set(false);
            servers.cancel();
            background.cancel();
            return match res {
                Ok(Ok(())) => Err(anyhow::anyhow!("a server stopped unexpectedly")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.into()),
            };
        }
    }
    readiness.set(false);
    servers.cancel();
    strata_server::process::drain_servers(&mut tasks).await;
    // The flush loop flushes everything when cancelled (flush_all_on_shutdown).
    background.cancel();
    let _ = flush.await;
    let _ = poll.await;
    let _ = compact.await;
    let _ = reload.await;
    tracing::info!("stopped");
    Ok(())
}

async fn serve_named<E: std::fmt::Display>(
    name: &'static str,
    fut: impl std::future::Future<Output = Result<(), E>>,
) -> anyhow::Result<()> {
    fut.await.map_err(|e| anyhow::anyhow!("{name}: {e}"))
}
