//! The server side: any [`IngesterConn`] (in practice the real ingester) behind the generated
//! `strata.ingester.v1.Ingester` service.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use strata_common::TenantId;
use strata_proto::ingester_rpc as wire;
use strata_proto::ingester_rpc::ingester_server::{Ingester, IngesterServer};
use strata_proto::roles::{IngesterConn, RoleError};
use strata_proto::tempopb;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::convert;
use crate::RpcError;

/// Adapter from the role traits to the generated service trait.
#[derive(Clone)]
pub struct IngesterService {
    conn: Arc<dyn IngesterConn>,
}

impl IngesterService {
    pub fn new(conn: Arc<dyn IngesterConn>) -> Self {
        Self { conn }
    }
}

/// The gRPC service for `conn`, accepting and sending messages of at most `max_message_bytes`
/// (larger ones fail that call with OUT_OF_RANGE; the server goes on serving).
pub fn ingester_service(
    conn: Arc<dyn IngesterConn>,
    max_message_bytes: usize,
) -> IngesterServer<IngesterService> {
    IngesterServer::new(IngesterService::new(conn))
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes)
}

/// Serves `conn` on `listener` (plain TCP, or TLS as the listener was made) until `shutdown`
/// fires: then stops accepting connections, lets calls in flight finish, and returns.
pub async fn serve(
    listener: impl Into<strata_tls::Listener>,
    conn: Arc<dyn IngesterConn>,
    max_message_bytes: usize,
    shutdown: CancellationToken,
) -> Result<(), RpcError> {
    let listener: strata_tls::Listener = listener.into();
    let local = listener.local_addr();
    tracing::info!(addr = %local, tls = listener.is_tls(), "ingester gRPC server listening");
    crate::server_builder()
        .add_service(ingester_service(conn, max_message_bytes))
        .serve_with_incoming_shutdown(listener.into_incoming(), shutdown.cancelled_owned())
        .await?;
    tracing::info!(addr = %local, "ingester gRPC server stopped");
    Ok(())
}

fn status(e: RoleError) -> Status {
    e.to_status()
}

/// A tenant-scoped query call: `parts` splits the wire request into its tenant and inner
/// request, `call` answers them; run in the call's span ([`crate::trace::server_span`]).
async fn query<W, I, R, F>(
    request: Request<W>,
    name: &'static str,
    parts: impl FnOnce(W) -> (String, Option<I>),
    call: impl FnOnce(TenantId, I) -> F,
) -> Result<Response<R>, Status>
where
    I: Default,
    F: Future<Output = Result<R, RoleError>>,
{
    let span = crate::trace::server_span(&request, name);
    async move {
        let (tenant, inner) = parts(request.into_inner());
        let tenant = convert::tenant_from_wire(&tenant)?;
        let resp = call(tenant, inner.unwrap_or_default())
            .await
            .map_err(status)?;
        Ok(Response::new(resp))
    }
    .instrument(span)
    .await
}

#[async_trait]
impl Ingester for IngesterService {
    async fn push(
        &self,
        request: Request<wire::PushRequest>,
    ) -> Result<Response<wire::PushResponse>, Status> {
        let req = convert::push_request_from_wire(request.into_inner())?;
        let resp = self.conn.push(req).await.map_err(status)?;
        Ok(Response::new(convert::push_response_to_wire(&resp)))
    }

    async fn find_trace_by_id(
        &self,
        request: Request<wire::FindTraceByIdRequest>,
    ) -> Result<Response<wire::FindTraceByIdResponse>, Status> {
        let span = crate::trace::server_span(&request, "ingester.find_trace_by_id");
        async move {
            let req = request.into_inner();
            let tenant = convert::tenant_from_wire(&req.tenant)?;
            let id = convert::trace_id_from_wire(&req.trace_id)?;
            let found = self
                .conn
                .find_trace_by_id(&tenant, &id)
                .await
                .map_err(status)?;
            Ok(Response::new(convert::fragments_to_wire(found)))
        }
        .instrument(span)
        .await
    }

    async fn search(
        &self,
        request: Request<wire::SearchRequest>,
    ) -> Result<Response<tempopb::SearchResponse>, Status> {
        let conn = self.conn.clone();
        query(
            request,
            "ingester.search",
            |r| (r.tenant, r.request),
            |tenant, inner| async move { conn.search(&tenant, &inner).await },
        )
        .await
    }

    async fn search_tags(
        &self,
        request: Request<wire::SearchTagsRequest>,
    ) -> Result<Response<tempopb::SearchTagsV2Response>, Status> {
        let conn = self.conn.clone();
        query(
            request,
            "ingester.search_tags",
            |r| (r.tenant, r.request),
            |tenant, inner| async move { conn.search_tags(&tenant, &inner).await },
        )
        .await
    }

    async fn search_tag_values(
        &self,
        request: Request<wire::SearchTagValuesRequest>,
    ) -> Result<Response<tempopb::SearchTagValuesV2Response>, Status> {
        let conn = self.conn.clone();
        query(
            request,
            "ingester.search_tag_values",
            |r| (r.tenant, r.request),
            |tenant, inner| async move { conn.search_tag_values(&tenant, &inner).await },
        )
        .await
    }

    async fn metrics_query_range(
        &self,
        request: Request<wire::MetricsQueryRangeRequest>,
    ) -> Result<Response<tempopb::QueryRangeResponse>, Status> {
        let conn = self.conn.clone();
        query(
            request,
            "ingester.metrics_query_range",
            |r| (r.tenant, r.request),
            |tenant, inner| async move { conn.metrics_query_range(&tenant, &inner).await },
        )
        .await
    }

    async fn ready(
        &self,
        _request: Request<wire::ReadyRequest>,
    ) -> Result<Response<wire::ReadyResponse>, Status> {
        self.conn.ready().await.map_err(status)?;
        Ok(Response::new(wire::ReadyResponse {}))
    }
}
