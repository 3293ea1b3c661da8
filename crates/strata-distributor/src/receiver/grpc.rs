//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip accepted,
//! messages up to `distributor.max_request_bytes`. The tenant gate runs before the message is
//! decoded.
//!
//! The service is written out here rather than generated so that the request message reaches
//! the distributor as bytes ([`RawCodec`]): [`Distributor::receive_protobuf`] then stores it
//! without decoding when it can. A message prost cannot decode is answered `INTERNAL` with
//! prost's error, as tonic's generated service does.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use prost::Message;
use strata_proto::otlp::collector::ExportTraceServiceResponse;
use tokio_util::sync::CancellationToken;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, BoxFuture, Service};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::common::{export_response, grpc_tenant, serve_grpc, ProtobufError};
use crate::Distributor;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Requests as their message bytes, responses prost-encoded.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The `Export` call.
#[derive(Clone)]
struct Export(Distributor);

impl UnaryService<Bytes> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let distributor = self.0.clone();
        Box::pin(async move {
            let tenant = grpc_tenant(&request)?;
            let accepted = distributor
                .receive_protobuf(tenant, request.into_inner(), None, "otlp_grpc")
                .await
                .map_err(|e| match e {
                    ProtobufError::Decode(e) => Status::internal(e.to_string()),
                    ProtobufError::Push(e) => e.to_grpc_status(),
                })?;
            Ok(Response::new(export_response(&accepted)))
        })
    }
}

/// `TraceService` with [`RawCodec`].
#[derive(Clone)]
struct TraceService {
    distributor: Distributor,
    max_request_bytes: usize,
}

impl NamedService for TraceService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl Service<http::Request<tonic::body::Body>> for TraceService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        if req.uri().path() != EXPORT_PATH {
            return Box::pin(async { Ok(Status::unimplemented("unknown method").into_http()) });
        }
        let method = Export(self.distributor.clone());
        let max = self.max_request_bytes;
        Box::pin(async move {
            let mut grpc = Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            Ok(grpc.unary(method, req).await)
        })
    }
}

/// Serves OTLP/gRPC on `listener` until `shutdown` fires.
pub async fn serve(
    distributor: Distributor,
    listener: impl Into<strata_server::Listener>,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let svc = TraceService {
        max_request_bytes: distributor.settings().max_request_bytes,
        distributor: distributor.clone(),
    };
    let routes = distributor.gate_grpc(tonic::service::Routes::new(svc), "otlp_grpc");
    serve_grpc(routes, listener, shutdown).await
}
