//! The Zipkin receiver (default port 9411): `POST /api/v2/spans` with JSON or protobuf
//! (`Content-Type: application/x-protobuf`) and `POST /api/v1/spans` with JSON or Thrift
//! (`application/x-thrift`); like the OpenTelemetry Collector's, it answers any path, and a path
//! containing `api/v1/spans` means v1. `Content-Encoding: gzip`, `deflate` or `zlib` is
//! decompressed with the same cap as OTLP/HTTP.
//!
//! Responses, per the Tempo contract §1.3 (the Collector's Zipkin receiver): 202 on success;
//! 400 for a body that does not decode or a request the pipeline refuses as invalid; 500 for
//! every other refusal, rate limits and a missing tenant included (Zipkin clients never see
//! 429 or 503). Also 405 for other methods and 413 for bodies over
//! `distributor.max_request_bytes`. With credentials on, the tenant gate answers 401/403 first.

mod json;
pub mod model;
mod proto;
pub(crate) mod thrift;
pub mod to_otlp;
pub mod v1;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::status::ErrorKind;

use axum::Extension;
use strata_common::TenantId;

use super::common::{header_lower, plain, plain_refusal, request_body};
use crate::{Distributor, PushError};
pub use model::DecodeError;

/// The encodings a Zipkin body can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    V2Json,
    V2Proto,
    V1Json,
    V1Thrift,
}

impl Format {
    /// The format of a request to `path` with content type `content_type`.
    pub fn of(path: &str, content_type: &str) -> Format {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match (path.contains("api/v1/spans"), mime.as_str()) {
            (true, "application/x-thrift") => Format::V1Thrift,
            (true, _) => Format::V1Json,
            (false, "application/x-protobuf" | "application/protobuf") => Format::V2Proto,
            (false, _) => Format::V2Json,
        }
    }
}

/// Decodes and translates a body.
pub fn decode(format: Format, body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let spans = match format {
        Format::V2Json => json::decode_v2(body)?,
        Format::V2Proto => proto::decode(body)?,
        Format::V1Json => v1::convert_all(json::decode_v1(body)?),
        Format::V1Thrift => v1::convert_all(thrift::decode(body)?),
    };
    Ok(to_otlp::to_request(spans))
}

/// The Zipkin router: every path.
pub fn router(distributor: Distributor) -> Router {
    let limit = distributor.settings().max_request_bytes;
    let routes = Router::new()
        .fallback(spans)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(distributor.clone());
    distributor.gate_http(routes, "zipkin", |_, e| plain_refusal(e, status_for))
}

/// The status a pipeline refusal gets. Zipkin's contract differs from OTLP/HTTP here: Tempo's
/// Zipkin receiver (the Collector's) answers 400 only for invalid requests and 500 for every
/// other error, rate limits (429 elsewhere) and a missing tenant (503 elsewhere) included
/// (Tempo API contract §1.3), so Zipkin clients see no `Retry-After`.
pub fn status_for(e: &PushError) -> StatusCode {
    match e.kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn spans(
    State(d): State<Distributor>,
    Extension(tenant): Extension<TenantId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 method not allowed, supported: [POST]",
        );
    }
    let format = Format::of(uri.path(), &header_lower(&headers, header::CONTENT_TYPE));
    let body = match request_body(&headers, &body, d.settings().max_request_bytes) {
        Ok(b) => b,
        Err((status, msg)) => return plain(status, msg),
    };
    let bytes: &[u8] = &body;
    let request = match decode(format, bytes) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let result = d
        .receive(tenant, request, Some(bytes.len()), "zipkin")
        .await;
    match result {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(e) => plain(status_for(&e), e.message),
    }
}

#[cfg(test)]
pub(crate) mod tests;
