//! The `strata-distributor` process: OTLP receivers in front of the ingester ring.
//!
//! Each push is split by `hash(tenant ‖ trace ID)` over the healthy ingesters of the ring and
//! replicated `replication_factor` times ([`strata_ring::ReplicatedPusher`]); it is acknowledged
//! once a quorum of owners has it in their WAL. The ring's members come from `ring.members` or
//! `ring.dns` and are health-checked every `ring.heartbeat_period`. The distributor reports
//! ready only once its ring first has a quorum of healthy ingesters (`hold_until_quorum`), so
//! a start-up script or load balancer does not send pushes that can only fail; a quorum lost
//! later does not make it unready (pushes then answer `UNAVAILABLE` with a retry delay, rather
//! than every distributor leaving its load balancer at once).
//!
//! With `metrics_generator.ring` set, every accepted span is also handed (before sampling) to
//! the metrics-generator owning its trace on that ring ([`crate::forward`]).
//!
//! Stop (SIGINT/SIGTERM): not ready, receivers stop accepting and finish in-flight requests,
//! exit.

use std::sync::Arc;

use strata_common::{SharedClock, SystemClock};
use strata_config::Config;
use strata_ring::{GeneratorPool, IngesterPool, ReplicatedPusher};
use strata_server::{
    common_routes, listen, Alpn, BuildInfo, CancellationToken, CommonState, Lifecycle, Overrides,
    Readiness, Registry,
};

use crate::{receiver, Distributor};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Lifecycle(#[from] strata_server::LifecycleError),
    #[error(transparent)]
    Server(#[from] strata_server::ServerError),
    #[error("{0}")]
    Config(String),
    #[error("overrides: {0}")]
    Overrides(#[from] strata_config::OverridesError),
}

/// Runs the distributor process until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    if cfg.ring.is_unset() {
        return Err(AppError::Config(
            "ring.members or ring.dns must name the ingesters".into(),
        ));
    }
    let mut registry = Registry::default();
    strata_server::register_tls_metrics(&mut registry);
    let clock: SharedClock = Arc::new(SystemClock);
    let overrides = Overrides::load(&cfg.overrides, clock.clone(), &mut registry)?;
    let mut lc = Lifecycle::new("distributor", shutdown);
    let factory = strata_rpc::conn_factory(&cfg.ingester_client)
        .map_err(|e| AppError::Config(e.to_string()))?;
    let ring_stop = CancellationToken::new();
    let (pool, ring_task) = IngesterPool::spawn(&cfg.ring, factory, ring_stop.clone()).await;
    let ring_metrics = strata_ring::RingMetrics::new(&mut registry);
    pool.members().report_to(ring_metrics.clone(), "ingester");
    tracing::info!(
        members = ?pool.members().all(),
        healthy = pool.members().healthy_count(),
        replication_factor = cfg.ring.replication_factor,
        "ingester ring"
    );
    lc.spawn_background(move |t| async move {
        t.cancelled().await;
        ring_stop.cancel();
        let _ = ring_task.await;
    });
    let readiness = lc.readiness();
    check_quorum_hold(&pool, &readiness);
    let gate_pool = pool.clone();
    lc.spawn_background(move |t| hold_until_quorum(gate_pool, readiness, t));
    let tenants =
        strata_server::auth::TenantResolver::from_config(&cfg, overrides.clone(), &mut registry);
    let mut distributor = Distributor::from_config(
        &cfg,
        Arc::new(ReplicatedPusher::new(pool)),
        overrides.clone(),
        clock,
        &mut registry,
    )
    .with_tenants(tenants);
    if !cfg.metrics_generator.ring.is_unset() {
        let forwarder = spawn_forwarder(&cfg, &mut registry, ring_metrics, &mut lc).await?;
        distributor = distributor.with_span_consumer(Arc::new(forwarder));
    }
    lc.spawn_background(move |t| overrides.run(t));
    let common = CommonState {
        registry: Arc::new(registry),
        readiness: lc.readiness(),
        build_info: BuildInfo::default(),
    };
    lc.serve_http(
        "http",
        &cfg.server.http_listen_address,
        &cfg.server.http_tls_config,
        common_routes(common),
    )
    .await?;
    spawn_receivers(&cfg, &distributor, &mut lc).await?;
    Ok(lc.run().await?)
}

/// Key of the distributor's readiness hold.
const RING_HOLD: &str = "ingester ring";

/// Holds `readiness` while `pool` has no quorum; `true` once it has (and the hold is lifted).
fn check_quorum_hold(pool: &IngesterPool, readiness: &Readiness) -> bool {
    match pool.check_quorum() {
        Ok(()) => {
            readiness.release(RING_HOLD);
            true
        }
        Err(e) => {
            readiness.hold(RING_HOLD, e.to_string());
            false
        }
    }
}

/// Re-checks the ring's quorum every 100 ms (health changes come from the ring's own probes)
/// until it first has one, then lifts the readiness hold for good; stops early at `stop`.
async fn hold_until_quorum(pool: Arc<IngesterPool>, readiness: Readiness, stop: CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if check_quorum_hold(&pool, &readiness) {
            tracing::info!(
                healthy = pool.members().healthy_count(),
                quorum = pool.quorum(),
                "ingester ring has a quorum"
            );
            return;
        }
    }
}

/// The generator ring and the forwarder sending to it, both stopped by `lc`.
async fn spawn_forwarder(
    cfg: &Config,
    registry: &mut Registry,
    ring_metrics: strata_ring::RingMetrics,
    lc: &mut Lifecycle,
) -> Result<crate::forward::GeneratorForwarder, AppError> {
    let gen = &cfg.metrics_generator;
    // The ingester client's settings (TLS included), with the forwarder's deadline.
    let opts = strata_rpc::ClientOptions {
        remote_timeout: gen.forwarder.remote_timeout,
        ..strata_rpc::ClientOptions::from_config(&cfg.ingester_client)
            .map_err(|e| AppError::Config(e.to_string()))?
    };
    let stop = CancellationToken::new();
    let (pool, ring_task) = GeneratorPool::spawn(
        &gen.ring,
        strata_rpc::generator_conn_factory(opts),
        stop.clone(),
    )
    .await;
    pool.members().report_to(ring_metrics, "metrics-generator");
    tracing::info!(
        members = ?pool.members().all(),
        healthy = pool.members().healthy_count(),
        "metrics-generator ring"
    );
    let (forwarder, tasks) = crate::forward::GeneratorForwarder::spawn(
        pool,
        &gen.forwarder,
        crate::forward::ForwardMetrics::new(registry),
        stop.clone(),
    );
    lc.spawn_background(move |t| async move {
        t.cancelled().await;
        stop.cancel();
        let _ = ring_task.await;
        for task in tasks {
            let _ = task.await;
        }
    });
    Ok(forwarder)
}

/// Binds the receivers the configuration enables as servers of `lc`; shared by this process
/// and `strata run`.
pub async fn spawn_receivers(
    cfg: &Config,
    distributor: &Distributor,
    lc: &mut Lifecycle,
) -> Result<(), AppError> {
    let otlp = &cfg.distributor.receivers.otlp;
    if !otlp.grpc_endpoint.is_empty() {
        let l = listen(&otlp.grpc_endpoint, &otlp.grpc_tls.to_server(), Alpn::Grpc).await?;
        tracing::info!(addr = %otlp.grpc_endpoint, tls = l.is_tls(), "otlp grpc listening");
        let fut = receiver::grpc::serve(distributor.clone(), l, lc.servers_token());
        lc.spawn_server("otlp grpc", fut);
    }
    if !otlp.http_endpoint.is_empty() {
        let router = receiver::http::router(distributor.clone());
        let tls = otlp.http_tls.to_server();
        lc.serve_http("otlp http", &otlp.http_endpoint, &tls, router)
            .await?;
    }
    if let Some(zipkin) = cfg
        .distributor
        .receivers
        .zipkin
        .as_ref()
        .filter(|z| !z.endpoint.is_empty())
    {
        let router = receiver::zipkin::router(distributor.clone());
        let tls = zipkin.tls.to_server();
        lc.serve_http("zipkin", &zipkin.endpoint, &tls, router)
            .await?;
    }
    if let Some(jaeger) = &cfg.distributor.receivers.jaeger {
        spawn_jaeger(&jaeger.protocols, distributor, lc).await?;
    }
    Ok(())
}

async fn spawn_jaeger(
    protocols: &strata_config::JaegerProtocols,
    distributor: &Distributor,
    lc: &mut Lifecycle,
) -> Result<(), AppError> {
    use receiver::jaeger::{self, udp::Protocol};
    let enabled = |e: &str| !e.is_empty();
    if let Some(grpc) = protocols.grpc.as_ref().filter(|p| enabled(&p.endpoint)) {
        let l = listen(&grpc.endpoint, &grpc.tls.to_server(), Alpn::Grpc).await?;
        tracing::info!(addr = %grpc.endpoint, tls = l.is_tls(), "jaeger grpc listening");
        let fut = jaeger::grpc::serve(distributor.clone(), l, lc.servers_token());
        lc.spawn_server("jaeger grpc", fut);
    }
    if let Some(http) = protocols
        .thrift_http
        .as_ref()
        .filter(|p| enabled(&p.endpoint))
    {
        let router = jaeger::router(distributor.clone());
        let tls = http.tls.to_server();
        lc.serve_http("jaeger thrift_http", &http.endpoint, &tls, router)
            .await?;
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
        let fut = jaeger::udp::serve(
            distributor.clone(),
            socket,
            protocol,
            max,
            lc.servers_token(),
        );
        lc.spawn_server(protocol.name(), fut);
    }
    Ok(())
}
