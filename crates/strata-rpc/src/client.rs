//! The client side: a remote ingester behind the role traits.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_proto::ingester_rpc as wire;
use strata_proto::ingester_rpc::ingester_client::IngesterClient as GrpcClient;
use strata_proto::roles::{
    IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse, RoleError,
    TraceFragments,
};
use strata_proto::tempopb;
use tonic::transport::{Channel, Endpoint};

use crate::convert;
use crate::{ClientOptions, RpcError};

/// A connection to one ingester (`host:port` of its gRPC server). Cheap to clone; clones share
/// one HTTP/2 connection. The connection is made on first use and remade after a failure, so
/// creating a client never blocks and never fails because the ingester is down.
#[derive(Clone)]
pub struct IngesterClient {
    addr: Arc<str>,
    grpc: GrpcClient<Channel>,
    timeout: Duration,
    max_message_bytes: usize,
}

impl std::fmt::Debug for IngesterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngesterClient")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl IngesterClient {
    /// A lazily connecting client for the ingester at `addr` (`host:port`; HTTP/2, over TLS
    /// when `opts.tls` is set).
    /// Must be called inside a tokio runtime (the connection is driven by a background task).
    pub fn new(addr: &str, opts: &ClientOptions) -> Result<Self, RpcError> {
        let grpc = GrpcClient::new(lazy_channel(addr, opts)?)
            .max_decoding_message_size(opts.max_message_bytes)
            .max_encoding_message_size(opts.max_message_bytes);
        Ok(Self {
            addr: Arc::from(addr),
            grpc,
            timeout: opts.remote_timeout,
            max_message_bytes: opts.max_message_bytes,
        })
    }

    /// The ingester's `host:port`, as given to [`IngesterClient::new`].
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A call carrying the caller's trace context (`traceparent` metadata) when the calling
    /// code runs in a traced span, so the ingester's work joins the caller's trace.
    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        req.set_timeout(self.timeout);
        crate::trace::inject(&mut req);
        req
    }

    fn error(&self, status: tonic::Status) -> RoleError {
        let err = convert::status_to_role_error(&self.addr, &status);
        tracing::debug!(ingester = %self.addr, error = %err, "ingester call failed");
        err
    }
}

/// A lazily connecting HTTP/2 channel to `addr` (`host:port`) with `opts`' timeouts, over TLS
/// when `opts.tls` is set (the certificate must name the host, or `tls_server_name`). Must be
/// called inside a tokio runtime (the connection is driven by a background task).
pub(crate) fn lazy_channel(addr: &str, opts: &ClientOptions) -> Result<Channel, RpcError> {
    let invalid = |reason: String| RpcError::InvalidAddress {
        addr: addr.to_string(),
        reason,
    };
    if addr.is_empty() || addr.contains("://") || addr.contains('/') {
        return Err(invalid("give host:port without a scheme or path".into()));
    }
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| invalid(e.to_string()))?
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.remote_timeout);
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(RpcError::NoRuntime);
    }
    match &opts.tls {
        None => Ok(endpoint.connect_lazy()),
        Some(tls) => {
            let host = endpoint.uri().host().unwrap_or_default();
            let connector = tls.connector(host, opts.connect_timeout)?;
            Ok(endpoint.connect_with_connector_lazy(connector))
        }
    }
}

#[async_trait]
impl IngesterPusher for IngesterClient {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        let msg = convert::push_request_to_wire(req);
        // Checked here for a clear message: tonic reports an oversized outgoing message only as
        // an HTTP/2 stream reset.
        let len = msg.encoded_len();
        if len > self.max_message_bytes {
            return Err(RoleError::Internal(format!(
                "ingester {}: push of {len} bytes exceeds the {}-byte message limit",
                self.addr, self.max_message_bytes
            )));
        }
        let resp = self
            .grpc
            .clone()
            .push(self.request(msg))
            .await
            .map_err(|s| self.error(s))?;
        Ok(convert::push_response_from_wire(resp.into_inner()))
    }
}

#[async_trait]
impl IngesterHealth for IngesterClient {
    async fn ready(&self) -> Result<(), RoleError> {
        self.grpc
            .clone()
            .ready(self.request(wire::ReadyRequest {}))
            .await
            .map_err(|s| self.error(s))?;
        Ok(())
    }
}

#[async_trait]
impl IngesterQuerier for IngesterClient {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        let msg = wire::FindTraceByIdRequest {
            tenant: tenant.as_str().to_string(),
            trace_id: trace_id.as_bytes().to_vec().into(),
        };
        let resp = self
            .grpc
            .clone()
            .find_trace_by_id(self.request(msg))
            .await
            .map_err(|s| self.error(s))?;
        Ok(convert::fragments_from_wire(resp.into_inner()))
    }

    async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        let msg = wire::SearchRequest {
            tenant: tenant.as_str().to_string(),
            request: Some(req.clone()),
        };
        let resp = self
            .grpc
            .clone()
            .search(self.request(msg))
            .await
            .map_err(|s| self.error(s))?;
        Ok(resp.into_inner())
    }

    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        let msg = wire::SearchTagsRequest {
            tenant: tenant.as_str().to_string(),
            request: Some(req.clone()),
        };
        let resp = self
            .grpc
            .clone()
            .search_tags(self.request(msg))
            .await
            .map_err(|s| self.error(s))?;
        Ok(resp.into_inner())
    }

    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        let msg = wire::SearchTagValuesRequest {
            tenant: tenant.as_str().to_string(),
            request: Some(req.clone()),
        };
        let resp = self
            .grpc
            .clone()
            .search_tag_values(self.request(msg))
            .await
            .map_err(|s| self.error(s))?;
        Ok(resp.into_inner())
    }

    async fn metrics_query_range(
        &self,
        tenant: &TenantId,
        req: &tempopb::QueryRangeRequest,
    ) -> Result<tempopb::QueryRangeResponse, RoleError> {
        let msg = wire::MetricsQueryRangeRequest {
            tenant: tenant.as_str().to_string(),
            request: Some(req.clone()),
        };
        let resp = self
            .grpc
            .clone()
            .metrics_query_range(self.request(msg))
            .await
            .map_err(|s| self.error(s))?;
        Ok(resp.into_inner())
    }
}
