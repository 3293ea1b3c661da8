//! The `strata-distributor` process: OTLP receivers in front of the ingester ring.
//!
//! Each push is split by `hash(tenant ‖ trace ID)` over the healthy ingesters of the ring and
//! replicated `replication_factor` times ([`strata_ring::ReplicatedPusher`]); it is acknowledged
//! once a quorum of owners has it in their WAL. The ring's members come from `ring.members` or
//! `ring.dns` and are health-checked every `ring.heartbeat_period`.
//!
//! Stop (SIGINT/SIGTERM): not ready, receivers stop accepting and finish in-flight requests,
//! exit.

use std::sync::Arc;

use strata_common::{SharedClock, SystemClock};
use strata_config::Config;
use strata_ring::{IngesterPool, ReplicatedPusher};
use strata_server::{
    bind, common_routes, serve_http, BuildInfo, CancellationToken, CommonState, Overrides,
    Readiness, Registry,
};

use crate::{receiver, Distributor};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("{0}")]
    Config(String),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
    #[error("{name}: {message}")]
    Stopped { name: &'static str, message: String },
}

/// Runs the distributor process until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    if cfg.ring.is_unset() {
        return Err(AppError::Config(
            "ring.members or ring.dns must name the ingesters".into(),
        ));
    }
    let mut registry = Registry::default();
    let clock: SharedClock = Arc::new(SystemClock);
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)?;
    let factory = strata_rpc::conn_factory(&cfg.ingester_client);
    let background = CancellationToken::new();
    let (pool, ring_task) = IngesterPool::spawn(&cfg.ring, factory, background.clone()).await;
    tracing::info!(
        members = ?pool.members().all(),
        healthy = pool.members().healthy_count(),
        replication_factor = cfg.ring.replication_factor,
        "ingester ring"
    );
    let distributor = Distributor::from_config(
        &cfg,
        Arc::new(ReplicatedPusher::new(pool.clone())),
        overrides.clone(),
        clock,
        &mut registry,
    );
    let reload = tokio::spawn(overrides.run(background.clone()));

    let readiness = Readiness::default();
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: readiness.clone(),
        build_info: BuildInfo::default(),
    };
    let servers = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let l = bind(&cfg.server.http_listen_address).await?;
    tracing::info!(addr = %cfg.server.http_listen_address, "http listening");
    let fut = serve_http(l, common_routes(common), servers.clone());
    tasks.spawn(named("http", fut));
    spawn_receivers(&cfg, &distributor, &servers, &mut tasks).await?;
    readiness.set(true);
    tracing::info!("distributor is ready");

    let result = tokio::select! {
        _ = shutdown.cancelled() => Ok(()),
        Some(res) = tasks.join_next() => Err(match res {
            Ok(Ok(())) => AppError::Stopped { name: "server", message: "stopped unexpectedly".into() },
            Ok(Err(e)) => e,
            Err(e) => AppError::Stopped { name: "server task", message: e.to_string() },
        }),
    };
    readiness.set(false);
    servers.cancel();
    strata_server::process::drain_servers(&mut tasks).await;
    background.cancel();
    let _ = ring_task.await;
    let _ = reload.await;
    tracing::info!("distributor stopped");
    result
}

/// Binds the receivers the configuration enables (OTLP, Zipkin, Jaeger) and serves them in `tasks` until `stop`
/// fires; shared by this process and `strata run`.
pub async fn spawn_receivers<E>(
    cfg: &Config,
    distributor: &Distributor,
    stop: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<Result<(), E>>,
) -> Result<(), AppError>
where
    E: From<AppError> + Send + 'static,
{
    let otlp = &cfg.distributor.receivers.otlp;
    if !otlp.grpc_endpoint.is_empty() {
        let l = bind(&otlp.grpc_endpoint).await?;
        tracing::info!(addr = %otlp.grpc_endpoint, "otlp grpc listening");
        let fut = receiver::grpc::serve(distributor.clone(), l, stop.clone());
        tasks.spawn(async move { named("otlp grpc", fut).await.map_err(E::from) });
    }
    if !otlp.http_endpoint.is_empty() {
        let l = bind(&otlp.http_endpoint).await?;
        tracing::info!(addr = %otlp.http_endpoint, "otlp http listening");
        let fut = serve_http(l, receiver::http::router(distributor.clone()), stop.clone());
        tasks.spawn(async move { named("otlp http", fut).await.map_err(E::from) });
    }
    if let Some(zipkin) = cfg
        .distributor
        .receivers
        .zipkin
        .as_ref()
        .filter(|z| !z.endpoint.is_empty())
    {
        let l = bind(&zipkin.endpoint).await?;
        tracing::info!(addr = %zipkin.endpoint, "zipkin listening");
        let fut = serve_http(
            l,
            receiver::zipkin::router(distributor.clone()),
            stop.clone(),
        );
        tasks.spawn(async move { named("zipkin", fut).await.map_err(E::from) });
    }
    if let Some(jaeger) = &cfg.distributor.receivers.jaeger {
        spawn_jaeger(&jaeger.protocols, distributor, stop, tasks).await?;
    }
    Ok(())
}

async fn spawn_jaeger<E>(
    protocols: &strata_config::JaegerProtocols,
    distributor: &Distributor,
    stop: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<Result<(), E>>,
) -> Result<(), AppError>
where
    E: From<AppError> + Send + 'static,
{
    use receiver::jaeger::{self, udp::Protocol};
    let enabled = |e: &str| !e.is_empty();
    if let Some(grpc) = protocols.grpc.as_ref().filter(|p| enabled(&p.endpoint)) {
        let l = bind(&grpc.endpoint).await?;
        tracing::info!(addr = %grpc.endpoint, "jaeger grpc listening");
        let fut = jaeger::grpc::serve(distributor.clone(), l, stop.clone());
        tasks.spawn(async move { named("jaeger grpc", fut).await.map_err(E::from) });
    }
    if let Some(http) = protocols
        .thrift_http
        .as_ref()
        .filter(|p| enabled(&p.endpoint))
    {
        let l = bind(&http.endpoint).await?;
        tracing::info!(addr = %http.endpoint, "jaeger thrift_http listening");
        let fut = serve_http(l, jaeger::router(distributor.clone()), stop.clone());
        tasks.spawn(async move { named("jaeger thrift_http", fut).await.map_err(E::from) });
    }
    let udp = [
        protocols
            .thrift_compact
            .as_ref()
            .map(|p| (Protocol::Compact, &p.endpoint, p.max_packet_size)),
        protocols
            .thrift_binary
            .as_ref()
            .map(|p| (Protocol::Binary, &p.endpoint, p.max_packet_size)),
    ];
    for (protocol, endpoint, max) in udp.into_iter().flatten() {
        if !enabled(endpoint) {
            continue;
        }
        let socket = tokio::net::UdpSocket::bind(endpoint.as_str())
            .await
            .map_err(|source| strata_server::ServerError::Bind {
                addr: endpoint.clone(),
                source,
            })?;
        tracing::info!(addr = %endpoint, receiver = protocol.name(), "jaeger agent udp listening");
        let fut = jaeger::udp::serve(distributor.clone(), socket, protocol, max, stop.clone());
        tasks.spawn(async move { named(protocol.name(), fut).await.map_err(E::from) });
    }
    Ok(())
}

async fn named<E: std::fmt::Display>(
    name: &'static str,
    fut: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), AppError> {
    fut.await.map_err(|e| AppError::Stopped {
        name,
        message: e.to_string(),
    })
}
