//! What every receiver does around its own decoding: read the tenant header (HTTP header or
//! gRPC metadata `x-scope-orgid`), undo `Content-Encoding` with a hard cap on the output,
//! answer in plain text, and hand the decoded request to the pipeline with
//! [`Distributor::receive`].

use std::borrow::Cow;
use std::io::Read;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use strata_proto::otlp::collector::ExportTraceServiceRequest;

use crate::{Distributor, PushError, Received, TENANT_HEADER};

impl Distributor {
    /// Resolves the tenant from a request's `X-Scope-OrgID` values and runs the decoded
    /// request through the pipeline: the one entry point of every receiver.
    pub async fn receive<S: AsRef<str>>(
        &self,
        tenant_values: &[S],
        request: ExportTraceServiceRequest,
        wire_bytes: Option<usize>,
        protocol: &'static str,
    ) -> Result<(), PushError> {
        let values: Vec<&str> = tenant_values.iter().map(AsRef::as_ref).collect();
        let tenant = self.tenant(&values)?;
        self.push(Received {
            tenant,
            request,
            wire_bytes,
            protocol,
        })
        .await
    }
}

/// The `X-Scope-OrgID` values of an HTTP request.
pub(crate) fn tenant_values(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(TENANT_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// The `x-scope-orgid` values of a gRPC request (owned: the request is consumed next).
pub(crate) fn grpc_tenant_values<T>(request: &tonic::Request<T>) -> Vec<String> {
    request
        .metadata()
        .get_all(TENANT_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
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
    tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(listener.into().into_incoming(), shutdown.cancelled_owned())
        .await
}
