//! Shared test fixtures: a real ingester (in-memory object store, WAL in a temporary
//! directory) and a real gRPC server on 127.0.0.1:0.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strata_common::{ManualClock, SharedClock, TenantId, TraceId};
use strata_config::{BlockConfig, IngesterConfig};
use strata_ingester::metrics::IngesterMetrics;
use strata_ingester::Ingester;
use strata_proto::otlp::trace::Span;
use strata_proto::roles::{IngesterConn, PushRequest, TracePush};
use strata_rpc::ClientOptions;
use strata_testkit::{kv, resource, resource_spans, s as st};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A real ingester whose data lives as long as the fixture.
pub struct IngesterFixture {
    pub dir: tempfile::TempDir,
    pub ingester: Ingester,
}

impl IngesterFixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = IngesterConfig::default();
        cfg.wal.path = dir.path().join("wal");
        let store: strata_storage::SharedStore = Arc::new(object_store::memory::InMemory::new());
        let clock: SharedClock = Arc::new(ManualClock::default());
        let metrics = IngesterMetrics::new(&mut prometheus_client::registry::Registry::default());
        let (ingester, _) =
            Ingester::start(cfg, BlockConfig::default(), store, clock, metrics).unwrap();
        Self { dir, ingester }
    }

    pub fn conn(&self) -> Arc<dyn IngesterConn> {
        Arc::new(self.ingester.clone())
    }
}

/// A gRPC server running on loopback until stopped.
pub struct Server {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<(), strata_rpc::RpcError>>,
}

impl Server {
    pub async fn start(conn: Arc<dyn IngesterConn>, max_message_bytes: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(strata_rpc::serve(
            listener,
            conn,
            max_message_bytes,
            shutdown.clone(),
        ));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    pub fn hostport(&self) -> String {
        self.addr.to_string()
    }

    /// Cancels and waits (generous deadline) for `serve` to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server did not stop")
            .unwrap()
            .unwrap();
    }
}

pub fn options() -> ClientOptions {
    ClientOptions {
        remote_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        max_message_bytes: 16 * 1024 * 1024,
        tls: None,
    }
}

/// One trace of `spans` spans from service `service`; `pad` bytes of attribute make it big.
pub fn trace_push(id: u8, service: &str, spans: u8, pad: usize) -> TracePush {
    let trace = TraceId([id; 16]);
    let spans: Vec<Span> = (1..=spans)
        .map(|s| Span {
            attributes: vec![
                kv("http.method", st("GET")),
                kv("pad", st(&"x".repeat(pad))),
            ],
            ..strata_testkit::span(
                &trace,
                u64::from_be_bytes([s; 8]),
                &format!("op-{s}"),
                1_000_000_000 + u64::from(s),
                2_000_000_000,
            )
        })
        .collect();
    let rs = vec![resource_spans(Some(resource(service)), None, spans)];
    strata_testkit::trace_push(trace, 1_000_000_000, 2_000_000_000, rs)
}

pub fn push(traces: Vec<TracePush>) -> PushRequest {
    PushRequest {
        tenant: TenantId::single(),
        traces,
    }
}
