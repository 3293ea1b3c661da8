//! Receivers: each decodes its protocol into an OTLP `ExportTraceServiceRequest`, resolves the
//! tenant and hands the request to the pipeline ([`crate::Distributor::push`]).
//!
//! * [`grpc`], [`http`]: OTLP/gRPC `TraceService/Export` and OTLP/HTTP `POST /v1/traces`.
//! * [`zipkin`]: Zipkin v1 and v2 over HTTP.
//! * [`jaeger`]: Jaeger Thrift over HTTP and the agent's UDP ports.

pub(crate) mod common;
pub mod grpc;
pub mod http;
pub mod jaeger;
pub(crate) mod otlp_build;
pub(crate) mod thrift;
pub mod zipkin;

#[cfg(test)]
mod fuzz;
