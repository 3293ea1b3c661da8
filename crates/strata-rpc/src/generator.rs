//! The `strata.generator.v1.MetricsGenerator` service: a remote metrics-generator behind
//! [`GeneratorConn`] ([`GeneratorClient`], [`generator_conn_factory`]) and any
//! [`GeneratorConn`] served over gRPC ([`generator_service`]).
//!
//! Errors cross the wire as for the ingester service (see the crate docs).

use std::sync::Arc;

use async_trait::async_trait;
use strata_proto::generator_rpc::metrics_generator_client::MetricsGeneratorClient as GrpcClient;
use strata_proto::generator_rpc::metrics_generator_server::{
    MetricsGenerator, MetricsGeneratorServer,
};
use strata_proto::generator_rpc::PushSpansResponse;
use strata_proto::ingester_rpc as wire;
use strata_proto::roles::{GeneratorConn, PushRequest, RoleError};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::{convert, ClientOptions, RpcError};

/// A lazily connecting client of one generator (`host:port` of its gRPC server). Cheap to
/// clone; clones share one HTTP/2 connection.
#[derive(Clone)]
pub struct GeneratorClient {
    addr: Arc<str>,
    grpc: GrpcClient<Channel>,
    opts: ClientOptions,
}

impl std::fmt::Debug for GeneratorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorClient")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GeneratorClient {
    /// Must be called inside a tokio runtime (the connection is made on first use).
    pub fn new(addr: &str, opts: &ClientOptions) -> Result<Self, RpcError> {
        let grpc = GrpcClient::new(crate::client::lazy_channel(addr, opts)?)
            .max_decoding_message_size(opts.max_message_bytes)
            .max_encoding_message_size(opts.max_message_bytes);
        Ok(Self {
            addr: Arc::from(addr),
            grpc,
            opts: opts.clone(),
        })
    }

    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        req.set_timeout(self.opts.remote_timeout);
        req
    }

    fn error(&self, status: tonic::Status) -> RoleError {
        convert::status_to_role_error(&self.addr, &status)
    }
}

#[async_trait]
impl GeneratorConn for GeneratorClient {
    async fn push_spans(&self, req: PushRequest) -> Result<(), RoleError> {
        self.grpc
            .clone()
            .push_spans(self.request(convert::push_request_to_wire(req)))
            .await
            .map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn ready(&self) -> Result<(), RoleError> {
        self.grpc
            .clone()
            .ready(self.request(wire::ReadyRequest {}))
            .await
            .map_err(|s| self.error(s))?;
        Ok(())
    }
}

/// Makes a connection per generator ring member; an address no client can be made for gives
/// a member whose every call is `UNAVAILABLE`.
pub type GeneratorFactoryFn = Arc<dyn Fn(&str) -> Arc<dyn GeneratorConn> + Send + Sync>;

/// gRPC connections to generators with `opts`' timeouts and message limit.
pub fn generator_conn_factory(opts: ClientOptions) -> GeneratorFactoryFn {
    Arc::new(move |addr: &str| -> Arc<dyn GeneratorConn> {
        match GeneratorClient::new(addr, &opts) {
            Ok(c) => Arc::new(c),
            Err(e) => {
                tracing::error!(addr, error = %e, "cannot make a metrics-generator client");
                Arc::new(Unreachable(format!("metrics-generator {addr}: {e}")))
            }
        }
    })
}

struct Unreachable(String);

#[async_trait]
impl GeneratorConn for Unreachable {
    async fn push_spans(&self, _: PushRequest) -> Result<(), RoleError> {
        Err(RoleError::Unavailable(self.0.clone()))
    }
    async fn ready(&self) -> Result<(), RoleError> {
        Err(RoleError::Unavailable(self.0.clone()))
    }
}

/// Adapter from [`GeneratorConn`] to the generated service trait.
#[derive(Clone)]
pub struct GeneratorService {
    conn: Arc<dyn GeneratorConn>,
}

/// The gRPC service for `conn`, with messages of at most `max_message_bytes` both ways.
pub fn generator_service(
    conn: Arc<dyn GeneratorConn>,
    max_message_bytes: usize,
) -> MetricsGeneratorServer<GeneratorService> {
    MetricsGeneratorServer::new(GeneratorService { conn })
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes)
}

#[async_trait]
impl MetricsGenerator for GeneratorService {
    async fn push_spans(
        &self,
        request: Request<wire::PushRequest>,
    ) -> Result<Response<PushSpansResponse>, Status> {
        let req = convert::push_request_from_wire(request.into_inner())?;
        self.conn.push_spans(req).await.map_err(|e| e.to_status())?;
        Ok(Response::new(PushSpansResponse {}))
    }

    async fn ready(
        &self,
        _: Request<wire::ReadyRequest>,
    ) -> Result<Response<wire::ReadyResponse>, Status> {
        self.conn.ready().await.map_err(|e| e.to_status())?;
        Ok(Response::new(wire::ReadyResponse {}))
    }
}
