//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip accepted,
//! messages up to `distributor.max_request_bytes`. The tenant gate runs before the message is
//! decoded.

use strata_proto::otlp::collector::trace_service_server::{TraceService, TraceServiceServer};
use strata_proto::otlp::collector::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::common::{export_response, grpc_tenant, serve_grpc};
use crate::Distributor;

struct GrpcReceiver {
    distributor: Distributor,
}

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let tenant = grpc_tenant(&request)?;
        let accepted = self
            .distributor
            .receive(tenant, request.into_inner(), None, "otlp_grpc")
            .await
            .map_err(|e| e.to_grpc_status())?;
        Ok(Response::new(export_response(&accepted)))
    }
}

/// Serves OTLP/gRPC on `listener` until `shutdown` fires.
pub async fn serve(
    distributor: Distributor,
    listener: impl Into<strata_server::Listener>,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let max = distributor.settings().max_request_bytes;
    let gate = distributor.clone();
    let svc = TraceServiceServer::new(GrpcReceiver { distributor })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let routes = gate.gate_grpc(tonic::service::Routes::new(svc), "otlp_grpc");
    serve_grpc(routes, listener, shutdown).await
}
