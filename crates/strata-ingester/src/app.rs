//! The `strata-ingester` process: the ingester role behind the internal gRPC service, with the
//! common HTTP routes.
//!
//! Lifecycle:
//!
//! * Start: the HTTP server (`/ready`, `/metrics`) comes up first and answers 503 while the WAL
//!   is replayed; then the gRPC server binds and the process reports ready. Distributors and
//!   queriers find the ingester through the ring's membership (static list or DNS) and include
//!   it once its `Ready` RPC answers, so `/ready` and the ring agree.
//! * Stop (SIGINT/SIGTERM): readiness and the `Ready` RPC turn false and new pushes are refused
//!   with `UNAVAILABLE` (distributors hand them to the next ingester on the ring); pushes
//!   already in flight complete; then every trace is cut and flushed to the object store, and
//!   the process exits. Queries keep being answered until the gRPC server stops.

use std::sync::Arc;

use strata_common::{SharedClock, SystemClock};
use strata_config::Config;
use strata_proto::roles::IngesterConn;
use strata_server::{
    common_routes, listen_grpc, BuildInfo, CancellationToken, CommonState, Lifecycle, Overrides,
    Readiness, Registry,
};

use crate::{Ingester, IngesterMetrics};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Lifecycle(#[from] strata_server::LifecycleError),
    #[error("storage: {0}")]
    Storage(#[from] strata_storage::StorageError),
    #[error("starting ingester: {0}")]
    Ingester(#[from] crate::IngesterError),
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("{0}")]
    Task(String),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
    #[error("tail sampling: {0}")]
    TailSampling(String),
}

/// Replays the WAL (on a blocking thread) and logs what replay found: the ingester's start, shared
/// by this process and `strata run`.
pub async fn start(
    cfg: &Config,
    store: strata_storage::SharedStore,
    clock: SharedClock,
    metrics: IngesterMetrics,
) -> Result<Ingester, AppError> {
    crate::tail::check_config(cfg).map_err(AppError::TailSampling)?;
    let (c, b) = (cfg.ingester.clone(), cfg.storage.block.clone());
    let (ingester, report) =
        tokio::task::spawn_blocking(move || Ingester::start(c, b, store, clock, metrics))
            .await
            .map_err(|e| AppError::Task(format!("wal replay task: {e}")))??;
    if let Some(target) = strata_storage::LocalTarget::of(&cfg.storage) {
        ingester.link_uploads_into(target);
    }
    tracing::info!(
        segments = report.segments,
        records = report.records,
        traces = report.traces,
        "wal replayed"
    );
    for t in &report.truncations {
        tracing::warn!("wal: {t}");
    }
    Ok(ingester)
}

/// Runs the ingester process until `shutdown` fires, then stops as the module docs describe
/// (the order is [`Lifecycle`]'s: the gRPC server is a server, the HTTP routes a late server).
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let mut registry = Registry::default();
    strata_server::register_tls_metrics(&mut registry);
    let store: strata_storage::SharedStore = strata_storage::build_instrumented(
        &cfg.storage,
        strata_storage::StoreMetrics::new(&mut registry),
    )?;
    let metrics = IngesterMetrics::new(&mut registry);
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)?;
    let mut lc = Lifecycle::new("ingester", shutdown);
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: lc.readiness(),
        build_info: BuildInfo::default(),
    };
    // Up first, answering 503 on /ready while the WAL is replayed.
    lc.serve_http_late(
        "http",
        &cfg.server.http_listen_address,
        &cfg.server.http_tls_config,
        common_routes(common),
    )
    .await?;

    let ingester = start(&cfg, store, clock.clone(), metrics).await?;
    ingester.set_overrides(overrides.clone());
    let grpc_listener = listen_grpc("ingester", &cfg.server).await?;
    let conn: Arc<dyn IngesterConn> = Arc::new(ingester.clone());
    lc.spawn_server(
        "ingester grpc",
        strata_rpc::serve(
            grpc_listener,
            conn,
            cfg.ingester_client.max_message_bytes,
            lc.servers_token(),
        ),
    );
    spawn_background(&mut lc, &ingester, overrides);
    Ok(lc.run().await?)
}

/// What the ingester adds to a process's lifecycle, in `strata run` and its own binary: the
/// push gate closes at drain; the flush loop (which flushes everything when cancelled), the
/// overrides reload and the `/ready` store report run in the background.
pub fn spawn_background(lc: &mut Lifecycle, ingester: &Ingester, overrides: Overrides) {
    let i = ingester.clone();
    lc.on_drain(move || {
        tracing::info!("stopping: refusing new pushes, finishing in-flight ones");
        i.stop_accepting();
    });
    let i = ingester.clone();
    lc.spawn_background(move |t| i.run(t));
    lc.spawn_background(move |t| overrides.run(t));
    let (i, readiness) = (ingester.clone(), lc.readiness());
    lc.spawn_background(move |t| report_store_status(i, readiness, t));
}

/// Keeps the `object_store` and `wal` lines of `/ready` in step with the ingester's uploads and
/// WAL appends.
pub async fn report_store_status(
    ingester: Ingester,
    readiness: Readiness,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                readiness.set_detail("object_store", ingester.upload_status());
                readiness.set_detail("wal", ingester.wal_status());
            }
            _ = stop.cancelled() => return,
        }
    }
}
