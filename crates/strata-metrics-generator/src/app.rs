//! The `strata-metrics-generator` process: the gRPC service distributors push spans to
//! (`server.grpc_listen_address`), `/ready`, `/metrics` (its own metrics) and the generated
//! series at [`crate::SCRAPE_PATH`] on `server.http_listen_address`, and remote write.
//!
//! Distributors find generators through `metrics_generator.ring` and send each trace to its
//! owner there, so one generator sees every span of a trace. Stop (SIGINT/SIGTERM): readiness
//! and the `Ready` RPC turn false, pushes are refused (`UNAVAILABLE`), the gRPC server finishes
//! calls in flight, a last collection is remote-written, the process exits. The series live in
//! memory: a restarted generator starts its counters from zero.

use std::sync::Arc;

use strata_common::{SharedClock, SystemClock};
use strata_config::Config;
use strata_server::{
    common_routes, listen_grpc, BuildInfo, CancellationToken, CommonState, Lifecycle, Overrides,
    Registry,
};

use crate::push::RemoteGenerator;
use crate::{GeneratorError, MetricsGenerator};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Lifecycle(#[from] strata_server::LifecycleError),
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
    #[error(transparent)]
    Generator(#[from] GeneratorError),
}

/// Runs the metrics-generator process until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    let mut registry = Registry::default();
    strata_server::register_tls_metrics(&mut registry);
    let clock: SharedClock = Arc::new(SystemClock);
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)?;
    let mut lc = Lifecycle::new("metrics-generator", shutdown);
    let generator = MetricsGenerator::from_config(&cfg, overrides.clone(), clock, &mut registry)?;
    let remote = RemoteGenerator::new(generator.clone());
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: lc.readiness(),
        build_info: BuildInfo::default(),
    };
    lc.serve_http_late(
        "http",
        &cfg.server.http_listen_address,
        &cfg.server.http_tls_config,
        common_routes(common).merge(generator.router()),
    )
    .await?;
    let listener = listen_grpc("metrics-generator", &cfg.server).await?;
    let service = strata_rpc::generator_service(
        Arc::new(remote.clone()),
        cfg.ingester_client.max_message_bytes,
    );
    let stop = lc.servers_token();
    lc.spawn_server("metrics-generator grpc", async move {
        strata_rpc::server_builder()
            .add_service(service)
            .serve_with_incoming_shutdown(listener.into_incoming(), stop.cancelled_owned())
            .await
    });
    lc.on_drain(move || remote.stop_accepting());
    lc.spawn_background(move |t| overrides.run(t));
    lc.spawn_background(move |t| generator.run(t));
    Ok(lc.run().await?)
}
