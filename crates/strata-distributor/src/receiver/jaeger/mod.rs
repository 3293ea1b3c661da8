//! The Jaeger receivers, Tempo's `distributor.receivers.jaeger.protocols`:
//!
//! * `grpc` (default port 14250): `jaeger.api_v2.CollectorService/PostSpans` ([`grpc`]).
//! * `thrift_http` (default port 14268): `POST /api/traces` with a binary-Thrift `Batch`
//!   (`Content-Type: application/x-thrift` or `application/vnd.apache.thrift.binary`;
//!   gzip/deflate accepted). 202 on success; 400 for another content type, an undecodable body
//!   or invalid spans; 413 over `distributor.max_request_bytes`; 500 for every other refusal
//!   (rate limit, missing tenant), as the OpenTelemetry Collector's receiver answers.
//! * `thrift_compact` (6831/udp) and `thrift_binary` (6832/udp): the agent's `emitBatch`
//!   (and `emitZipkinBatch`) in one datagram each ([`udp`]). UDP has no reply: a datagram that
//!   is too large, does not decode or is refused is dropped and counted in
//!   `strata_distributor_udp_datagrams_dropped_total{receiver,reason}`, and the sender never
//!   knows. UDP carries no tenant: with multitenancy off its spans belong to `single-tenant`;
//!   with it on they are refused (`reason="refused"`), as in Tempo.
//!
//! All decode into [`model`] and translate with [`to_otlp`].

pub mod grpc;
pub mod model;
mod proto;
pub mod thrift;
pub mod to_otlp;
pub mod udp;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Extension;
use axum::Router;
use strata_common::TenantId;
use strata_proto::otlp::collector::ExportTraceServiceRequest;

use super::common::{header_lower, plain, plain_refusal, request_body};
use crate::receiver::thrift as t;
use crate::receiver::zipkin::status_for;
use crate::Distributor;

/// Decodes a `POST /api/traces` body (a binary-protocol `Batch`) and translates it.
pub fn decode_http(body: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let batch = thrift::batch(&mut t::binary(body))
        .map_err(|e| format!("Unable to process request body: {e}"))?;
    Ok(to_otlp::to_request(vec![batch]))
}

/// Translates a `PostSpans` batch (what the gRPC receiver does with each request).
pub fn translate_proto(
    batch: strata_proto::jaeger_api_v2::Batch,
) -> Result<ExportTraceServiceRequest, String> {
    Ok(to_otlp::to_request(vec![proto::batch(batch)?]))
}

/// The `thrift_http` router, behind the tenant gate.
pub fn router(distributor: Distributor) -> Router {
    let limit = distributor.settings().max_request_bytes;
    let routes = Router::new()
        .route("/api/traces", any(traces))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(distributor.clone());
    distributor.gate_http(routes, "jaeger_thrift_http", |_, e| {
        plain_refusal(e, status_for)
    })
}

async fn traces(
    State(d): State<Distributor>,
    Extension(tenant): Extension<TenantId>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 method not allowed, supported: [POST]",
        );
    }
    let ct = header_lower(&headers, header::CONTENT_TYPE);
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !matches!(
        mime,
        "application/x-thrift" | "application/vnd.apache.thrift.binary"
    ) {
        return plain(
            StatusCode::BAD_REQUEST,
            format!("Unsupported content type: {mime:?}"),
        );
    }
    let body = match request_body(&headers, &body, d.settings().max_request_bytes) {
        Ok(b) => b,
        Err((status, msg)) => return plain(status, msg),
    };
    let bytes: &[u8] = &body;
    let request = match decode_http(bytes) {
        Ok(r) => r,
        Err(msg) => return plain(StatusCode::BAD_REQUEST, msg),
    };
    let result = d
        .receive(tenant, request, Some(bytes.len()), "jaeger_thrift_http")
        .await;
    match result {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        // The Collector's Jaeger HTTP receiver, like its Zipkin one, has no 429/503.
        Err(e) => plain(status_for(&e), e.message),
    }
}

#[cfg(test)]
pub(crate) mod tests;
