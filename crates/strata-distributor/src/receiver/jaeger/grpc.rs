//! Jaeger gRPC (default port 14250): `jaeger.api_v2.CollectorService/PostSpans`, gzip
//! accepted, messages up to `distributor.max_request_bytes`. The tenant comes from the gate
//! (credentials in `authorization`, metadata `x-scope-orgid`); refusals are the pipeline's gRPC statuses (as for OTLP/gRPC); a batch with
//! a malformed ID is `INVALID_ARGUMENT`.

use strata_proto::jaeger_api_v2::collector_service_server::{
    CollectorService, CollectorServiceServer,
};
use strata_proto::jaeger_api_v2::{PostSpansRequest, PostSpansResponse};
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::receiver::common::{grpc_tenant, serve_grpc};
use crate::{Distributor, Received};

struct JaegerGrpc {
    distributor: Distributor,
}

#[tonic::async_trait]
impl CollectorService for JaegerGrpc {
    async fn post_spans(
        &self,
        request: Request<PostSpansRequest>,
    ) -> Result<Response<PostSpansResponse>, Status> {
        // The gate refused a missing or bad tenant before the batch was decoded.
        let tenant = grpc_tenant(&request)?;
        let batch = request.into_inner().batch.unwrap_or_default();
        let request = super::translate_proto(batch).map_err(Status::invalid_argument)?;
        self.distributor
            .push(Received {
                tenant,
                request,
                wire_bytes: None,
                protocol: "jaeger_grpc",
            })
            .await
            .map_err(|e| e.to_grpc_status())?;
        Ok(Response::new(PostSpansResponse {}))
    }
}

/// Serves `CollectorService` on `listener` until `shutdown` fires.
pub async fn serve(
    distributor: Distributor,
    listener: impl Into<strata_server::Listener>,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let max = distributor.settings().max_request_bytes;
    let gate = distributor.clone();
    let svc = CollectorServiceServer::new(JaegerGrpc { distributor })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let routes = gate.gate_grpc(tonic::service::Routes::new(svc), "jaeger_grpc");
    serve_grpc(routes, listener, shutdown).await
}
