//! gRPC between Strata roles: the `strata.ingester.v1.Ingester` service
//! (`proto/strata/ingester/v1/ingester.proto`, code generated into
//! [`strata_proto::ingester_rpc`]) and the `strata.generator.v1.MetricsGenerator` service
//! ([`GeneratorClient`], [`generator_service`]).
//!
//! * [`IngesterClient`] is what distributors and queriers hold for a remote ingester: it
//!   implements the same role traits ([`IngesterPusher`], [`IngesterQuerier`],
//!   [`IngesterHealth`]) as the in-process ingester, so a role cannot tell the two apart.
//! * [`ingester_service`] / [`serve`] expose any [`IngesterConn`] (in practice the real
//!   ingester) over gRPC.
//!
//! Errors cross the wire as gRPC status codes: [`RoleError::to_status`] on the server, and on
//! the client INVALID_ARGUMENT → [`RoleError::InvalidArgument`], RESOURCE_EXHAUSTED →
//! [`RoleError::ResourceExhausted`], UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED and transport
//! failures → [`RoleError::Unavailable`], anything else → [`RoleError::Internal`]. Unavailable
//! and internal messages are prefixed with the ingester's address; the other two keep the
//! ingester's message unchanged, since it is meant for the end client.
//!
//! [`IngesterPusher`]: strata_proto::roles::IngesterPusher
//! [`IngesterQuerier`]: strata_proto::roles::IngesterQuerier
//! [`IngesterHealth`]: strata_proto::roles::IngesterHealth
//! [`IngesterConn`]: strata_proto::roles::IngesterConn
//! [`RoleError::to_status`]: strata_proto::roles::RoleError::to_status
//! [`RoleError::InvalidArgument`]: strata_proto::roles::RoleError::InvalidArgument
//! [`RoleError::ResourceExhausted`]: strata_proto::roles::RoleError::ResourceExhausted
//! [`RoleError::Unavailable`]: strata_proto::roles::RoleError::Unavailable
//! [`RoleError::Internal`]: strata_proto::roles::RoleError::Internal

mod builder;
mod client;
pub mod convert;
mod factory;
mod generator;
mod server;
mod trace;

use std::time::Duration;

use strata_config::IngesterClientConfig;
use strata_tls::ClientTls;

pub use builder::{server_builder, MAX_FRAME_BYTES};
pub use client::IngesterClient;
pub use factory::{conn_factory, ConnFactoryFn};
pub use generator::{
    generator_conn_factory, generator_service, GeneratorClient, GeneratorFactoryFn,
    GeneratorService,
};
pub use server::{ingester_service, serve, IngesterService};
pub use strata_proto::ingester_rpc::ingester_server::IngesterServer;

/// How a client talks to one ingester (or metrics-generator).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Deadline of one call, enforced by the client and sent to the server (`grpc-timeout`).
    pub remote_timeout: Duration,
    /// Deadline for establishing a connection.
    pub connect_timeout: Duration,
    /// Largest message sent or accepted.
    pub max_message_bytes: usize,
    /// TLS (`ingester_client.grpc_client_config`); `None`: plain HTTP/2.
    pub tls: Option<ClientTls>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let c = IngesterClientConfig::default();
        Self {
            remote_timeout: c.remote_timeout,
            connect_timeout: c.connect_timeout,
            max_message_bytes: c.max_message_bytes,
            tls: None,
        }
    }
}

impl ClientOptions {
    /// The options of `ingester_client`; its TLS files are read here (an error names the file).
    pub fn from_config(c: &IngesterClientConfig) -> Result<Self, RpcError> {
        Ok(Self {
            remote_timeout: c.remote_timeout,
            connect_timeout: c.connect_timeout,
            max_message_bytes: c.max_message_bytes,
            tls: ClientTls::from_config(&c.grpc_client_config)?,
        })
    }
}

/// Setting up a client or running a server failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("invalid ingester address {addr:?} (expected host:port): {reason}")]
    InvalidAddress { addr: String, reason: String },
    #[error("an ingester client must be created inside a tokio runtime")]
    NoRuntime,
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("ingester_client.grpc_client_config: {0}")]
    Tls(#[from] strata_tls::TlsError),
}
