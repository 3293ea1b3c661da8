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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use strata_common::{SharedClock, SystemClock, TenantId, TraceId};
use strata_config::Config;
use strata_proto::roles::{
    IngesterConn, IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse,
    RoleError, TraceFragments,
};
use strata_proto::tempopb;
use strata_server::{
    bind, common_routes, serve_http, BuildInfo, CancellationToken, CommonState, Overrides,
    Readiness, Registry,
};

use crate::{Ingester, IngesterMetrics};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("storage: {0}")]
    Storage(#[from] strata_storage::StorageError),
    #[error("starting ingester: {0}")]
    Ingester(#[from] crate::IngesterError),
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("grpc server: {0}")]
    Rpc(#[from] strata_rpc::RpcError),
    #[error("{0}")]
    Task(String),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
}

/// The ingester as served over gRPC: refuses pushes and reports not ready once stopping.
struct Serving {
    ingester: Ingester,
    accepting: AtomicBool,
}

impl Serving {
    fn check(&self) -> Result<(), RoleError> {
        if self.accepting.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(RoleError::Unavailable("ingester is shutting down".into()))
        }
    }
}

#[async_trait]
impl IngesterPusher for Serving {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        self.check()?;
        self.ingester.push(req).await
    }
}

#[async_trait]
impl IngesterHealth for Serving {
    async fn ready(&self) -> Result<(), RoleError> {
        self.check()
    }
}

#[async_trait]
impl IngesterQuerier for Serving {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        self.ingester.find_trace_by_id(tenant, trace_id).await
    }
    async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        self.ingester.search(tenant, req).await
    }
    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        self.ingester.search_tags(tenant, req).await
    }
    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        self.ingester.search_tag_values(tenant, req).await
    }
}

/// Replays the WAL (on a blocking thread) and logs what replay found: the ingester's start, shared
/// by this process and `strata run`.
pub async fn start(
    cfg: &Config,
    store: strata_storage::SharedStore,
    clock: SharedClock,
    metrics: IngesterMetrics,
) -> Result<Ingester, AppError> {
    let (c, b) = (cfg.ingester.clone(), cfg.storage.block.clone());
    let (ingester, report) =
        tokio::task::spawn_blocking(move || Ingester::start(c, b, store, clock, metrics))
            .await
            .map_err(|e| AppError::Task(format!("wal replay task: {e}")))??;
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

/// Runs the ingester process until `shutdown` fires, then stops as the module docs describe.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let mut registry = Registry::default();
    let store: strata_storage::SharedStore = strata_storage::build_instrumented(
        &cfg.storage,
        strata_storage::StoreMetrics::new(&mut registry),
    )?;
    let metrics = IngesterMetrics::new(&mut registry);
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)?;
    let readiness = Readiness::default();
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: readiness.clone(),
        build_info: BuildInfo::default(),
    };

    let http_stop = CancellationToken::new();
    let http_listener = bind(&cfg.server.http_listen_address).await?;
    tracing::info!(addr = %cfg.server.http_listen_address, "http listening (not ready until wal replay)");
    let http = tokio::spawn(serve_http(
        http_listener,
        common_routes(common),
        http_stop.clone(),
    ));

    let ingester = start(&cfg, store, clock.clone(), metrics).await?;

    ingester.set_overrides(overrides.clone());
    let serving = Arc::new(Serving {
        ingester: ingester.clone(),
        accepting: AtomicBool::new(true),
    });
    let grpc_stop = CancellationToken::new();
    let grpc_listener = bind(&cfg.server.grpc_listen_address).await?;
    tracing::info!(addr = %cfg.server.grpc_listen_address, "ingester grpc listening");
    let conn: Arc<dyn IngesterConn> = serving.clone();
    let mut grpc = tokio::spawn(strata_rpc::serve(
        grpc_listener,
        conn,
        cfg.ingester_client.max_message_bytes,
        grpc_stop.clone(),
    ));
    let background = CancellationToken::new();
    let flush = tokio::spawn(ingester.clone().run(background.clone()));
    let reload = tokio::spawn(overrides.run(background.clone()));
    tokio::spawn(report_store_status(
        ingester.clone(),
        readiness.clone(),
        background.clone(),
    ));
    readiness.set(true);
    tracing::info!("ingester is ready");

    let early = tokio::select! {
        _ = shutdown.cancelled() => None,
        res = &mut grpc => Some(res),
    };
    readiness.set(false);
    serving.accepting.store(false, Ordering::SeqCst);
    let result = match early {
        Some(res) => Err(match res {
            Ok(Ok(())) => AppError::Task("grpc server stopped unexpectedly".into()),
            Ok(Err(e)) => e.into(),
            Err(e) => AppError::Task(format!("grpc server task: {e}")),
        }),
        None => {
            tracing::info!("stopping: refusing new pushes, finishing in-flight ones");
            grpc_stop.cancel();
            match grpc.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(AppError::Task(format!("grpc server task: {e}"))),
            }
        }
    };
    // The flush loop cuts and flushes everything when cancelled (flush_all_on_shutdown).
    background.cancel();
    let _ = flush.await;
    let _ = reload.await;
    http_stop.cancel();
    let _ = http.await;
    tracing::info!("ingester stopped");
    result
}

/// Keeps the `object_store` line of `/ready` in step with the ingester's uploads.
pub async fn report_store_status(
    ingester: Ingester,
    readiness: Readiness,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => readiness.set_detail("object_store", ingester.upload_status()),
            _ = stop.cancelled() => return,
        }
    }
}
