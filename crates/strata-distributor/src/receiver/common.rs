//! What every receiver does around its own decoding: put the tenant gate
//! (`strata_server::auth::layer`) in front of its routes, take the tenant it decided from the
//! request's extensions, undo `Content-Encoding` with a hard cap on the output, answer in plain
//! text, and hand the decoded request to the pipeline with [`Distributor::receive`] (an OTLP
//! protobuf body, still encoded, with [`Distributor::receive_protobuf`]).

use std::borrow::Cow;
use std::io::Read;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;
use strata_proto::otlp::collector::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use strata_common::TenantId;
use strata_proto::status::ErrorKind;
use strata_server::auth::{self, Edge};

use crate::{Accepted, Distributor, PushError, Received};

/// Why [`Distributor::receive_protobuf`] did not accept a body.
#[derive(Debug)]
pub enum ProtobufError {
    /// Not an `ExportTraceServiceRequest`; nothing was counted.
    Decode(prost::DecodeError),
    /// Refused by the pipeline (counted there).
    Push(PushError),
}

/// The OTLP answer to an accepted request: `partial_success` names the spans refused by
/// per-tenant limits, if any (absent when everything was stored).
pub(crate) fn export_response(accepted: &Accepted) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (accepted.rejected_spans > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(accepted.rejected_spans).unwrap_or(i64::MAX),
            error_message: accepted.message.clone(),
        }),
    }
}

impl Distributor {
    /// Runs a decoded request of `tenant` through the pipeline: the one entry point of every
    /// receiver.
    pub async fn receive(
        &self,
        tenant: TenantId,
        request: ExportTraceServiceRequest,
        wire_bytes: Option<usize>,
        protocol: &'static str,
    ) -> Result<Accepted, PushError> {
        self.push(Received {
            tenant,
            request,
            wire_bytes,
            protocol,
        })
        .await
    }

    /// Runs an OTLP protobuf body of `tenant` through the pipeline: on its fast path without
    /// decoding when that applies ([`crate::pipeline`]), else decoded with prost and run as
    /// [`Self::receive`] does. `wire_bytes` as for [`Self::receive`].
    pub async fn receive_protobuf(
        &self,
        tenant: TenantId,
        body: Bytes,
        wire_bytes: Option<usize>,
        protocol: &'static str,
    ) -> Result<Accepted, ProtobufError> {
        // Rate limit and backpressure first: a refused body is not walked or decoded.
        let early = self
            .pipeline
            .admit_early(&tenant, &body, protocol)
            .await
            .map_err(ProtobufError::Push)?;
        let counted = early.map(|e| e.spans);
        let early = early.map(|e| e.admitted);
        if let Some(scanned) = self.pipeline.scan_fast(&tenant, &body, counted) {
            return self
                .pipeline
                .run_scanned(tenant, body, scanned, wire_bytes, protocol, early)
                .await
                .map_err(ProtobufError::Push);
        }
        let request =
            ExportTraceServiceRequest::decode(body.as_ref()).map_err(ProtobufError::Decode)?;
        drop(body);
        let received = Received {
            tenant,
            request,
            wire_bytes,
            protocol,
        };
        match early {
            Some(admitted) => self.pipeline.run_admitted(received, admitted).await,
            None => self.push(received).await,
        }
        .map_err(ProtobufError::Push)
    }

    /// `router` behind the tenant gate of this distributor, refusals written by `render`.
    pub(crate) fn gate_http(
        &self,
        router: axum::Router,
        protocol: &'static str,
        render: auth::layer::Render,
    ) -> axum::Router {
        auth::layer::http(
            router,
            self.tenants().clone(),
            Edge::Ingest,
            protocol,
            render,
        )
    }

    /// gRPC `routes` behind the tenant gate of this distributor.
    pub(crate) fn gate_grpc(
        &self,
        routes: tonic::service::Routes,
        protocol: &'static str,
    ) -> tonic::service::Routes {
        auth::layer::grpc(routes, self.tenants().clone(), protocol)
    }
}

/// The tenant the gate decided for a gRPC request (an internal error if the service was
/// served without the gate).
pub(crate) fn grpc_tenant<T>(request: &tonic::Request<T>) -> Result<TenantId, tonic::Status> {
    request
        .extensions()
        .get::<TenantId>()
        .cloned()
        .ok_or_else(|| tonic::Status::internal("tenant not resolved"))
}

/// A refusal of the tenant gate for the Zipkin and Jaeger HTTP receivers: 401/403 for
/// credentials, else the receiver's own mapping (`status_for`, Tempo's contract).
pub(crate) fn plain_refusal(e: &PushError, status_for: fn(&PushError) -> StatusCode) -> Response {
    match e.kind {
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::FORBIDDEN);
            plain(status, e.message.clone())
        }
        _ => plain(status_for(e), e.message.clone()),
    }
}

/// A header's value, trimmed and lower-cased ("" when absent or not text).
pub(crate) fn header_lower(headers: &HeaderMap, name: HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A plain-text answer.
pub(crate) fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into(),
    )
        .into_response()
}

/// The body with its `Content-Encoding` undone (gzip, deflate/zlib; none or `identity` borrows
/// the body as is). Errors: 400 for an unknown encoding or a corrupt stream, 413 when the
/// decompressed body would exceed `max` bytes.
pub(crate) fn request_body<'a>(
    headers: &HeaderMap,
    body: &'a Bytes,
    max: usize,
) -> Result<Cow<'a, [u8]>, (StatusCode, String)> {
    let encoding = header_lower(headers, header::CONTENT_ENCODING);
    if encoding.is_empty() || encoding == "identity" {
        return Ok(Cow::Borrowed(body));
    }
    decompress(&encoding, body, max).map(Cow::Owned)
}

/// Decompresses with a hard cap on the output size.
pub(crate) fn decompress(
    encoding: &str,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let reader: Box<dyn Read + '_> = match encoding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(body)),
        "deflate" | "zlib" => Box::new(flate2::read::ZlibDecoder::new(body)),
        other => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("unsupported content encoding {other:?}"),
            ))
        }
    };
    let mut out = Vec::new();
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("decompressing body: {e}")))?;
    if out.len() > max {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("decompressed body exceeds {max} bytes"),
        ));
    }
    Ok(out)
}

/// Serves a gRPC receiver's `routes` on `listener` (plain or TLS; TCP_NODELAY) until
/// `shutdown` fires.
pub(crate) async fn serve_grpc(
    routes: tonic::service::Routes,
    listener: impl Into<strata_server::Listener>,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), tonic::transport::Error> {
    strata_rpc::server_builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(listener.into().into_incoming(), shutdown.cancelled_owned())
        .await
}
