//! Receivers: each decodes its protocol into an OTLP `ExportTraceServiceRequest`, resolves the
//! tenant and hands the request to the pipeline ([`crate::Distributor::push`]).
//!
//! * [`grpc`], [`http`]: OTLP/gRPC `TraceService/Export` and OTLP/HTTP `POST /v1/traces`.
//! * [`zipkin`]: Zipkin v1 and v2 over HTTP.

pub mod grpc;
pub mod http;
pub(crate) mod otlp_build;
pub(crate) mod thrift;
pub mod zipkin;
