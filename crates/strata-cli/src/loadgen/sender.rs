//! Sending one pre-encoded `ExportTraceServiceRequest` over OTLP/gRPC or OTLP/HTTP.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use bytes::{BufMut, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;

/// The method the generated `TraceServiceClient::export` calls.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// What happened to one request.
pub enum Outcome {
    /// Accepted; the server may still have rejected some spans (`partial_success`).
    Ok {
        rejected_spans: u64,
        /// Body bytes put on the wire (after gzip for HTTP).
        wire_bytes: u64,
    },
    Failed {
        /// Groups errors in the report: `grpc Unavailable`, `http 429`, `timeout`, ….
        kind: String,
        detail: String,
        /// The delay the server asked for: gRPC `google.rpc.RetryInfo`, HTTP `Retry-After`
        /// (seconds).
        retry_after: Option<Duration>,
    },
}

fn failed(kind: impl Into<String>, detail: impl Into<String>) -> Outcome {
    Outcome::Failed {
        kind: kind.into(),
        detail: detail.into(),
        retry_after: None,
    }
}

/// `Retry-After` in its delay-seconds form; the HTTP-date form is not sent by Strata and is
/// ignored.
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

pub enum Sender {
    Grpc {
        grpc: tonic::client::Grpc<Channel>,
        tenant: Option<MetadataValue<tonic::metadata::Ascii>>,
    },
    Http {
        client: reqwest::Client,
        url: String,
        tenant: Option<String>,
        gzip: bool,
    },
}

/// Connection settings shared by every worker.
#[derive(Clone)]
pub struct Target {
    pub grpc: bool,
    pub endpoint: String,
    pub tenant: Option<String>,
    pub gzip: bool,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Target {
    /// One sender per worker. gRPC workers get their own HTTP/2 connection each (connected
    /// lazily, so an unreachable server shows up as failed requests); HTTP workers share one
    /// connection pool.
    pub fn http_client(&self) -> anyhow::Result<reqwest::Client> {
        reqwest::Client::builder()
            .pool_max_idle_per_host(self.concurrency)
            .tcp_nodelay(true)
            .timeout(self.timeout)
            .build()
            .context("building HTTP client")
    }

    pub fn sender(&self, http: &reqwest::Client) -> anyhow::Result<Sender> {
        if self.grpc {
            let channel = Endpoint::from_shared(self.endpoint.clone())
                .with_context(|| format!("bad endpoint {:?}", self.endpoint))?
                .tcp_nodelay(true)
                .timeout(self.timeout)
                .connect_timeout(self.timeout)
                .connect_lazy();
            let mut grpc = tonic::client::Grpc::new(channel)
                .max_decoding_message_size(16 << 20)
                .max_encoding_message_size(usize::MAX);
            if self.gzip {
                grpc = grpc
                    .send_compressed(CompressionEncoding::Gzip)
                    .accept_compressed(CompressionEncoding::Gzip);
            }
            let tenant = match &self.tenant {
                Some(t) => Some(
                    MetadataValue::try_from(t.as_str())
                        .with_context(|| format!("tenant {t:?} is not a valid header value"))?,
                ),
                None => None,
            };
            Ok(Sender::Grpc { grpc, tenant })
        } else {
            let base = self.endpoint.trim_end_matches('/');
            let url = if base.ends_with("/v1/traces") {
                base.to_string()
            } else {
                format!("{base}/v1/traces")
            };
            Ok(Sender::Http {
                client: http.clone(),
                url,
                tenant: self.tenant.clone(),
                gzip: self.gzip,
            })
        }
    }
}

impl Sender {
    pub async fn send(&mut self, body: Vec<u8>, timeout: Duration) -> Outcome {
        match tokio::time::timeout(timeout, self.send_inner(body)).await {
            Ok(outcome) => outcome,
            Err(_) => failed("timeout", format!("no answer within {timeout:?}")),
        }
    }

    async fn send_inner(&mut self, body: Vec<u8>) -> Outcome {
        match self {
            Sender::Grpc { grpc, tenant } => {
                let wire_bytes = body.len() as u64;
                if let Err(e) = grpc.ready().await {
                    return failed("grpc transport", e.to_string());
                }
                let mut req = tonic::Request::new(Bytes::from(body));
                if let Some(t) = tenant {
                    req.metadata_mut().insert("x-scope-orgid", t.clone());
                }
                let path = PathAndQuery::from_static(EXPORT_PATH);
                match grpc.unary(req, path, PassThrough).await {
                    Ok(resp) => Outcome::Ok {
                        rejected_spans: rejected(&resp.into_inner()),
                        wire_bytes,
                    },
                    Err(status) => {
                        use tonic_types::StatusExt;
                        Outcome::Failed {
                            kind: format!("grpc {:?}", status.code()),
                            detail: status.message().to_string(),
                            retry_after: status
                                .get_details_retry_info()
                                .and_then(|r| r.retry_delay),
                        }
                    }
                }
            }
            Sender::Http {
                client,
                url,
                tenant,
                gzip,
            } => {
                let mut req = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf");
                let body = if *gzip {
                    req = req.header("content-encoding", "gzip");
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(body.len() / 4),
                        flate2::Compression::default(),
                    );
                    match enc.write_all(&body).and_then(|_| enc.finish()) {
                        Ok(z) => z,
                        Err(e) => return failed("gzip", e.to_string()),
                    }
                } else {
                    body
                };
                if let Some(t) = tenant {
                    req = req.header("x-scope-orgid", t.as_str());
                }
                let wire_bytes = body.len() as u64;
                let resp = match req.body(body).send().await {
                    Ok(r) => r,
                    Err(e) => return failed(reqwest_kind(&e), error_chain(&e)),
                };
                let status = resp.status();
                let retry_after = retry_after_header(resp.headers());
                let bytes = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => return failed(reqwest_kind(&e), error_chain(&e)),
                };
                if status.is_success() {
                    let rejected_spans = ExportTraceServiceResponse::decode(bytes)
                        .map(|r| rejected(&r))
                        .unwrap_or(0);
                    Outcome::Ok {
                        rejected_spans,
                        wire_bytes,
                    }
                } else {
                    let detail = strata_proto::rpc_status::RpcStatus::decode(bytes.clone())
                        .ok()
                        .filter(|s| !s.message.is_empty())
                        .map(|s| s.message)
                        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
                    Outcome::Failed {
                        kind: format!("http {}", status.as_u16()),
                        detail,
                        retry_after,
                    }
                }
            }
        }
    }
}

fn rejected(resp: &ExportTraceServiceResponse) -> u64 {
    resp.partial_success
        .as_ref()
        .map(|p| p.rejected_spans.max(0) as u64)
        .unwrap_or(0)
}

fn reqwest_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "http connect"
    } else {
        "http transport"
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// A gRPC codec that sends already-encoded request bytes as they are and decodes the
/// `ExportTraceServiceResponse`: the same wire exchange as the generated
/// `TraceServiceClient::export`, minus encoding the message on the measured path.
#[derive(Clone, Copy, Default)]
struct PassThrough;

impl Codec for PassThrough {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PassThrough;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PassThrough
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for PassThrough {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding response: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_is_read_and_dates_are_ignored() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after_header(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "5".parse().unwrap());
        assert_eq!(retry_after_header(&h), Some(Duration::from_secs(5)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after_header(&h), None);
    }
}
