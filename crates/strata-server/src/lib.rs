//! Process scaffolding shared by every Strata binary: the routes every process serves
//! (`/ready`, `/metrics`, `/api/echo`, `/api/status/buildinfo`), HTTP serving with graceful
//! shutdown (plain or TLS: [`listen`], `strata_tls`), and the readiness flag.

pub mod auth;
pub mod lifecycle;
pub mod overrides;
pub mod process;
mod routes;
pub mod telemetry;

pub use lifecycle::{Lifecycle, LifecycleError};
pub use overrides::Overrides;
pub use prometheus_client::registry::Registry;
pub use routes::{common_routes, BuildInfo, CommonState};
pub use strata_tls::{register_metrics as register_tls_metrics, Alpn, Listener};
pub use tokio_util::sync::CancellationToken;

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
    #[error("TLS for {addr}: {source}")]
    Tls {
        addr: String,
        source: strata_tls::TlsError,
    },
}

/// Whether the process is ready to serve: set once every role has started and cleared on
/// shutdown ([`Readiness::set`]), and held false meanwhile by start-up conditions not yet met
/// ([`Readiness::hold`], e.g. "the ingester ring has no quorum yet"). Also carries conditions
/// worth reporting on `/ready` that do not make it unready (e.g. "object store unreachable;
/// 3 blocks kept locally").
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    holds: Arc<Notes>,
    details: Arc<Notes>,
}

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
    /// Set, and no [hold](Readiness::hold) left.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && lock(&self.holds).is_empty()
    }
    /// Keeps the process unready until [`Readiness::release`]`(key)`; `why` is reported on
    /// `/ready` (calling it again updates the text).
    pub fn hold(&self, key: &str, why: String) {
        lock(&self.holds).insert(key.to_string(), why);
    }
    /// Lifts the hold `key` (no-op when there is none).
    pub fn release(&self, key: &str) {
        lock(&self.holds).remove(key);
    }
    /// Holds in place as `key: why` lines, sorted by key.
    pub fn holds(&self) -> Vec<String> {
        lines(&self.holds)
    }
    /// Sets (`Some`) or clears (`None`) the detail reported under `key`.
    pub fn set_detail(&self, key: &str, detail: Option<String>) {
        let mut d = lock(&self.details);
        match detail {
            Some(v) => {
                d.insert(key.to_string(), v);
            }
            None => {
                d.remove(key);
            }
        }
    }
    /// Current details as `key: text` lines, sorted by key.
    pub fn details(&self) -> Vec<String> {
        lines(&self.details)
    }
}

type Notes = std::sync::Mutex<std::collections::BTreeMap<String, String>>;

fn lock(m: &Notes) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, String>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn lines(m: &Notes) -> Vec<String> {
    lock(m).iter().map(|(k, v)| format!("{k}: {v}")).collect()
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

/// Binds `addr` and serves it over TLS as `tls` says (plain TCP when it has no certificate),
/// offering `alpn`. The certificate files are read here: an error names the file.
pub async fn listen(
    addr: &str,
    tls: &strata_config::TlsServerConfig,
    alpn: Alpn,
) -> Result<Listener, ServerError> {
    let tls = strata_tls::ServerTls::from_config(tls, alpn).map_err(|source| ServerError::Tls {
        addr: addr.to_string(),
        source,
    })?;
    let tcp = bind(addr).await?;
    Ok(Listener::new(tcp, tls.as_ref()))
}

/// Binds a role's internal gRPC server: `server.grpc_listen_address`, over TLS as
/// `server.grpc_tls_config` says.
pub async fn listen_grpc(
    role: &str,
    server: &strata_config::ServerConfig,
) -> Result<Listener, ServerError> {
    let addr = &server.grpc_listen_address;
    let listener = listen(addr, &server.grpc_tls_config, Alpn::Grpc).await?;
    tracing::info!(%addr, tls = listener.is_tls(), "{role} grpc listening");
    Ok(listener)
}

/// Serves an axum router until `shutdown` fires.
pub async fn serve_http(
    listener: impl Into<Listener>,
    router: axum::Router,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let listener: Listener = listener.into();
    let addr = listener.local_addr().to_string();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|source| ServerError::Serve { addr, source })
}

#[cfg(test)]
mod tests_support {
    /// Polls `f` every millisecond until it is true (at most 5 s).
    pub async fn wait_until(mut f: impl FnMut() -> bool) {
        for _ in 0..5000 {
            if f() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("condition not met within 5 s");
    }
}

#[cfg(test)]
mod readiness_tests {
    use super::Readiness;

    #[test]
    fn a_hold_keeps_the_process_unready_until_released() {
        let r = Readiness::default();
        r.hold("ingester ring", "0 ingesters healthy, 2 needed".into());
        r.set(true);
        assert!(!r.is_ready());
        r.hold("ingester ring", "1 ingesters healthy, 2 needed".into());
        assert_eq!(r.holds(), ["ingester ring: 1 ingesters healthy, 2 needed"]);
        r.release("ingester ring");
        assert!(r.is_ready());
        assert!(r.holds().is_empty());
        r.set(false);
        assert!(!r.is_ready());
    }
}
