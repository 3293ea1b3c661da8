//! `strata-compactor`: the compactor role as its own process.
//!
//! `strata-compactor [--config <file>]` (or `STRATA_CONFIG`): serves `/ready` and `/metrics`
//! on `server.http_listen_address` and runs compaction cycles until SIGINT/SIGTERM. With
//! `compactor.ring.members` (or `dns`) set, it shares the work with the other members and
//! must have `compactor.instance_addr` set to its own address as listed there.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use strata_common::{SharedClock, SystemClock};
use strata_compactor::{
    Compactor, CompactorMetrics, CompactorSettings, OwnAll, Ownership, RingOwnership,
};
use strata_server::process::{init_tracing, signal_token, RoleArgs};
use strata_server::{BuildInfo, CommonState, Overrides, Readiness, Registry};

fn main() -> anyhow::Result<()> {
    let args = RoleArgs::parse();
    let cfg = args.load()?;
    init_tracing(&cfg.server.log_level);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio runtime")?;
    rt.block_on(run(cfg))
}

async fn run(cfg: strata_config::Config) -> anyhow::Result<()> {
    let shutdown = signal_token();
    let clock: SharedClock = Arc::new(SystemClock);
    let mut registry = Registry::default();
    let store_metrics = strata_storage::StoreMetrics::new(&mut registry);
    let store: strata_storage::SharedStore =
        strata_storage::build_instrumented(&cfg.storage, store_metrics)
            .context("building the object store")?;
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)
        .context("loading per-tenant overrides")?;
    let ring = &cfg.compactor.ring;
    let ownership: Arc<dyn Ownership> = if ring.is_unset() {
        Arc::new(OwnAll)
    } else {
        anyhow::ensure!(
            !cfg.compactor.instance_addr.is_empty(),
            "compactor.instance_addr must be set when compactor.ring has members"
        );
        let members = RingOwnership::member_set(ring);
        let m = members.clone();
        let s = shutdown.clone();
        tokio::spawn(async move { m.run(s).await });
        Arc::new(RingOwnership::new(
            members,
            cfg.compactor.instance_addr.clone(),
        ))
    };
    let metrics = CompactorMetrics::new(&mut registry);
    let compactor = Compactor::new(
        store,
        CompactorSettings::from_config(&cfg),
        ownership,
        Arc::new(overrides.clone()),
        clock,
        metrics,
    );

    let readiness = Readiness::default();
    let router = strata_server::common_routes(CommonState {
        registry: Arc::new(registry),
        readiness: readiness.clone(),
        build_info: BuildInfo::default(),
    });
    let listener = strata_server::bind(&cfg.server.http_listen_address).await?;
    tracing::info!(addr = %cfg.server.http_listen_address, "compactor listening");
    let http = tokio::spawn(strata_server::serve_http(
        listener,
        router,
        shutdown.clone(),
    ));
    tokio::spawn(overrides.run(shutdown.clone()));
    readiness.set(true);
    compactor.run(shutdown.clone()).await;
    readiness.set(false);
    http.await.context("http server task")??;
    tracing::info!("compactor stopped");
    Ok(())
}
