//! All roles in one process, wired through the in-process implementations of the role traits:
//! the distributor pushes straight into the ingester, the querier reads it directly. The
//! compactor runs here too, owning every job.
//!
//! Each role is built from the configuration the same way its own binary builds it
//! (`Distributor::from_config`, `Querier::from_config`, `strata_ingester::app::start`,
//! `CompactorSettings::from_config`), and the process follows the one [`Lifecycle`]: storage →
//! ingester (WAL replay) → servers → first block-list poll → ready; on SIGINT/SIGTERM: not ready
//! → the ingester refuses new pushes → servers finish in-flight requests → the ingester flushes
//! everything; pollers, the compactor and reloads stop → exit.
//!
//! The metrics-generator runs in process too: the distributor hands it every accepted span
//! before head sampling, and its series are served at `/metrics/generator` on the API port.

use std::sync::Arc;

use anyhow::Context;
use strata_common::{SharedClock, SystemClock};
use strata_compactor::{Compactor, CompactorMetrics, CompactorSettings, OwnAll};
use strata_config::Config;
use strata_distributor::Distributor;
use strata_ingester::IngesterMetrics;
use strata_metrics_generator::MetricsGenerator;
use strata_querier::Querier;
use strata_server::{common_routes, BuildInfo, CommonState, Lifecycle, Registry};

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let shutdown = strata_server::process::signal_token();
    let clock: SharedClock = Arc::new(SystemClock);
    let mut registry = Registry::default();
    strata_server::register_tls_metrics(&mut registry);
    let store_metrics = strata_storage::StoreMetrics::new(&mut registry);
    let store: strata_storage::SharedStore =
        strata_storage::build_instrumented(&cfg.storage, store_metrics)
            .context("opening storage")?;
    let overrides = strata_server::Overrides::load(&cfg.overrides, clock.clone(), &mut registry)
        .context("loading per-tenant overrides")?;
    let mut lc = Lifecycle::new("strata", shutdown.clone());

    let ingester_metrics = IngesterMetrics::new(&mut registry);
    let ingester =
        strata_ingester::app::start(&cfg, store.clone(), clock.clone(), ingester_metrics)
            .await
            .context("starting ingester")?;
    ingester.set_overrides(overrides.clone());
    // Trace-derived metrics from every accepted span, before head sampling.
    let generator =
        MetricsGenerator::from_config(&cfg, overrides.clone(), clock.clone(), &mut registry)?;
    // One tenant gate (credentials, failure counter) for the receivers and the query API.
    let tenants =
        strata_server::auth::TenantResolver::from_config(&cfg, overrides.clone(), &mut registry);
    let distributor = Distributor::from_config(
        &cfg,
        Arc::new(ingester.clone()),
        overrides.clone(),
        clock.clone(),
        &mut registry,
    )
    .with_span_consumer(Arc::new(generator.clone()))
    .with_tenants(tenants.clone());
    let querier = Querier::from_config(
        &cfg,
        Arc::new(ingester.clone()),
        store.clone(),
        &mut registry,
    )
    .with_overrides(overrides.clone())
    .with_tenants(tenants);
    if !cfg.querier.search.peers.is_unset() {
        // One process holds every block: there is no other querier to share a search with.
        tracing::warn!("querier.search.peers is ignored by `strata run`: searches are not shared");
    }
    // One process owns every compaction job.
    let compactor = Compactor::new(
        store.clone(),
        CompactorSettings::from_config(&cfg),
        Arc::new(OwnAll),
        Arc::new(overrides.clone()),
        clock.clone(),
        CompactorMetrics::new(&mut registry),
    );

    let common = CommonState {
        registry: Arc::new(registry),
        readiness: lc.readiness(),
        build_info: BuildInfo::default(),
    };
    let api = strata_querier::http::router(querier.clone())
        .merge(common_routes(common))
        .merge(generator.router())
        .merge(generator.tenant_router(querier.tenants().clone()))
        .layer(tower_http::compression::CompressionLayer::new());
    let tls = &cfg.server.http_tls_config;
    lc.serve_http("query API", &cfg.server.http_listen_address, tls, api)
        .await?;
    strata_distributor::app::spawn_receivers(&cfg, &distributor, &mut lc).await?;
    // The ingester's gate, flush loop (flushes everything when cancelled), overrides reload
    // and store report; then the block-list poller and the compactor.
    strata_ingester::app::spawn_background(&mut lc, &ingester, overrides);
    querier.first_poll(&shutdown).await;
    let q = querier.clone();
    lc.spawn_background(move |t| q.run(t));
    lc.spawn_background(move |t| compactor.run(t));
    lc.spawn_background(move |t| generator.run(t));
    Ok(lc.run().await?)
}
