//! OTLP/HTTP: `POST /v1/traces` with `application/x-protobuf` or `application/json` bodies,
//! optionally `Content-Encoding: gzip` or `deflate`.
//!
//! Responses follow the OpenTelemetry Collector: 405 for other methods, 415 for other content
//! types, 413 for bodies over `distributor.max_request_bytes` (before or after decompression),
//! 400 for undecodable bodies and bad IDs; errors carry a `google.rpc.Status` in the request's
//! encoding. Success is 200 with an `ExportTraceServiceResponse`: empty, or with `partial_success`
//! naming the spans refused by per-tenant limits. The tenant gate answers
//! first (before the body is read): 401/403 with credentials on, 503 `no org id` without.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Extension;
use axum::Router;
use prost::Message;
use strata_proto::otlp::collector::ExportTraceServiceResponse;
use strata_proto::rpc_status::RpcStatus;

use strata_common::TenantId;

use super::common::{export_response, plain, request_body, ProtobufError};
use crate::{Distributor, PushError};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// The `/v1/traces` router.
pub fn router(distributor: Distributor) -> Router {
    let limit = distributor.settings().max_request_bytes;
    let routes = Router::new()
        .route("/v1/traces", any(export))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(distributor.clone());
    distributor.gate_http(routes, "otlp_http", refusal)
}

/// A refusal of the tenant gate: a `google.rpc.Status` in the encoding the request declares
/// (protobuf unless it says JSON).
fn refusal(headers: &HeaderMap, e: &PushError) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    error(
        if json {
            Encoding::Json
        } else {
            Encoding::Protobuf
        },
        e,
    )
}

/// An error response: the status (and `Retry-After`) from [`strata_proto::status`], a
/// `google.rpc.Status` body in the request's encoding.
fn error(enc: Encoding, e: &PushError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = RpcStatus {
        code: e.grpc_code() as i32,
        message: e.message.clone(),
    };
    let bytes = match enc {
        Encoding::Protobuf => body.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&serde_json::json!({
            "code": body.code, "message": body.message
        }))
        .unwrap_or_default(),
    };
    let mut r = (status, [(header::CONTENT_TYPE, enc.content_type())], bytes).into_response();
    if let Some(secs) = e.retry_after_header() {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    r
}

async fn export(
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
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let enc =
        match mime.as_str() {
            "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
            "application/json" => Encoding::Json,
            _ => return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "415 unsupported media type, supported: [application/json, application/x-protobuf]",
            ),
        };
    let decoded = match request_body(&headers, &body, d.settings().max_request_bytes) {
        Ok(b) => b,
        Err((status, msg)) if status == StatusCode::PAYLOAD_TOO_LARGE => return plain(status, msg),
        Err((_, msg)) => return error(enc, &PushError::invalid_argument(msg)),
    };
    let len = decoded.len();
    let result = match enc {
        Encoding::Protobuf => {
            // The body as it came (no copy) unless it was decompressed.
            let bytes = match decoded {
                Cow::Borrowed(_) => body,
                Cow::Owned(v) => Bytes::from(v),
            };
            match d
                .receive_protobuf(tenant, bytes, Some(len), "otlp_http")
                .await
            {
                Err(ProtobufError::Decode(e)) => {
                    let msg = format!("decoding protobuf request: {e}");
                    return error(enc, &PushError::invalid_argument(msg));
                }
                Err(ProtobufError::Push(e)) => Err(e),
                Ok(a) => Ok(a),
            }
        }
        Encoding::Json => match strata_proto::otlp_json::decode_export_request(&decoded) {
            Ok(req) => d.receive(tenant, req, Some(len), "otlp_http").await,
            Err(e) => {
                let msg = format!("decoding json request: {e}");
                return error(enc, &PushError::invalid_argument(msg));
            }
        },
    };
    match result {
        Ok(accepted) => {
            let resp = export_response(&accepted);
            let body = match enc {
                Encoding::Protobuf => resp.encode_to_vec(),
                Encoding::Json => json_response(&resp),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, enc.content_type())],
                body,
            )
                .into_response()
        }
        Err(e) => error(enc, &e),
    }
}

/// `ExportTraceServiceResponse` in OTLP/JSON (lowerCamelCase fields, int64 as a string, as the
/// protobuf JSON mapping writes it): `{}` when everything was stored.
fn json_response(resp: &ExportTraceServiceResponse) -> Vec<u8> {
    let v = match &resp.partial_success {
        Some(p) => serde_json::json!({
            "partialSuccess": {
                "rejectedSpans": p.rejected_spans.to_string(),
                "errorMessage": p.error_message,
            }
        }),
        None => serde_json::json!({}),
    };
    v.to_string().into_bytes()
}
