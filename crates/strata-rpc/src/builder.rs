//! The tonic server every Strata gRPC listener is built from (the OTLP and Jaeger receivers,
//! the ingester and metrics-generator services).
//!
//! It advertises an HTTP/2 `SETTINGS_MAX_FRAME_SIZE` of [`MAX_FRAME_BYTES`] instead of the
//! protocol's 16 KiB default, so a client that honours the peer's setting (Rust's `h2`, used by
//! tonic and so by Strata's own distributor → ingester pushes; Netty) sends a 200 KB export in
//! one DATA frame instead of thirteen. Measured with `strata loadgen --protocol grpc`: the
//! tokio workers spent 4–5 % less CPU per span (server +3 % spans per CPU-second,
//! docs/BENCHMARKS.md). Clients that cap their own frames (grpc-go writes at most 16 KiB per
//! frame) are unaffected. A frame is buffered whole before it is handled, so this is also the
//! most one connection's reader holds for an unfinished frame; message size limits are set
//! per service and are unchanged.

/// Largest HTTP/2 frame a Strata gRPC server accepts: 1 MiB (the protocol allows 16 KiB to
/// 16 MiB − 1).
pub const MAX_FRAME_BYTES: u32 = 1 << 20;

/// A tonic server builder with Strata's HTTP/2 settings (see the module docs).
pub fn server_builder() -> tonic::transport::Server {
    tonic::transport::Server::builder().max_frame_size(Some(MAX_FRAME_BYTES))
}
