//! TLS (rustls, aws-lc-rs) for every Strata listener and internal gRPC client, with
//! certificates reloaded from disk when their files change.
//!
//! * [`ServerTls`] (`server.rs`): a rustls server configuration from a
//!   [`strata_config::TlsServerConfig`] block — the certificate served and, with a client CA,
//!   verification of client certificates (optional or required).
//! * [`Listener`] (`listener.rs`): a bound TCP listener, plain or TLS, that both axum
//!   (`axum::serve`) and tonic (`serve_with_incoming*`, through [`Listener::into_incoming`])
//!   serve from. TLS handshakes run in their own tasks (at most [`HANDSHAKE_TIMEOUT`] each), so a
//!   slow or plaintext client delays no one; a failed handshake closes that connection, is
//!   logged at debug and counted, and the listener goes on.
//! * [`ClientTls`] / [`Connector`] (`client.rs`): an internal gRPC client's rustls
//!   configuration from a [`strata_config::GrpcClientTlsConfig`] block, and the tonic connector
//!   that dials TCP and then TLS with it.
//! * Reloading (`watch.rs`): every certificate, key and CA file is read at start (an error names
//!   the file and stops the process) and checked again on a handshake once
//!   [`RELOAD_CHECK_INTERVAL`] has passed since the last check (time from the injected
//!   [`strata_common::Clock`]). When a file's modification time or length changed, the set is
//!   read again; if that fails, the previous certificate stays in use, the failure is logged and
//!   counted, and it is retried after the files change again.
//! * Metrics (`metrics.rs`): `strata_tls_reloads_total{result}` and
//!   `strata_tls_handshake_failures_total`, registered by [`register_metrics`].
//!
//! ALPN: gRPC listeners and clients offer `h2`; HTTP listeners `h2` and `http/1.1`. Servers
//! resume no sessions: every connection makes a full handshake, so it meets the current
//! certificate and CA (connections are long-lived; the cost is one handshake each).

mod client;
mod listener;
mod metrics;
mod pem;
mod provider;
mod server;
mod watch;

use std::time::Duration;

pub use client::{ClientTls, Connector};
pub use listener::{Conn, Listener};
pub use metrics::register as register_metrics;
pub use server::{Alpn, ServerTls};

/// How often, at most, certificate files are checked for changes (on a handshake).
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// The longest a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Loading TLS material failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("TLS settings: {0}")]
    Settings(String),
}
