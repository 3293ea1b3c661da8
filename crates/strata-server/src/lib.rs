//! Process scaffolding shared by every Strata binary: the routes every process serves
//! (`/ready`, `/metrics`, `/api/echo`, `/api/status/buildinfo`), HTTP serving with graceful
//! shutdown, and the readiness flag.

mod routes;

pub use prometheus_client::registry::Registry;
pub use routes::{common_routes, BuildInfo, CommonState};
pub use tokio_util::sync::CancellationToken;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("serving {addr}: {source}")]
    Serve {
        addr: String,
        source: std::io::Error,
    },
}

/// Whether the process is ready to serve (set once every role has started, cleared on shutdown).
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Binds a TCP listener, naming the address in the error.
pub async fn bind(addr: &str) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Serves an axum router until `shutdown` fires.
pub async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let addr = listener
        .local_addr()
        .map(|a: SocketAddr| a.to_string())
        .unwrap_or_default();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|source| ServerError::Serve { addr, source })
}
